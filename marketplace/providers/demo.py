"""Demo data of the providers domain for `flask demo load`, through the real services."""

from __future__ import annotations

from typing import Any


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any exists). Returns how many were created."""
    return 0
