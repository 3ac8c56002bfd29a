"""Achievements (/api/v1/achievements) and demands (/api/v1/demands): list, create, read, edit and
the review workflow. Thin: parse the request, call `listings.services`, serialize.

Both kinds share the view functions; each URL rule carries its kind as a default, so the
endpoints are named per kind (api.achievements, api.achievement_detail, api.demand_submit ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, jsonify, request, url_for
from flask_login import login_required
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ..core import policy
from ..core.errors import PermissionDenied, ValidationFailed
from ..core.money import parse_amount
from ..core.taxonomy import DemandType, IPType, LabeledEnum, ListingStatus, Maturity, TransferMode
from ..extensions import login_manager
from ..listings.models import Achievement
from ..listings.services import SORTS, ListingFilter, listing_query, load_visible, paginate, transition
from ..listings.services import create_listing as create_listing_service
from ..listings.services import update_listing as update_listing_service
from . import bp, serializers
from .views import caller, committed, json_body

PLURAL = serializers.PLURAL
MAX_PER_PAGE = 100
TRUE, FALSE = {"1", "true", "yes"}, {"0", "false", "no", ""}

# Query parameters per kind: name -> enum (or None for free values handled below).
ENUM_FILTERS: dict[str, dict[str, type[LabeledEnum]]] = {
    "achievement": {"maturity": Maturity, "transfer_mode": TransferMode, "ip_type": IPType},
    "demand": {"demand_type": DemandType},
}
AMOUNT_FILTERS = {"achievement": ("price_min", "price_max"), "demand": ("budget_min", "budget_max")}
COMMON_FILTERS = ("q", "field", "district", "sort", "page", "per_page", "mine", "status")
REVIEW_DECISIONS = ("approve", "reject")  # the transitions /review performs


# ---------------------------------------------------------------------------------------------
# Query parameters


@dataclass
class ListQuery:
    filter: ListingFilter = field(default_factory=ListingFilter)
    page: int = 1
    per_page: int = 20
    mine: bool = False


def allowed_params(kind: str) -> tuple[str, ...]:
    return COMMON_FILTERS + tuple(ENUM_FILTERS[kind]) + AMOUNT_FILTERS[kind]


def parse_list_query(kind: str, args: MultiDict[str, str]) -> ListQuery:
    """Query arguments to a ListingFilter and paging; every bad value named with its reason."""
    errors: dict[str, str] = {}
    query = ListQuery(per_page=current_app.config["PER_PAGE"])
    f = query.filter
    for key in sorted(set(args) - set(allowed_params(kind))):
        errors[key] = "不支持的查询参数，可用：" + "、".join(allowed_params(kind))

    f.q = args.get("q", "").strip()
    if len(f.q) > 200:
        errors["q"] = "搜索词不能超过200个字"
    taxonomy = current_app.extensions["taxonomy"]
    if args.get("field"):
        tech_field = taxonomy.parse_field(args["field"])
        if tech_field is None:
            errors["field"] = f"技术领域“{args['field']}”不在分类中"
        f.field = tech_field.code if tech_field else ""
    if args.get("district"):
        district = taxonomy.parse_district(args["district"])
        if district is None:
            errors["district"] = f"所在区县“{args['district']}”不在可选范围内"
        f.district = district.code if district else ""
    for key, enum in ENUM_FILTERS[kind].items():
        if args.get(key):
            member = enum.parse(args[key])
            if member is None:
                errors[key] = f"“{args[key]}”无效，可选：" + "、".join(m.value for m in enum)
            setattr(f, key, member.value if member else "")
    low_key, high_key = AMOUNT_FILTERS[kind]
    for key, attr in ((low_key, "price_min"), (high_key, "price_max")):
        if args.get(key):
            try:
                setattr(f, attr, parse_amount(args[key]))
            except ValueError as exc:
                errors[key] = str(exc)
    if isinstance(f.price_min, Decimal) and isinstance(f.price_max, Decimal) and f.price_min > f.price_max:
        errors[high_key] = "上限不能小于下限"
    f.sort = args.get("sort") or "newest"
    if f.sort not in SORTS:
        errors["sort"] = "排序方式无效，可选：" + "、".join(SORTS)
    query.page = _positive_int(args, "page", 1, None, errors)
    query.per_page = _positive_int(args, "per_page", query.per_page, MAX_PER_PAGE, errors)

    mine = args.get("mine", "").strip().lower()
    if mine not in TRUE | FALSE:
        errors["mine"] = "mine 只能为 1 或 0"
    query.mine = mine in TRUE
    if args.get("status"):
        status = ListingStatus.parse(args["status"])
        if not query.mine:
            errors["status"] = "按状态筛选只适用于本机构的信息（mine=1）；公开列表只含已发布的信息"
        elif status is None:
            errors["status"] = "状态无效，可选：" + "、".join(m.value for m in ListingStatus)
        f.status = status.value if status else ""
    if errors:
        raise ValidationFailed(errors, message="查询参数有误，请按提示修改")
    return query


def _positive_int(
    args: MultiDict[str, str], key: str, default: int, maximum: int | None, errors: dict[str, str]
) -> int:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        errors[key] = f"{key} 须为正整数"
        return default
    if maximum is not None and int(raw) > maximum:
        errors[key] = f"{key} 不能超过{maximum}"
        return default
    return int(raw)


# ---------------------------------------------------------------------------------------------
# Endpoints


def list_listings(kind: str):
    query = parse_list_query(kind, request.args)
    user = caller()
    if query.mine:
        if not policy.is_authenticated(user):
            return login_manager.unauthorized()
        if not policy.can_create_listing(user):
            raise PermissionDenied("只有已加入机构的高校/院所或企业成员可以查看本机构的信息")
        query.filter.org_id = user.active_org.id
    stmt = listing_query(kind, query.filter, public=not query.mine)
    if kind == "achievement":
        stmt = stmt.options(selectinload(Achievement.patents))
    page = paginate(stmt, query.page, query.per_page)
    return jsonify(
        {
            "items": [serializers.listing(item, user) for item in page.items],
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
        }
    )


@login_required
def create_listing(kind: str):
    user = caller()
    listing = create_listing_service(kind, user, json_body())
    location = url_for(f"api.{kind}_detail", listing_id=listing.id)
    return committed(lambda: serializers.listing(listing, user), 201, {"Location": location})


def get_listing(kind: str, listing_id: int):
    user = caller()
    return jsonify(serializers.listing(load_visible(kind, listing_id, user), user))


@login_required
def update_listing(kind: str, listing_id: int):
    user = caller()
    listing = load_visible(kind, listing_id, user)
    update_listing_service(listing, user, json_body())
    return committed(lambda: serializers.listing(listing, user))


def _reason(body: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
    """The optional reason of an action body, which may hold nothing but `allowed` keys."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationFailed(
            {key: "不支持的字段" for key in unknown}, message=f"包含不支持的字段：{'、'.join(unknown)}"
        )
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": "原因须为文字"})
    return reason


