"""Access-matrix rows for the evaluation blueprint and its API endpoints."""

from __future__ import annotations


def extend_world(users: dict, ids: dict) -> dict:
    return {}


CASES: list = []
