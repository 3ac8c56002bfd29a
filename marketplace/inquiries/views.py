"""Pages of first contact: send a 合作意向 / 推荐成果 from a listing page, the inbox, a thread.
Views parse the request, call `services`, commit once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..core import policy
from ..core.errors import ValidationFailed
from ..extensions import db, limiter
from ..listings import services as listings
from ..security import user_or_address
from . import services

bp = Blueprint("inquiries", __name__)


def _new_thread_limit() -> str:
    return current_app.config["INQUIRY_LIMIT"]


def _reply_limit() -> str:
    return current_app.config["INQUIRY_REPLY_LIMIT"]


@bp.post("/achievements/<int:listing_id>/inquiries")
@limiter.limit(_new_thread_limit, key_func=user_or_address)
@login_required
def ask(listing_id: int):
    achievement = listings.get_listing("achievement", listing_id)
    message = request.form.get("message", "")
    try:
        inquiry = services.start_inquiry(current_user, achievement, message)
    except ValidationFailed as exc:
        db.session.rollback()
        return _compose(achievement, {"message": message}, exc.fields), 422
    db.session.commit()
    flash("合作意向已发送，对方回复后会在“消息”中提醒您", "success")
    return redirect(url_for(".thread", inquiry_id=inquiry.id))


@bp.post("/demands/<int:listing_id>/offers")
@limiter.limit(_new_thread_limit, key_func=user_or_address)
@login_required
def offer(listing_id: int):
    demand = listings.get_listing("demand", listing_id)
    values = {"message": request.form.get("message", ""), "achievement_id": request.form.get("achievement_id", "")}
    try:
        inquiry = services.start_offer(current_user, demand, values["achievement_id"], values["message"])
    except ValidationFailed as exc:
        db.session.rollback()
        return _compose(demand, values, exc.fields), 422
    db.session.commit()
    flash("已向需求方推荐成果，对方回复后会在“消息”中提醒您", "success")
    return redirect(url_for(".thread", inquiry_id=inquiry.id))


def _compose(listing: Any, values: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "inquiries/compose.html",
        listing=listing,
        values=values,
        errors=errors,
        achievements=services.offerable_achievements(current_user) if listing.KIND == "demand" else [],
    )


@bp.get("/inbox")
@login_required
def inbox():
    if current_user.active_org is None:
        return render_template("inquiries/inbox.html", page=None, rows=[])
    page, rows = services.inbox(current_user, request.args.get("page", 1, type=int))
    return render_template("inquiries/inbox.html", page=page, rows=rows)


@bp.get("/inbox/<int:inquiry_id>")
@login_required
def thread(inquiry_id: int):
    inquiry = services.load_thread(inquiry_id, current_user)
    services.mark_read(inquiry, current_user)
    db.session.commit()
    return _render_thread(inquiry, {}, {})


def _render_thread(inquiry, values: dict[str, str], errors: dict[str, str]) -> str:
    org = current_user.active_org
    return render_template(
        "inquiries/thread.html",
        inquiry=inquiry,
        other_org=inquiry.other_org(org.id if org else None),
        can_reply=policy.is_inquiry_party(current_user, inquiry),
        values=values,
        errors=errors,
    )


@bp.post("/inbox/<int:inquiry_id>/reply")
@limiter.limit(_reply_limit, key_func=user_or_address)
@login_required
def reply(inquiry_id: int):
    inquiry = services.load_thread(inquiry_id, current_user)
    message = request.form.get("message", "")
    try:
        services.reply(current_user, inquiry, message)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_thread(inquiry, {"message": message}, exc.fields), 422
    db.session.commit()
    flash("回复已发送", "success")
    return redirect(url_for(".thread", inquiry_id=inquiry.id) + "#latest")


# ---------------------------------------------------------------------------------------------
# For every page: the navbar badge and the panel on listing pages


@bp.app_context_processor
def inject_inquiry_helpers() -> dict[str, Any]:
    return {"inbox_unread": _inbox_unread, "inquiry_panel": _inquiry_panel}


def _inbox_unread() -> int:
    """Unread messages for the navbar: one query, never an error page of its own."""
    try:
        return services.unread_total(current_user)
    except SQLAlchemyError:
        current_app.logger.exception("unread count failed")
        return 0


def _inquiry_panel(listing: Any, is_owner: bool) -> dict[str, Any] | None:
    """What the listing page shows: the owner's count, a form for eligible members, or a reason."""
    if is_owner:
        return {"mode": "owner", "count": services.received_count(listing)}
    if not listing.is_published:
        return None
    if not current_user.is_authenticated:
        return {"mode": "login"}
    if listing.KIND == "achievement":
        reason = services.inquiry_refusal(current_user, listing)
        relevant = current_user.role == "enterprise"
        return {"mode": "ask", "refusal": reason} if relevant or reason is None else None
    reason = services.offer_refusal(current_user, listing)
    if current_user.role != "university":
        return None
    achievements = services.offerable_achievements(current_user) if reason is None else []
    if reason is None and not achievements:
        reason = "本机构还没有已公开发布的科技成果，发布并通过审核后即可推荐"
    return {"mode": "offer", "refusal": reason, "achievements": achievements}
