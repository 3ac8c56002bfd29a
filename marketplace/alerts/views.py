"""订阅 (saved searches), one-click unsubscribe and the notification centre. Thin: parse, call
`services`, commit once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..core.errors import ValidationFailed
from ..extensions import db
from . import services

bp = Blueprint("alerts", __name__)


@bp.get("/alerts")
@login_required
def index():
    rows = [(s, services.search_args(s), services.describe(s)) for s in services.searches_of(current_user)]
    return render_template("alerts/index.html", rows=rows, kinds=services.KINDS)


@bp.post("/alerts")
@login_required
def save():
    try:
        services.save_search(current_user, request.form, request.form.get("name", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        flash("；".join(exc.fields.values()), "warning")
        return redirect(url_for("search.index", **_search_args_of_form()))
    db.session.commit()
    flash("已保存为订阅：有新发布的信息符合条件时，会在“通知”中提醒您并发送邮件", "success")
    return redirect(url_for(".index"))


def _search_args_of_form() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", "name") and v}


@bp.post("/alerts/<int:saved_id>/toggle")
@login_required
def toggle(saved_id: int):
    saved = services.load_own(saved_id, current_user)
    services.set_active(saved, not saved.active)
    db.session.commit()
    flash("订阅已恢复" if saved.active else "订阅已暂停", "success")
    return redirect(url_for(".index"))


@bp.post("/alerts/<int:saved_id>/delete")
@login_required
def delete(saved_id: int):
    saved = services.load_own(saved_id, current_user)
    services.delete_search(saved)
    db.session.commit()
    flash("订阅已删除", "success")
    return redirect(url_for(".index"))


@bp.get("/alerts/unsubscribe/<token>")
def unsubscribe(token: str):
    saved = services.by_token(token)
    return render_template("alerts/unsubscribe.html", saved=saved, done=False)


@bp.post("/alerts/unsubscribe/<token>")
def unsubscribe_confirm(token: str):
    saved = services.by_token(token)
    services.set_active(saved, False)
    db.session.commit()
    return render_template("alerts/unsubscribe.html", saved=saved, done=True)


@bp.get("/notifications")
@login_required
def notifications():
    return render_template("alerts/notifications.html", rows=services.notifications_of(current_user))


@bp.post("/notifications/read")
@login_required
def mark_read():
    services.mark_all_read(current_user)
    db.session.commit()
    flash("已全部标为已读", "success")
    return redirect(url_for(".notifications"))


@bp.app_context_processor
def inject_notification_count() -> dict[str, Any]:
    return {"notifications_unread": _notifications_unread}


def _notifications_unread() -> int:
    """Unread notifications for the navbar: one query, never an error page of its own."""
    try:
        return services.unread_count(current_user)
    except SQLAlchemyError:
        current_app.logger.exception("notification count failed")
        return 0
