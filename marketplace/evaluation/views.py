"""成果评价 pages: the public scoring model, the lists (本机构的申请 / 待我组织 / 我的评审任务),
requesting, a request's page with the assigner's and the requester's actions, the expert's score
sheet, the report PDF and the public summary behind the listing's badge. Views parse, call
`services`, commit once; refusals of input or state are flashed, a missing right is a 403/404."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..core.actions import commit_or_flash as _act
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.policy import is_admin
from ..core.timeutil import local_today
from ..core.validators import parse_id
from ..extensions import db
from ..listings.models import Achievement
from . import documents, scoring, services
from .models import MemberStatus

bp = Blueprint("evaluation", __name__)

PER_PAGE = 20


@bp.app_template_global()
def evaluation_listing_box(listing: Any) -> dict[str, Any]:
    """What the achievement page shows: the badge of the latest public evaluation, and for the
    owner the open request or a button to request one (templates/evaluation/_badge.html)."""
    if not isinstance(listing, Achievement):
        return {}
    owner = services.can_request(current_user, listing) or services.is_listing_owner(current_user, listing)
    badge = services.badge_of(listing.id)
    return {
        "badge": badge,
        "grade_text": scoring.grade_text(badge.grade) if badge else "",
        "owner": owner,
        "own_latest": services.latest_completed(listing.id) if owner else None,
        "open": services.open_request_of(listing.id) if owner else None,
        "can_request": services.can_request(current_user, listing),
    }


@bp.get("/model")
def model():
    return render_template("evaluation/model.html", dimensions=scoring.DIMENSIONS, grades=scoring.GRADES, s=scoring)


@bp.get("")
@login_required
def index():
    view = request.args.get("view", "")
    if view not in services.VIEWS:
        view = "manage" if services.is_manager_anywhere(current_user) else "mine"
    page = db.paginate(
        services.list_query(current_user, view),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "evaluation/index.html",
        page=page,
        view=view,
        views=services.VIEWS,
        can_manage_any=services.is_manager_anywhere(current_user),
        can_request=bool(services.requestable_achievements(current_user)),
    )


@bp.get("/tasks")
@login_required
def tasks():
    return render_template("evaluation/tasks.html", tasks=services.tasks_of(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    achievements = services.requestable_achievements(current_user)
    if not achievements:
        raise PermissionDenied("只有拥有已发布科技成果的机构成员可以申请成果评价")
    values = {name: request.values.get(name, "") for name in ("achievement_id", "purpose", "provider_org_id", "notes")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        raw = values["achievement_id"]
        achievement = db.session.get(Achievement, pk) if (pk := parse_id(raw)) else None
        try:
            item = services.create_request(current_user, achievement, values)
            db.session.commit()
            flash("成果评价申请已提交，待组建评审专家组", "success")
            return redirect(url_for("evaluation.detail", request_id=item.id))
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            errors = exc.fields or {"achievement_id": exc.message}
    return render_template(
        "evaluation/new.html",
        achievements=achievements,
        providers=services.provider_orgs(),
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.get("/<int:request_id>")
@login_required
def detail(request_id: int):
    item = services.load(request_id, current_user)
    manage = services.can_manage(current_user, item)
    return render_template(
        "evaluation/detail.html",
        item=item,
        manage=manage,
        requester=services.is_requester(current_user, item),
        mine=services.member_of(item, current_user),
        result=services.result_of(item),
        candidates=services.candidate_experts(item) if manage and item.status == "requested" else [],
        can_cancel=item.is_open and (services.is_requester(current_user, item) or is_admin(current_user)),
        can_report=services.can_download_report(current_user, item),
        dimensions=scoring.DIMENSIONS,
        member_states=MemberStatus,
        today=local_today(),
    )


@bp.post("/<int:request_id>/assign")
@login_required
def assign(request_id: int):
    item = services.load(request_id, current_user)
    return _act(
        lambda: services.assign_panel(
            item, current_user, request.form.getlist("experts"), request.form.get("due_date")
        ),
        url_for("evaluation.detail", request_id=request_id),
        "评审专家组已组建，已通知各位专家",
    )


@bp.route("/<int:request_id>/score", methods=["GET", "POST"])
@login_required
def score(request_id: int):
    item = services.load(request_id, current_user)
    member = services.member_of(item, current_user)
    if member is None:
        raise PermissionDenied("只有本评价专家组的专家可以评分")
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            services.submit_scores(item, current_user, values)
            db.session.commit()
            flash("评分已保存；专家组关闭前可以修改", "success")
            return redirect(url_for("evaluation.detail", request_id=request_id))
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            errors = exc.fields or {"opinion": exc.message}
    else:
        values = {"opinion": member.opinion or ""}
        for row in member.scores:
            values[row.dimension] = f"{row.score:f}".rstrip("0").rstrip(".") if "." in f"{row.score:f}" else row.score
            values[f"{row.dimension}_comment"] = row.comment
    return render_template(
        "evaluation/score.html",
        item=item,
        member=member,
        values=values,
        errors=errors,
        dimensions=scoring.DIMENSIONS,
        editable=item.status in ("assigned", "scoring") and member.status != MemberStatus.WITHDRAWN.value,
    ), (422 if errors else 200)


@bp.post("/<int:request_id>/close")
@login_required
def close(request_id: int):
    item = services.load(request_id, current_user)
    withdrawals = {
        key.removeprefix("reason_"): value
        for key, value in request.form.items()
        if key.startswith("reason_") and key.removeprefix("reason_") in request.form.getlist("withdraw")
    }
    return _act(
        lambda: services.close_panel(item, current_user, withdrawals),
        url_for("evaluation.detail", request_id=request_id),
        "专家组已关闭，评价结果和报告已生成",
    )


@bp.post("/<int:request_id>/cancel")
@login_required
def cancel(request_id: int):
    item = services.load(request_id, current_user)
    return _act(
        lambda: services.cancel(item, current_user, request.form.get("reason")),
        url_for("evaluation.detail", request_id=request_id),
        "评价申请已取消",
    )


@bp.post("/<int:request_id>/badge")
@login_required
def badge(request_id: int):
    item = services.load(request_id, current_user)
    hidden = request.form.get("hidden") == "1"
    return _act(
        lambda: services.set_badge_hidden(item, current_user, hidden),
        url_for("evaluation.detail", request_id=request_id),
        "已隐藏成果页上的评价标识" if hidden else "成果页上已显示评价标识",
    )


@bp.get("/<int:request_id>/report.pdf")
@login_required
def report(request_id: int):
    item = db.session.get(services.EvaluationRequest, request_id)
    if item is None or item.status != "completed":
        raise NotFound("该成果评价尚未完成，没有评价报告")
    if not services.can_download_report(current_user, item):
        raise PermissionDenied("评价报告仅成果所属机构、评审专家、评价组织方、科技管理人员和管理员可以下载")
    return send_file(
        io.BytesIO(documents.render_report(item)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"成果评价报告-{item.report_number}.pdf",
    )


@bp.get("/<int:request_id>/summary")
def summary(request_id: int):
    item = services.load_summary(request_id, current_user)
    return render_template(
        "evaluation/summary.html",
        item=item,
        result=services.result_of(item),
        can_report=services.can_download_report(current_user, item),
        grade=scoring.GRADE_BY_CODE[item.grade],
        s=scoring,
    )
