"""Web views of the resources domain (thin: parse, call services, render): 科技人才库 (/experts),
achievement teams, and 大型科学仪器共享 (/instruments) with a week calendar and bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import Organization
from ..core.actions import commit_or_flash as _act
from ..core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.policy import is_admin
from ..core.timeutil import LOCAL_TZ, local_today, to_local, utcnow
from ..extensions import db
from ..listings.models import Achievement
from . import queries, services
from .models import BookingStatus, InstrumentStatus

bp = Blueprint("resources", __name__)

EXPERT_FIELDS = (
    "name",
    "title",
    "organization_id",
    "org_name",
    "expertise",
    "achievements_text",
    "phone",
    "email",
)
INSTRUMENT_FIELDS = (
    "name",
    "model",
    "manufacturer",
    "field_code",
    "specs",
    "district",
    "address",
    "fee",
    "fee_unit",
    "availability_notes",
    "status",
    "contact_name",
    "contact_phone",
    "contact_email",
)


@bp.app_template_global("achievement_team")
def achievement_team(achievement: Achievement) -> dict[str, Any]:
    """What the achievement page's team box shows: the members and whether the viewer manages them."""
    return {
        "members": services.team_of(achievement),
        "can_manage": services.can_manage_team(current_user, achievement),
    }


# ---------------------------------------------------------------------------------------------
# Experts


@bp.get("/experts")
def experts():
    args = queries.ExpertArgs.read(request.args)
    page = queries.expert_page(args)
    return render_template(
        "resources/experts.html",
        page=page,
        args=args,
        field_choices=services.taxonomy().field_choices(),
        orgs=queries.expert_orgs(),
        own=services.own_expert(current_user),
        can_add_org_expert=is_admin(current_user) or bool(getattr(current_user, "is_org_manager", False)),
    )


def _expert_form(values: dict[str, Any], errors: dict[str, str], expert=None, status: int = 200):
    orgs: list[Organization] = []
    if is_admin(current_user):
        orgs = list(db.session.scalars(db.select(Organization).order_by(Organization.name)))
    elif current_user.active_org is not None:
        orgs = [current_user.active_org]
    return render_template(
        "resources/expert_form.html",
        values=values,
        errors=errors,
        expert=expert,
        orgs=orgs,
        field_choices=services.taxonomy().field_choices(),
        is_admin=is_admin(current_user),
    ), (422 if errors else status)


def _expert_values(form) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.get(name, "") for name in EXPERT_FIELDS if name in form}
    values["field_codes"] = form.getlist("field_codes")
    values["available_evaluation"] = bool(form.get("available_evaluation"))
    values["available_consulting"] = bool(form.get("available_consulting"))
    if form.get("self"):
        values["self"] = True
    if form.get("user_email") and is_admin(current_user):
        values["user_email"] = form.get("user_email", "")
    return values


@bp.route("/experts/new", methods=["GET", "POST"])
@login_required
def new_expert():
    own = services.own_expert(current_user)
    as_self = request.values.get("self") == "1"
    if as_self and own is not None:
        flash("您已有专家档案，可在此修改", "info")
        return redirect(url_for("resources.edit_expert", expert_id=own.id))
    manager = is_admin(current_user) or bool(current_user.is_org_manager and current_user.active_org)
    if not as_self and not manager:
        return redirect(url_for("resources.new_expert", self=1))
    if request.method == "GET":
        values: dict[str, Any] = {"available_evaluation": True, "field_codes": []}
        if as_self:
            values.update(self=True, name=current_user.name, email=current_user.email, phone=current_user.phone or "")
        if current_user.active_org is not None:
            values["organization_id"] = current_user.active_org.id
        return _expert_form(values, {})
    values = _expert_values(request.form)
    try:
        data = queries.with_linked_user(values)
        expert = services.create_expert(current_user, data)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _expert_form(values, exc.fields)
    flash("专家信息已保存", "success")
    return redirect(url_for("resources.expert", expert_id=expert.id))


@bp.get("/experts/<int:expert_id>")
def expert(expert_id: int):
    item = services.load_expert(expert_id, current_user)
    return render_template(
        "resources/expert.html",
        expert=item,
        show_contact=services.can_view_expert_contact(current_user, item),
        can_edit=services.can_edit_expert(current_user, item),
        achievements=services.expert_achievements(item, current_user),
        hidden_text=services.CONTACT_HIDDEN,
        taxonomy=services.taxonomy(),
    )


@bp.route("/experts/<int:expert_id>/edit", methods=["GET", "POST"])
@login_required
def edit_expert(expert_id: int):
    item = services.load_expert(expert_id, current_user)
    if not services.can_edit_expert(current_user, item):
        raise PermissionDenied("您无权修改该专家信息")
    if request.method == "GET":
        values = services.expert_values(item)
        return _expert_form(values, {}, item)
    values = _expert_values(request.form)
    try:
        services.update_expert(current_user, item, queries.with_linked_user(values))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _expert_form(values, exc.fields, item)
    flash("专家信息已更新", "success")
    return redirect(url_for("resources.expert", expert_id=item.id))


