"""/api/v1 endpoints for invoices (documented through openapi.register)."""

from . import bp  # noqa: F401
