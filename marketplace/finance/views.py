"""科技金融 pages: the product catalogue, a product's page, publishing products, applying for
financing, 我的融资申请 / 融资审批工作台, an application's page with its history and actions,
field follows, roadshows and the officials' figures. Views parse, call `services`, commit once;
a refusal of the input is shown beside the field or flashed, a missing right is a 403/404 page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..core.actions import commit_or_flash as _act
from ..core.downloads import private_file
from ..core.errors import PermissionDenied, ValidationFailed
from ..core.guards import roles_required
from ..core.money import format_yuan
from ..core.policy import is_admin
from ..core.taxonomy import Role
from ..core.timeutil import format_local, to_local
from ..core.validators import parse_id
from ..extensions import db
from ..listings.models import Achievement
from ..listings.services import upload_path
from . import services, stats
from .models import ApplicationStatus, FinanceProduct, ProductKind, ProductStatus

bp = Blueprint("finance", __name__)

PRODUCT_FIELDS = (
    "kind",
    "title",
    "description",
    "requirements",
    "amount_min",
    "amount_max",
    "rate_min",
    "rate_max",
    "term_min",
    "term_max",
)
ROADSHOW_FIELDS = ("title", "starts_at", "registration_deadline", "place", "online_url", "capacity", "description")
PER_PAGE = 20

officials_only = roles_required(Role.OFFICIAL, Role.ADMIN, message="统计数据仅向科技管理部门和平台管理员开放")


@bp.app_template_filter("rate")
def rate_filter(value) -> str:
    return services.format_rate(value)


@bp.context_processor
def finance_context() -> dict[str, Any]:
    return {"ProductKind": ProductKind, "ApplicationStatus": ApplicationStatus, "finance": services}


def _files() -> list[tuple[str, bytes]]:
    return [(f.filename or "材料", f.read()) for f in request.files.getlist("file") if f and f.filename]


def _ref_data() -> dict[str, list[str]]:
    return {name: request.form.getlist(name) for name in services.REF_FIELDS}


# ---------------------------------------------------------------------------------------------
# Products


@bp.get("")
def catalogue():
    page = max(1, request.args.get("page", 1, type=int) or 1)
    items, total = services.catalogue(request.args, page, PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "finance/catalogue.html",
        items=items,
        total=total,
        page=page,
        pages=pages,
        args={k: v for k, v in request.args.items() if k != "page"},
        institutions=services.institutions(),
        roadshows=services.roadshows()[:3],
        can_publish=services.institution_of(current_user) is not None,
    )


def _product_form(product: FinanceProduct | None):
    institution = services.institution_of(current_user)
    if institution is None:
        raise PermissionDenied("只有经认证的金融机构可以发布金融产品")
    if product is not None and product.org_id != institution.id:
        raise PermissionDenied("只有发布该产品的金融机构成员可以修改它")
    errors: dict[str, str] = {}
    if request.method == "POST":
        values: dict[str, Any] = {name: request.form.get(name, "") for name in PRODUCT_FIELDS}
        values["fields"] = request.form.getlist("fields")
        values["publish"] = request.form.get("publish", "")
        try:
            if product is None:
                product = services.create_product(current_user, values)
            else:
                services.update_product(product, current_user, values)
            db.session.commit()
            flash("金融产品已保存" + ("并发布" if product.status == ProductStatus.PUBLISHED.value else ""), "success")
            return redirect(url_for("finance.product", product_id=product.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    elif product is not None:
        values = {name: getattr(product, name) or "" for name in PRODUCT_FIELDS}
        values["fields"] = list(product.fields or [])
    else:
        values = {"term_min": "6", "term_max": "36", "fields": []}
    return render_template(
        "finance/product_form.html", product=product, values=values, errors=errors, kinds=ProductKind.choices()
    ), (422 if errors else 200)


@bp.route("/products/new", methods=["GET", "POST"])
@login_required
def new_product():
    return _product_form(None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int):
    return _product_form(services.load_product(product_id, current_user))


@bp.post("/products/<int:product_id>/status")
@login_required
def product_status(product_id: int):
    product = services.load_product(product_id, current_user)
    action = request.form.get("action", "")
    return _act(
        lambda: services.set_product_status(product, current_user, action),
        url_for("finance.product", product_id=product_id),
        "产品已发布" if action == "publish" else "产品已下架",
    )


@bp.get("/products/<int:product_id>")
def product(product_id: int):
    item = services.load_product(product_id, current_user)
    return render_template(
        "finance/product.html",
        product=item,
        is_member=services.is_institution_member(current_user, item.org_id),
        can_apply=services.applicant_org(current_user) is not None and item.status == ProductStatus.PUBLISHED.value,
    )


# ---------------------------------------------------------------------------------------------
# Applications


@bp.route("/products/<int:product_id>/apply", methods=["GET", "POST"])
@login_required
def apply(product_id: int):
    item = services.load_product(product_id, current_user)
    org = services.applicant_org(current_user)
    if org is None:
        raise PermissionDenied("只有已认证机构（金融机构除外）的成员可以申请融资")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"term_months": str(item.term_min)}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in ("amount_requested", "term_months", "purpose")}
        values.update(_ref_data())
        try:
            application = services.create_application(current_user, item, values, _files())
            db.session.commit()
            flash("融资申请已提交，金融机构受理后会通知您", "success")
            return redirect(url_for("finance.application", application_id=application.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    return render_template(
        "finance/apply.html", product=item, org=org, values=values, errors=errors, options=services.attachable(org)
    ), (422 if errors else 200)


@bp.get("/applications")
@login_required
def my_applications():
    org = current_user.active_org
    if org is None or services.institution_of(current_user) is not None:
        if services.institution_of(current_user) is not None:
            return redirect(url_for("finance.workbench"))
        raise PermissionDenied("请先加入并通过认证的机构，再申请融资")
    status = request.args.get("status") or None
    return render_template(
        "finance/my_applications.html",
        items=services.applications_of_org(org.id, status),
        status=status,
        org=org,
    )


@bp.get("/workbench")
@login_required
def workbench():
    institution = services.institution_of(current_user)
    if institution is None:
        raise PermissionDenied("融资审批工作台仅向经认证的金融机构成员开放")
    status = request.args.get("status") or None
    items = services.applications_for_institution(institution.id)
    counts: dict[str, int] = {}
    for a in items:
        counts[a.status] = counts.get(a.status, 0) + 1
    return render_template(
        "finance/workbench.html",
        institution=institution,
        items=[a for a in items if not status or a.status == status],
        counts=counts,
        status=status,
        products=services.products_of_org(institution.id),
    )


@bp.get("/applications/<int:application_id>")
@login_required
def application(application_id: int):
    item = services.load_application(application_id, current_user)
    is_applicant = services.belongs_to(current_user, item.org_id)
    return render_template(
        "finance/application.html",
        a=item,
        history=services.history(item),
        actions=services.allowed_actions(item, current_user),
        is_applicant=is_applicant,
        is_reviewer=services.is_institution_member(current_user, item.institution_id),
        options=services.attachable(item.organization) if is_applicant else {},
        format_local=format_local,
    )


@bp.post("/applications/<int:application_id>/transition")
@login_required
def transition(application_id: int):
    item = services.load_application(application_id, current_user)
    action = request.form.get("action", "")
    label = services.TRANSITIONS.get(action, ("", (), None, "操作"))[3]
    return _act(
        lambda: services.transition(item, action, current_user, request.form),
        url_for("finance.application", application_id=application_id),
        f"已{label}",
    )


@bp.post("/applications/<int:application_id>/attachments")
@login_required
def attach(application_id: int):
    item = services.load_application(application_id, current_user)
    return _act(
        lambda: services.attach(item, current_user, _ref_data(), _files()),
        url_for("finance.application", application_id=application_id),
        "材料已添加",
    )


@bp.get("/applications/<int:application_id>/files/<int:attachment_id>")
@login_required
def download(application_id: int, attachment_id: int):
    item = services.load_application(application_id, current_user)
    row = services.get_file(item, attachment_id)
    path = upload_path(row.stored_name)
    if not path.exists():
        abort(404)
    return private_file(path, row.content_type, row.label)


@bp.post("/applications/<int:application_id>/repayments")
@login_required
def repayment(application_id: int):
    item = services.load_application(application_id, current_user)
    return _act(
        lambda: services.record_repayment(item, current_user, request.form),
        url_for("finance.application", application_id=application_id),
        "还款已记录",
    )


# ---------------------------------------------------------------------------------------------
# Follows


@bp.get("/follows")
@login_required
def follows():
    taxonomy = current_app.extensions["taxonomy"]
    return render_template(
        "finance/follows.html",
        follows=services.follows_of(current_user),
        field_choices=taxonomy.field_choices(),
        field_path=taxonomy.field_path,
    )


@bp.post("/follows")
@login_required
def follow():
    return _act(
        lambda: services.follow_field(current_user, request.form.get("field")),
        url_for("finance.follows"),
        "已关注：该领域有新的科技成果发布时，您会收到通知和邮件",
    )


@bp.post("/follows/<int:saved_id>/delete")
@login_required
def unfollow(saved_id: int):
    return _act(lambda: services.unfollow(current_user, saved_id), url_for("finance.follows"), "已取消关注")


# ---------------------------------------------------------------------------------------------
# Roadshows


@bp.get("/roadshows")
def roadshows():
    return render_template(
        "finance/roadshows.html",
        upcoming=services.roadshows(True),
        past=services.roadshows(False),
        can_organise=services.can_organise(current_user),
        to_local=to_local,
    )


@bp.route("/roadshows/new", methods=["GET", "POST"])
@login_required
def new_roadshow():
    if not services.can_organise(current_user):
        raise PermissionDenied("只有科技管理部门、平台管理员或金融机构可以发起路演")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"capacity": "100"}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in ROADSHOW_FIELDS}
        try:
            item = services.create_roadshow(current_user, values)
            db.session.commit()
            flash("路演活动已发布", "success")
            return redirect(url_for("finance.roadshow", roadshow_id=item.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    return render_template("finance/roadshow_form.html", values=values, errors=errors), (422 if errors else 200)


@bp.get("/roadshows/<int:roadshow_id>")
def roadshow(roadshow_id: int):
    item = services.load_roadshow(roadshow_id)
    organiser = services.is_organiser(current_user, item)
    return render_template(
        "finance/roadshow.html",
        r=item,
        organiser=organiser,
        registered=services.registration_of(item, current_user) is not None,
        presentable=services.presentable(current_user) if not item.is_past() else [],
        past=item.is_past(),
        accepted=[p for p in item.projects if p.status == "accepted"],
        applied=[p for p in item.projects if p.status != "accepted"],
        own_org_id=current_user.active_org.id if current_user.is_authenticated and current_user.active_org else None,
    )


@bp.post("/roadshows/<int:roadshow_id>/register")
@login_required
def register(roadshow_id: int):
    item = services.load_roadshow(roadshow_id)
    return _act(
        lambda: services.register(item, current_user), url_for("finance.roadshow", roadshow_id=roadshow_id), "报名成功"
    )


@bp.post("/roadshows/<int:roadshow_id>/cancel")
@login_required
def cancel(roadshow_id: int):
    item = services.load_roadshow(roadshow_id)
    return _act(
        lambda: services.cancel_registration(item, current_user),
        url_for("finance.roadshow", roadshow_id=roadshow_id),
        "已取消报名",
    )


@bp.post("/roadshows/<int:roadshow_id>/present")
@login_required
def present(roadshow_id: int):
    item = services.load_roadshow(roadshow_id)
    raw = request.form.get("achievement_id", "")
    achievement = db.session.get(Achievement, pk) if (pk := parse_id(raw)) else None
    return _act(
        lambda: services.apply_to_present(item, current_user, achievement),
        url_for("finance.roadshow", roadshow_id=roadshow_id),
        "路演申请已提交，等待组织者确认",
    )


@bp.post("/roadshows/<int:roadshow_id>/projects/<int:project_id>/accept")
@login_required
def accept(roadshow_id: int, project_id: int):
    item = services.load_roadshow(roadshow_id)
    return _act(
        lambda: services.accept_project(item, current_user, project_id),
        url_for("finance.roadshow", roadshow_id=roadshow_id),
        "已确认该项目参加路演",
    )


# ---------------------------------------------------------------------------------------------
# Officials' figures


@bp.get("/stats")
@officials_only
def figures():
    errors: dict[str, str] = {}
    try:
        period = stats.parse_period(request.args)
    except ValidationFailed as exc:
        errors = exc.fields
        period = stats.parse_period({})
    data = stats.build(period)
    return render_template(
        "finance/stats.html",
        data=data,
        p=period,
        errors=errors,
        chart={"ratio": str(data.ratio) if data.ratio is not None else None},
        is_admin=is_admin(current_user),
        format_yuan=format_yuan,
    ), (422 if errors else 200)
