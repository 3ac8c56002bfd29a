"""GET /api/v1/search: full-text search over published achievements and demands and verified
organisations, with facet counts, highlighted snippets, sort and paging.

Thin: read the parameters (`search_params`, strictly: every bad one is named), ask the bridge
(`marketplace.search.run_search`, which catches the index up first), load the public rows behind
the hits, serialize. Facets are keyed by the parameter that filters on them, so any code in
`facets.<param>` can be passed back as `?<param>=<code>`."""

from __future__ import annotations

import math
from typing import Any

from flask import jsonify, request, url_for

from search_index import Hit, SearchResult

from ..core.errors import ValidationFailed
from ..core.taxonomy import DemandType, IPType, Maturity, OrgType, TransferMode
from ..listings.models import Achievement
from ..search_params import FACETS, FILTER_PARAMS, PARAM_OF_FACET, load_rows, parse_search_args
from . import bp, serializers

SUMMARY_CHARS = 200


@bp.get("/search")
def search():
    req = parse_search_args(request.args, strict=True)
    if req.errors:
        raise ValidationFailed(req.errors, message="查询参数有误，请按提示修改")
    from .. import search as search_bridge  # the bridge loads the index; only searches pay for it

    result = search_bridge.run_search(req.to_query())
    rows = load_rows(req.kind, [hit.id for hit in result.hits])
    return jsonify(
        {
            "type": req.kind,
            "q": req.q,
            "sort": req.sort,
            "total": result.total,
            "page": req.page,
            "per_page": req.per_page,
            "pages": math.ceil(result.total / req.per_page),
            "items": [item(req.kind, hit, rows[hit.id]) for hit in result.hits if hit.id in rows],
            "facets": facets(req.kind, result),
            "suggestions": list(result.suggestions),
            "took_ms": round(result.took_ms, 1),
        }
    )


def facets(kind: str, result: SearchResult) -> dict[str, dict[str, int]]:
    """Counts keyed by filter parameter; `field` holds top-level and second-level codes together."""
    out: dict[str, dict[str, int]] = {param: {} for param in FILTER_PARAMS[kind]}
    # `field_top` last: a listing filed under a top-level field only has that code in `field` too,
    # but `?field=<top>` matches everything under it, which is what `field_top` counts.
    for facet in sorted(FACETS[kind], key=lambda name: name == "field_top"):
        counts = out[PARAM_OF_FACET.get(facet, facet)]
        counts.update({code: count for code, count in result.facets.get(facet, {}).items() if code and count})
    return out


def item(kind: str, hit: Hit, row: Any) -> dict[str, Any]:
    common = {
        "id": row.id,
        "type": kind,
        "score": round(float(hit.score), 4),
        "title_highlight": hit.title_highlight or "",
        "highlight": hit.highlight or "",
    }
    if kind == "organization":
        return common | {
            "title": row.name,
            "summary": _cut(row.description),
            "url": url_for("accounts.org", org_id=row.id),
            "api_url": None,
            "field": None,
            "district": serializers._district(row.district),
            "organization": None,
            "price": None,
            "published_at": serializers.iso_utc(row.verified_at),
            "org_type": serializers.enum(OrgType, row.org_type),
        }
    data = common | {
        "title": row.title,
        "url": url_for(f"listings.{kind}_detail", listing_id=row.id),
        "api_url": url_for(f"api.{kind}_detail", listing_id=row.id),
        "field": serializers._field(row.field_code),
        "district": serializers._district(row.district),
        "organization": serializers.organization(row.organization),
        "published_at": serializers.iso_utc(row.published_at),
    }
    if isinstance(row, Achievement):
        return data | {
            "summary": _cut(row.summary),
            "price": serializers.price(row.price),
            "maturity": serializers.enum(Maturity, row.maturity),
            "ip_type": serializers.enum(IPType, row.ip_type),
            "transfer_modes": [serializers.enum(TransferMode, code) for code in row.transfer_modes or []],
        }
    return data | {
        "summary": _cut(row.description),
        "price": serializers.price(row.budget),
        "demand_type": serializers.enum(DemandType, row.demand_type),
    }


def _cut(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