@bp.post("/experts/<int:expert_id>/active")
@login_required
def set_expert_active(expert_id: int):
    item = services.load_expert(expert_id, current_user)
    active = request.form.get("active") == "1"
    return _act(
        lambda: services.set_expert_active(current_user, item, active, request.form.get("reason")),
        url_for("resources.expert", expert_id=expert_id),
        "专家已恢复，重新出现在人才库中" if active else "专家已停用，不再出现在人才库和搜索中",
    )


# ---------------------------------------------------------------------------------------------
# Achievement teams


def _owned_achievement(achievement_id: int) -> Achievement:
    achievement = db.session.get(Achievement, achievement_id)
    if achievement is None:
        raise NotFound("成果不存在")
    if not services.can_manage_team(current_user, achievement):
        raise PermissionDenied("只有成果所属机构可以管理团队成员")
    return achievement


@bp.route("/achievements/<int:achievement_id>/team", methods=["GET", "POST"])
@login_required
def achievement_team_page(achievement_id: int):
    achievement = _owned_achievement(achievement_id)
    errors: dict[str, str] = {}
    values = {"expert_id": request.form.get("expert_id", ""), "team_role": request.form.get("team_role", "")}
    if request.method == "POST":
        try:
            services.add_team_member(current_user, achievement, values["expert_id"], values["team_role"])
            db.session.commit()
            flash("已添加团队成员", "success")
            return redirect(url_for("resources.achievement_team_page", achievement_id=achievement_id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
    return render_template(
        "resources/team.html",
        achievement=achievement,
        members=services.team_of(achievement),
        candidates=queries.team_candidates(achievement),
        values=values,
        errors=errors,
    ), (422 if errors else 200)


@bp.post("/achievements/<int:achievement_id>/team/<int:expert_id>/remove")
@login_required
def remove_team_member(achievement_id: int, expert_id: int):
    achievement = _owned_achievement(achievement_id)
    return _act(
        lambda: services.remove_team_member(current_user, achievement, expert_id),
        url_for("resources.achievement_team_page", achievement_id=achievement_id),
        "已移除团队成员",
    )


# ---------------------------------------------------------------------------------------------
# Instruments


@bp.get("/instruments")
def instruments():
    args = queries.InstrumentArgs.read(request.args)
    return render_template(
        "resources/instruments.html",
        page=queries.instrument_page(args, current_user),
        args=args,
        district_choices=services.taxonomy().district_choices(),
        field_choices=services.taxonomy().field_choices(),
        status_choices=InstrumentStatus.choices()[:2],
        can_create=services.can_create_instrument(current_user),
        fee_text=services.fee_text,
    )


def _instrument_form(values: dict[str, Any], errors: dict[str, str], instrument=None):
    return render_template(
        "resources/instrument_form.html",
        values=values,
        errors=errors,
        instrument=instrument,
        district_choices=services.taxonomy().district_choices(),
        field_choices=services.taxonomy().field_choices(),
        status_choices=InstrumentStatus.choices(),
    ), (422 if errors else 200)


@bp.route("/instruments/new", methods=["GET", "POST"])
@login_required
def new_instrument():
    if not services.can_create_instrument(current_user):
        raise PermissionDenied("只有已认证机构的成员可以发布共享仪器")
    if request.method == "GET":
        org = current_user.active_org
        return _instrument_form(
            {
                "status": "available",
                "district": org.district or "",
                "address": org.address or "",
                "contact_name": current_user.name,
            },
            {},
        )
    values = {name: request.form.get(name, "") for name in INSTRUMENT_FIELDS}
    try:
        item = services.create_instrument(current_user, values)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _instrument_form(values, exc.fields)
    flash("共享仪器已发布", "success")
    return redirect(url_for("resources.instrument", instrument_id=item.id))


@bp.route("/instruments/<int:instrument_id>/edit", methods=["GET", "POST"])
@login_required
def edit_instrument(instrument_id: int):
    item = services.load_instrument(instrument_id, current_user)
    if not services.can_manage_instrument(current_user, item):
        raise PermissionDenied("只有仪器所属机构可以修改仪器信息")
    if request.method == "GET":
        values = {name: getattr(item, name) or "" for name in INSTRUMENT_FIELDS}
        values["fee"] = str(item.fee) if item.fee is not None else ""
        return _instrument_form(values, {}, item)
    values = {name: request.form.get(name, "") for name in INSTRUMENT_FIELDS}
    try:
        services.update_instrument(current_user, item, values)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return _instrument_form(values, exc.fields, item)
    flash("仪器信息已更新", "success")
    return redirect(url_for("resources.instrument", instrument_id=item.id))


def week_start(raw: str | None) -> date:
    """Monday of the week to show (Asia/Shanghai); this week for a missing or bad value."""
    try:
        day = date.fromisoformat(raw) if raw else local_today()
    except ValueError:
        day = local_today()
    return day - timedelta(days=day.weekday())


def calendar_week(instrument, monday: date, user: Any) -> dict[str, Any]:
    """Seven day columns, each with the bookings that touch that local day, clipped to it."""
    start_local = datetime.combine(monday, time(0), LOCAL_TZ)
    start_utc = start_local.astimezone(UTC).replace(tzinfo=None)
    end_utc = start_utc + timedelta(days=7)
    bookings = services.bookings_between(instrument, start_utc, end_utc, user)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        day_start = start_utc + timedelta(days=offset)
        day_end = day_start + timedelta(days=1)
        entries = []
        for b in bookings:
            if b.starts_at < day_end and b.ends_at > day_start:
                s, e = max(b.starts_at, day_start), min(b.ends_at, day_end)
                entries.append(
                    {
                        "booking": b,
                        "from": to_local(s).strftime("%H:%M"),
                        "to": "24:00" if e == day_end else to_local(e).strftime("%H:%M"),
                        "top": (s - day_start).total_seconds() / 864,  # percent of the day
                        "height": max((e - s).total_seconds() / 864, 2.5),
                        "mine": services.is_booking_requester(user, b),
                    }
                )
        days.append({"date": day, "entries": entries, "today": day == local_today()})
    return {
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "days": days,
        "prev": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "this": week_start(None).isoformat(),
    }


def _instrument_page(
    item, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
):
    manage = services.can_manage_instrument(current_user, item)
    monday = week_start(request.args.get("week"))
    return render_template(
        "resources/instrument.html",
        instrument=item,
        week=calendar_week(item, monday, current_user),
        can_manage=manage,
        can_request=services.can_request_booking(current_user, item),
        requests=services.booking_requests(item) if manage else [],
        mine=[b for b in services.my_bookings(current_user) if b.instrument_id == item.id],
        values=values or {},
        errors=errors or {},
        fee_text=services.fee_text(item),
        slot_text=services.slot_text,
        B=BookingStatus,
        taxonomy=services.taxonomy(),
        hour_marks=range(0, 24, 3),
    ), status


@bp.get("/instruments/<int:instrument_id>")
def instrument(instrument_id: int):
    return _instrument_page(services.load_instrument(instrument_id, current_user))


@bp.post("/instruments/<int:instrument_id>/bookings")
@login_required
def request_booking(instrument_id: int):
    item = services.load_instrument(instrument_id, current_user)
    values = {k: request.form.get(k, "") for k in ("starts_at", "ends_at", "purpose", "sample_description")}
    try:
        booking = services.request_booking(current_user, item, values)
        db.session.commit()
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        return _instrument_page(
            item, values, exc.fields or {"starts_at": exc.message}, 422 if exc.status == 422 else 409
        )
    flash("预约申请已提交，等待仪器所属机构确认", "success")
    start = to_local(booking.starts_at)
    monday = (start.date() - timedelta(days=start.weekday())).isoformat() if start else None
    return redirect(url_for("resources.instrument", instrument_id=item.id, week=monday))


def _booking_for(booking_id: int):
    booking = services.load_booking(booking_id)
    if not services.can_view_booking(current_user, booking):
        raise NotFound("预约不存在")
    return booking


def _back(booking) -> str:
    return url_for("resources.instrument", instrument_id=booking.instrument_id) + f"#booking-{booking.id}"


@bp.post("/instruments/bookings/<int:booking_id>/approve")
@login_required
def approve_booking(booking_id: int):
    booking = _booking_for(booking_id)
    return _act(lambda: services.approve_booking(current_user, booking), _back(booking), "已确认预约，申请方会收到通知")


@bp.post("/instruments/bookings/<int:booking_id>/decline")
@login_required
def decline_booking(booking_id: int):
    booking = _booking_for(booking_id)
    return _act(
        lambda: services.decline_booking(current_user, booking, request.form.get("reason")),
        _back(booking),
        "已拒绝预约，申请方会收到通知",
    )


@bp.post("/instruments/bookings/<int:booking_id>/cancel")
@login_required
def cancel_booking(booking_id: int):
    booking = _booking_for(booking_id)
    return _act(
        lambda: services.cancel_booking(current_user, booking, request.form.get("reason")),
        _back(booking),
        "预约已取消",
    )


@bp.get("/instruments/bookings/mine")
@login_required
def my_bookings():
    return render_template(
        "resources/my_bookings.html",
        bookings=services.my_bookings(current_user),
        slot_text=services.slot_text,
        now=utcnow(),
    )
