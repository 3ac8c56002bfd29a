"""`GET /healthz`: public, cookie-free, never rate-limited."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..extensions import limiter
from . import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    report, status = services.health()
    response = jsonify(report)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
