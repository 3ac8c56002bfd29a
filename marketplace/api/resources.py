"""/api/v1 endpoints of the resources domain. Thin: parse, call `resources.services`, serialize; every
endpoint registered in the OpenAPI document through `openapi.register`."""

from __future__ import annotations

from . import bp, openapi  # noqa: F401
