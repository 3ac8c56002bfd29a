"""The search page (/search): one box over 科技成果, 技术需求 and 机构 with facets, highlighted
titles and snippets, sort and paging. Thin: read the request (`search_params`), ask the bridge
(`marketplace.search.run_search`), load the public rows behind the hits, render.

A user's query is never an error page: bad parameters fall back to defaults, a long query is cut
(with a notice), and should the search itself fail the page says so instead of a 500."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_sqlalchemy.pagination import Pagination
from markupsafe import Markup

from search_index import PRICE_BANDS, SearchResult

from .core.taxonomy import DemandType, IPType, Maturity, OrgType, TransferMode
from .search_params import (
    FACETS,
    FILTER_PARAMS,
    KIND_LABELS,
    PARAM_OF_FACET,
    PRICE_SORTS,
    SORT_LABELS,
    SearchRequest,
    load_rows,
    param_label,
    parse_search_args,
    value_label,
)

bp = Blueprint("search", __name__)

TIPS = (
    "检查是否有错别字，或换用更常见的说法（如“锂电池”“锂离子电池”）",
    "减少关键词，或用空格分开几个词",
    "去掉部分筛选条件",
    "用引号搜索完整短语，如 \u201c机器视觉\u201d",
)
_MARK = re.compile(r"(</?mark>)")


@bp.app_template_filter("search_highlight")
def search_highlight(html: str | None) -> Markup:
    """The library's highlighted text is HTML-safe with matches in <mark>. Trust it for <mark>
    only: any other angle bracket is escaped, so a slip in the library cannot inject markup."""
    parts = _MARK.split(html or "")
    return Markup(
        "".join(part if _MARK.fullmatch(part) else part.replace("<", "&lt;").replace(">", "&gt;") for part in parts)
    )


@dataclass
class FacetOption:
    code: str
    label: str
    count: int
    url: str
    active: bool = False
    children: list[FacetOption] = field(default_factory=list)


@dataclass
class FacetPanel:
    param: str
    label: str
    options: list[FacetOption]


class ResultPage(Pagination):
    """The search result as the shared pagination macro expects a page."""

    def __init__(self, page: int, per_page: int, total: int, items: list[Any]):
        self._items, self._total = items, total
        super().__init__(page=page, per_page=per_page, max_per_page=None, error_out=False)

    def _query_items(self) -> list[Any]:
        return self._items

    def _query_count(self) -> int:
        return self._total


@bp.get("/search")
def index():
    req = parse_search_args(request.args, strict=False)
    try:
        result = _search(req)
        tabs = _tab_counts(req, result)
    except Exception:  # the index is a cache of the database: a broken one must not break the site
        current_app.logger.exception("search failed: %r", req)
        return render_template("search/results.html", req=req, failed=True, **_chrome(req)), 503
    rows = load_rows(req.kind, [hit.id for hit in result.hits])
    entries = [(hit, rows[hit.id]) for hit in result.hits if hit.id in rows]
    return render_template(
        "search/results.html",
        req=req,
        failed=False,
        result=result,
        page=ResultPage(req.page, req.per_page, result.total, entries),
        tabs=tabs,
        facets=_facet_panels(req, result),
        **_chrome(req),
    )


def _run(query) -> SearchResult:
    from . import search as search_bridge  # the bridge imports the models; load it on first search

    return search_bridge.run_search(query)


def _search(req: SearchRequest) -> SearchResult:
    result = _run(req.to_query())
    pages = math.ceil(result.total / req.per_page)
    if req.page > pages >= 1:  # past the end (an old link, a hand-edited URL): show the last page
        req.page = pages
        result = _run(req.to_query())
    return result


def _tab_counts(req: SearchRequest, result: SearchResult) -> dict[str, int]:
    """Hits per kind for the same words (the current kind with its filters)."""
    counts = {}
    for kind in KIND_LABELS:
        if kind == req.kind:
            counts[kind] = result.total
        else:
            query = req.to_query(
                kind=kind,
                filters={},
                sort=req.default_sort,
                page=1,
                per_page=1,
                facets=(),
                highlight=False,
                suggest=False,  # only the count is shown
            )
            counts[kind] = _index().search(query).total  # the page's own search has just caught up
    return counts


def _index():
    from . import search as search_bridge  # the bridge imports the models; load it on first search

    return search_bridge.get_index()


def _chrome(req: SearchRequest) -> dict[str, Any]:
    """What the page shows around the results: tabs, chips, sort choices."""
    chips = [
        (
            f"{param_label(param, req.kind)}：{value_label(param, code)}",
            url_for("search.index", **req.args(**{param: None})),
        )
        for param, code in req.filters.items()
    ]
    sorts = {
        key: label
        for key, label in SORT_LABELS.items()
        if not (key == "relevance" and not req.q) and not (key in PRICE_SORTS and req.kind == "organization")
    }
    if req.kind == "demand":
        sorts = {key: label.replace("价格", "预算") for key, label in sorts.items()}
    return {
        "kind_labels": KIND_LABELS,
        "chips": chips,
        "clear_url": url_for("search.index", **req.args(**dict.fromkeys(req.filters))),
        "sorts": sorts,
        "tips": TIPS,
        "kind_url": lambda kind: url_for("search.index", q=req.q or None, type=kind if kind != "achievement" else None),
        "query_url": lambda text: url_for("search.index", q=text, type=req.kind if req.kind != "achievement" else None),
    }


# ---------------------------------------------------------------------------------------------
# Facets


def _facet_panels(req: SearchRequest, result: SearchResult) -> list[FacetPanel]:
    panels = []
    for param in FILTER_PARAMS[req.kind]:
        if param == "field":
            options = _field_options(req, result)
        else:
            facet = next(f for f in FACETS[req.kind] if PARAM_OF_FACET.get(f, f) == param)
            options = _options(req, param, result.facets.get(facet, {}))
        if options:
            panels.append(FacetPanel(param, param_label(param, req.kind), options))
    return panels


def _option(req: SearchRequest, param: str, code: str, count: int, label: str | None = None) -> FacetOption:
    active = req.filters.get(param) == code
    url = url_for("search.index", **req.args(**{param: None if active else code}))
    return FacetOption(code, label or value_label(param, code), count, url, active)


def _options(req: SearchRequest, param: str, counts: dict[str, int]) -> list[FacetOption]:
    """Values with hits (and the chosen one) in their natural order, unknown codes last."""
    order = _natural_order(param)
    active = req.filters.get(param)
    codes = [code for code in order if counts.get(code) or code == active]
    codes += [code for code in counts if code and code not in order and counts[code]]
    return [_option(req, param, code, counts.get(code, 0)) for code in codes]


def _natural_order(param: str) -> list[str]:
    if param == "district":
        return [code for code, _name in current_app.extensions["taxonomy"].district_choices()]
    if param == "price_band":
        return [code for code, *_rest in PRICE_BANDS]
    enum = {
        "maturity": Maturity,
        "transfer_mode": TransferMode,
        "ip_type": IPType,
        "demand_type": DemandType,
        "org_type": OrgType,
    }[param]
    return [member.value for member in enum]


def _field_options(req: SearchRequest, result: SearchResult) -> list[FacetOption]:
    """Top-level fields with counts; under the chosen one, its second-level fields."""
    taxonomy = current_app.extensions["taxonomy"]
    tops, seconds = result.facets.get("field_top", {}), result.facets.get("field", {})
    chosen = taxonomy.field(req.filters.get("field"))
    chosen_top = (chosen.parent or chosen.code) if chosen else None
    options = []
    for top in taxonomy.top_fields():
        if not tops.get(top.code) and top.code != chosen_top:
            continue
        option = _option(req, "field", top.code, tops.get(top.code, 0), top.name)
        if top.code == chosen_top:
            option.active = True
            option.url = url_for("search.index", **req.args(field=None))
            for child in taxonomy.children(top.code):
                if seconds.get(child.code) or child == chosen:
                    child_option = _option(req, "field", child.code, seconds.get(child.code, 0), child.name)
                    if child_option.active:  # choosing it again goes back up to the whole top-level field
                        child_option.url = url_for("search.index", **req.args(field=top.code))
                    option.children.append(child_option)
        options.append(option)
    return options
