"""撮合看板 (the brokers' matchmaking board) and 引荐 (introductions). Thin: parse, call `board`,
commit once."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.errors import PermissionDenied, ServiceError, ValidationFailed
from ..core.guards import roles_required
from ..core.taxonomy import Role
from ..core.validators import parse_id
from ..extensions import db
from . import board, precompute

bp = Blueprint("matching", __name__)
broker_or_admin = roles_required(Role.BROKER, Role.ADMIN, message="撮合看板只对技术经纪人和平台管理员开放")


@bp.record_once
def _install(state) -> None:
    # Registering the blueprint installs the invalidation hook on search.enqueue.
    precompute.install(state.app)


@bp.get("/broker/board")
@broker_or_admin
def board_page():
    f, args = _filter()
    result = board.board(f)
    return render_template(
        "matching/board.html",
        result=result,
        f=f,
        args=args,
        chips=_chips(args),
        summary=board.summary(current_user),
        sorts=board.SORTS,
        introduced_choices=board.INTRODUCED,
        per_page_choices=board.PER_PAGE_CHOICES,
        shown=board.SHOWN,
    )


@bp.post("/broker/introductions")
@broker_or_admin
def introduce():
    back = _safe_next() or url_for(".board_page")
    try:
        intro = board.introduce(
            current_user, request.form.get("demand_id"), request.form.get("achievement_id"), request.form.get("note")
        )
        db.session.commit()
    except PermissionDenied:
        db.session.rollback()
        raise
    except ServiceError as exc:
        db.session.rollback()
        message = "；".join(exc.fields.values()) if isinstance(exc, ValidationFailed) and exc.fields else exc.message
        flash(message, "warning")
        return redirect(back)
    flash(f"已引荐：《{intro.achievement.title}》→《{intro.demand.title}》，已通知双方机构", "success")
    return redirect(f"{back}#demand-{intro.demand_id}")


@bp.get("/broker/introductions")
@broker_or_admin
def introductions():
    page = board.introductions_of(current_user, request.args.get("page", 1, type=int))
    return render_template(
        "matching/introductions.html",
        page=page,
        all_brokers=current_user.is_admin,
        deals=board.deals_of_introductions([i.id for i in page.items]),
    )


def _filter() -> tuple[board.BoardFilter, dict[str, str]]:
    taxonomy = current_app.extensions["taxonomy"]
    args = {k: request.args.get(k, "").strip() for k in ("q", "field", "district", "introduced", "sort", "per_page")}
    if args["field"] and taxonomy.field(args["field"]) is None:
        args["field"] = ""
    if args["district"] and taxonomy.district(args["district"]) is None:
        args["district"] = ""
    if args["introduced"] not in board.INTRODUCED:
        args["introduced"] = ""
    if args["sort"] not in board.SORTS:
        args["sort"] = ""
    per_page = parse_id(args["per_page"]) or 0
    if per_page not in board.PER_PAGE_CHOICES:
        args["per_page"] = ""
    args["q"] = args["q"][:100]
    args = {k: v for k, v in args.items() if v}
    f = board.BoardFilter(
        q=args.get("q", ""),
        field=args.get("field", ""),
        district=args.get("district", ""),
        introduced=args.get("introduced", ""),
        sort=args.get("sort", "newest"),
        page=max(request.args.get("page", 1, type=int) or 1, 1),
        per_page=per_page if per_page in board.PER_PAGE_CHOICES else board.PER_PAGE_CHOICES[0],
    )
    return f, args


def _chips(args: dict[str, str]) -> list[tuple[str, str]]:
    taxonomy = current_app.extensions["taxonomy"]
    labels = {
        "q": lambda v: f"关键词：{v}",
        "field": lambda v: taxonomy.field_path(v) or v,
        "district": lambda v: taxonomy.district_name(v) or v,
        "introduced": lambda v: board.INTRODUCED.get(v, v),
    }
    return [
        (labels[key](value), url_for(".board_page", **{k: v for k, v in args.items() if k != key}))
        for key, value in args.items()
        if key in labels
    ]


def _safe_next() -> str | None:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None
