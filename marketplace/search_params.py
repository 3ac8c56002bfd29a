"""Search parameters shared by the /search page and GET /api/v1/search.

One reading of the query string serves both: the page falls back quietly where input is bad
(with a notice when the user should know), the API refuses with every bad parameter named.
Also loads the rows behind search hits — public ones only, so a hit the index still holds for a
listing that has just been withdrawn is never shown."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from search_index import PRICE_BANDS, SearchQuery

from .accounts.models import Organization
from .core.taxonomy import DemandType, IPType, LabeledEnum, Maturity, OrgType, TransferMode
from .extensions import db
from .listings import services as listings

KIND_LABELS = {"achievement": "科技成果", "demand": "技术需求", "organization": "机构"}
SORT_LABELS = {
    "relevance": "相关度",
    "newest": "最新发布",
    "price_asc": "价格从低到高",
    "price_desc": "价格从高到低",
}
PRICE_SORTS = ("price_asc", "price_desc")
MAX_QUERY_CHARS = 200
MAX_PAGE = 1000  # deep pages cost the engine more than anyone reads; narrow the query instead
MAX_PER_PAGE = 100

# The filter parameters each kind accepts, in the order the sidebar shows them.
FILTER_PARAMS: dict[str, tuple[str, ...]] = {
    "achievement": ("field", "district", "maturity", "transfer_mode", "ip_type", "price_band"),
    "demand": ("field", "district", "demand_type", "price_band"),
    "organization": ("district", "org_type"),
}
ALL_FILTER_PARAMS = (
    "field",
    "district",
    "maturity",
    "transfer_mode",
    "ip_type",
    "demand_type",
    "price_band",
    "org_type",
)
OTHER_PARAMS = ("q", "type", "sort", "page", "per_page")
# The index's facets for each kind; `field_top` and `field` are both read through `field`.
FACETS: dict[str, tuple[str, ...]] = {
    "achievement": ("field_top", "field", "district", "maturity", "transfer_modes", "ip_type", "price_band"),
    "demand": ("field_top", "field", "district", "demand_type", "price_band"),
    "organization": ("district", "org_type"),
}
PARAM_OF_FACET = {"field_top": "field", "transfer_modes": "transfer_mode"}
FACET_OF_PARAM = {"transfer_mode": "transfer_modes"}
PARAM_LABELS = {
    "field": "技术领域",
    "district": "所在区县",
    "maturity": "成熟度",
    "transfer_mode": "转化方式",
    "ip_type": "知识产权",
    "demand_type": "需求类型",
    "price_band": "价格区间",
    "org_type": "机构类型",
}
ENUMS: dict[str, type[LabeledEnum]] = {
    "maturity": Maturity,
    "transfer_mode": TransferMode,
    "ip_type": IPType,
    "demand_type": DemandType,
    "org_type": OrgType,
}
PRICE_BAND_LABELS = {code: label for code, label, _low, _high in PRICE_BANDS}


def param_label(param: str, kind: str) -> str:
    if param == "price_band" and kind == "demand":
        return "预算区间"
    return PARAM_LABELS[param]


def value_label(param: str, code: str) -> str:
    """The Chinese name of a filter value (the code itself when unknown)."""
    taxonomy = current_app.extensions["taxonomy"]
    if param == "field":
        return taxonomy.field_path(code) or code
    if param == "district":
        return taxonomy.district_name(code) or code
    if param == "price_band":
        return PRICE_BAND_LABELS.get(code, code)
    return ENUMS[param].label_of(code)


@dataclass
class SearchRequest:
    """What the caller asked for, normalised; `errors` (param -> Chinese reason) for the API,
    `notices` for the page."""

    q: str = ""
    kind: str = "achievement"
    filters: dict[str, str] = field(default_factory=dict)  # param -> code, in FILTER_PARAMS order
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20
    default_per_page: int = 20
    errors: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def default_sort(self) -> str:
        # With no words there is nothing to rank: browsing shows the newest first.
        return "relevance" if self.q else "newest"

    def index_filters(self) -> dict[str, str]:
        """The filters as the index names them (a top-level field is `field_top`)."""
        taxonomy = current_app.extensions["taxonomy"]
        out: dict[str, str] = {}
        for param, code in self.filters.items():
            if param == "field":
                tech_field = taxonomy.field(code)
                out["field_top" if tech_field is not None and tech_field.is_top else "field"] = code
            else:
                out[FACET_OF_PARAM.get(param, param)] = code
        return out

    def to_query(self, **overrides: Any) -> SearchQuery:
        values: dict[str, Any] = {
            "text": self.q,
            "kind": self.kind,
            "filters": self.index_filters(),
            "sort": self.sort,
            "page": self.page,
            "per_page": self.per_page,
            "facets": FACETS[self.kind],
            "highlight": bool(self.q),
        }
        return SearchQuery(**(values | overrides))

    def args(self, **changes: Any) -> dict[str, Any]:
        """URL arguments reproducing this request, with `changes` applied (None drops a key).
        Defaults are left out so links stay short; the page is dropped unless given."""
        args: dict[str, Any] = {"q": self.q, "type": self.kind if self.kind != "achievement" else None}
        args |= self.filters
        args["sort"] = self.sort if self.sort != self.default_sort else None
        args["per_page"] = self.per_page if self.per_page != self.default_per_page else None
        args |= changes
        return {key: value for key, value in args.items() if value not in (None, "")}


def clean_text(raw: str) -> str:
    """Control characters to spaces, runs of white space to one space."""
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in raw)
    return " ".join(text.split())


def parse_search_args(args: MultiDict[str, str], *, strict: bool) -> SearchRequest:
    """Read a search request. strict=True (the API): unknown or inapplicable parameters and bad
    values are errors. strict=False (the page): they are dropped, with a notice where useful."""
    per_page = current_app.config["PER_PAGE"]
    req = SearchRequest(per_page=per_page, default_per_page=per_page)
    errors = req.errors

    kind = (args.get("type") or "achievement").strip().lower()
    if kind not in KIND_LABELS:
        errors["type"] = "类型无效，可选：" + "、".join(KIND_LABELS)
        kind = "achievement"
    req.kind = kind

    allowed = OTHER_PARAMS + FILTER_PARAMS[kind]
    for key in sorted(set(args) - set(allowed)):
        if key in ALL_FILTER_PARAMS:
            errors[key] = f"{PARAM_LABELS[key]}筛选不适用于{KIND_LABELS[kind]}搜索"
        else:
            errors[key] = "不支持的查询参数，可用：" + "、".join(allowed)

    q = clean_text(args.get("q", ""))
    if len(q) > MAX_QUERY_CHARS:
        errors["q"] = f"搜索词不能超过{MAX_QUERY_CHARS}个字"
        req.notices.append(f"搜索词过长，只按前{MAX_QUERY_CHARS}个字搜索")
        q = q[:MAX_QUERY_CHARS].rstrip()
    req.q = q

    for param in FILTER_PARAMS[kind]:
        raw = clean_text(args.get(param, ""))
        if not raw:
            continue
        code = _filter_code(param, raw)
        if code is None:
            errors[param] = f"{param_label(param, kind)}“{raw}”无效" + _choices_hint(param)
            req.notices.append(f"{param_label(param, kind)}“{raw}”不在可选范围内，已忽略此条件")
        else:
            req.filters[param] = code

    req.sort = req.default_sort
    sort = (args.get("sort") or "").strip()
    if sort:
        if sort not in SORT_LABELS:
            errors["sort"] = "排序方式无效，可选：" + "、".join(SORT_LABELS)
        elif sort in PRICE_SORTS and kind == "organization":
            errors["sort"] = "机构搜索不支持按价格排序，可选：relevance、newest"
        else:
            req.sort = sort
    if req.sort == "relevance" and not req.q:
        req.sort = "newest"  # nothing to rank without words

    req.page = _positive_int(args, "page", 1, MAX_PAGE, errors)
    req.per_page = _positive_int(args, "per_page", req.per_page, MAX_PER_PAGE, errors)
    if not strict:
        req.page = min(req.page, MAX_PAGE)
    return req


def _filter_code(param: str, raw: str) -> str | None:
    """The code of a filter value given as a code or a Chinese name; None when unknown."""
    taxonomy = current_app.extensions["taxonomy"]
    if param == "field":
        tech_field = taxonomy.parse_field(raw)
        return tech_field.code if tech_field else None
    if param == "district":
        district = taxonomy.parse_district(raw)
        return district.code if district else None
    if param == "price_band":
        return next((code for code, label in PRICE_BAND_LABELS.items() if raw in (code, label)), None)
    member = ENUMS[param].parse(raw)
    return member.value if member else None


def _choices_hint(param: str) -> str:
    if param == "field":
        return "，请使用技术领域代码（如 01 或 0105）或名称"
    if param == "district":
        return "，请使用区县代码或名称"
    if param == "price_band":
        return "，可选：" + "、".join(PRICE_BAND_LABELS)
    return "，可选：" + "、".join(m.value for m in ENUMS[param])


def _positive_int(args: MultiDict[str, str], key: str, default: int, maximum: int, errors: dict[str, str]) -> int:
    raw = (args.get(key) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        errors[key] = f"{key} 须为正整数"
        return default
    if int(raw) > maximum:
        errors[key] = f"{key} 不能超过{maximum}"
        return maximum if key == "page" else default
    return int(raw)


# ---------------------------------------------------------------------------------------------
# The rows behind the hits


def load_rows(kind: str, ids: list[int]) -> dict[int, Any]:
    """id -> row for the hits that are public now (published listings, verified organisations)."""
    if not ids:
        return {}
    if kind == "organization":
        stmt = select(Organization).where(Organization.id.in_(ids), Organization.verified.is_(True))
    else:
        model = listings.model_for(kind)
        stmt = (
            listings.listing_query(kind, listings.ListingFilter(), public=True)
            .where(model.id.in_(ids))
            .options(selectinload(model.organization))
        )
    return {row.id: row for row in db.session.scalars(stmt).unique()}
