"""Web pages for 揭榜挂帅: the public list and detail, the publisher's forms and management panel,
applications (揭榜), scoring, the decision, 我的揭榜挂帅 and the admin review queue.
Views parse the request, call `services`, commit once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import User
from ..core import audit
from ..core.errors import PermissionDenied, ServiceError, ValidationFailed
from ..core.guards import admin_required
from ..core.taxonomy import OrgType
from ..extensions import db
from . import policy, services
from .models import ApplicationStatus, ChallengeStatus
from .validation import APPLICATION_FIELDS, CHALLENGE_FIELDS, ELIGIBLE_TYPES, MAX_CRITERIA

bp = Blueprint("challenges", __name__)

ACTION_DONE = {
    "submit": "已提交审核，平台审核通过后将公开发布",
    "approve": "已审核通过，榜单已公开发布",
    "reject": "已驳回，驳回原因已告知发榜单位",
    "withdraw": "榜单已撤回。修改后可重新提交审核",
}
AUDIT_LABELS = audit.ACTION_LABELS
DEFAULT_CRITERIA = [
    {"name": "技术方案先进性与可行性", "weight": 40},
    {"name": "团队能力与研究基础", "weight": 30},
    {"name": "进度安排与经费合理性", "weight": 20},
    {"name": "成果转化与产业化前景", "weight": 10},
]


def _message_of(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "；".join(exc.fields.values())
    return exc.message


def _commit(work: Callable[[], Any], done: str, category: str = "success") -> bool:
    """One unit of work from a button: commit and flash `done`, or roll back and flash the
    refusal in Chinese. A PermissionDenied still answers 403 (after the rollback)."""
    try:
        work()
        db.session.commit()
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return False
    flash(done, category)
    return True


def _detail_url(challenge_id: int, anchor: str = "") -> str:
    return url_for(".detail", challenge_id=challenge_id) + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------------------------
# Public pages


@bp.get("/challenges")
def index():
    status = request.args.get("status", "")
    status = status if status in services.LIST_STATUSES else ""
    field = request.args.get("field", "").strip()
    field = field if current_app.extensions["taxonomy"].field(field) else ""
    sort = request.args.get("sort", "deadline")
    sort = sort if sort in services.SORTS else "deadline"
    args = {k: v for k, v in {"status": status, "field": field, "sort": sort}.items() if v and v != "deadline"}
    page = services.paginate(services.public_query(status, field, sort), request.args.get("page", 1, type=int))
    return render_template(
        "challenges/list.html",
        page=page,
        args=args,
        status=status,
        field=field,
        sort=sort,
        counts=services.application_counts([c.id for c in page.items]),
        statuses=services.LIST_STATUSES,
        sorts=services.SORTS,
        now=services.now(),
        services=services,
        can_publish=policy.can_publish(current_user),
    )


@bp.get("/challenges/<int:challenge_id>")
def detail(challenge_id: int):
    challenge = services.load_visible(challenge_id, current_user)
    return _render_detail(challenge)


def _render_detail(challenge, form_errors: dict[str, str] | None = None, form_values: dict[str, Any] | None = None):
    now = services.now()
    publisher = policy.is_publisher(current_user, challenge)
    reviewer = policy.is_reviewer(current_user, challenge)
    org = current_user.active_org if current_user.is_authenticated else None
    own = services.application_of(challenge, org.id if org else None)
    winner = next((a for a in challenge.applications if a.id == challenge.winner_application_id), None)
    history = audit.history(challenge) if publisher or policy.is_admin(current_user) else []
    return render_template(
        "challenges/detail.html",
        challenge=challenge,
        now=now,
        stats=services.stats(challenge, now),
        countdown=services.countdown(challenge, now),
        phase=services.phase_label(challenge, now),
        is_publisher=publisher,
        is_reviewer=reviewer,
        can_edit=policy.can_edit(current_user, challenge),
        can_score=policy.can_score(current_user, challenge, now),
        can_decide=policy.can_decide(current_user, challenge, now),
        can_invite=policy.can_invite(current_user, challenge),
        apply_refusal=policy.apply_refusal(current_user, challenge, now),
        own_application=own,
        can_change_own=own is not None and policy.can_change_application(current_user, own, now),
        actions=services.allowed_actions(challenge, current_user),
        action_labels=services.ACTION_LABELS,
        winner=winner,
        history=history,
        actors=_actors(history),
        audit_labels=AUDIT_LABELS,
        services=services,
        form_errors=form_errors or {},
        form_values=form_values or {},
    )


def _actors(history) -> dict[int, User]:
    ids = {entry.actor_id for entry in history if entry.actor_id}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


# ---------------------------------------------------------------------------------------------
# Create and edit


@bp.route("/challenges/new", methods=["GET", "POST"])
@login_required
def new():
    reason = policy.publish_refusal(current_user)
    if reason:
        raise PermissionDenied(reason)
    if request.method == "GET":
        org = current_user.active_org
        values = {
            "criteria": [dict(c) for c in DEFAULT_CRITERIA],
            "eligible_org_types": [t.value for t in ELIGIBLE_TYPES],
            "deadline_time": "23:59",
            "district": org.district or "",
            "contact_name": current_user.name,
            "contact_phone": current_user.phone or org.contact_phone or "",
        }
        return _render_form(None, values)
    data = _form_data()
    try:
        challenge = services.create_challenge(current_user, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(None, data, exc.fields), 422
    db.session.commit()
    _maybe_submit(challenge, created=True)
    return redirect(_detail_url(challenge.id))


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@login_required
def edit(challenge_id: int):
    challenge = services.get_challenge(challenge_id)
    if not policy.is_publisher(current_user, challenge):
        raise PermissionDenied("只有发榜单位的成员可以修改榜单")
    if not policy.can_edit(current_user, challenge):
        flash(f"“{challenge.status_label}”状态的榜单不能修改；如需修改待审核的榜单，请先撤回。", "warning")
        return redirect(_detail_url(challenge.id))
    if request.method == "GET":
        return _render_form(challenge, services.input_of(challenge))
    data = _form_data()
    try:
        services.update_challenge(challenge, current_user, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(challenge, data, exc.fields), 422
    db.session.commit()
    _maybe_submit(challenge, created=False)
    return redirect(_detail_url(challenge.id))


def _maybe_submit(challenge, *, created: bool) -> None:
    if request.form.get("intent") != "submit":
        flash("已保存为草稿。确认无误后请点击“提交审核”。" if created else "修改已保存", "success")
        return
    try:
        services.transition(challenge, "submit", current_user)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(f"已保存为草稿，但暂不能提交审核：{_message_of(exc)}", "warning")
        return
    flash(ACTION_DONE["submit"], "success")


def _form_data() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "") for key in CHALLENGE_FIELDS}
    names = request.form.getlist("criterion_name")
    weights = request.form.getlist("criterion_weight")
    data["criteria"] = [
        {"name": n, "weight": w} for n, w in zip(names, weights + [""] * (len(names) - len(weights)), strict=False)
    ]
    data["eligible_org_types"] = request.form.getlist("eligible_org_types")
    return data


def _render_form(challenge, values: dict[str, Any], errors: dict[str, str] | None = None):
    criteria = list(values.get("criteria") or [])
    rows = criteria + [{"name": "", "weight": ""}] * max(0, min(MAX_CRITERIA, len(criteria) + 2) - len(criteria))
    return render_template(
        "challenges/form.html",
        challenge=challenge,
        values=values,
        errors=errors or {},
        criteria_rows=rows[:MAX_CRITERIA],
        org_type_choices=[(t.value, t.label) for t in ELIGIBLE_TYPES],
        is_official=policy.is_official(current_user),
    )


# ---------------------------------------------------------------------------------------------
# Review workflow (publisher: submit / withdraw; admin: approve / reject)


@bp.post("/challenges/<int:challenge_id>/<any(submit,approve,reject,withdraw):action>")
@login_required
def action(challenge_id: int, action: str):
    challenge = services.get_challenge(challenge_id)
    _commit(
        lambda: services.transition(challenge, action, current_user, request.form.get("reason")),
        ACTION_DONE[action],
        "success" if action in ("submit", "approve") else "info",
    )
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return redirect(target)
    return redirect(_detail_url(challenge.id))


@bp.get("/admin/challenges")
@admin_required
def admin_queue():
    pending = list(db.session.scalars(services.review_queue()))
    return render_template("challenges/admin.html", pending=pending, services=services, now=services.now())


# ---------------------------------------------------------------------------------------------
# Applications


@bp.route("/challenges/<int:challenge_id>/apply", methods=["GET", "POST"])
@login_required
def apply(challenge_id: int):
    challenge = services.load_visible(challenge_id, current_user)
    now = services.now()
    org = current_user.active_org
    own = services.application_of(challenge, org.id if org else None)
    if request.method == "GET":
        if own is not None and own.status != ApplicationStatus.WITHDRAWN:
            return redirect(url_for(".edit_application", application_id=own.id))
        reason = policy.apply_refusal(current_user, challenge, now)
        if reason:
            raise PermissionDenied(reason)
        return _render_apply(challenge, None, {"achievement_ids": []})
    data = _application_data()
    try:
        application = services.apply(current_user, challenge, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_apply(challenge, None, data, exc.fields), 422
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(_detail_url(challenge.id))
    db.session.commit()
    flash("揭榜申请已提交。截止前可随时修改或撤回。", "success")
    return redirect(url_for(".application", application_id=application.id))


@bp.route("/challenges/applications/<int:application_id>/edit", methods=["GET", "POST"])
@login_required
def edit_application(application_id: int):
    application = services.load_application(application_id, current_user)
    challenge = application.challenge
    if not policy.belongs_to(current_user, application.org_id):
        raise PermissionDenied("只有申请单位的成员可以修改揭榜申请")
    if not policy.can_change_application(current_user, application, services.now()):
        flash("揭榜已截止或申请已不在可修改状态，申请不能再修改", "warning")
        return redirect(url_for(".application", application_id=application.id))
    if request.method == "GET":
        return _render_apply(challenge, application, _application_values(application))
    data = _application_data()
    try:
        services.update_application(current_user, application, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_apply(challenge, application, data, exc.fields), 422
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(url_for(".application", application_id=application.id))
    db.session.commit()
    flash("揭榜申请已更新", "success")
    return redirect(url_for(".application", application_id=application.id))


@bp.post("/challenges/applications/<int:application_id>/withdraw")
@login_required
def withdraw_application(application_id: int):
    application = services.load_application(application_id, current_user)
    _commit(
        lambda: services.withdraw_application(current_user, application), "揭榜申请已撤回。截止前可重新揭榜。", "info"
    )
    return redirect(_detail_url(application.challenge_id))


def _application_data() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "") for key in APPLICATION_FIELDS}
    data["achievement_ids"] = request.form.getlist("achievement_ids")
    return data


def _application_values(application) -> dict[str, Any]:
    return {
        "proposal": application.proposal,
        "team": application.team,
        "schedule": application.schedule,
        "budget": f"{application.budget.normalize():f}" if application.budget is not None else "",
        "achievement_ids": [str(i) for i in application.achievement_ids or []],
    }


def _render_apply(challenge, application, values: dict[str, Any], errors: dict[str, str] | None = None):
    values["achievement_ids"] = [str(i) for i in values.get("achievement_ids") or []]
    return render_template(
        "challenges/apply.html",
        challenge=challenge,
        application=application,
        values=values,
        errors=errors or {},
        achievements=services.linkable_achievements(current_user),
        countdown=services.countdown(challenge),
    )


@bp.get("/challenges/applications/<int:application_id>")
@login_required
def application(application_id: int):
    application = services.load_application(application_id, current_user)
    return _render_application(application)


def _render_application(application, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None):
    challenge = application.challenge
    now = services.now()
    mine = services.score_of(application, current_user)
    if values is None:
        values = {"scores": [str(s) for s in mine.scores] if mine else [], "comment": mine.comment if mine else ""}
    return render_template(
        "challenges/application.html",
        application=application,
        challenge=challenge,
        now=now,
        can_score=policy.can_score(current_user, challenge, now) and application.status != ApplicationStatus.WITHDRAWN,
        can_decide=policy.can_decide(current_user, challenge, now),
        can_change=policy.can_change_application(current_user, application, now),
        can_view_scores=policy.can_view_scores(current_user, application),
        is_publisher=policy.is_publisher(current_user, challenge),
        is_reviewer=policy.is_reviewer(current_user, challenge),
        my_score=mine,
        average=services.average_score(application),
        linked=services.linked_achievements(application),
        values=values,
        errors=errors or {},
    )


# ---------------------------------------------------------------------------------------------
# Reviewing: invite, score, shortlist, decide


@bp.post("/challenges/<int:challenge_id>/reviewers")
@login_required
def invite(challenge_id: int):
    challenge = services.get_challenge(challenge_id)
    email = request.form.get("email", "")
    try:
        reviewer = services.invite_reviewer(current_user, challenge, email)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_detail(challenge, exc.fields, {"email": email}), 422
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(_detail_url(challenge.id, "manage"))
    db.session.commit()
    flash(f"已邀请 {reviewer.user.name} 担任评审专家，并已通知本人", "success")
    return redirect(_detail_url(challenge.id, "manage"))


@bp.post("/challenges/applications/<int:application_id>/score")
@login_required
def score(application_id: int):
    application = services.load_application(application_id, current_user)
    raw = [request.form.get(f"score_{i}", "") for i in range(len(application.challenge.criteria or []))]
    comment = request.form.get("comment", "")
    try:
        row = services.score(current_user, application, raw, comment)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_application(application, {"scores": raw, "comment": comment}, exc.fields), 422
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(url_for(".application", application_id=application.id))
    db.session.commit()
    flash(f"评分已保存，加权总分 {row.total}", "success")
    return redirect(url_for(".application", application_id=application.id))


@bp.post("/challenges/applications/<int:application_id>/shortlist")
@login_required
def shortlist(application_id: int):
    application = services.load_application(application_id, current_user)
    on = request.form.get("on", "1") != "0"
    _commit(
        lambda: services.set_shortlisted(current_user, application, on),
        f"“{application.organization.name}”已{'入围' if on else '取消入围'}",
    )
    return redirect(_detail_url(application.challenge_id, "manage"))


@bp.post("/challenges/<int:challenge_id>/decide")
@login_required
def decide(challenge_id: int):
    challenge = services.get_challenge(challenge_id)
    values = {key: request.form.get(key, "") for key in ("winner", "no_winner_reason", "result_note")}
    try:
        services.decide(current_user, challenge, values["winner"], values["no_winner_reason"], values["result_note"])
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_detail(challenge, exc.fields, values), 422
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(_detail_url(challenge.id, "manage"))
    db.session.commit()
    flash("揭榜结果已公布，所有申请单位均已收到通知", "success")
    return redirect(_detail_url(challenge.id))


# ---------------------------------------------------------------------------------------------
# 我的揭榜挂帅


@bp.get("/my/challenges")
@login_required
def mine():
    return render_template(
        "challenges/mine.html",
        mine=services.mine(current_user),
        can_publish=policy.can_publish(current_user),
        services=services,
        now=services.now(),
        OrgType=OrgType,
        ChallengeStatus=ChallengeStatus,
    )
