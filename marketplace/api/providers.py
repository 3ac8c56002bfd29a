"""/api/v1 endpoints of the providers domain. Thin: parse, call `providers.services`, serialize; every
endpoint registered in the OpenAPI document through `openapi.register`."""

from __future__ import annotations

from . import bp, openapi  # noqa: F401
