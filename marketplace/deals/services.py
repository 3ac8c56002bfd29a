"""The deal room's rules: opening a deal, its stages, its terms, brokers and its timeline.

Every stage change goes through `change_stage`, which checks the TRANSITIONS table, the
contract's registration status where a stage needs it, writes an audit row and a 'stage' event,
and notifies the other side. Services flush; the view or API boundary commits once.

Other modules of the deal room call `record_event` (contract, payment and invoice activity) and
`change_stage(..., system=True)` (a contract submitted or registered moves its deal on)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from ..accounts.models import Organization, User
from ..alerts.services import notify
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.money import format_yuan, parse_amount
from ..core.policy import belongs_to, is_admin, is_authenticated, is_official
from ..core.taxonomy import (
    CommissionKind,
    CommissionPayer,
    ContractStatus,
    DealStage,
    ListingStatus,
    MembershipStatus,
    Role,
)
from ..core.timeutil import LOCAL_TZ, utcnow
from ..core.validators import INT_MAX
from ..extensions import db
from ..listings.models import Achievement, Demand
from ..listings.services import safe_filename, sniff, write_upload
from . import policy
from .models import Deal, DealBroker, DealEvent, TechContract

S = DealStage
EVENT_KINDS = ("note", "meeting", "file", "stage", "contract", "payment", "invoice")
EVENT_LABELS = {
    "note": "备注",
    "meeting": "会议",
    "file": "文件",
    "stage": "阶段",
    "contract": "合同",
    "payment": "付款",
    "invoice": "发票",
}

# The working order of a deal; 终止 is reachable from every open stage.
PIPELINE = (S.INTENT, S.NEGOTIATION, S.SIGNED, S.REGISTRATION, S.PERFORMANCE, S.COMPLETED)
OPEN_STAGES = PIPELINE[:-1]

MAX_VALUE = Decimal("1000000000000")  # 1 万亿元: anything above is a typo
MAX_RATE = Decimal("30")
MAX_NOTE = 5000
MAX_TITLE = 200
MAX_DEAL_FILES = 50
OFFICE_SIGNATURES = {
    # Office documents are containers the listing sniffer does not know: a ZIP (OOXML) or an
    # OLE2 compound file; accept them only with a matching extension.
    b"PK\x03\x04": {
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    },
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": {
        ".doc": "application/msword",
        ".xls": "application/vnd.ms-excel",
        ".ppt": "application/vnd.ms-powerpoint",
    },
}


@dataclass(frozen=True)
class Move:
    """One allowed stage change. `who`: 'workers' (parties, brokers, admins) or 'brokers'
    (the deal's brokers and admins). `contract`: contract statuses the target stage needs."""

    kind: str  # forward | back | terminate
    who: str
    needs_reason: bool = False
    contract: tuple[str, ...] = ()


_SUBMITTED_OR_REGISTERED = (ContractStatus.SUBMITTED.value, ContractStatus.REGISTERED.value)
_REGISTERED = (ContractStatus.REGISTERED.value,)
_CONTRACT_NEEDS = {
    S.REGISTRATION: _SUBMITTED_OR_REGISTERED,
    S.PERFORMANCE: _REGISTERED,
    S.COMPLETED: _REGISTERED,
}


def _transitions() -> dict[tuple[str, str], Move]:
    table: dict[tuple[str, str], Move] = {}
    for before, after in zip(PIPELINE, PIPELINE[1:], strict=False):
        table[(before.value, after.value)] = Move("forward", "workers", contract=_CONTRACT_NEEDS.get(after, ()))
        if after != S.COMPLETED:  # a completed deal is closed for good
            table[(after.value, before.value)] = Move(
                "back", "brokers", needs_reason=True, contract=_CONTRACT_NEEDS.get(before, ())
            )
    for stage in OPEN_STAGES:
        table[(stage.value, S.TERMINATED.value)] = Move("terminate", "workers", needs_reason=True)
    return table


# (from, to) -> Move. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], Move] = _transitions()

_CONTRACT_MESSAGES = {
    S.REGISTRATION: "进入“登记”阶段前，须先提交技术合同登记（合同状态为待登记或已登记）",
    S.PERFORMANCE: "进入“履约”阶段前，技术合同须已完成认定登记",
    S.COMPLETED: "项目完成前，技术合同须已完成认定登记",
}


# ---------------------------------------------------------------------------------------------
# Timeline


def record_event(deal: Deal, kind: str, author: Any, body: str = "", **fields: Any) -> DealEvent:
    """Add one entry to the deal's timeline (flushed, in the caller's transaction)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown deal event kind {kind!r}")
    author_id = getattr(author, "id", None) if is_authenticated(author) or isinstance(author, User) else None
    event = DealEvent(deal_id=deal.id, kind=kind, author_id=author_id, body=body or "", **fields)
    db.session.add(event)
    db.session.flush()
    deal.updated_at = utcnow()
    return event


def events_of(deal: Deal, limit: int | None = None) -> list[DealEvent]:
    stmt = (
        select(DealEvent).where(DealEvent.deal_id == deal.id).order_by(DealEvent.created_at.desc(), DealEvent.id.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Stages


def contract_status(deal: Deal) -> str | None:
    return db.session.scalar(select(TechContract.status).where(TechContract.deal_id == deal.id))


def _may_move(actor: Any, deal: Deal, move: Move) -> bool:
    if move.who == "brokers":
        return is_admin(actor) or policy.is_deal_broker(actor, deal)
    return policy.can_work_on_deal(actor, deal)


def allowed_stages(deal: Deal, actor: Any) -> list[tuple[str, Move]]:
    """The stages this actor may move the deal to now (contract guards included), in order."""
    status = contract_status(deal)
    result = []
    for (before, after), move in TRANSITIONS.items():
        if before != deal.stage or not _may_move(actor, deal, move):
            continue
        if move.contract and status not in move.contract:
            continue
        result.append((after, move))
    return result


def change_stage(deal: Deal, to_stage: str, actor: Any, reason: str | None = None, *, system: bool = False) -> Deal:
    """Move the deal to `to_stage` along TRANSITIONS. Raises Conflict (refused transition or a
    contract that is not far enough), PermissionDenied (actor), ValidationFailed (reason)."""
    target = S.parse(to_stage)
    if target is None:
        raise ValidationFailed({"stage": "未知的项目阶段"})
    before = deal.stage
    if target.value == before:
        raise Conflict(f"项目已处于“{target.label}”阶段")
    move = TRANSITIONS.get((before, target.value))
    if move is None:
        if not deal.is_open:
            raise Conflict(f"项目已{S.label_of(before)}，不能再变更阶段")
        raise Conflict(f"不能从“{S.label_of(before)}”直接变更为“{target.label}”：阶段须逐级推进，或退回上一阶段")
    if not system and not _may_move(actor, deal, move):
        if move.kind == "back":
            raise PermissionDenied("只有项目的技术经纪人或管理员可以退回上一阶段")
        raise PermissionDenied("您无权变更此项目的阶段")
    reason = (reason or "").strip()
    if move.needs_reason and not reason:
        word = "终止项目" if move.kind == "terminate" else "退回上一阶段"
        raise ValidationFailed({"reason": f"{word}须填写原因"})
    if len(reason) > MAX_NOTE:
        raise ValidationFailed({"reason": f"原因不能超过{MAX_NOTE}字"})
    if move.contract and contract_status(deal) not in move.contract:
        raise Conflict(_CONTRACT_MESSAGES[target])
    deal.stage = target.value
    deal.stage_changed_at = utcnow()
    if target == S.TERMINATED:
        deal.termination_reason = reason
    audit.record(
        None if system and not is_authenticated(actor) else actor,
        "deal_stage",
        deal,
        from_state=before,
        to_state=target.value,
        reason=reason or None,
        details={"system": True} if system else None,
    )
    body = reason
    record_event(deal, "stage", actor, body, from_stage=before, to_stage=target.value)
    _notify_stage(deal, actor, before, target)
    return deal


def _notify_stage(deal: Deal, actor: Any, before: str, target: DealStage) -> None:
    actor_id = getattr(actor, "id", None)
    recipients: list[User] = []
    for org_id in (deal.seller_org_id, deal.buyer_org_id):
        if actor_id is not None and belongs_to(actor, org_id):
            continue  # the actor's own side knows
        recipients += org_members(org_id)
    recipients += [b.user for b in deal.brokers]
    recipients = [u for u in recipients if u.id != actor_id]
    if not recipients:
        return
    title = f"项目“{deal.title[:60]}”：{S.label_of(before)} → {target.label}"
    body = f"项目阶段已由“{S.label_of(before)}”变更为“{target.label}”。"
    if target == S.TERMINATED and deal.termination_reason:
        body += f"\n终止原因：{deal.termination_reason}"
    notify(recipients, title, body, f"/deals/{deal.id}")


def org_members(org_id: int | None) -> list[User]:
    if org_id is None:
        return []
    stmt = select(User).where(
        User.organization_id == org_id,
        User.membership_status == MembershipStatus.ACTIVE.value,
        User.is_disabled.is_(False),
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Opening a deal


@dataclass
class Prefill:
    """What a deal's source fixes: the parties (each may be fixed) and a title."""

    seller: Organization | None = None
    buyer: Organization | None = None
    title: str = ""
    introduction: Any = None
    achievement: Achievement | None = None
    demand: Demand | None = None
    challenge: Any = None
    seller_fixed: bool = False
    buyer_fixed: bool = False
    source_label: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _int_or_none(raw: Any, name: str, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[name] = "编号应为正整数"
        return None
    if value < 1:
        errors[name] = "编号应为正整数"
        return None
    if value > INT_MAX:  # no row has it, and the database's INTEGER could not even hold it
        errors[name] = "编号不存在"
        return None
    return value


def _own_org(actor: Any) -> Organization | None:
    if is_authenticated(actor) and actor.role in (Role.UNIVERSITY, Role.ENTERPRISE):
        return actor.active_org
    return None


def _listing_visible(listing: Any, actor: Any) -> bool:
    if listing.status in (ListingStatus.PUBLISHED, ListingStatus.CLOSED, ListingStatus.EXPIRED):
        return True
    return is_admin(actor) or belongs_to(actor, listing.org_id)


def prefill(actor: Any, data: Mapping[str, Any]) -> Prefill:
    """Resolve the source of a deal (introduction / achievement / demand / challenge id in
    `data`) into its parties and a title. Unknown ids raise NotFound; an unusable source gives
    field errors in `errors`."""
    from ..challenges.models import Challenge, ChallengeApplication
    from ..matching.models import Introduction

    errors: dict[str, str] = {}
    ids = {
        name: _int_or_none(data.get(name), name, errors)
        for name in ("introduction_id", "achievement_id", "demand_id", "challenge_id")
    }
    given = [name for name, value in ids.items() if value is not None]
    result = Prefill(errors=errors)
    if len(given) > 1:
        errors[given[1]] = "一个项目只能有一个来源（引荐、成果、需求或揭榜挂帅之一）"
        return result
    own = _own_org(actor)
    if ids["introduction_id"]:
        intro = db.session.get(Introduction, ids["introduction_id"])
        if intro is None:
            raise NotFound("引荐记录不存在")
        result.introduction, result.achievement, result.demand = intro, intro.achievement, intro.demand
        result.seller, result.buyer = intro.achievement.organization, intro.demand.organization
        result.seller_fixed = result.buyer_fixed = True
        result.title = f"{intro.achievement.title} × {intro.demand.title}"[:MAX_TITLE]
        result.source_label = "经纪人引荐"
    elif ids["achievement_id"]:
        item = db.session.get(Achievement, ids["achievement_id"])
        if item is None or not _listing_visible(item, actor):
            raise NotFound("科技成果不存在")
        result.achievement, result.seller, result.seller_fixed = item, item.organization, True
        if own is not None:
            result.buyer, result.buyer_fixed = own, True
        result.title = f"{item.title} 转化合作"[:MAX_TITLE]
        result.source_label = "科技成果"
    elif ids["demand_id"]:
        item = db.session.get(Demand, ids["demand_id"])
        if item is None or not _listing_visible(item, actor):
            raise NotFound("技术需求不存在")
        result.demand, result.buyer, result.buyer_fixed = item, item.organization, True
        if own is not None:
            result.seller, result.seller_fixed = own, True
        result.title = f"{item.title} 技术合作"[:MAX_TITLE]
        result.source_label = "技术需求"
    elif ids["challenge_id"]:
        challenge = db.session.get(Challenge, ids["challenge_id"])
        if challenge is None:
            raise NotFound("揭榜挂帅项目不存在")
        result.challenge = challenge
        result.buyer, result.buyer_fixed = db.session.get(Organization, challenge.org_id), True
        winner = (
            db.session.get(ChallengeApplication, challenge.winner_application_id)
            if challenge.winner_application_id
            else None
        )
        if winner is None:
            errors["challenge_id"] = "该揭榜挂帅尚未产生揭榜成功的单位，不能开设项目"
        else:
            result.seller, result.seller_fixed = db.session.get(Organization, winner.org_id), True
        result.title = f"揭榜挂帅：{challenge.title}"[:MAX_TITLE]
        result.source_label = "揭榜挂帅"
    return result


def parse_terms(data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """expected_value and the commission terms from raw input (form strings or JSON), with a
    Chinese reason per field in `errors`. Returns the model values."""
    terms: dict[str, Any] = {}
    raw_value = data.get("expected_value")
    if raw_value in (None, ""):
        terms["expected_value"] = None
    elif isinstance(raw_value, float):
        errors["expected_value"] = '金额须以字符串形式给出，如 "500000.00"'
    elif _negative(raw_value):
        errors["expected_value"] = "预计成交额不能为负数"
    else:
        try:
            value = parse_amount(raw_value)
        except ValueError as exc:
            errors["expected_value"] = str(exc)
        else:
            if value > MAX_VALUE:
                errors["expected_value"] = "预计成交额不能超过 1 万亿元，请核对单位"
            terms["expected_value"] = value
    kind = CommissionKind.parse(data.get("commission_kind") or "none")
    if kind is None:
        errors["commission_kind"] = "请选择佣金方式：未约定、按成交额比例或固定金额"
        return terms
    terms["commission_kind"] = kind.value
    terms["commission_rate"] = terms["commission_amount"] = terms["commission_payer"] = None
    if kind == CommissionKind.NONE:
        return terms
    if kind == CommissionKind.RATE:
        raw_rate = data.get("commission_rate")
        text = str(raw_rate if raw_rate is not None else "").strip().rstrip("%％").strip()
        if isinstance(raw_rate, float):
            errors["commission_rate"] = '比例须以字符串形式给出，如 "5"'
        elif not text:
            errors["commission_rate"] = "请填写佣金比例（%）"
        else:
            try:
                rate = Decimal(text)
            except InvalidOperation:
                errors["commission_rate"] = f"比例“{raw_rate}”不是数字"
            else:
                if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
                    errors["commission_rate"] = "佣金比例须大于 0%，且不超过 30%"
                elif rate != rate.quantize(Decimal("0.001")):
                    errors["commission_rate"] = "佣金比例最多保留三位小数"
                else:
                    terms["commission_rate"] = rate
    else:
        raw_amount = data.get("commission_amount")
        if isinstance(raw_amount, float):
            errors["commission_amount"] = '金额须以字符串形式给出，如 "50000.00"'
        elif raw_amount in (None, ""):
            errors["commission_amount"] = "请填写固定佣金金额"
        elif _negative(raw_amount):
            errors["commission_amount"] = "固定佣金须大于 0，不能为负数"
        else:
            try:
                amount = parse_amount(raw_amount)
            except ValueError as exc:
                errors["commission_amount"] = str(exc)
            else:
                if amount <= 0:
                    errors["commission_amount"] = "固定佣金须大于 0"
                elif amount > MAX_VALUE:
                    errors["commission_amount"] = "佣金金额过大，请核对单位"
                else:
                    terms["commission_amount"] = amount
    payer = CommissionPayer.parse(data.get("commission_payer"))
    if payer is None:
        errors["commission_payer"] = "请选择佣金由谁支付：卖方、买方或双方各半"
    else:
        terms["commission_payer"] = payer.value
    return terms


def _negative(raw: Any) -> bool:
    return str(raw).strip().startswith(("-", "－", "−"))


def _clean_title(raw: Any, errors: dict[str, str]) -> str:
    title = " ".join(str(raw or "").split())
    if len(title) < 2:
        errors["title"] = "请填写项目名称（至少 2 个字）"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"项目名称不能超过{MAX_TITLE}字"
    return title


def _clean_summary(raw: Any, errors: dict[str, str]) -> str | None:
    text = str(raw or "").strip()
    if len(text) > MAX_NOTE:
        errors["summary"] = f"项目简介不能超过{MAX_NOTE}字"
    return text or None


def _check_party(org: Organization | None, name: str, label: str, errors: dict[str, str]) -> None:
    if org is None:
        errors.setdefault(name, f"请选择{label}机构")
    elif not org.verified:
        errors.setdefault(name, f"{label}机构“{org.name}”尚未通过平台认证，不能开设项目")


def open_deal(
    actor: Any,
    seller_org: Organization | None,
    buyer_org: Organization | None,
    title: str,
    *,
    introduction: Any = None,
    achievement: Achievement | None = None,
    demand: Demand | None = None,
    challenge: Any = None,
    expected_value: Any = None,
    commission_kind: Any = "none",
    commission_rate: Any = None,
    commission_amount: Any = None,
    commission_payer: Any = None,
    summary: str | None = None,
    errors: dict[str, str] | None = None,
) -> Deal:
    """Open a deal at 意向. A broker opening it becomes its lead broker; a party opening it from
    a broker's introduction gets that broker as lead. Raises ValidationFailed with a Chinese
    reason per field (seller_org_id, buyer_org_id, title, expected_value, commission_*)."""
    if not policy.can_open_deal(actor):
        raise PermissionDenied("只有技术经纪人、管理员或已加入机构的高校/企业成员可以开设项目")
    errors = dict(errors or {})
    title = _clean_title(title, errors)
    summary = _clean_summary(summary, errors)
    _check_party(seller_org, "seller_org_id", "卖方", errors)
    _check_party(buyer_org, "buyer_org_id", "买方", errors)
    if seller_org is not None and buyer_org is not None and seller_org.id == buyer_org.id:
        errors["buyer_org_id"] = "卖方和买方不能是同一机构"
    own = _own_org(actor)
    if own is not None and not is_admin(actor):
        ids = {getattr(seller_org, "id", None), getattr(buyer_org, "id", None)}
        if own.id not in ids:
            errors.setdefault("buyer_org_id", "您只能为本机构作为卖方或买方的合作开设项目")
    terms = parse_terms(
        {
            "expected_value": expected_value,
            "commission_kind": commission_kind,
            "commission_rate": commission_rate,
            "commission_amount": commission_amount,
            "commission_payer": commission_payer,
        },
        errors,
    )
    if introduction is not None and "introduction_id" not in errors:
        duplicate = db.session.scalar(
            select(Deal.id).where(
                Deal.introduction_id == introduction.id, Deal.stage.in_([s.value for s in OPEN_STAGES])
            )
        )
        if duplicate:
            errors["introduction_id"] = f"此引荐已开设项目（编号 {duplicate}），请在原项目中继续"
    if errors:
        raise ValidationFailed(errors)
    assert seller_org is not None and buyer_org is not None
    deal = Deal(
        title=title,
        summary=summary,
        seller_org_id=seller_org.id,
        buyer_org_id=buyer_org.id,
        introduction_id=getattr(introduction, "id", None),
        achievement_id=getattr(achievement, "id", None),
        demand_id=getattr(demand, "id", None),
        challenge_id=getattr(challenge, "id", None),
        stage=S.INTENT.value,
        stage_changed_at=utcnow(),
        created_by_id=actor.id,
        **terms,
    )
    db.session.add(deal)
    db.session.flush()
    lead = actor if policy.is_broker(actor) else getattr(introduction, "broker", None)
    if lead is not None and lead.role == Role.BROKER:
        db.session.add(DealBroker(deal_id=deal.id, user_id=lead.id, lead=True))
    db.session.flush()
    db.session.refresh(deal, ["brokers"])
    audit.record(
        actor,
        "create",
        deal,
        to_state=deal.stage,
        details={"seller_org_id": seller_org.id, "buyer_org_id": buyer_org.id},
    )
    record_event(deal, "stage", actor, "开设项目", to_stage=deal.stage)
    return deal


def open_deal_from_input(actor: Any, data: Mapping[str, Any]) -> Deal:
    """open_deal from raw input (the web form or the API's JSON): party ids, title, a source
    id, expected value and commission terms. A source fixes the parties it determines."""
    if not policy.can_open_deal(actor):
        raise PermissionDenied("只有技术经纪人、管理员或已加入机构的高校/企业成员可以开设项目")
    source = prefill(actor, data)
    errors = dict(source.errors)
    seller = source.seller if source.seller_fixed else _org_from(data.get("seller_org_id"), "seller_org_id", errors)
    buyer = source.buyer if source.buyer_fixed else _org_from(data.get("buyer_org_id"), "buyer_org_id", errors)
    title = data.get("title") or source.title
    return open_deal(
        actor,
        seller,
        buyer,
        title,
        introduction=source.introduction,
        achievement=source.achievement,
        demand=source.demand,
        challenge=source.challenge,
        expected_value=data.get("expected_value"),
        commission_kind=data.get("commission_kind") or "none",
        commission_rate=data.get("commission_rate"),
        commission_amount=data.get("commission_amount"),
        commission_payer=data.get("commission_payer"),
        summary=data.get("summary"),
        errors=errors,
    )


def _org_from(raw: Any, name: str, errors: dict[str, str]) -> Organization | None:
    org_id = _int_or_none(raw, name, errors)
    if org_id is None:
        return None
    org = db.session.get(Organization, org_id)
    if org is None:
        errors[name] = "机构不存在"
    return org


def verified_orgs() -> list[Organization]:
    """The organisations a deal can be opened between (parties must be verified)."""
    from ..core.taxonomy import OrgType

    stmt = (
        select(Organization)
        .where(Organization.verified.is_(True), Organization.org_type != OrgType.GOVERNMENT.value)
        .order_by(Organization.org_type, Organization.name)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Terms, brokers, notes, meetings, files


def _require_work(actor: Any, deal: Deal) -> None:
    if not policy.can_work_on_deal(actor, deal):
        raise PermissionDenied("您只能查看此项目，不能修改")


def update_terms(deal: Deal, actor: Any, data: Mapping[str, Any]) -> Deal:
    """Title, summary, expected value and commission terms; a timeline note lists the changes."""
    _require_work(actor, deal)
    if not deal.is_open:
        raise Conflict(f"项目已{deal.stage_label}，不能再修改条款")
    errors: dict[str, str] = {}
    title = _clean_title(data.get("title", deal.title), errors)
    summary = _clean_summary(data.get("summary", deal.summary), errors)
    terms = parse_terms(data, errors)
    if errors:
        raise ValidationFailed(errors)
    new = {"title": title, "summary": summary, **terms}
    changes = {}
    for name, value in new.items():
        old = getattr(deal, name)
        if _norm(old) != _norm(value):
            changes[name] = [_norm(old), _norm(value)]
            setattr(deal, name, value)
    if changes:
        audit.record(actor, "update", deal, details={"changes": changes})
        record_event(deal, "note", actor, "修改了项目条款：" + "；".join(_describe(deal, changes)))
    return deal


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


_TERM_LABELS = {
    "title": "项目名称",
    "summary": "项目简介",
    "expected_value": "预计成交额",
    "commission_kind": "佣金方式",
    "commission_rate": "佣金比例",
    "commission_amount": "固定佣金",
    "commission_payer": "佣金支付方",
}


def _describe(deal: Deal, changes: dict[str, list[Any]]) -> list[str]:
    parts = []
    for name, (_old, _new) in changes.items():
        label = _TERM_LABELS[name]
        if name == "expected_value":
            parts.append(f"{label}改为 {format_yuan(deal.expected_value)}")
        elif name == "commission_kind":
            parts.append(f"{label}改为 {deal.commission_kind_label}")
        elif name == "commission_rate" and deal.commission_rate is not None:
            parts.append(f"{label}改为 {_norm(deal.commission_rate)}%")
        elif name == "commission_amount" and deal.commission_amount is not None:
            parts.append(f"{label}改为 {format_yuan(deal.commission_amount)}")
        elif name == "commission_payer" and deal.commission_payer:
            parts.append(f"{label}改为 {deal.commission_payer_label}")
        elif name in ("title", "summary"):
            parts.append(f"更新了{label}")
    return parts or ["佣金条款已清除"]


def commission_text(deal: Deal) -> str:
    """The commission terms in one line, e.g. '按成交额 5% · 卖方支付'."""
    if deal.commission_kind == CommissionKind.RATE and deal.commission_rate is not None:
        text = f"按成交额 {_norm(deal.commission_rate)}%"
        if deal.expected_value:
            estimate = (deal.expected_value * deal.commission_rate / 100).quantize(Decimal("0.01"))
            text += f"（按预计成交额约 {format_yuan(estimate)}）"
    elif deal.commission_kind == CommissionKind.FIXED and deal.commission_amount is not None:
        text = f"固定金额 {format_yuan(deal.commission_amount)}"
    else:
        return "未约定"
    return f"{text} · {deal.commission_payer_label}" if deal.commission_payer else text


def add_broker(deal: Deal, actor: Any, broker: User | None) -> DealBroker:
    _require_work(actor, deal)
    if broker is None or broker.role != Role.BROKER or broker.is_disabled:
        raise ValidationFailed({"broker_id": "只能添加在册的技术经纪人"})
    if any(b.user_id == broker.id for b in deal.brokers):
        raise ValidationFailed({"broker_id": f"{broker.name}已是本项目的技术经纪人"})
    link = DealBroker(deal_id=deal.id, user_id=broker.id, lead=not deal.brokers)
    deal.brokers.append(link)
    db.session.flush()
    audit.record(actor, "broker_add", deal, details={"user_id": broker.id, "name": broker.name})
    record_event(deal, "note", actor, f"添加技术经纪人：{broker.name}")
    notify([broker], f"您已加入项目“{deal.title[:60]}”", "您被添加为该项目的技术经纪人。", f"/deals/{deal.id}")
    return link


def remove_broker(deal: Deal, actor: Any, user_id: int) -> None:
    if not (is_admin(actor) or policy.is_deal_broker(actor, deal)):
        raise PermissionDenied("只有项目的技术经纪人或管理员可以移除经纪人")
    link = next((b for b in deal.brokers if b.user_id == user_id), None)
    if link is None:
        raise NotFound("该经纪人不在本项目中")
    if link.lead:
        raise Conflict("牵头经纪人不能移除；如需更换，请联系平台管理员")
    name = link.user.name
    deal.brokers.remove(link)
    db.session.flush()
    audit.record(actor, "broker_remove", deal, details={"user_id": user_id, "name": name})
    record_event(deal, "note", actor, f"移除技术经纪人：{name}")


def brokers_available(deal: Deal) -> list[User]:
    taken = {b.user_id for b in deal.brokers}
    stmt = select(User).where(User.role == Role.BROKER.value, User.is_disabled.is_(False)).order_by(User.name)
    return [u for u in db.session.scalars(stmt) if u.id not in taken]


def add_note(deal: Deal, actor: Any, body: Any) -> DealEvent:
    _require_work(actor, deal)
    text = str(body or "").strip()
    if not text:
        raise ValidationFailed({"body": "请填写备注内容"})
    if len(text) > MAX_NOTE:
        raise ValidationFailed({"body": f"备注不能超过{MAX_NOTE}字（现有{len(text)}字）"})
    return record_event(deal, "note", actor, text)


def parse_local_datetime(date_text: Any, time_text: Any) -> datetime:
    """'2026-12-01' + '14:30' in Asia/Shanghai -> naive UTC; ValueError with a Chinese message."""
    date_text, time_text = str(date_text or "").strip(), str(time_text or "").strip() or "09:00"
    try:
        local = datetime.strptime(f"{date_text} {time_text}", "%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise ValueError("请按 年-月-日 和 时:分 填写会议时间，如 2026-12-01 14:30") from exc
    return local.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def add_meeting(deal: Deal, actor: Any, date_text: Any, time_text: Any, body: Any) -> DealEvent:
    _require_work(actor, deal)
    errors: dict[str, str] = {}
    when = None
    try:
        when = parse_local_datetime(date_text, time_text)
    except ValueError as exc:
        errors["meeting_date"] = str(exc)
    else:
        if abs(when - utcnow()) > timedelta(days=3 * 365):
            errors["meeting_date"] = "会议时间应在前后三年之内，请核对年份"
    text = str(body or "").strip()
    if not text:
        errors["body"] = "请填写会议纪要或议题"
    elif len(text) > MAX_NOTE:
        errors["body"] = f"会议纪要不能超过{MAX_NOTE}字（现有{len(text)}字）"
    if errors:
        raise ValidationFailed(errors)
    return record_event(deal, "meeting", actor, text, meeting_at=when)


def _sniff_file(filename: str, content: bytes) -> tuple[str, str]:
    kind = sniff(content[:16])
    if kind is not None:
        return kind
    lower = filename.lower()
    for magic, by_ext in OFFICE_SIGNATURES.items():
        if content.startswith(magic):
            for ext, mime in by_ext.items():
                if lower.endswith(ext):
                    return mime, ext
    raise ValidationFailed(
        {"file": "只能上传 PDF、图片（PNG、JPEG、GIF、WebP）或 Office 文档（Word、Excel、PowerPoint）"}
    )


def add_file(deal: Deal, actor: Any, filename: str, content: bytes, note: Any = "") -> DealEvent:
    """Store a file like listing attachments (content sniffed, random stored name under
    UPLOAD_DIR) and add it to the timeline."""
    _require_work(actor, deal)
    limit_mb = current_app.config.get("MAX_UPLOAD_MB", 10)
    if not content:
        raise ValidationFailed({"file": "请选择要上传的文件（文件不能为空）"})
    if len(content) > limit_mb * 1024 * 1024:
        raise ValidationFailed({"file": f"文件超过{limit_mb}MB的大小限制"})
    count = db.session.scalar(
        select(func.count(DealEvent.id)).where(DealEvent.deal_id == deal.id, DealEvent.kind == "file")
    )
    if count >= MAX_DEAL_FILES:
        raise ValidationFailed({"file": f"每个项目最多{MAX_DEAL_FILES}个文件"})
    text = str(note or "").strip()
    if len(text) > 500:
        raise ValidationFailed({"body": "文件说明不能超过500字"})
    name = safe_filename(filename or "文件")
    mime, ext = _sniff_file(name, content)
    if not name.lower().endswith(ext) and not (ext == ".jpg" and name.lower().endswith(".jpeg")):
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}{ext}"
    stored = "deal-" + secrets.token_hex(16) + ext
    write_upload(stored, content)
    event = record_event(
        deal, "file", actor, text, file_name=name, file_path=stored, file_size=len(content), file_mime=mime
    )
    audit.record(
        actor,
        "attach",
        deal,
        details={"event_id": event.id, "filename": name, "sha256": hashlib.sha256(content).hexdigest()},
    )
    return event


def get_file(deal: Deal, event_id: int, user: Any) -> DealEvent:
    """A file of the deal, for someone who may view the deal (load_deal checked that)."""
    event = db.session.get(DealEvent, event_id)
    if event is None or event.deal_id != deal.id or event.kind != "file" or not event.file_path:
        raise NotFound("文件不存在")
    if not policy.can_view_deal(user, deal):
        raise PermissionDenied("您无权下载此文件")
    return event


# ---------------------------------------------------------------------------------------------
# Lists: the broker's pipeline, the parties' deals, everyone's deals


def stale_days() -> int:
    return int(current_app.config.get("DEAL_STALE_DAYS", 14))


def _last_activity():
    return (
        select(DealEvent.deal_id, func.max(DealEvent.created_at).label("last_at"))
        .group_by(DealEvent.deal_id)
        .subquery()
    )


@dataclass
class DealRow:
    deal: Deal
    last_activity: datetime
    days_in_stage: int
    stale: bool

    @property
    def value_text(self) -> str:
        return format_yuan(self.deal.expected_value)


def _rows(stmt) -> list[DealRow]:
    last = _last_activity()
    stmt = stmt.add_columns(last.c.last_at).outerjoin(last, last.c.deal_id == Deal.id)
    now = utcnow()
    limit = timedelta(days=stale_days())
    rows = []
    for deal, last_at in db.session.execute(stmt).unique():
        last_at = last_at or deal.created_at
        rows.append(
            DealRow(
                deal=deal,
                last_activity=last_at,
                days_in_stage=max(0, (now - deal.stage_changed_at).days),
                stale=deal.is_open and now - last_at > limit,
            )
        )
    return rows


def broker_deals(user: Any) -> list[DealRow]:
    stmt = (
        select(Deal)
        .join(DealBroker, DealBroker.deal_id == Deal.id)
        .where(DealBroker.user_id == user.id)
        .order_by(Deal.stage_changed_at)
    )
    return _rows(stmt)


@dataclass
class Column:
    stage: DealStage
    rows: list[DealRow]
    count: int | None = None  # deals in the stage, when `rows` shows only the newest of them
    sum_all: Decimal | None = None  # their expected value, likewise

    @property
    def total(self) -> Decimal:
        if self.sum_all is not None:
            return self.sum_all
        return sum((r.deal.expected_value or Decimal("0") for r in self.rows), Decimal("0"))

    @property
    def size(self) -> int:
        return len(self.rows) if self.count is None else self.count

    @property
    def hidden(self) -> int:
        return self.size - len(self.rows)

    @property
    def stale_count(self) -> int:
        return sum(1 for r in self.rows if r.stale)


# A broker's 完成 and 终止 columns grow without end (a busy broker has closed a thousand deals):
# the board shows the newest of them, and the list behind the column has them all.
CLOSED_SHOWN = 20


def pipeline(user: Any) -> list[Column]:
    """The broker's board: one column per stage (意向 … 完成, then 终止); every open deal, the
    newest CLOSED_SHOWN completed and terminated ones with the count and value of all."""
    mine = select(DealBroker.deal_id).where(DealBroker.user_id == user.id)
    open_rows = _rows(
        select(Deal)
        .where(Deal.id.in_(mine), Deal.stage.in_([st.value for st in OPEN_STAGES]))
        .order_by(Deal.stage_changed_at)
    )
    columns = [Column(stage, [r for r in open_rows if r.deal.stage == stage.value]) for stage in OPEN_STAGES]
    for stage in (S.COMPLETED, S.TERMINATED):
        in_stage = (Deal.id.in_(mine), Deal.stage == stage.value)
        count, value = db.session.execute(
            select(func.count(Deal.id), func.coalesce(func.sum(Deal.expected_value), 0)).where(*in_stage)
        ).one()
        newest = (
            select(Deal).where(*in_stage).order_by(Deal.stage_changed_at.desc(), Deal.id.desc()).limit(CLOSED_SHOWN)
        )
        rows = sorted(_rows(newest), key=lambda r: (r.deal.stage_changed_at, r.deal.id), reverse=True)
        columns.append(Column(stage, rows, count=count, sum_all=Decimal(value)))
    return columns


def party_deals(user: Any) -> list[DealRow]:
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return []
    stmt = (
        select(Deal)
        .where(or_(Deal.seller_org_id == org.id, Deal.buyer_org_id == org.id))
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
    )
    rows = _rows(stmt)
    rows.sort(key=lambda r: (not r.deal.is_open, -r.last_activity.timestamp()))
    return rows


@dataclass
class DealFilter:
    stage: str = ""
    broker_id: int | None = None
    q: str = ""


def all_deals_query(f: DealFilter):
    stmt = select(Deal)
    if S.parse(f.stage):
        stmt = stmt.where(Deal.stage == S.parse(f.stage).value)
    if f.broker_id:
        stmt = stmt.where(Deal.id.in_(select(DealBroker.deal_id).where(DealBroker.user_id == f.broker_id)))
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        orgs = select(Organization.id).where(Organization.name.like(pattern, escape="\\"))
        stmt = stmt.where(
            or_(Deal.title.like(pattern, escape="\\"), Deal.seller_org_id.in_(orgs), Deal.buyer_org_id.in_(orgs))
        )
    return stmt.order_by(Deal.updated_at.desc(), Deal.id.desc())


def rows_for(deals: list[Deal]) -> list[DealRow]:
    if not deals:
        return []
    order = {d.id: i for i, d in enumerate(deals)}
    rows = _rows(select(Deal).where(Deal.id.in_(order)))
    return sorted(rows, key=lambda r: order[r.deal.id])


def all_brokers() -> list[User]:
    stmt = select(User).where(User.role == Role.BROKER.value).order_by(User.name)
    return list(db.session.scalars(stmt))


def can_see_all(user: Any) -> bool:
    return is_admin(user) or is_official(user)
