"""Access-matrix rows for the deals routes of the deals blueprint (and their API endpoints).

`extend_world(users, ids)` creates the objects the rows refer to (users: role -> User, see
test_access_matrix.world) and returns their ids for the URL templates; CASES uses the vocabulary of
access_common."""

from __future__ import annotations

from tests.web.access_common import ROLES  # noqa: F401


def extend_world(users: dict, ids: dict) -> dict:
    return {}


# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = []
