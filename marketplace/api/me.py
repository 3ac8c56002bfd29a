"""GET /api/v1/me: who the token (or session) belongs to."""

from __future__ import annotations

from flask import jsonify
from flask_login import login_required

from . import bp, serializers
from .views import caller


@bp.get("/me")
@login_required
def me():
    return jsonify(serializers.user(caller()))