def _act(kind: str, listing_id: int, action: str):
    user = caller()
    listing = load_visible(kind, listing_id, user)
    reason = _reason(json_body(required=False), ("reason",))
    transition(listing, action, user, reason)
    return committed(lambda: serializers.listing(listing, user))


@login_required
def submit(kind: str, listing_id: int):
    return _act(kind, listing_id, "submit")


@login_required
def withdraw(kind: str, listing_id: int):
    return _act(kind, listing_id, "withdraw")


@login_required
def close(kind: str, listing_id: int):
    return _act(kind, listing_id, "close")


@login_required
def review(kind: str, listing_id: int):
    user = caller()
    listing = load_visible(kind, listing_id, user)
    if not policy.can_review(user):
        raise PermissionDenied("只有平台管理员可以审核")
    body = json_body()
    reason = _reason(body, ("decision", "reason"))
    action = body.get("decision")
    if action not in REVIEW_DECISIONS:
        raise ValidationFailed({"decision": "请给出审核结论：approve（通过）或 reject（驳回）"})
    transition(listing, action, user, reason)
    return committed(lambda: serializers.listing(listing, user))


for _kind, _plural in PLURAL.items():
    _defaults = {"kind": _kind}
    bp.add_url_rule(f"/{_plural}", _plural, list_listings, methods=["GET"], defaults=_defaults)
    bp.add_url_rule(f"/{_plural}", f"{_kind}_create", create_listing, methods=["POST"], defaults=_defaults)
    _item = f"/{_plural}/<int:listing_id>"
    bp.add_url_rule(_item, f"{_kind}_detail", get_listing, methods=["GET"], defaults=_defaults)
    bp.add_url_rule(_item, f"{_kind}_update", update_listing, methods=["PATCH"], defaults=_defaults)
    for _name, _view in (("submit", submit), ("withdraw", withdraw), ("close", close), ("review", review)):
        bp.add_url_rule(f"{_item}/{_name}", f"{_kind}_{_name}", _view, methods=["POST"], defaults=_defaults)
