"""Recommendations (/api/v1/demands/<id>/matches, /api/v1/achievements/<id>/matches): ranked
published listings of the other kind, each with its score and reasons (see `marketplace.matching`).

The listing itself must be visible to the caller (the same rule as its detail endpoint); the
candidates are published listings only."""

from __future__ import annotations

from flask import jsonify, request

from .. import matching
from ..core.errors import ValidationFailed
from ..listings.services import load_visible
from . import bp
from .views import caller


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return matching.DEFAULT_LIMIT
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= matching.MAX_LIMIT:
        raise ValidationFailed(
            {"limit": f"limit 须为 1–{matching.MAX_LIMIT} 之间的整数"}, message="查询参数有误，请按提示修改"
        )
    return int(raw)


def listing_matches(kind: str, listing_id: int):
    listing = load_visible(kind, listing_id, caller())
    limit = parse_limit(request.args.get("limit"))
    return jsonify({"items": [m.as_dict() for m in matching.recommend(listing, limit)]})


for _kind, _plural in matching.PLURAL.items():
    bp.add_url_rule(
        f"/{_plural}/<int:listing_id>/matches",
        f"{_kind}_matches",
        listing_matches,
        methods=["GET"],
        defaults={"kind": _kind},
    )
