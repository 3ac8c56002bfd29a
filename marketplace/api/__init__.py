"""JSON API v1. Bearer-token auth (or a cookie session with CSRF), JSON errors, OpenAPI."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import views  # noqa: E402, F401
