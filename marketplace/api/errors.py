from __future__ import annotations

from flask import jsonify


def json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    """The one JSON error shape: {"error": {"code", "message", "fields"}}."""
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
