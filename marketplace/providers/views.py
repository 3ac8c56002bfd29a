"""Web views of the providers domain (thin: parse, call services, render): the "1+7+N" catalogue,
a provider's page, offerings (new/edit/上架下架), service requests (new, 我的服务请求, 服务工作台,
detail with timeline, actions, notes, rating, result file)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..core.actions import commit_or_flash as _act
from ..core.downloads import private_file
from ..core.errors import Conflict, PermissionDenied, ValidationFailed
from ..core.policy import is_admin
from ..core.taxonomy import ServiceCategory
from ..core.timeutil import utcnow
from ..extensions import db
from . import services
from .models import ContactPreference, RequestStatus

bp = Blueprint("providers", __name__)

OFFERING_FIELDS = services.OFFERING_FIELDS
REQUEST_FIELDS = ("subject", "description", "desired_date", "contact_preference", "listing")


@bp.app_template_global("service_provider_summary")
def service_provider_summary(org: Any) -> dict[str, Any] | None:
    """For the organisation page: the provider's active offerings and figures (None: none)."""
    return services.provider_summary(org)


@bp.get("")
def catalogue():
    f = services.CatalogueFilters.parse(request.args)
    page = services.catalogue(f)
    stats = services.provider_stats({o.org_id for o in page.items})
    org = current_user.active_org if current_user.is_authenticated else None
    return render_template(
        "providers/catalogue.html",
        f=f,
        page=page,
        stats=stats,
        categories=services.category_infos(),
        counts=services.category_counts(),
        sorts=services.SORTS,
        can_publish=org is not None and services.can_manage_offerings(current_user, org.id),
    )


@bp.get("/providers/<int:org_id>")
def provider(org_id: int):
    org = services.load_provider(org_id)
    manager = services.can_manage_offerings(current_user, org.id) or is_admin(current_user)
    offerings = services.offerings_of(org.id, include_inactive=manager)
    if not org.verified and not manager:
        offerings = []
    return render_template(
        "providers/provider.html",
        org=org,
        offerings=offerings,
        stats=services.provider_stats([org.id])[org.id],
        reviews=services.recent_reviews(org.id),
        manager=manager,
    )


