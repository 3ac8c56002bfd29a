"""Routes of the deals blueprint (see blueprint.py)."""

from .blueprint import bp  # noqa: F401
