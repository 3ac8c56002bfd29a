"""/api/v1 endpoints for deals (documented through openapi.register)."""

from . import bp  # noqa: F401
