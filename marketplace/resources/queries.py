"""Reading the list pages' parameters and building their pages (experts, instruments). The text
query over experts goes through the search index (`kind="expert"`), like every Chinese search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import String, case, cast, select

from ..accounts.models import Organization, User
from ..core.errors import ValidationFailed
from ..core.policy import is_admin
from ..core.validators import parse_id
from ..extensions import db
from ..listings.models import Achievement
from .models import AchievementExpert, Expert, Instrument, InstrumentStatus
from .services import taxonomy

MAX_TEXT_HITS = 500


def _page_number(raw: Any) -> int:
    try:
        return max(1, min(int(raw or 1), 1000))
    except (TypeError, ValueError):
        return 1


def _field_arg(args: Any, errors: dict[str, str]) -> str:
    field = str(args.get("field") or "").strip()
    if field and taxonomy().field(field) is None:
        errors["field"] = f"技术领域“{field}”不存在"
        return ""
    return field


def _org_arg(args: Any, errors: dict[str, str]) -> int | None:
    org = str(args.get("org") or "").strip()
    if org and parse_id(org) is None:
        errors["org"] = "机构编号须为正整数"
        return None
    return parse_id(org)


@dataclass
class ExpertArgs:
    q: str = ""
    field: str = ""
    evaluation: bool = False
    consulting: bool = False
    org: int | None = None
    page: int = 1

    @classmethod
    def read(cls, args: Any, errors: dict[str, str] | None = None) -> ExpertArgs:
        """Bad values are dropped (the page) or reported in `errors` (the API)."""
        errors = {} if errors is None else errors
        return cls(
            q=str(args.get("q") or "").strip()[:200],
            field=_field_arg(args, errors),
            evaluation=str(args.get("evaluation") or "") in ("1", "true", "on"),
            consulting=str(args.get("consulting") or "") in ("1", "true", "on"),
            org=_org_arg(args, errors),
            page=_page_number(args.get("page")),
        )

    def url_args(self, **changes: Any) -> dict[str, Any]:
        values = {
            "q": self.q or None,
            "field": self.field or None,
            "evaluation": 1 if self.evaluation else None,
            "consulting": 1 if self.consulting else None,
            "org": self.org,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def expert_text_ids(text: str) -> list[int]:
    """Ids of active experts matching `text`, best first (the search index)."""
    from search_index import SearchQuery

    from .. import search

    ids: list[int] = []
    for page in range(1, MAX_TEXT_HITS // 100 + 1):
        result = search.run_search(
            SearchQuery(text=text, kind=search.EXPERT, page=page, per_page=100, facets=(), highlight=False)
        )
        ids.extend(hit.id for hit in result.hits)
        if len(ids) >= result.total or not result.hits:
            break
    return ids


def expert_select(args: ExpertArgs):
    stmt = select(Expert).where(Expert.active.is_(True))
    if args.evaluation:
        stmt = stmt.where(Expert.available_evaluation.is_(True))
    if args.consulting:
        stmt = stmt.where(Expert.available_consulting.is_(True))
    if args.org:
        stmt = stmt.where(Expert.organization_id == args.org)
    if args.field:
        # field_codes is a JSON list of codes: '"01' matches 01 and all its second-level codes
        pattern = f'%"{args.field}"%' if len(args.field) > 2 else f'%"{args.field}%'
        stmt = stmt.where(cast(Expert.field_codes, String).like(pattern))
    if args.q:
        ids = expert_text_ids(args.q)
        if not ids:
            return stmt.where(Expert.id == -1)
        rank = {expert_id: n for n, expert_id in enumerate(ids)}
        return stmt.where(Expert.id.in_(ids)).order_by(case(rank, value=Expert.id), Expert.id)
    return stmt.order_by(Expert.name, Expert.id)


def expert_page(args: ExpertArgs, per_page: int | None = None):
    per_page = per_page or current_app.config.get("PER_PAGE", 20)
    return db.paginate(expert_select(args), page=args.page, per_page=per_page, error_out=False)


def expert_orgs() -> list[Organization]:
    """Organisations that have active experts (the filter's choices)."""
    stmt = (
        select(Organization)
        .join(Expert, Expert.organization_id == Organization.id)
        .where(Expert.active.is_(True))
        .distinct()
        .order_by(Organization.name)
    )
    return list(db.session.scalars(stmt))


def with_linked_user(values: dict[str, Any]) -> dict[str, Any]:
    """The form names the account to link by e-mail (administrators); services take its id."""
    data = dict(values)
    email = str(data.pop("user_email", "") or "").strip().lower()
    if email:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            raise ValidationFailed({"user_email": f"没有邮箱为 {email} 的账号"})
        data["user_id"] = user.id
    return data


def team_candidates(achievement: Achievement) -> list[Expert]:
    """Active experts not yet on the team: the owner organisation's first, then the rest."""
    on_team = select(AchievementExpert.expert_id).where(AchievementExpert.achievement_id == achievement.id)
    stmt = (
        select(Expert)
        .where(Expert.active.is_(True), Expert.id.not_in(on_team))
        .order_by(case((Expert.organization_id == achievement.org_id, 0), else_=1), Expert.name)
        .limit(500)
    )
    return list(db.session.scalars(stmt))


@dataclass
class InstrumentArgs:
    q: str = ""
    district: str = ""
    field: str = ""
    status: str = ""
    org: int | None = None
    page: int = 1

    @classmethod
    def read(cls, args: Any, errors: dict[str, str] | None = None) -> InstrumentArgs:
        errors = {} if errors is None else errors
        district = str(args.get("district") or "").strip()
        if district and taxonomy().district(district) is None:
            errors["district"] = f"区县“{district}”不存在"
            district = ""
        status = str(args.get("status") or "").strip()
        if status and status not in (InstrumentStatus.AVAILABLE.value, InstrumentStatus.MAINTENANCE.value):
            errors["status"] = "状态可选 available（可预约）或 maintenance（维护中）"
            status = ""
        return cls(
            q=str(args.get("q") or "").strip()[:100],
            district=district,
            field=_field_arg(args, errors),
            status=status,
            org=_org_arg(args, errors),
            page=_page_number(args.get("page")),
        )

    def url_args(self, **changes: Any) -> dict[str, Any]:
        values = {
            "q": self.q or None,
            "district": self.district or None,
            "field": self.field or None,
            "status": self.status or None,
            "org": self.org,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def instrument_select(args: InstrumentArgs, user: Any = None):
    stmt = select(Instrument)
    if args.org and (is_admin(user) or _member_of(user, args.org)):
        stmt = stmt.where(Instrument.org_id == args.org)  # the owner sees its retired ones too
    else:
        stmt = stmt.where(Instrument.status != InstrumentStatus.RETIRED.value)
        if args.org:
            stmt = stmt.where(Instrument.org_id == args.org)
    if args.status:
        stmt = stmt.where(Instrument.status == args.status)
    if args.district:
        stmt = stmt.where(Instrument.district == args.district)
    if args.field:
        codes = taxonomy().field_and_descendants(args.field)
        stmt = stmt.where(Instrument.field_code.in_(codes))
    if args.q:
        like = f"%{args.q}%"
        stmt = stmt.where(
            Instrument.name.ilike(like)
            | Instrument.model.ilike(like)
            | Instrument.manufacturer.ilike(like)
            | Instrument.specs.ilike(like)
        )
    return stmt.order_by(Instrument.name, Instrument.id)


def _member_of(user: Any, org_id: int) -> bool:
    org = getattr(user, "active_org", None) if getattr(user, "is_authenticated", False) else None
    return org is not None and org.id == org_id


def instrument_page(args: InstrumentArgs, user: Any = None, per_page: int | None = None):
    per_page = per_page or current_app.config.get("PER_PAGE", 20)
    return db.paginate(instrument_select(args, user), page=args.page, per_page=per_page, error_out=False)
