"""JSON API v1. Bearer-token auth (or a cookie session with CSRF), JSON errors, OpenAPI.

Endpoints: `me.py` (the caller), `listings.py` (achievements and demands), `search.py` (full-text
search), `openapi.py` (the document describing all of them). Every endpoint must appear in the
OpenAPI document; a test walks the URL map to make sure."""

from flask import Blueprint

from ..core.errors import ServiceError
from ..extensions import db
from .errors import json_error

bp = Blueprint("api", __name__)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    # Services flush as they go: a refusal half-way must not leave its changes in the session.
    db.session.rollback()
    return json_error(exc.status, exc.code, exc.message, exc.fields)


from . import (  # noqa: E402, F401  # noqa: E402, F401
    contracts,
    deals,
    evaluation,
    finance,
    invoices,
    listings,
    matches,
    me,
    openapi,
    providers,
    resources,
    search,
    stats,
    suggest,
    trading,
    valuation,
)
