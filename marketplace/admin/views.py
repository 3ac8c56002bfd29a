"""The back office: review queue, organisation verification and join requests, user management,
and the audit log (which officials may read too).

Views are thin: parse the request, call the owning domain's service, commit once; a refusal
(ServiceError) is rolled back and shown as a Chinese flash on the page the admin came from."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import services as accounts
from ..core.audit import ACTION_LABELS
from ..core.errors import ServiceError
from ..core.guards import admin_required, roles_required
from ..core.taxonomy import OrgType, Role
from ..core.validators import parse_id, split_list
from ..extensions import db
from ..listings import services as listings
from . import services

bp = Blueprint("admin", __name__)

KIND_TABS = {"achievement": "科技成果", "demand": "技术需求"}


@bp.context_processor
def admin_navigation() -> dict:
    """To-do figures for the back office's navigation, for admins only."""
    if current_user.is_authenticated and current_user.is_admin:
        return {"todo": services.pending_counts()}
    return {"todo": None}


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


def _beyond_last(page):
    """A redirect to the last page when the one asked for is past the end (its items were just
    decided away), else None."""
    if page.items or page.page <= 1:
        return None
    return redirect(
        url_for(request.endpoint, **{**request.view_args, **request.args.to_dict(), "page": page.pages or 1})
    )


def _back(default: str):
    """Redirect to the admin page the form came from (its `next` field), keeping its filters."""
    target = request.form.get("next") or ""
    if target.startswith("/admin") and "//" not in target and "\\" not in target:
        return redirect(target)
    return redirect(default)


def _refusal(exc: ServiceError) -> str:
    # A field error says more than the generic "提交的内容有误".
    return "；".join(exc.fields.values()) if exc.fields else exc.message


def _commit(action: Callable[[], str]) -> bool:
    """Run one unit of work: commit and flash its success message, or roll back and flash why."""
    try:
        message = action()
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(_refusal(exc), "danger")
        return False
    flash(message, "success")
    return True


# ---------------------------------------------------------------------------------------------
# Dashboard


@bp.get("/")
@admin_required
def index():
    entries = services.recent_audit(8)
    return render_template(
        "admin/index.html",
        users_by_role=services.users_by_role(),
        recent=services.describe(entries, admin_links=True),
    )


# ---------------------------------------------------------------------------------------------
# Review queue


@bp.get("/reviews")
@admin_required
def reviews():
    kind = request.args.get("kind", "achievement")
    if kind not in KIND_TABS:
        kind = "achievement"
    page = listings.paginate(listings.review_queue(kind), _page())
    if redirect_to := _beyond_last(page):
        return redirect_to
    return render_template(
        "admin/reviews.html",
        kind=kind,
        kind_tabs=KIND_TABS,
        page=page,
        waiting_label=services.waiting_label,
        price_display=listings.price_display,
    )


@bp.post("/reviews/<any(achievement,demand):kind>/<int:listing_id>")
@admin_required
def review(kind: str, listing_id: int):
    listing = listings.get_listing(kind, listing_id)
    decision = request.form.get("decision")
    reason = request.form.get("reason")
    if decision not in ("approve", "reject"):
        flash("请选择“通过”或“驳回”", "danger")
    else:
        title = listing.title

        def act() -> str:
            listings.transition(listing, decision, current_user, reason)
            if decision == "approve":
                return f"已通过审核并发布：《{title}》"
            return f"已驳回《{title}》，退回草稿，原因已告知发布方"

        _commit(act)
    return _back(url_for("admin.reviews", kind=kind))


# ---------------------------------------------------------------------------------------------
# Organisations and join requests


@bp.get("/organizations")
@admin_required
def orgs():
    tab = "requests" if request.args.get("tab") == "requests" else "orgs"
    filters = {
        "q": request.args.get("q", "").strip(),
        "verified": request.args.get("verified", ""),
        "type": request.args.get("type", ""),
    }
    counts: dict[int, int] = {}
    if tab == "requests":
        page = listings.paginate(services.join_requests_query(), _page())
        if redirect_to := _beyond_last(page):
            return redirect_to
    else:
        page = listings.paginate(services.org_query(filters["q"], filters["verified"], filters["type"]), _page())
        if redirect_to := _beyond_last(page):
            return redirect_to
        counts = services.member_counts([org.id for org in page.items])
    return render_template(
        "admin/orgs.html",
        tab=tab,
        page=page,
        filters=filters,
        filter_args={key: value for key, value in filters.items() if value},
        member_counts=counts,
        org_types=OrgType.choices(),
        waiting_label=services.waiting_label,
    )


