"""Access-matrix rows for 揭榜挂帅 challenges (marketplace/challenges), and the small helpers the
challenge tests share (challenge_data, publish, close).

`extend_world(users, ids)` creates the objects the rows refer to (users: role -> User, see
test_access_matrix.world) and returns their ids for the URL templates; CASES uses the vocabulary of
access_common. In this world the enterprise member publishes; the owner's university has applied
to the open and to the closed challenge; the broker is an invited reviewer of the closed one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.accounts.models import User
from marketplace.challenges import services as challenges
from marketplace.challenges.models import Challenge
from marketplace.core.timeutil import local_today, utcnow
from marketplace.extensions import db
from tests.web.access_common import (
    ADMIN_ONLY,
    EVERYONE,
    FORBIDDEN,
    LOGGED_IN,
    LOGIN,
    NOT_FOUND,
    OK,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

CRITERIA = [
    {"name": "技术方案先进性", "weight": 40},
    {"name": "团队能力", "weight": 30},
    {"name": "进度与经费合理性", "weight": 30},
]


def challenge_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "高炉煤气精脱硫技术攻关",
        "problem": "现有高炉煤气脱硫后总硫仍在 50 mg/m³ 以上，无法满足超低排放要求，需要低成本的精脱硫工艺。",
        "indicators": "1. 总硫 ≤ 20 mg/m³；2. 运行成本 ≤ 0.02 元/m³；3. 连续运行 ≥ 8000 小时。",
        "bounty": "200万",
        "deadline_date": (local_today() + timedelta(days=30)).isoformat(),
        "deadline_time": "17:00",
        "criteria": [dict(c) for c in CRITERIA],
        "eligible_org_types": ["university", "institute", "enterprise"],
        "field": "0702",
        "contact_name": "李总工",
        "contact_phone": "0633-8000000",
    }
    data.update(overrides)
    return data


def application_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "proposal": "采用改性氧化铁吸附 + 有机硫水解的两段工艺，中试数据总硫 12 mg/m³。",
        "team": "负责人张教授，团队 8 人，承担过国家重点研发计划项目。",
        "schedule": "第1–3月小试；第4–8月中试；第9–12月工业示范。",
        "budget": "180万",
    }
    data.update(overrides)
    return data


def admin_user() -> User:
    admin = db.session.scalar(db.select(User).where(User.role == "admin"))
    assert admin is not None, "the world needs an administrator"
    return admin


def publish(publisher: User, admin: User | None = None, **overrides: Any) -> Challenge:
    """A challenge walked through the real workflow: created, submitted, approved."""
    challenge = challenges.create_challenge(publisher, challenge_data(**overrides))
    challenges.transition(challenge, "submit", publisher)
    challenges.transition(challenge, "approve", admin or admin_user())
    db.session.commit()
    return challenge


def close(challenge: Challenge) -> None:
    """Move the deadline into the past (as if time had passed): applications close."""
    challenge.deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()


def extend_world(users: dict, ids: dict) -> dict:
    publisher, admin = users["enterprise"], users["admin"]
    draft = challenges.create_challenge(publisher, challenge_data(title="草稿榜单"))
    pending = challenges.create_challenge(publisher, challenge_data(title="待审核榜单"))
    challenges.transition(pending, "submit", publisher)
    open_ = publish(publisher, admin, title="征集中的榜单")
    open_app = challenges.apply(users["owner"], open_, application_data())
    review = publish(publisher, admin, title="评审中的榜单")
    review_app = challenges.apply(users["owner"], review, application_data())
    challenges.invite_reviewer(publisher, review, users["broker"].email)
    db.session.commit()
    close(review)
    return {
        "ch_draft": draft.id,
        "ch_pending": pending.id,
        "ch_open": open_.id,
        "ch_review": review.id,
        "app_open": open_app.id,
        "app_review": review_app.id,
    }


PUBLISHER_ONLY = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
PUBLISHERS = {**PUBLISHER_ONLY, F: OK}  # verified enterprises and officials (for the city)
PRIVATE_CHALLENGE = {A: FORBIDDEN, O: FORBIDDEN, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: OK, D: OK}
APPLICANT_ONLY = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
# A proposal: its organisation, the publisher, officials and admins (read-only); reviewers of the
# closed challenge too (the broker).
PROPOSAL_READERS = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: OK, D: OK}

# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("challenges.index", "GET", "/challenges", EVERYONE),
    ("challenges.index", "GET", "/challenges?status=open&field=07&sort=bounty&page=2", EVERYONE),
    ("challenges.detail", "GET", "/challenges/{ch_open}", EVERYONE),
    ("challenges.detail", "GET", "/challenges/{ch_review}", EVERYONE),
    ("challenges.detail", "GET", "/challenges/{ch_draft}", PRIVATE_CHALLENGE),
    ("challenges.detail", "GET", "/challenges/999999", dict.fromkeys(ROLES, NOT_FOUND)),
    ("challenges.new", "GET", "/challenges/new", PUBLISHERS),
    ("challenges.new", "POST", "/challenges/new", PUBLISHERS),
    ("challenges.edit", "GET", "/challenges/{ch_draft}/edit", PUBLISHER_ONLY),
    ("challenges.edit", "POST", "/challenges/{ch_draft}/edit", PUBLISHER_ONLY),
    ("challenges.action", "POST", "/challenges/{ch_draft}/submit", PUBLISHER_ONLY),
    ("challenges.action", "POST", "/challenges/{ch_pending}/approve", ADMIN_ONLY),
    ("challenges.action", "POST", "/challenges/{ch_pending}/reject", ADMIN_ONLY),
    ("challenges.action", "POST", "/challenges/{ch_pending}/withdraw", {**PUBLISHER_ONLY, D: OK}),
    ("challenges.admin_queue", "GET", "/admin/challenges", ADMIN_ONLY),
    # The owner's university has applied (GET goes to its application, POST is a refused
    # duplicate); another university may apply; the publisher may not take its own challenge.
    ("challenges.apply", "GET", "/challenges/{ch_open}/apply", {**APPLICANT_ONLY, M: OK}),
    ("challenges.apply", "POST", "/challenges/{ch_open}/apply", {**APPLICANT_ONLY, M: OK}),
    ("challenges.apply", "GET", "/challenges/{ch_draft}/apply", {**dict.fromkeys(ROLES, FORBIDDEN), A: LOGIN}),
    ("challenges.application", "GET", "/challenges/applications/{app_open}", PROPOSAL_READERS),
    ("challenges.application", "GET", "/challenges/applications/{app_review}", {**PROPOSAL_READERS, B: OK}),
    ("challenges.edit_application", "GET", "/challenges/applications/{app_open}/edit", APPLICANT_ONLY),
    ("challenges.edit_application", "POST", "/challenges/applications/{app_open}/edit", APPLICANT_ONLY),
    ("challenges.withdraw_application", "POST", "/challenges/applications/{app_open}/withdraw", APPLICANT_ONLY),
    ("challenges.score", "POST", "/challenges/applications/{app_review}/score", {**PUBLISHER_ONLY, B: OK}),
    ("challenges.shortlist", "POST", "/challenges/applications/{app_review}/shortlist", PUBLISHER_ONLY),
    ("challenges.decide", "POST", "/challenges/{ch_review}/decide", PUBLISHER_ONLY),
    ("challenges.invite", "POST", "/challenges/{ch_open}/reviewers", PUBLISHER_ONLY),
    ("challenges.mine", "GET", "/my/challenges", LOGGED_IN),
]
