"""Bulk import pages: upload a file, see what was imported and what was rejected; download the
.xlsx template. The rules live in `listings.importer`; this module only reads the request."""

from __future__ import annotations

from io import BytesIO

from flask import Blueprint, current_app, render_template, request, send_file
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ..accounts.models import Organization
from ..core import policy
from ..core.errors import Conflict, PermissionDenied, ServiceError
from ..core.validators import parse_id
from ..extensions import db
from ..listings import importer

bp = Blueprint("imports", __name__)

MAX_REJECTED_SHOWN = 500


def _require_importer() -> None:
    if policy.is_admin(current_user):
        return
    if current_user.role not in policy.LISTING_ROLES:
        raise PermissionDenied("只有高校/院所、企业成员和平台管理员可以批量导入")
    if current_user.active_org is None:
        raise PermissionDenied("您还没有加入机构（或加入申请尚未批准），暂不能批量导入")


def _org_choices() -> list[tuple[str, str]]:
    orgs = db.session.scalars(select(Organization).order_by(Organization.name))
    return [(str(o.id), o.name + ("（已认证）" if o.verified else "（未认证）")) for o in orgs]


@bp.route("/", methods=["GET", "POST"])
@login_required
def upload():
    _require_importer()
    is_admin = policy.is_admin(current_user)
    form = {
        "kind": request.form.get("kind", request.args.get("kind", "achievement")),
        "org_id": request.form.get("org_id", ""),
        "dry_run": bool(request.form.get("dry_run")),
        "submit": bool(request.form.get("submit_review")),
        "publish": bool(request.form.get("publish")),
    }
    context = {
        "form": form,
        "is_admin": is_admin,
        "org_choices": _org_choices() if is_admin else [],
        "kinds": [(k, importer.KIND_LABELS[k]) for k in importer.KINDS],
        "max_mb": current_app.config["MAX_UPLOAD_MB"],
    }
    if request.method == "GET":
        return render_template("imports/upload.html", errors={}, **context)

    errors = _check_form(form, is_admin)
    upload_file, content = _read_upload(errors, context["max_mb"])
    org = db.session.get(Organization, int(form["org_id"])) if is_admin and not errors else current_user.active_org
    if errors:
        return render_template("imports/upload.html", errors=errors, **context), 400
    try:
        result = importer.import_file(
            content,
            upload_file.filename,
            org,
            current_user._get_current_object(),
            kind=form["kind"],
            dry_run=form["dry_run"],
            publish=is_admin and form["publish"],
            submit=not is_admin and form["submit"],
        )
    except ServiceError as exc:
        db.session.rollback()
        key = "publish" if isinstance(exc, Conflict) else "file"
        return render_template("imports/upload.html", errors={key: exc.message}, **context), exc.status
    return render_template(
        "imports/result.html",
        result=result,
        org=org,
        is_admin=is_admin,
        filename=upload_file.filename,
        max_shown=MAX_REJECTED_SHOWN,
    )


def _read_upload(errors: dict[str, str], max_mb: int) -> tuple[FileStorage | None, bytes]:
    """The uploaded file and its bytes, reading at most one byte past the limit."""
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        errors["file"] = "请选择要导入的文件（.xlsx、.csv 或 .jsonl）"
        return None, b""
    if not upload_file.filename.lower().endswith(importer.FORMATS):
        errors["file"] = "只能导入 .xlsx、.csv 或 .jsonl 文件（旧版 .xls 请先另存为 .xlsx）"
        return upload_file, b""
    limit = max_mb * 1024 * 1024
    content = upload_file.read(limit + 1)
    if len(content) > limit:
        errors["file"] = f"文件超过{max_mb}MB的大小限制，请拆分后分批导入"
    return upload_file, content


def _check_form(form: dict, is_admin: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if form["kind"] not in importer.KINDS:
        errors["kind"] = "请选择导入类型"
    if is_admin:
        org_id = parse_id(form["org_id"])
        if org_id is None or db.session.get(Organization, org_id) is None:
            errors["org_id"] = "请选择要导入到的机构"
    return errors


@bp.get("/template/<any(achievement,demand):kind>.xlsx")
def template(kind: str):
    """The blank template with Chinese headers; public, it holds no data."""
    return send_file(
        BytesIO(importer.build_template(kind)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=importer.template_filename(kind),
        max_age=0,
    )