@bp.post("/organizations/<int:org_id>/verify")
@admin_required
def verify_org(org_id: int):
    org = accounts.get_org(org_id)
    verified = request.form.get("verified") == "1"
    reason = (request.form.get("reason") or "").strip() or None
    name = org.name

    def act() -> str:
        accounts.set_verified(org, verified, current_user, reason)
        return f"已认证“{name}”，其成员提交的信息现在可以审核发布" if verified else f"已取消“{name}”的认证"

    _commit(act)
    return _back(url_for("admin.orgs"))


@bp.post("/members/<int:user_id>/decide")
@admin_required
def decide_member(user_id: int):
    member = accounts.get_user(user_id)
    decision = request.form.get("decision")
    reason = (request.form.get("reason") or "").strip() or None
    if decision not in ("approve", "reject"):
        flash("请选择“批准”或“拒绝”", "danger")
        return _back(url_for("admin.orgs", tab="requests"))
    org_name = member.organization.name if member.organization else ""
    who = member.name

    def act() -> str:
        accounts.decide_membership(member, decision == "approve", current_user, reason)
        return f"已批准 {who} 加入“{org_name}”" if decision == "approve" else f"已拒绝 {who} 加入“{org_name}”的申请"

    _commit(act)
    return _back(url_for("admin.orgs", tab="requests"))


# ---------------------------------------------------------------------------------------------
# Users


@bp.get("/users")
@admin_required
def users():
    filters = {
        "q": request.args.get("q", "").strip(),
        "role": request.args.get("role", ""),
        "disabled": request.args.get("disabled", ""),
        "org_id": request.args.get("org_id", ""),
    }
    org_id = parse_id(filters["org_id"])
    org = accounts.get_org(org_id) if org_id else None
    stmt = services.user_query(filters["q"], filters["role"], filters["disabled"], org_id)
    page = listings.paginate(stmt, _page())
    if redirect_to := _beyond_last(page):
        return redirect_to
    return render_template(
        "admin/users.html",
        page=page,
        filters=filters,
        filter_args={key: value for key, value in filters.items() if value},
        org=org,
        roles=Role.choices(),
    )


@bp.post("/users/<int:user_id>/toggle")
@admin_required
def toggle_user(user_id: int):
    user = accounts.get_user(user_id)
    wanted = request.form.get("disabled")
    disabled = (wanted == "1") if wanted in ("1", "0") else not user.is_disabled
    reason = (request.form.get("reason") or "").strip() or None
    label = f"{user.name}（{user.email}）"

    def act() -> str:
        accounts.set_disabled(user, disabled, current_user, reason)
        return f"已停用 {label}，其登录状态已失效" if disabled else f"已启用 {label}"

    _commit(act)
    return _back(url_for("admin.users"))


@bp.post("/users/<int:user_id>/reset-password")
@admin_required
def reset_password(user_id: int):
    user = accounts.get_user(user_id)
    label = f"{user.name}（{user.email}）"

    def act() -> str:
        new = accounts.reset_password(user, current_user)
        return f"已重置 {label} 的密码。新密码：{new} ——仅显示这一次，请通过安全渠道告知本人，并提醒其登录后修改。"

    _commit(act)
    return _back(url_for("admin.users"))


# ---------------------------------------------------------------------------------------------
# Audit log


