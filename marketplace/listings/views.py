"""Web pages for 科技成果 and 技术需求: lists, details, the create/edit forms, the review workflow
buttons, attachments and 我的发布. Views parse the request, call `services`, commit once."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import User
from ..core import audit, policy
from ..core.downloads import private_file
from ..core.errors import Conflict, PermissionDenied, ServiceError, ValidationFailed
from ..core.money import MAX_AMOUNT
from ..core.taxonomy import DemandType, IPType, ListingStatus, Maturity, TransferMode
from ..core.validators import fold_width
from ..extensions import db
from . import services
from .models import Achievement
from .validation import ACHIEVEMENT_FIELDS, DEMAND_FIELDS

bp = Blueprint("listings", __name__)

KINDS = {"achievements": "achievement", "demands": "demand"}
URL_KINDS = {kind: plural for plural, kind in KINDS.items()}
LIST_FILTERS = ("q", "field", "district", "maturity", "transfer_mode", "ip_type", "demand_type")
ACTION_DONE = {
    "submit": ("已提交审核，平台审核通过后将公开发布", "success"),
    "approve": ("已审核通过，信息已公开发布", "success"),
    "reject": ("已驳回，驳回原因已告知发布机构", "info"),
    "withdraw": ("已撤回。修改后可重新提交审核", "info"),
    "close": ("已关闭，该信息不再接受新的对接", "info"),
}
TRL_CHOICES = [
    (str(level), f"TRL {level} · {text}")
    for level, text in enumerate(
        (
            "基本原理被发现",
            "形成技术概念",
            "关键功能得到验证",
            "实验室环境验证",
            "相关环境验证",
            "相关环境中演示",
            "实际环境中演示",
            "系统完成并通过验证",
            "实际应用成功",
        ),
        start=1,
    )
]
CREATE_REFUSED = (
    "只有已加入机构（且加入申请已获批准）的高校/院所或企业成员可以发布信息。如刚提交加入申请，请等待机构管理员审批。"
)


# ---------------------------------------------------------------------------------------------
# Lists


@bp.get("/achievements")
def achievements():
    return _list_page("achievement")


@bp.get("/demands")
def demands():
    return _list_page("demand")


def _list_page(kind: str):
    filters, args, notices = _parse_filters(kind)
    page = services.paginate(services.listing_query(kind, filters), request.args.get("page", 1, type=int))
    return render_template(
        "listings/list.html",
        kind=kind,
        page=page,
        filters=filters,
        args=args,
        notices=notices,
        sorts=_sort_labels(kind),
        endpoint=request.endpoint,
        chips=_chips(args),
    )


def _chips(args: dict[str, str]) -> list[tuple[str, str]]:
    """The active conditions as (label, link without that condition)."""
    taxonomy = current_app.extensions["taxonomy"]
    labels = {
        "q": lambda v: f"关键词：{v}",
        "field": lambda v: taxonomy.field_path(v) or v,
        "district": lambda v: taxonomy.district_name(v) or v,
        "maturity": Maturity.label_of,
        "transfer_mode": TransferMode.label_of,
        "ip_type": IPType.label_of,
        "demand_type": DemandType.label_of,
        "price_min": lambda v: f"不低于 {v} 万元",
        "price_max": lambda v: f"不高于 {v} 万元",
    }
    return [
        (labels[key](value), url_for(request.endpoint, **{k: v for k, v in args.items() if k != key}))
        for key, value in args.items()
        if key in labels
    ]


def _parse_filters(kind: str) -> tuple[services.ListingFilter, dict[str, str], list[str]]:
    """The filter from the query string, the args to keep in links, and notices on ignored input."""
    args = {key: request.args.get(key, "").strip() for key in LIST_FILTERS}
    args = {key: value for key, value in args.items() if value}
    notices: list[str] = []
    amounts: dict[str, Decimal | None] = {}
    for key, label in (("price_min", "最低"), ("price_max", "最高")):
        raw = request.args.get(key, "").strip()
        amounts[key] = None
        if not raw:
            continue
        amount = _wan_to_yuan(raw)
        if amount is None:
            notices.append(f"{label}{_price_word(kind)}“{raw}”不是有效的数字，已忽略此条件")
        else:
            amounts[key] = amount
            args[key] = raw
    sort = request.args.get("sort", "newest")
    if sort in services.SORTS and sort != "newest":
        args["sort"] = sort
    filters = services.ListingFilter(
        **{k: args.get(k, "") for k in LIST_FILTERS},
        sort=args.get("sort", "newest"),
        price_min=amounts["price_min"],
        price_max=amounts["price_max"],
    )
    return filters, args, notices


def _wan_to_yuan(raw: str) -> Decimal | None:
    text = fold_width(raw).strip().removesuffix("元").removesuffix("万").replace(",", "").strip()
    try:
        amount = Decimal(text) * 10_000
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    return amount


def _price_word(kind: str) -> str:
    return "价格" if kind == "achievement" else "预算"


def _sort_labels(kind: str) -> dict[str, str]:
    return {key: label.replace("价格", _price_word(kind)) for key, label in services.SORTS.items()}


# ---------------------------------------------------------------------------------------------
# Details


@bp.get("/achievements/<int:listing_id>")
def achievement_detail(listing_id: int):
    return _detail_page("achievement", listing_id)


@bp.get("/demands/<int:listing_id>")
def demand_detail(listing_id: int):
    return _detail_page("demand", listing_id)


def _detail_page(kind: str, listing_id: int):
    listing = services.load_visible(kind, listing_id, current_user)
    owner = policy.is_listing_owner(current_user, listing)
    if listing.is_published and not owner:
        services.record_view(listing)
        db.session.commit()
    show_history = owner or policy.can_review(current_user) or policy.can_view_audit(current_user)
    history = audit.history(listing) if show_history else []
    matches = _matches(listing) if owner or policy.is_admin(current_user) else None
    return render_template(
        "listings/detail.html",
        matches=matches,
        kind=kind,
        listing=listing,
        is_owner=owner,
        actions=services.allowed_actions(listing, current_user),
        history=history,
        actors=_actors(history),
        price_text=services.price_display(listing),
        action_labels=services.ACTION_LABELS,
        audit_labels=audit.ACTION_LABELS,
    )


def _matches(listing) -> list | None:
    """Recommendations for the owners' "推荐匹配" section (computed now: no manual step)."""
    from .. import matching

    if not listing.is_published:
        return None
    try:
        return matching.recommend(listing, limit=current_app.config.get("MATCH_PAGE_LIMIT", 8))
    except Exception:  # the listing page must not fail because of recommendations
        current_app.logger.exception("matching failed for %s %s", listing.KIND, listing.id)
        return []


