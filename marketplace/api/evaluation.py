"""/api/v1 endpoints of the evaluation domain. Thin: parse, call `evaluation.services`, serialize; every
endpoint registered in the OpenAPI document through `openapi.register`."""

from __future__ import annotations

from . import bp, openapi  # noqa: F401