@bp.get("/audit")
@roles_required(Role.ADMIN, Role.OFFICIAL, message="只有平台管理员和科技管理人员可以查看审计日志")
def audit_log():
    args = {
        key: request.args.get(key, "").strip()
        for key in ("object_type", "object_id", "action", "actor", "date_from", "date_to")
    }
    errors: dict[str, str] = {}
    f = services.AuditFilter(object_type=args["object_type"], action=args["action"], actor=args["actor"])
    if (object_id := parse_id(args["object_id"])) is not None:
        f.object_id = object_id
    for key in ("date_from", "date_to"):
        try:
            setattr(f, key, services.parse_date(args[key]))
        except ValueError as exc:
            errors[key] = str(exc)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        errors["date_to"] = "结束日期不能早于开始日期"
        f.date_to = None
    page = listings.paginate(services.audit_query(f), _page())
    if redirect_to := _beyond_last(page):
        return redirect_to
    rows = services.describe(list(page.items), admin_links=current_user.is_admin)
    return render_template(
        "admin/audit.html",
        page=page,
        rows=rows,
        args=args,
        filter_args={key: value for key, value in args.items() if value and key not in errors},
        errors=errors,
        object_types=list(services.OBJECT_TYPE_LABELS.items()),
        object_type_labels=services.OBJECT_TYPE_LABELS,
        actions=list(ACTION_LABELS.items()),
    )


# ---------------------------------------------------------------------------------------------
# Search index: statistics, domain terms, rebuild with progress


@bp.get("/search")
@admin_required
def search_index():
    from .. import search

    index = search.get_index()
    return render_template(
        "admin/search.html",
        stats=index.stats(),
        outbox=search.outbox_stats(index),
        words=search.user_words(),
        job=search.reindex_status(),
    )


@bp.post("/search/words")
@admin_required
def search_words():
    from .. import search

    words = split_list(request.form.get("words"))
    too_long = [w for w in words if len(w) > 50]
    if not words:
        flash("请输入要添加的词语，多个词用空格或逗号分隔", "warning")
    elif too_long:
        flash(f"词语不能超过50个字：{too_long[0][:60]}", "danger")
    else:
        added = search.add_words(words)
        known = [w for w in words if w not in added]
        if added:
            flash(f"已添加 {len(added)} 个词：{'、'.join(added)}。请重建索引，使已有信息按新词重新分词。", "success")
        if known:
            flash(f"已存在：{'、'.join(known)}", "info")
    return redirect(url_for(".search_index"))


@bp.post("/search/reindex")
@admin_required
def search_reindex():
    from flask import current_app

    from .. import search

    try:
        search.start_reindex_job(current_app._get_current_object())
    except RuntimeError as exc:
        flash(str(exc), "warning")
    else:
        flash("已开始重建索引；重建期间搜索照常使用旧索引。", "success")
    return redirect(url_for(".search_index"))


# ---------------------------------------------------------------------------------------------
# E-mail outbox: what the platform has written to users, and whether it went out

MAIL_STATES = {"": "全部", "queued": "待发送", "failed": "发送失败", "sent": "已发送"}
# A password reset mail carries a live one-time link: the outbox page must not hand it to an admin
# (an admin who resets a password does it as an audited admin action, not as the user).
RESET_LINK = re.compile(r"(/password/reset/)[A-Za-z0-9_\-]+")


def mail_body_for_admin(body: str) -> str:
    return RESET_LINK.sub(r"\1••••••（重置链接已隐藏）", body or "")


@bp.get("/mail")
@admin_required
def mail_outbox():
    from ..alerts import mail

    state = request.args.get("state", "")
    if state not in MAIL_STATES:
        state = ""
    return render_template(
        "admin/mail.html",
        page=db.paginate(services.mail_query(state), page=_page(), per_page=50, error_out=False),
        state=state,
        states=MAIL_STATES,
        counts=mail.counts(),
        configured=mail.configured(),
        max_attempts=current_app.config["MAIL_MAX_ATTEMPTS"],
        mail_body=mail_body_for_admin,
    )


@bp.post("/mail/send")
@admin_required
def mail_send():
    from ..alerts import mail

    if not mail.configured():
        flash("未配置发信服务器（MAIL_SERVER），无法发送；邮件会一直保存在发件箱中。", "warning")
    else:
        report = mail.send_pending(limit=200)
        flash(report.describe(), "danger" if report.stopped else "success")
    return _back(url_for(".mail_outbox"))


@bp.post("/mail/<int:row_id>/retry")
@admin_required
def mail_retry(row_id: int):
    from ..alerts import mail

    if mail.retry(row_id) is None:
        flash("该邮件不存在或已发送", "warning")
    else:
        db.session.commit()
        flash("已重新排队，下次发信时会再次尝试。", "success")
    return _back(url_for(".mail_outbox"))
