"""Deal pages: the list (a broker's pipeline board, the parties' 我的项目, everyone's deals for
officials and admins), opening a deal, the deal page with its timeline, and the POST actions
on it. Views parse the request, call `services`, commit once; refusals re-render with the
Chinese reason beside the field."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import User
from ..core.downloads import private_file
from ..core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.taxonomy import CommissionKind, CommissionPayer, DealStage
from ..core.timeutil import local_today, utcnow
from ..core.validators import parse_id
from ..extensions import db
from ..listings.services import paginate, upload_path
from . import policy, services
from .blueprint import bp
from .policy import load_deal

TERM_FIELDS = (
    "title",
    "summary",
    "expected_value",
    "commission_kind",
    "commission_rate",
    "commission_amount",
    "commission_payer",
)


def _fields(names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _message_of(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "；".join(exc.fields.values())
    return exc.message


def _detail_url(deal_id: int, anchor: str = "") -> str:
    return url_for("deals.detail", deal_id=deal_id) + (f"#{anchor}" if anchor else "")


# ---------------------------------------------------------------------------------------------
# Lists


@bp.get("/deals")
@login_required
def index():
    user = current_user._get_current_object()
    if services.can_see_all(user):
        return _all_deals()
    if policy.is_broker(user):
        if request.args.get("stage") or request.args.get("q") or request.args.get("page"):
            return _all_deals(broker=user)  # the list behind a column of the board: every deal
        columns = services.pipeline(user)
        return render_template(
            "deals/pipeline.html",
            columns=columns,
            open_columns=[c for c in columns if c.stage != DealStage.TERMINATED],
            terminated=next(c for c in columns if c.stage == DealStage.TERMINATED),
            stale_days=services.stale_days(),
            open_total=sum((c.total for c in columns if c.stage.value in _OPEN), Decimal("0")),
            open_count=sum(len(c.rows) for c in columns if c.stage.value in _OPEN),
            stale_count=sum(c.stale_count for c in columns),
        )
    return render_template(
        "deals/mine.html",
        rows=services.party_deals(user),
        org=user.active_org,
        can_open=policy.can_open_deal(user),
        stale_days=services.stale_days(),
    )


_OPEN = {s.value for s in services.OPEN_STAGES}


def _all_deals(broker=None):
    """Everyone's deals (admins, officials), or — with `broker` — every deal of that broker."""
    broker_id = broker.id if broker is not None else parse_id(request.args.get("broker"))
    f = services.DealFilter(
        stage=request.args.get("stage", "").strip(),
        broker_id=broker_id,
        q=request.args.get("q", "").strip()[:100],
    )
    page = paginate(services.all_deals_query(f), request.args.get("page", 1, type=int))
    args = {k: v for k, v in {"stage": f.stage, "broker": None if broker else broker_id, "q": f.q}.items() if v}
    return render_template(
        "deals/all.html",
        page=page,
        rows=services.rows_for(list(page.items)),
        f=f,
        args=args,
        stages=list(DealStage),
        brokers=[] if broker else services.all_brokers(),
        mine=broker is not None,
        stale_days=services.stale_days(),
    )


# ---------------------------------------------------------------------------------------------
# Opening a deal

NEW_FIELDS = (
    "seller_org_id",
    "buyer_org_id",
    "introduction_id",
    "achievement_id",
    "demand_id",
    "challenge_id",
    *TERM_FIELDS,
)


@bp.route("/deals/new", methods=["GET", "POST"])
@login_required
def new():
    user = current_user._get_current_object()
    if not policy.can_open_deal(user):
        raise PermissionDenied("只有技术经纪人、管理员或已加入机构的高校/企业成员可以开设项目")
    source_data = request.form if request.method == "POST" else request.args
    source = services.prefill(user, source_data)
    errors: dict[str, str] = dict(source.errors)
    if request.method == "POST":
        values = _fields(NEW_FIELDS)
        try:
            deal = services.open_deal_from_input(user, values)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash(f"项目“{deal.title}”已开设，当前阶段：意向", "success")
            return redirect(_detail_url(deal.id))
    else:
        values = {name: request.args.get(name, "") for name in NEW_FIELDS}
        values["title"] = values["title"] or source.title
        values["commission_kind"] = values["commission_kind"] or CommissionKind.NONE.value
        own = services._own_org(user)
        if own is not None and not source.seller_fixed and not source.buyer_fixed:
            key = "seller_org_id" if own.is_research else "buyer_org_id"
            values[key] = values[key] or str(own.id)
    return render_template(
        "deals/new.html",
        source=source,
        values=values,
        errors=errors,
        org_choices=[(o.id, f"{o.name}（{o.type_label}）") for o in services.verified_orgs()],
        commission_kinds=CommissionKind.choices(),
        payers=CommissionPayer.choices(),
    ), (422 if errors and request.method == "POST" else 200)


# ---------------------------------------------------------------------------------------------
# The deal page