def _actors(history: list[audit.AuditLog]) -> dict[int, User]:
    ids = {entry.actor_id for entry in history if entry.actor_id}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


# ---------------------------------------------------------------------------------------------
# Create and edit


@bp.route("/<any(achievements,demands):kinds>/new", methods=["GET", "POST"])
@login_required
def new(kinds: str):
    kind = KINDS[kinds]
    if not policy.can_create_listing(current_user):
        raise PermissionDenied(CREATE_REFUSED)
    if request.method == "GET":
        return _render_form(kind, None, _defaults_for(current_user))
    data = _form_data(kind)
    try:
        listing = services.create_listing(kind, current_user, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(kind, None, data, exc.fields), 422
    _save_and_maybe_submit(listing, created=True)
    return redirect(_detail_url(listing))


@bp.route("/<any(achievements,demands):kinds>/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(kinds: str, listing_id: int):
    listing = services.get_listing(KINDS[kinds], listing_id)
    if not policy.is_listing_owner(current_user, listing):
        raise PermissionDenied(f"只有所属机构的成员可以修改该{listing.KIND_LABEL}")
    if not policy.can_edit_listing(current_user, listing):
        raise Conflict(
            f"“{listing.status_label}”状态的{listing.KIND_LABEL}不能修改。"
            "如需修改已提交或已发布的信息，请先在详情页撤回。"
        )
    if request.method == "GET":
        return _render_form(listing.KIND, listing, _input_values(listing))
    data = _form_data(listing.KIND)
    try:
        services.update_listing(listing, current_user, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(listing.KIND, listing, data, exc.fields), 422
    _save_and_maybe_submit(listing, created=False)
    return redirect(_detail_url(listing))


def _save_and_maybe_submit(listing: services.Listing, *, created: bool) -> None:
    """Commit the draft; with the 保存并提交审核 button also submit it. A refused submit keeps the
    saved draft and tells the user why."""
    db.session.commit()
    if request.form.get("intent") != "submit":
        flash(
            "已保存为草稿。确认无误后，请点击“提交审核”，审核通过后即公开发布。" if created else "修改已保存", "success"
        )
        return
    try:
        services.transition(listing, "submit", current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"已保存为草稿，但暂不能提交审核：{_message_of(exc)}", "warning")
        return
    flash("已保存并提交审核，平台审核通过后将公开发布", "success")


def _form_data(kind: str) -> dict[str, Any]:
    """Only the known fields, as raw strings (transfer modes as a list)."""
    keys = ACHIEVEMENT_FIELDS if kind == "achievement" else DEMAND_FIELDS
    data: dict[str, Any] = {key: request.form.get(key, "") for key in keys}
    if kind == "achievement":
        data["transfer_modes"] = request.form.getlist("transfer_modes")
    return data


def _defaults_for(user: User) -> dict[str, Any]:
    org = user.active_org
    return {
        "district": org.district if org else "",
        "contact_name": user.name,
        "contact_phone": user.phone or (org.contact_phone if org else "") or "",
        "contact_email": user.email,
        "price": "面议",
        "budget": "面议",
        "transfer_modes": [],
    }


def _input_values(listing: services.Listing) -> dict[str, Any]:
    values = services.input_of(listing)
    values["keywords"] = "；".join(values.get("keywords") or [])
    if isinstance(listing, Achievement):
        values["patent_numbers"] = "；".join(values.get("patent_numbers") or [])
        values["price"] = _price_input(listing.price_kind, listing.price_low, listing.price_high)
    else:
        values["budget"] = _price_input(listing.budget_kind, listing.budget_low, listing.budget_high)
    return {key: ("" if value is None else value) for key, value in values.items()}


def _price_input(kind: str, low: Decimal | None, high: Decimal | None) -> str:
    """The stored price as a person would type it: 面议, 50万, 100万-200万."""
    if kind == "negotiable" or low is None:
        return "面议"
    if high is not None and high != low:
        return f"{_amount_input(low)}-{_amount_input(high)}"
    return _amount_input(low)


def _amount_input(amount: Decimal) -> str:
    if amount >= 10_000:
        return f"{(amount / 10_000).normalize():f}万"
    return f"{amount.normalize():f}元"


def _render_form(kind: str, listing: services.Listing | None, values: dict[str, Any], errors=None):
    return render_template(
        "listings/form.html",
        kind=kind,
        kinds=URL_KINDS[kind],
        listing=listing,
        values=values,
        errors=errors or {},
        trl_choices=TRL_CHOICES,
    )


# ---------------------------------------------------------------------------------------------
# Workflow


@bp.post("/<any(achievements,demands):kinds>/<int:listing_id>/<any(submit,approve,reject,withdraw,close):action>")
@login_required
def action(kinds: str, listing_id: int, action: str):
    listing = services.get_listing(KINDS[kinds], listing_id)
    try:
        services.transition(listing, action, current_user, request.form.get("reason"))
        db.session.commit()
    except PermissionDenied:
        db.session.rollback()
        raise  # someone who may not act at all gets the 403 page, not a flash
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
    else:
        message, category = ACTION_DONE[action]
        flash(message, category)
    return redirect(_safe_next() or _detail_url(listing))


def _message_of(exc: ServiceError) -> str:
    """The most specific Chinese reason: a field's message when there is exactly one."""
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "；".join(exc.fields.values())
    return exc.message


def _safe_next() -> str | None:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _detail_url(listing: services.Listing) -> str:
    return url_for(f"listings.{listing.KIND}_detail", listing_id=listing.id)


# ---------------------------------------------------------------------------------------------
# 我的发布


@bp.get("/my/listings")
@login_required
def mine():
    if not policy.can_create_listing(current_user):
        raise PermissionDenied("“我的发布”面向已加入机构的高校/院所和企业成员。" + CREATE_REFUSED)
    default_kind = "demand" if current_user.role == "enterprise" else "achievement"
    kind = request.args.get("kind", default_kind)
    kind = kind if kind in URL_KINDS else default_kind
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ListingStatus} else ""
    items = services.my_listings(current_user, kind)
    totals = {k: len(services.my_listings(current_user, k)) if k != kind else len(items) for k in URL_KINDS}
    by_status = {s.value: sum(1 for item in items if item.status == s.value) for s in ListingStatus}
    shown = [item for item in items if not status or item.status == status]
    return render_template(
        "listings/mine.html",
        kind=kind,
        status=status,
        items=shown,
        totals=totals,
        by_status=by_status,
        org=current_user.active_org,
    )


# ---------------------------------------------------------------------------------------------
# Attachments


@bp.post("/<any(achievements,demands):kinds>/<int:listing_id>/attachments")
@login_required
def upload_attachment(kinds: str, listing_id: int):
    listing = services.get_listing(KINDS[kinds], listing_id)
    if not policy.is_listing_owner(current_user, listing):
        raise PermissionDenied("只有所属机构的成员可以上传附件")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的文件", "warning")
        return redirect(_detail_url(listing) + "#attachments")
    try:
        attachment = services.add_attachment(listing, current_user, upload.filename, upload.read())
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"上传失败：{_message_of(exc)}", "danger")
    else:
        flash(f"附件“{attachment.filename}”已上传", "success")
    return redirect(_detail_url(listing) + "#attachments")


@bp.get("/attachments/<int:attachment_id>")
def attachment(attachment_id: int):
    try:
        item, _listing = services.get_attachment(attachment_id, current_user)
    except PermissionDenied:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        raise
    return private_file(services.upload_path(item.stored_name), item.content_type, item.filename)


@bp.post("/attachments/<int:attachment_id>/delete")
@login_required
def delete_attachment(attachment_id: int):
    item, listing = services.get_attachment(attachment_id, current_user)
    try:
        services.remove_attachment(item, current_user)
        db.session.commit()
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
    else:
        flash(f"附件“{item.filename}”已删除", "success")
    return redirect(_detail_url(listing) + "#attachments")
