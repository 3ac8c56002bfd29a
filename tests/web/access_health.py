"""Access-matrix rows for `/healthz`: public for every role (a load balancer has no login)."""

from __future__ import annotations

from tests.web.access_common import EVERYONE


def extend_world(users: dict, ids: dict) -> dict:
    return {}


# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("health.healthz", "GET", "/healthz", EVERYONE),
]
