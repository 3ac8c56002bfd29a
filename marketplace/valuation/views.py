"""Web views of the valuation domain (thin: parse, call services, render)."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..core.errors import PermissionDenied, ValidationFailed
from ..core.validators import parse_id
from ..extensions import db
from . import compute, documents, policy, pricing, services

bp = Blueprint("valuation", __name__)

REVENUE_ROWS = 8
COST_ROWS = 6
SCALARS = (
    "title",
    "subject",
    "achievement_id",
    "patent_number",
    "share_pct",
    "discount_pct",
    "risk_pct",
    "life_years",
    "margin_pct",
    "obsolescence_mode",
    "functional_pct",
    "economic_pct",
    "cost_remaining_life",
    "cost_total_life",
)


@bp.get("/pricing")
@login_required
def pricing_page():
    if not policy.can_use_pricing(current_user):
        raise PermissionDenied("技术定价参考面向机构成员、技术经纪人、科技管理人员和管理员")
    achievement_id, contract_id = request.args.get("achievement"), request.args.get("contract")
    if not achievement_id and not contract_id:
        return render_template("valuation/pricing_choose.html", achievements=services.own_achievements(current_user))
    case = pricing.load_case(current_user, achievement_id=achievement_id, contract_id=contract_id)
    return render_template("valuation/pricing.html", g=pricing.guidance(case), case=case)


def _form_data() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in SCALARS}
    data["revenues"] = [
        {"year": form.get(f"revenues-{i}-year", ""), "amount": form.get(f"revenues-{i}-amount", "")}
        for i in range(REVENUE_ROWS)
    ]
    data["cost_items"] = [
        {"name": form.get(f"cost_items-{i}-name", ""), "amount": form.get(f"cost_items-{i}-amount", "")}
        for i in range(COST_ROWS)
    ]
    return data


def _default_data() -> dict[str, Any]:
    achievement_id = request.args.get("achievement", "")
    data: dict[str, Any] = {
        "title": "",
        "subject": "",
        "achievement_id": achievement_id,
        "patent_number": "",
        "share_pct": "25",
        "discount_pct": "10",
        "risk_pct": "",
        "life_years": "",
        "margin_pct": "10",
        "obsolescence_mode": "rates",
        "functional_pct": "",
        "economic_pct": "",
        "cost_remaining_life": "",
        "cost_total_life": "",
        "revenues": [],
        "cost_items": [
            {"name": "研发人工", "amount": ""},
            {"name": "材料与测试", "amount": ""},
            {"name": "设备折旧", "amount": ""},
            {"name": "专利申请与维持费", "amount": ""},
        ],
    }
    achievement = None
    if (wanted := parse_id(achievement_id)) is not None:
        achievement = next((a for a in services.own_achievements(current_user) if a.id == wanted), None)
    if achievement is not None:
        data["title"] = f"{achievement.title} 价值评估"
        numbers = achievement.patent_numbers
        data["patent_number"] = numbers[0] if numbers else ""
        hint = services.life_hint(achievement, None)
        if hint is not None:
            data["life_years"] = str(hint.remaining)
    return data


def _padded(data: dict[str, Any]) -> dict[str, Any]:
    """Form values with the row lists flattened into revenues-0-amount ... fields."""
    values = {k: v for k, v in data.items() if k not in ("revenues", "cost_items")}
    for name, size in (("revenues", REVENUE_ROWS), ("cost_items", COST_ROWS)):
        rows = list(data.get(name) or [])[:size]
        for i in range(size):
            row = rows[i] if i < len(rows) else {}
            for key, value in row.items():
                values[f"{name}-{i}-{key}"] = value
    return values


def _editor(sheet=None):
    if not policy.can_create_worksheet(current_user):
        raise PermissionDenied("只有机构成员和技术经纪人可以使用价值评估工作表")
    errors: dict[str, str] = {}
    results = None
    data = services.form_data(sheet) if sheet is not None else _default_data()
    if request.method == "POST":
        data = _form_data()
        try:
            if request.form.get("action") == "preview":
                _inputs, results = services.preview(current_user, data)
                flash("已按当前假设试算（尚未保存）", "info")
            else:
                if sheet is None:
                    sheet = services.create(current_user, data)
                else:
                    services.update(sheet, current_user, data)
                db.session.commit()
                flash("工作表已保存", "success")
                return redirect(url_for("valuation.worksheet", sheet_id=sheet.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    achievement = None
    if (wanted := parse_id(data.get("achievement_id"))) is not None:
        achievement = next((a for a in services.own_achievements(current_user) if a.id == wanted), None)
    hint = services.life_hint(achievement, data.get("patent_number") or None)
    return render_template(
        "valuation/worksheet_form.html",
        sheet=sheet,
        values=_padded(data),
        errors=errors,
        results=results,
        achievements=services.own_achievements(current_user),
        hint=hint,
        revenue_rows=REVENUE_ROWS,
        cost_rows=COST_ROWS,
        modes=list(compute.OBSOLESCENCE_MODES.items()),
        disclaimer=compute.DISCLAIMER,
    )


@bp.get("/worksheets")
@login_required
def worksheets():
    if not policy.can_create_worksheet(current_user):
        raise PermissionDenied("只有机构成员和技术经纪人可以使用价值评估工作表")
    page = db.paginate(
        services.mine(current_user), page=request.args.get("page", 1, type=int), per_page=services.PER_PAGE
    )
    return render_template("valuation/worksheets.html", page=page)


@bp.route("/worksheets/new", methods=["GET", "POST"])
@login_required
def new_worksheet():
    return _editor()


@bp.get("/worksheets/<int:sheet_id>")
@login_required
def worksheet(sheet_id: int):
    sheet = services.load(sheet_id, current_user)
    return render_template(
        "valuation/worksheet.html",
        sheet=sheet,
        r=sheet.results,
        inputs=sheet.inputs,
        can_edit=policy.can_edit_worksheet(current_user, sheet),
        modes=compute.OBSOLESCENCE_MODES,
    )


@bp.route("/worksheets/<int:sheet_id>/edit", methods=["GET", "POST"])
@login_required
def edit_worksheet(sheet_id: int):
    sheet = services.load(sheet_id, current_user, write=True)
    return _editor(sheet)


@bp.post("/worksheets/<int:sheet_id>/delete")
@login_required
def delete_worksheet(sheet_id: int):
    sheet = services.load(sheet_id, current_user, write=True)
    services.delete(sheet, current_user)
    db.session.commit()
    flash("工作表已删除", "success")
    return redirect(url_for("valuation.worksheets"))


@bp.get("/worksheets/<int:sheet_id>.pdf")
@login_required
def worksheet_pdf(sheet_id: int):
    sheet = services.load(sheet_id, current_user)
    return send_file(
        io.BytesIO(documents.render_worksheet(sheet)),
        mimetype="application/pdf",
        download_name=f"价值评估工作表-{documents.number_of(sheet)}.pdf",
    )