def _render_detail(deal, *, form: str = "", errors: dict[str, str] | None = None, values: dict | None = None):
    user = current_user._get_current_object()
    can_work = policy.can_work_on_deal(user, deal)
    term_values = {name: _term_value(deal, name) for name in TERM_FIELDS}
    if form == "terms" and values:
        term_values = values
    events = services.events_of(deal)
    return render_template(
        "deals/detail.html",
        deal=deal,
        events=events,
        stages=services.PIPELINE,
        can_work=can_work,
        is_broker_or_admin=policy.is_deal_broker(user, deal) or policy.is_admin(user),
        moves=services.allowed_stages(deal, user) if can_work else [],
        blocked=_blocked_moves(deal, user) if can_work else [],
        commission=services.commission_text(deal),
        seller_members=services.org_members(deal.seller_org_id),
        buyer_members=services.org_members(deal.buyer_org_id),
        available_brokers=services.brokers_available(deal) if can_work else [],
        form=form,
        errors=errors or {},
        values=values or {},
        term_values=term_values,
        commission_kinds=CommissionKind.choices(),
        payers=CommissionPayer.choices(),
        days_in_stage=max(0, (utcnow() - deal.stage_changed_at).days),
        event_labels=services.EVENT_LABELS,
        today=local_today().isoformat(),
    ), (422 if errors else 200)


def _term_value(deal, name: str) -> str:
    value = getattr(deal, name)
    if value is None:
        return ""
    return services._norm(value) if not isinstance(value, str) else value


def _blocked_moves(deal, user) -> list[tuple[DealStage, str]]:
    """The next stage when a contract guard holds it back, with the reason (shown greyed out)."""
    allowed = {after for after, _move in services.allowed_stages(deal, user)}
    result = []
    for (before, after), move in services.TRANSITIONS.items():
        if before == deal.stage and move.kind == "forward" and after not in allowed and move.contract:
            stage = DealStage(after)
            result.append((stage, services._CONTRACT_MESSAGES[stage]))
    return result


@bp.get("/deals/<int:deal_id>")
@login_required
def detail(deal_id: int):
    deal = load_deal(deal_id, current_user)
    return _render_detail(deal)


def _act(deal_id: int, form: str, action, success: str, anchor: str = "timeline", fields: tuple[str, ...] = ()):
    """Run one POST action on the deal: commit and redirect, or re-render with the messages."""
    deal = load_deal(deal_id, current_user, write=True)
    values = _fields(fields) if fields else dict(request.form)
    try:
        action(deal, values)
    except ValidationFailed as exc:
        db.session.rollback()
        deal = load_deal(deal_id, current_user, write=True)
        return _render_detail(deal, form=form, errors=exc.fields, values=values)
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return redirect(_detail_url(deal_id, anchor))
    db.session.commit()
    flash(success, "success")
    return redirect(_detail_url(deal_id, anchor))


@bp.post("/deals/<int:deal_id>/stage")
@login_required
def stage(deal_id: int):
    target = DealStage.parse(request.form.get("stage"))
    label = target.label if target else ""
    done = "项目已终止" if target == DealStage.TERMINATED else f"项目阶段已变更为“{label}”"
    return _act(
        deal_id,
        "terminate" if target == DealStage.TERMINATED else "stage",
        lambda deal, v: services.change_stage(deal, v.get("stage", ""), current_user, v.get("reason")),
        done,
        anchor="top",
        fields=("stage", "reason"),
    )


@bp.post("/deals/<int:deal_id>/terms")
@login_required
def terms(deal_id: int):
    return _act(
        deal_id,
        "terms",
        lambda deal, v: services.update_terms(deal, current_user, v),
        "项目条款已保存",
        anchor="terms",
        fields=TERM_FIELDS,
    )


@bp.post("/deals/<int:deal_id>/brokers")
@login_required
def add_broker(deal_id: int):
    def action(deal, v):
        broker_id = services._int_or_none(v.get("broker_id"), "broker_id", {})
        services.add_broker(deal, current_user, db.session.get(User, broker_id) if broker_id else None)

    return _act(deal_id, "broker", action, "已添加技术经纪人", anchor="participants", fields=("broker_id",))


@bp.post("/deals/<int:deal_id>/brokers/<int:user_id>/remove")
@login_required
def remove_broker(deal_id: int, user_id: int):
    return _act(
        deal_id,
        "broker",
        lambda deal, v: services.remove_broker(deal, current_user, user_id),
        "已移除技术经纪人",
        anchor="participants",
    )


@bp.post("/deals/<int:deal_id>/notes")
@login_required
def add_note(deal_id: int):
    return _act(
        deal_id,
        "note",
        lambda deal, v: services.add_note(deal, current_user, v.get("body")),
        "备注已添加",
        fields=("body",),
    )


@bp.post("/deals/<int:deal_id>/meetings")
@login_required
def add_meeting(deal_id: int):
    return _act(
        deal_id,
        "meeting",
        lambda deal, v: services.add_meeting(
            deal, current_user, v.get("meeting_date"), v.get("meeting_time"), v.get("body")
        ),
        "会议已记录",
        fields=("meeting_date", "meeting_time", "body"),
    )


@bp.post("/deals/<int:deal_id>/files")
@login_required
def upload_file(deal_id: int):
    upload = request.files.get("file")

    def action(deal, v):
        if upload is None or not upload.filename:
            raise ValidationFailed({"file": "请选择要上传的文件"})
        services.add_file(deal, current_user, upload.filename, upload.read(), v.get("body"))

    return _act(deal_id, "file", action, "文件已上传", fields=("body",))


@bp.get("/deals/<int:deal_id>/files/<int:event_id>")
@login_required
def file(deal_id: int, event_id: int):
    deal = load_deal(deal_id, current_user)
    event = services.get_file(deal, event_id, current_user)
    path = upload_path(event.file_path)
    if not path.exists():
        raise NotFound("文件已不在存储中，请联系管理员")
    return private_file(path, event.file_mime, event.file_name)


@bp.context_processor
def deal_helpers() -> dict:
    return {"deal_stage_label": DealStage.label_of}
