"""Access-matrix rows for the brokers' matchmaking board and introductions (marketplace/matching).

`extend_world(users, ids)` creates the objects the rows refer to (users: role -> User, see
test_access_matrix.world) and returns their ids for the URL templates; CASES uses the vocabulary of
access_common. In this world the broker has introduced the owner's published achievement to the
enterprise's published demand, so the lists have a row to show."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.listings.models import Achievement, Demand
from marketplace.matching import board
from tests.web.access_common import FORBIDDEN, LOGIN, OK, A, B, D, E, F, M, O

# The board is a working tool of brokers; administrators see it too. Officials are not offered it.
BROKER_OR_ADMIN = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: FORBIDDEN, D: OK}


def extend_world(users: dict, ids: dict) -> dict:
    demand = db.session.get(Demand, ids["published_demand"])
    achievement = db.session.get(Achievement, ids["published"])
    intro = board.introduce(users["broker"], demand.id, achievement.id, "矩阵测试")
    db.session.commit()
    return {"introduction": intro.id}


# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("matching.board_page", "GET", "/broker/board", BROKER_OR_ADMIN),
    ("matching.board_page", "GET", "/broker/board?introduced=yes&sort=score&per_page=50", BROKER_OR_ADMIN),
    # An empty form: brokers and admins are told what is missing (a redirect with a flash).
    ("matching.introduce", "POST", "/broker/introductions", BROKER_OR_ADMIN),
    ("matching.introductions", "GET", "/broker/introductions", BROKER_OR_ADMIN),
]