def _offering_form(offering=None):
    values = {k: request.form.get(k, "") for k in OFFERING_FIELDS}
    if offering is not None and request.method == "GET":
        values = {k: getattr(offering, k) if getattr(offering, k) is not None else "" for k in OFFERING_FIELDS}
    if request.method == "GET" and offering is None:
        values["category"] = request.args.get("category", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if offering is None:
                offering = services.create_offering(current_user, values)
                done = "服务已发布"
            else:
                services.update_offering(offering, current_user, values)
                done = "服务已保存"
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("providers.offering", offering_id=offering.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    return render_template(
        "providers/offering_form.html",
        offering=offering,
        values=values,
        errors=errors,
        categories=ServiceCategory.choices(),
    ), (422 if errors else 200)


@bp.route("/offerings/new", methods=["GET", "POST"])
@login_required
def new_offering():
    services.require_publisher(current_user)
    return _offering_form()


@bp.get("/offerings/<int:offering_id>")
def offering(offering_id: int):
    item = services.load_offering(offering_id, current_user)
    return render_template(
        "providers/offering.html",
        offering=item,
        stats=services.provider_stats([item.org_id])[item.org_id],
        can_edit=services.can_edit_offering(current_user, item),
        refusal=services.request_refusal(current_user, item) if current_user.is_authenticated else None,
    )


@bp.route("/offerings/<int:offering_id>/edit", methods=["GET", "POST"])
@login_required
def edit_offering(offering_id: int):
    item = services.load_offering(offering_id, current_user)
    if not services.can_edit_offering(current_user, item):
        raise PermissionDenied("只有服务所属机构的管理员可以修改服务")
    return _offering_form(item)


@bp.post("/offerings/<int:offering_id>/active")
@login_required
def set_active(offering_id: int):
    item = services.load_offering(offering_id, current_user)
    active = request.form.get("active") == "1"
    return _act(
        lambda: services.set_offering_active(item, current_user, active),
        url_for("providers.offering", offering_id=offering_id),
        "服务已重新上架" if active else "服务已下架，不再出现在服务目录中",
    )


def _request_values() -> dict[str, Any]:
    values = {k: request.form.get(k, "") for k in REQUEST_FIELDS}
    kind, _, number = values["listing"].partition(":")
    if kind in ("achievement", "demand") and number:
        values[f"{kind}_id"] = number
    return values


@bp.route("/offerings/<int:offering_id>/request", methods=["GET", "POST"])
@login_required
def new_request(offering_id: int):
    item = services.load_offering(offering_id, current_user)
    refusal = services.request_refusal(current_user, item)
    if refusal is not None:
        if current_user.active_org is None or current_user.active_org.id == item.org_id:
            raise PermissionDenied(refusal)
        flash(refusal, "warning")
        return redirect(url_for("providers.offering", offering_id=offering_id))
    values = _request_values()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            req = services.create_request(current_user, item, values)
            db.session.commit()
            flash("服务请求已提交，服务机构受理后会通知您", "success")
            return redirect(url_for("providers.request_detail", request_id=req.id))
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            errors = exc.fields or {"subject": exc.message}
            for key in ("achievement_id", "demand_id"):
                if key in errors:
                    errors["listing"] = errors.pop(key)
    return render_template(
        "providers/request_form.html",
        offering=item,
        values=values,
        errors=errors,
        contacts=ContactPreference.choices(),
        listings=services.linkable_listings(current_user),
    ), (422 if errors else 200)


def _request_list(side: str, template: str):
    if current_user.active_org is None:
        raise PermissionDenied("加入机构（成员资格获批）后才能查看服务请求")
    status = services.parse_status(request.args.get("status"))
    page = request.args.get("page", 1, type=int) or 1
    rows = db.paginate(
        services.requests_query(current_user, side, status), page=max(page, 1), per_page=20, error_out=False
    )
    org = current_user.active_org
    return render_template(
        template,
        page=rows,
        status=status or "",
        statuses=RequestStatus,
        counts=services.status_counts(current_user, side),
        side=side,
        now=utcnow(),
        waiting=services.waiting_hours,
        offerings=services.offerings_of(org.id, include_inactive=True) if side == "provider" else [],
        can_publish=services.can_manage_offerings(current_user, org.id),
        stats=services.provider_stats([org.id])[org.id] if side == "provider" else None,
    )


@bp.get("/requests")
@login_required
def my_requests():
    return _request_list("requester", "providers/my_requests.html")


@bp.get("/workbench")
@login_required
def workbench():
    return _request_list("provider", "providers/workbench.html")


@bp.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int):
    req = services.load_request(request_id, current_user)
    return render_template(
        "providers/request.html",
        req=req,
        actions=services.allowed_actions(current_user, req),
        timeline=services.timeline(req),
        messages=services.messages_of(req),
        is_provider=services.is_provider(current_user, req),
        is_requester=services.is_requester(current_user, req),
        can_rate=services.is_requester(current_user, req) and req.status == "completed" and req.rating is None,
        waiting=services.waiting_hours(req) if req.status == "submitted" else None,
    )


@bp.post("/requests/<int:request_id>/<any(accept, decline, start, complete, cancel):action>")
@login_required
def request_action(request_id: int, action: str):
    req = services.load_request(request_id, current_user)
    upload = request.files.get("file")
    file = (upload.filename, upload.read()) if upload is not None and upload.filename else None
    return _act(
        lambda: services.transition(req, action, current_user, request.form, file),
        url_for("providers.request_detail", request_id=request_id),
        f"已{services.TRANSITIONS[action].label}",
    )


@bp.post("/requests/<int:request_id>/rating")
@login_required
def rate(request_id: int):
    req = services.load_request(request_id, current_user)
    return _act(
        lambda: services.rate(req, current_user, request.form.get("score"), request.form.get("comment")),
        url_for("providers.request_detail", request_id=request_id),
        "感谢您的评价",
    )


@bp.post("/requests/<int:request_id>/messages")
@login_required
def message(request_id: int):
    req = services.load_request(request_id, current_user)
    return _act(
        lambda: services.add_message(req, current_user, request.form.get("body")),
        url_for("providers.request_detail", request_id=request_id) + "#messages",
        "留言已发送",
    )


@bp.get("/requests/<int:request_id>/file")
@login_required
def result_file(request_id: int):
    req = services.load_request(request_id, current_user)
    path = services.result_file(req, current_user)
    return private_file(path, req.result_file_mime, req.result_file_name)


@bp.context_processor
def provider_helpers() -> dict:
    return {"service_category_label": ServiceCategory.label_of, "service_category_notes": services.CATEGORY_NOTES}
