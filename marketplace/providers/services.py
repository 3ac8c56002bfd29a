"""Service providers and requests (the "1+7+N" service system). Rules and transactions; the web
views and the API call these.

Who may do what
  * offerings: the organisation manager (机构管理员) of a **verified** organisation creates, edits,
    deactivates and reactivates the organisation's offerings; an admin may edit or deactivate any
    (moderation). An unverified organisation is refused: 机构通过平台认证后才能发布服务.
  * requests: any logged-in user with an approved organisation membership, for an active offering
    of another organisation. The requesting organisation is the party: any approved member may
    cancel, rate and write notes. The provider's approved members handle the request.
  * admins read every request (no actions); everyone else is refused.

A request's states (every change through `transition`, audited, the other party notified):

  submitted ─accept→ accepted ─start→ in_progress ─complete→ completed ─(rate once)
     │  └─decline→ declined
     └──────────────┴──────────────────┴─cancel (requester)→ cancelled

The first response (accept or decline) stores `response_seconds`, the basis of "平均 X 小时响应".
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Organization, User
from ..alerts.services import notify
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.policy import belongs_to, is_admin, is_authenticated
from ..core.taxonomy import ServiceCategory
from ..core.timeutil import local_today, utcnow
from ..deals.services import org_members
from ..extensions import db
from ..listings.models import Achievement, Demand
from ..listings.services import safe_filename, sniff, upload_path, write_upload
from .models import (
    ContactPreference,
    RequestStatus,
    ServiceOffering,
    ServiceRating,
    ServiceRequest,
    ServiceRequestMessage,
)

S = RequestStatus
UNVERIFIED = "机构通过平台认证后才能发布服务"
MAX_TEXT = 5000
MAX_NOTE = 2000
TURNAROUND_DAYS = (1, 365)

# What each of the seven service lines covers (the "7" of 1+7+N).
CATEGORY_NOTES = {
    "transfer": "成果与需求对接、技术转移转化方案、技术合同签订与登记辅导。",
    "evaluation": "科技成果评价：组织专家对技术水平、成熟度与应用前景出具评价意见。",
    "listing": "成果挂牌公示、协议转让与网络竞价的组织和交易鉴证。",
    "brokerage": "技术经纪人全程撮合：需求挖掘、谈判陪同、交易跟进与佣金约定。",
    "finance": "科技信贷、知识产权质押融资、科技保险与股权投资对接。",
    "ip": "专利检索分析、申请代理、布局规划、许可与转让中的知识产权服务。",
    "park": "成果落地选址、孵化器与园区入驻、政策申报与产业化配套。",
}


def category_infos() -> list[dict[str, str]]:
    return [{"code": c.value, "label": c.label, "note": CATEGORY_NOTES[c.value]} for c in ServiceCategory]


# ---------------------------------------------------------------------------------------------
# Policy (used by views, the API and tests)


def offers(org_id: int | None, category: str) -> bool:
    """Whether a verified organisation offers an active service in `category` (a
    ServiceCategory code): e.g. who may run 成果评价 for others."""
    if org_id is None:
        return False
    stmt = (
        select(ServiceOffering.id)
        .join(Organization, Organization.id == ServiceOffering.org_id)
        .where(
            ServiceOffering.org_id == org_id,
            ServiceOffering.category == str(category),
            ServiceOffering.active.is_(True),
            Organization.verified.is_(True),
        )
        .limit(1)
    )
    return db.session.execute(stmt).first() is not None


def can_manage_offerings(user: Any, org_id: int | None) -> bool:
    """The manager of the organisation (verified or not: the refusal for unverified ones is
    `require_publisher`'s clear message)."""
    return belongs_to(user, org_id) and bool(getattr(user, "is_org_manager", False))


def can_edit_offering(user: Any, offering: ServiceOffering) -> bool:
    return is_admin(user) or can_manage_offerings(user, offering.org_id)


def require_publisher(user: Any) -> Organization:
    """The organisation a user publishes services for, or a refusal saying why."""
    org = user.active_org if is_authenticated(user) else None
    if org is None or not getattr(user, "is_org_manager", False):
        raise PermissionDenied("只有机构管理员可以发布本机构的服务")
    if not org.verified:
        raise PermissionDenied(UNVERIFIED)
    return org


def is_provider(user: Any, req: ServiceRequest) -> bool:
    return belongs_to(user, req.provider_org_id)


def is_requester(user: Any, req: ServiceRequest) -> bool:
    return belongs_to(user, req.requester_org_id)


def can_view_request(user: Any, req: ServiceRequest) -> bool:
    return is_provider(user, req) or is_requester(user, req) or is_admin(user)


def is_public(offering: ServiceOffering) -> bool:
    return bool(offering.active and offering.organization.verified)


def request_refusal(user: Any, offering: ServiceOffering) -> str | None:
    """Why `user` may not request `offering` (None: may)."""
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return "加入机构（成员资格获批）后才能提交服务请求"
    if org.id == offering.org_id:
        return "不能向本机构的服务提交请求"
    if not is_public(offering):
        return "该服务已下架，暂不接受请求"
    return None


# ---------------------------------------------------------------------------------------------
# Loading


def load_offering(offering_id: int, user: Any) -> ServiceOffering:
    """404 for a missing offering and for a deactivated one (or one of an organisation that lost
    its verification) unless the caller may edit it."""
    offering = db.session.get(ServiceOffering, offering_id)
    if offering is None or not (is_public(offering) or can_edit_offering(user, offering)):
        raise NotFound("服务不存在或已下架")
    return offering


def load_request(request_id: int, user: Any) -> ServiceRequest:
    req = db.session.get(ServiceRequest, request_id)
    if req is None:
        raise NotFound("服务请求不存在")
    if not can_view_request(user, req):
        raise PermissionDenied("只有服务双方的机构成员可以查看该服务请求")
    return req


def load_provider(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound("服务机构不存在")
    return org


# ---------------------------------------------------------------------------------------------
# Offerings


def _text(data: Mapping[str, Any], name: str, label: str, limit: int, errors: dict, *, required: bool) -> str | None:
    raw = data.get(name)
    if raw is not None and not isinstance(raw, str):
        errors[name] = f"{label}须为文字"
        return None
    text = (raw or "").strip()
    if required and not text:
        errors[name] = f"请填写{label}"
    elif len(text) > limit:
        errors[name] = f"{label}不超过 {limit} 字（现有 {len(text)} 字）"
    return text or None


def _taxonomy():
    return current_app.extensions["taxonomy"]


def parse_offering(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    category = ServiceCategory.parse(data.get("category"))
    if category is None:
        errors["category"] = "请选择服务类别：" + "、".join(c.label for c in ServiceCategory)
    title = _text(data, "title", "服务名称", 200, errors, required=True)
    description = _text(data, "description", "服务内容", MAX_TEXT, errors, required=True)
    price_note = _text(data, "price_note", "收费说明", 200, errors, required=False)
    district = None
    raw_district = data.get("district")
    if raw_district not in (None, ""):
        found = _taxonomy().parse_district(raw_district)
        if found is None:
            errors["district"] = "请选择日照市的区县或功能区（留空表示全市）"
        else:
            district = found.code
    turnaround = None
    raw_days = data.get("turnaround_days")
    if raw_days not in (None, ""):
        try:
            if isinstance(raw_days, bool | float):
                raise ValueError
            turnaround = int(str(raw_days).strip())
        except ValueError:
            errors["turnaround_days"] = "办理周期须为整数天"
        else:
            if not TURNAROUND_DAYS[0] <= turnaround <= TURNAROUND_DAYS[1]:
                errors["turnaround_days"] = f"办理周期须在 {TURNAROUND_DAYS[0]}–{TURNAROUND_DAYS[1]} 天之间"
    if errors:
        raise ValidationFailed(errors)
    return {
        "category": category.value,
        "title": title,
        "description": description,
        "price_note": price_note,
        "district": district,
        "turnaround_days": turnaround,
    }


def create_offering(actor: Any, data: Mapping[str, Any]) -> ServiceOffering:
    org = require_publisher(actor)
    offering = ServiceOffering(org_id=org.id, created_by_id=actor.id, active=True, **parse_offering(data))
    db.session.add(offering)
    db.session.flush()
    audit.record(actor, "create", offering, to_state="active", details={"category": offering.category})
    return offering


def update_offering(offering: ServiceOffering, actor: Any, data: Mapping[str, Any]) -> ServiceOffering:
    if not can_edit_offering(actor, offering):
        raise PermissionDenied("只有服务所属机构的管理员可以修改服务")
    if not is_admin(actor) and not offering.organization.verified:
        raise PermissionDenied(UNVERIFIED)
    current = {k: getattr(offering, k) for k in OFFERING_FIELDS}
    clean = parse_offering({**current, **{k: v for k, v in data.items() if k in OFFERING_FIELDS}})
    changed = sorted(k for k, v in clean.items() if getattr(offering, k) != v)
    for key in changed:
        setattr(offering, key, clean[key])
    if changed:
        audit.record(actor, "update", offering, details={"fields": changed})
    return offering


OFFERING_FIELDS = ("category", "title", "description", "price_note", "district", "turnaround_days")


def set_offering_active(offering: ServiceOffering, actor: Any, active: bool) -> ServiceOffering:
    if not can_edit_offering(actor, offering):
        raise PermissionDenied("只有服务所属机构的管理员可以上架或下架服务")
    if active and not offering.organization.verified:
        raise PermissionDenied(UNVERIFIED)
    if offering.active == active:
        raise Conflict("该服务已经上架" if active else "该服务已经下架")
    offering.active = active
    audit.record(
        actor,
        "reopen" if active else "withdraw",
        offering,
        from_state="inactive" if active else "active",
        to_state="active" if active else "inactive",
    )
    return offering


def offerings_of(org_id: int, *, include_inactive: bool = False) -> list[ServiceOffering]:
    stmt = select(ServiceOffering).where(ServiceOffering.org_id == org_id)
    if not include_inactive:
        stmt = stmt.where(ServiceOffering.active.is_(True))
    return list(
        db.session.scalars(stmt.order_by(ServiceOffering.active.desc(), ServiceOffering.category, ServiceOffering.id))
    )


# ---------------------------------------------------------------------------------------------
# Ratings and response times


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _hours(seconds: Decimal | int) -> Decimal:
    return _one_decimal(Decimal(seconds) / Decimal(3600))


def median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[mid])
    return (Decimal(ordered[mid - 1]) + Decimal(ordered[mid])) / 2


@dataclass
class ProviderStats:
    rating_count: int = 0
    rating_sum: int = 0
    response_seconds: list[int] = field(default_factory=list)
    completed: int = 0
    requests: int = 0

    @property
    def average_rating(self) -> Decimal | None:
        """Mean of the 1–5 scores, one decimal, half up (4.25 → 4.3)."""
        if not self.rating_count:
            return None
        return _one_decimal(Decimal(self.rating_sum) / Decimal(self.rating_count))

    @property
    def average_response_hours(self) -> Decimal | None:
        if not self.response_seconds:
            return None
        return _hours(Decimal(sum(self.response_seconds)) / Decimal(len(self.response_seconds)))

    @property
    def median_response_hours(self) -> Decimal | None:
        value = median(self.response_seconds)
        return None if value is None else _hours(value)

    @property
    def stars(self) -> int:
        """Whole stars to draw (the average rounded half up)."""
        avg = self.average_rating
        return int(avg.quantize(Decimal("1"), rounding=ROUND_HALF_UP)) if avg is not None else 0

    def as_dict(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "average_rating": text(self.average_rating),
            "rating_count": self.rating_count,
            "average_response_hours": text(self.average_response_hours),
            "median_response_hours": text(self.median_response_hours),
            "responded_count": len(self.response_seconds),
            "completed_count": self.completed,
            "request_count": self.requests,
        }


def provider_stats(org_ids: list[int] | set[int]) -> dict[int, ProviderStats]:
    """Ratings, first-response times and completions of several providers, in three queries."""
    ids = sorted(set(org_ids))
    stats = {org_id: ProviderStats() for org_id in ids}
    if not ids:
        return stats
    rows = db.session.execute(
        select(ServiceRating.provider_org_id, func.count(ServiceRating.id), func.sum(ServiceRating.score))
        .where(ServiceRating.provider_org_id.in_(ids))
        .group_by(ServiceRating.provider_org_id)
    )
    for org_id, count, total in rows:
        stats[org_id].rating_count, stats[org_id].rating_sum = int(count), int(total or 0)
    rows = db.session.execute(
        select(ServiceRequest.provider_org_id, ServiceRequest.response_seconds).where(
            ServiceRequest.provider_org_id.in_(ids), ServiceRequest.response_seconds.is_not(None)
        )
    )
    for org_id, seconds in rows:
        stats[org_id].response_seconds.append(int(seconds))
    rows = db.session.execute(
        select(
            ServiceRequest.provider_org_id,
            func.count(ServiceRequest.id),
            func.sum(case((ServiceRequest.status == S.COMPLETED.value, 1), else_=0)),
        )
        .where(ServiceRequest.provider_org_id.in_(ids))
        .group_by(ServiceRequest.provider_org_id)
    )
    for org_id, count, completed in rows:
        stats[org_id].requests, stats[org_id].completed = int(count), int(completed or 0)
    return stats


def recent_reviews(org_id: int, limit: int = 10) -> list[ServiceRating]:
    stmt = (
        select(ServiceRating)
        .where(ServiceRating.provider_org_id == org_id)
        .order_by(ServiceRating.created_at.desc(), ServiceRating.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def provider_summary(org: Organization | None) -> dict[str, Any] | None:
    """What the organisation page shows of a provider: its active offerings and figures; None when
    it offers nothing."""
    if org is None:
        return None
    offerings = offerings_of(org.id)
    if not offerings:
        return None
    return {"org": org, "offerings": offerings, "stats": provider_stats([org.id])[org.id]}


# ---------------------------------------------------------------------------------------------
# The catalogue

SORTS = {"rating": "评分最高", "response": "响应最快", "newest": "最新发布"}
PER_PAGE = 12


@dataclass
class CatalogueFilters:
    category: str = ""
    district: str = ""
    q: str = ""
    sort: str = "rating"
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> CatalogueFilters:
        category = ServiceCategory.parse(args.get("category"))
        district = _taxonomy().parse_district(args.get("district"))
        sort = str(args.get("sort") or "rating")
        try:
            page = max(int(args.get("page") or 1), 1)
        except (TypeError, ValueError):
            page = 1
        return cls(
            category=category.value if category else "",
            district=district.code if district else "",
            q=" ".join(str(args.get("q") or "").split())[:100],
            sort=sort if sort in SORTS else "rating",
            page=page,
        )

    def args(self) -> dict[str, str]:
        return {
            k: v
            for k, v in {"category": self.category, "district": self.district, "q": self.q, "sort": self.sort}.items()
            if v
        }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def catalogue_query(f: CatalogueFilters) -> Select:
    """Active offerings of verified organisations, filtered and sorted (SQL LIKE keywords)."""
    ratings = (
        select(
            ServiceRating.provider_org_id.label("org_id"),
            func.avg(ServiceRating.score).label("avg"),
            func.count(ServiceRating.id).label("n"),
        )
        .group_by(ServiceRating.provider_org_id)
        .subquery()
    )
    responses = (
        select(
            ServiceRequest.provider_org_id.label("org_id"),
            func.avg(ServiceRequest.response_seconds).label("avg"),
        )
        .where(ServiceRequest.response_seconds.is_not(None))
        .group_by(ServiceRequest.provider_org_id)
        .subquery()
    )
    stmt = (
        select(ServiceOffering)
        .join(Organization, Organization.id == ServiceOffering.org_id)
        .outerjoin(ratings, ratings.c.org_id == ServiceOffering.org_id)
        .outerjoin(responses, responses.c.org_id == ServiceOffering.org_id)
        .where(ServiceOffering.active.is_(True), Organization.verified.is_(True))
    )
    if f.category:
        stmt = stmt.where(ServiceOffering.category == f.category)
    if f.district:
        # An offering without a service area serves the whole city.
        stmt = stmt.where(or_(ServiceOffering.district == f.district, ServiceOffering.district.is_(None)))
    for word in f.q.split()[:5]:
        pattern = _like(word)
        stmt = stmt.where(
            or_(
                ServiceOffering.title.ilike(pattern, escape="\\"),
                ServiceOffering.description.ilike(pattern, escape="\\"),
                Organization.name.ilike(pattern, escape="\\"),
            )
        )
    newest = (ServiceOffering.created_at.desc(), ServiceOffering.id.desc())
    if f.sort == "rating":
        order = (case((ratings.c.avg.is_(None), 1), else_=0), ratings.c.avg.desc(), ratings.c.n.desc(), *newest)
    elif f.sort == "response":
        order = (case((responses.c.avg.is_(None), 1), else_=0), responses.c.avg.asc(), *newest)
    else:
        order = newest
    return stmt.order_by(*order)


def catalogue(f: CatalogueFilters, per_page: int = PER_PAGE):
    return db.paginate(catalogue_query(f), page=f.page, per_page=per_page, error_out=False)


def category_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(ServiceOffering.category, func.count(func.distinct(ServiceOffering.org_id)))
        .join(Organization, Organization.id == ServiceOffering.org_id)
        .where(ServiceOffering.active.is_(True), Organization.verified.is_(True))
        .group_by(ServiceOffering.category)
    )
    return {category: int(n) for category, n in rows}


# ---------------------------------------------------------------------------------------------
# Requests


def linkable_listings(user: Any) -> list[tuple[str, str]]:
    """(value, label) of the caller's organisation's achievements and demands, for the form."""
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return []
    choices = []
    for model, prefix, label in ((Achievement, "achievement", "成果"), (Demand, "demand", "需求")):
        stmt = select(model.id, model.title).where(model.org_id == org.id).order_by(model.id.desc()).limit(200)
        choices += [(f"{prefix}:{i}", f"[{label}] {title}") for i, title in db.session.execute(stmt)]
    return choices


def _listing_link(actor: Any, data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, int | None]:
    link: dict[str, int | None] = {"achievement_id": None, "demand_id": None}
    given = {k: data.get(k) for k in link if data.get(k) not in (None, "")}
    if len(given) > 1:
        errors["demand_id"] = "只能关联一条科技成果或技术需求"
        return link
    for key, raw in given.items():
        model = Achievement if key == "achievement_id" else Demand
        try:
            if isinstance(raw, bool | float):
                raise ValueError
            item = db.session.get(model, int(str(raw)))
        except ValueError:
            errors[key] = "须为编号（整数）"
            continue
        if item is None or not belongs_to(actor, item.org_id):
            errors[key] = "只能关联本机构的科技成果或技术需求"
            continue
        link[key] = item.id
    return link


def _parse_date(raw: Any, name: str, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    try:
        value = date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[name] = "日期格式应为 YYYY-MM-DD"
        return None
    if value < local_today():
        errors[name] = "期望完成日期不能早于今天"
    return value


def parse_request(actor: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    subject = _text(data, "subject", "请求主题", 200, errors, required=True)
    description = _text(data, "description", "需求描述", MAX_TEXT, errors, required=True)
    desired = _parse_date(data.get("desired_date"), "desired_date", errors)
    contact = ContactPreference.PLATFORM
    if data.get("contact_preference") not in (None, ""):
        contact = ContactPreference.parse(data.get("contact_preference"))
        if contact is None:
            errors["contact_preference"] = "联系方式偏好可选：" + "、".join(c.label for c in ContactPreference)
    link = _listing_link(actor, data, errors)
    if errors:
        raise ValidationFailed(errors)
    return {
        "subject": subject,
        "description": description,
        "desired_date": desired,
        "contact_preference": contact.value,
        **link,
    }


def _url(req: ServiceRequest) -> str:
    return f"/services/requests/{req.id}"


def create_request(actor: Any, offering: ServiceOffering, data: Mapping[str, Any]) -> ServiceRequest:
    refusal = request_refusal(actor, offering)
    if refusal is not None:
        # A party that may request in general is told the offering's state (409), others 403.
        own = is_authenticated(actor) and actor.active_org is not None and actor.active_org.id == offering.org_id
        if is_authenticated(actor) and actor.active_org is not None and not own:
            raise Conflict(refusal)
        raise PermissionDenied(refusal)
    clean = parse_request(actor, data)
    req = ServiceRequest(
        offering_id=offering.id,
        provider_org_id=offering.org_id,
        requester_org_id=actor.active_org.id,
        requester_id=actor.id,
        status=S.SUBMITTED.value,
        **clean,
    )
    db.session.add(req)
    db.session.flush()
    audit.record(actor, "create", req, to_state=req.status, details={"offering_id": offering.id})
    notify(
        org_members(offering.org_id),
        f"新的服务请求：{req.subject}",
        f"{actor.active_org.name} 申请“{offering.title}”（{offering.category_label}），请及时受理。",
        _url(req),
    )
    return req


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    by: str  # "provider" or "requester"
    label: str  # shown in the timeline and messages


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(frozenset({S.SUBMITTED.value}), S.ACCEPTED.value, "provider", "受理"),
    "decline": Transition(frozenset({S.SUBMITTED.value}), S.DECLINED.value, "provider", "婉拒"),
    "start": Transition(frozenset({S.ACCEPTED.value}), S.IN_PROGRESS.value, "provider", "开始服务"),
    "complete": Transition(frozenset({S.IN_PROGRESS.value}), S.COMPLETED.value, "provider", "完成服务"),
    "cancel": Transition(
        frozenset({S.SUBMITTED.value, S.ACCEPTED.value, S.IN_PROGRESS.value}), S.CANCELLED.value, "requester", "取消"
    ),
}
TIMELINE_LABELS = {"create": "提交请求", "rate": "评价", **{k: t.label for k, t in TRANSITIONS.items()}}


def allowed_actions(user: Any, req: ServiceRequest) -> list[str]:
    """The transitions `user` may make now (for buttons)."""
    side = "provider" if is_provider(user, req) else "requester" if is_requester(user, req) else None
    return [name for name, t in TRANSITIONS.items() if t.by == side and req.status in t.sources]


def _store_result_file(filename: str, content: bytes) -> dict[str, Any]:
    """Store like listing attachments: content sniffed (PDF or image), random name under UPLOAD_DIR."""
    limit_mb = current_app.config.get("MAX_UPLOAD_MB", 10)
    if len(content) > limit_mb * 1024 * 1024:
        raise ValidationFailed({"file": f"文件超过{limit_mb}MB的大小限制"})
    kind = sniff(content[:16])
    if kind is None:
        raise ValidationFailed({"file": "只能上传 PDF 文件或图片（PNG、JPEG、GIF、WebP）"})
    mime, ext = kind
    name = safe_filename(filename or "服务成果")
    if not name.lower().endswith(ext) and not (ext == ".jpg" and name.lower().endswith(".jpeg")):
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}{ext}"
    stored = "service-" + secrets.token_hex(16) + ext
    return {"name": name, "stored": stored, "mime": mime, "content": content}


def transition(
    req: ServiceRequest,
    action: str,
    actor: Any,
    data: Mapping[str, Any] | None = None,
    file: tuple[str, bytes] | None = None,
) -> ServiceRequest:
    """The one way a request changes state: the allowed-transition table, the party's right, the
    input; then the change, an audit record and a notification to the other party. A refusal
    raises before anything changes."""
    data = data or {}
    step = TRANSITIONS.get(str(action))
    if step is None:
        raise ValidationFailed(
            {"action": "操作可选：" + "、".join(f"{k}（{t.label}）" for k, t in TRANSITIONS.items())}
        )
    if step.by == "provider" and not is_provider(actor, req):
        raise PermissionDenied("只有服务机构的成员可以" + step.label)
    if step.by == "requester" and not is_requester(actor, req):
        raise PermissionDenied("只有请求方机构的成员可以取消请求")
    if req.status not in step.sources:
        raise Conflict(f"服务请求当前为“{req.status_label}”，不能{step.label}")
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    reason = None
    if action == "accept":
        changes["quote_note"] = _text(data, "note", "报价或服务方案", MAX_NOTE, errors, required=False)
    elif action == "decline":
        reason = _text(data, "reason", "婉拒原因", MAX_NOTE, errors, required=True)
        changes["decline_reason"] = reason
    elif action == "complete":
        changes["result_text"] = _text(data, "result", "服务成果说明", MAX_TEXT, errors, required=True)
    elif action == "cancel":
        reason = _text(data, "reason", "取消原因", MAX_NOTE, errors, required=False)
        changes["cancel_reason"] = reason
    if errors:
        raise ValidationFailed(errors)
    stored = _store_result_file(*file) if action == "complete" and file and file[1] else None
    claimed = db.session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == req.id, ServiceRequest.status == req.status)
        .values(status=step.target)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # someone else changed it meanwhile
        db.session.refresh(req)
        raise Conflict(f"服务请求已变为“{req.status_label}”，请刷新后重试")
    before, now = req.status, utcnow()
    req.status = step.target
    for key, value in changes.items():
        setattr(req, key, value)
    if action in ("accept", "decline") and req.responded_at is None:
        req.responded_at = now
        req.response_seconds = max(int((now - req.created_at).total_seconds()), 0)
    if action == "start":
        req.started_at = now
    if action == "complete":
        req.completed_at = now
    if action in ("decline", "cancel"):
        req.closed_at = now
    details = None
    if stored:
        write_upload(stored["stored"], stored["content"])
        req.result_file_name, req.result_file_path = stored["name"], stored["stored"]
        req.result_file_mime, req.result_file_size = stored["mime"], len(stored["content"])
        details = {"filename": stored["name"], "sha256": hashlib.sha256(stored["content"]).hexdigest()}
    audit.record(actor, action, req, from_state=before, to_state=step.target, reason=reason, details=details)
    other = req.requester_org_id if step.by == "provider" else req.provider_org_id
    who = req.provider.name if step.by == "provider" else req.requester_org.name
    notify(
        org_members(other),
        f"服务请求“{req.subject}”：{who}已{step.label}",
        reason or changes.get("quote_note") or changes.get("result_text") or "",
        _url(req),
    )
    return req


def rate(req: ServiceRequest, actor: Any, score: Any, comment: Any = None) -> ServiceRating:
    """The requester rates a completed request once (1–5 stars, optional comment)."""
    if is_provider(actor, req):
        raise PermissionDenied("服务机构不能评价自己的服务")
    if not is_requester(actor, req):
        raise PermissionDenied("只有请求方机构的成员可以评价")
    if req.status != S.COMPLETED.value:
        raise Conflict("服务完成后才能评价")
    if req.rating is not None:
        raise Conflict("该服务请求已评价，不能重复评价")
    errors: dict[str, str] = {}
    value = None
    try:
        if isinstance(score, bool | float):
            raise ValueError
        value = int(str(score).strip())
    except (TypeError, ValueError):
        pass
    if value is None or not 1 <= value <= 5:
        errors["score"] = "请选择 1–5 星的评分"
    text = _text({"comment": comment}, "comment", "评价内容", MAX_NOTE, errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    rating = ServiceRating(
        request_id=req.id,
        offering_id=req.offering_id,
        provider_org_id=req.provider_org_id,
        rater_id=actor.id,
        score=value,
        comment=text,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError:
        raise Conflict("该服务请求已评价，不能重复评价") from None
    db.session.refresh(req, ["rating"])
    audit.record(actor, "rate", req, reason=text, details={"score": value})
    notify(org_members(req.provider_org_id), f"服务请求“{req.subject}”收到 {value} 星评价", text or "", _url(req))
    return rating


def add_message(req: ServiceRequest, actor: Any, body: Any) -> ServiceRequestMessage:
    if not (is_provider(actor, req) or is_requester(actor, req)):
        raise PermissionDenied("只有服务双方的机构成员可以留言")
    errors: dict[str, str] = {}
    text = _text({"body": body}, "body", "留言", MAX_NOTE, errors, required=True)
    if errors:
        raise ValidationFailed(errors)
    message = ServiceRequestMessage(request_id=req.id, author_id=actor.id, org_id=actor.active_org.id, body=text)
    db.session.add(message)
    db.session.flush()
    other = req.requester_org_id if is_provider(actor, req) else req.provider_org_id
    notify(org_members(other), f"服务请求“{req.subject}”有新留言", text, _url(req))
    return message


def messages_of(req: ServiceRequest) -> list[ServiceRequestMessage]:
    stmt = (
        select(ServiceRequestMessage)
        .where(ServiceRequestMessage.request_id == req.id)
        .order_by(ServiceRequestMessage.created_at, ServiceRequestMessage.id)
    )
    return list(db.session.scalars(stmt))


def timeline(req: ServiceRequest) -> list[dict[str, Any]]:
    users = {}
    entries = []
    for entry in audit.history(req):
        if entry.actor_id and entry.actor_id not in users:
            users[entry.actor_id] = db.session.get(User, entry.actor_id)
        actor = users.get(entry.actor_id)
        entries.append(
            {
                "at": entry.created_at,
                "action": entry.action,
                "label": TIMELINE_LABELS.get(entry.action, audit.ACTION_LABELS.get(entry.action, entry.action)),
                "actor": actor.name if actor else "系统",
                "to": S.label_of(entry.to_state) if entry.to_state else "",
                "reason": entry.reason,
            }
        )
    return entries


def result_file(req: ServiceRequest, user: Any):
    if not can_view_request(user, req):
        raise PermissionDenied("只有服务双方的机构成员可以下载服务成果")
    if not req.result_file_path:
        raise NotFound("该服务请求没有成果文件")
    path = upload_path(req.result_file_path)
    if not path.exists():
        raise NotFound("文件已不在存储中，请联系管理员")
    return path


def waiting_hours(req: ServiceRequest, now: datetime | None = None) -> Decimal:
    """Hours since submission (the workbench's response clock for requests not yet answered)."""
    seconds = max(((now or utcnow()) - req.created_at).total_seconds(), 0)
    return _hours(int(seconds))


# ---------------------------------------------------------------------------------------------
# Lists

SIDES = ("requester", "provider")


def requests_query(user: Any, side: str, status: str | None = None) -> Select:
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        raise PermissionDenied("加入机构（成员资格获批）后才能查看服务请求")
    column = ServiceRequest.requester_org_id if side == "requester" else ServiceRequest.provider_org_id
    stmt = select(ServiceRequest).where(column == org.id)
    if status:
        stmt = stmt.where(ServiceRequest.status == status)
    return stmt.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())


def status_counts(user: Any, side: str) -> dict[str, int]:
    org = user.active_org
    column = ServiceRequest.requester_org_id if side == "requester" else ServiceRequest.provider_org_id
    rows = db.session.execute(
        select(ServiceRequest.status, func.count(ServiceRequest.id))
        .where(column == org.id)
        .group_by(ServiceRequest.status)
    )
    return {status: int(n) for status, n in rows}


def parse_status(raw: Any) -> str | None:
    member = RequestStatus.parse(raw)
    return member.value if member else None
