"""/api/v1 endpoints for contracts (documented through openapi.register)."""

from . import bp  # noqa: F401
