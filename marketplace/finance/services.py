"""The rules of 科技金融: products of financial institutions, enterprises' financing applications
(one transition service, `transition`, with its table below), disbursement and repayments,
investors' field follows (saved searches of the alerts package) and roadshows.

Application states (every change audited, the other side notified):

  submitted ─review→ under_review ─request_documents→ documents_requested ─respond→ under_review
  under_review ─approve→ approved ─disburse→ disbursed ─(repayments reach the amount)→ settled
  submitted / under_review / documents_requested ─decline→ declined | ─withdraw→ withdrawn

Only members of the product's institution act as reviewers; only members of the applicant
organisation respond or withdraw. Loans (科技成果转化贷款, 专利质押贷款, 其他贷款) are disbursed
and repaid; for equity funds and others 已批准 is the end."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from werkzeug.datastructures import MultiDict

from ..accounts.models import Organization, User
from ..alerts import services as alerts
from ..alerts.models import SavedSearch
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.money import format_yuan, parse_amount
from ..core.policy import belongs_to, is_admin, is_authenticated, is_listing_owner, is_official
from ..core.taxonomy import ListingStatus, OrgType, Role
from ..core.timeutil import LOCAL_TZ, local_today, to_local, utcnow
from ..core.validators import parse_id
from ..deals.models import TechContract
from ..deals.services import org_members
from ..extensions import db
from ..listings.models import Achievement, AchievementPatent, Demand
from ..listings.services import safe_filename, sniff, write_upload
from .models import (
    ApplicationStatus,
    AttachmentKind,
    FinanceApplication,
    FinanceAttachment,
    FinanceProduct,
    FinanceRepayment,
    ProductKind,
    ProductStatus,
    ProjectStatus,
    Roadshow,
    RoadshowProject,
    RoadshowRegistration,
)

S = ApplicationStatus
ZERO = Decimal("0.00")
MAX_RATE = Decimal("100")
TERM_BOUNDS = (1, 600)
MAX_FILES = 10
APPLICANT_ROLES = (Role.UNIVERSITY.value, Role.ENTERPRISE.value, Role.BROKER.value)
REF_FIELDS = {
    "contract_ids": AttachmentKind.CONTRACT,
    "patent_ids": AttachmentKind.PATENT,
    "achievement_ids": AttachmentKind.ACHIEVEMENT,
    "demand_ids": AttachmentKind.DEMAND,
}


# ---------------------------------------------------------------------------------------------
# Policy (used by views, the API and tests)


def institution_of(user: Any) -> Organization | None:
    """The verified financial institution the user acts for, if any."""
    if not is_authenticated(user) or user.role != Role.FINANCE.value:
        return None
    org = user.active_org
    if org is None or org.org_type != OrgType.FINANCE.value or not org.verified:
        return None
    return org


def is_institution_member(user: Any, org_id: int | None) -> bool:
    org = institution_of(user)
    return org is not None and org.id == org_id


def applicant_org(user: Any) -> Organization | None:
    """The organisation an applicant acts for: a verified one of any type but finance/government."""
    if not is_authenticated(user) or user.role not in APPLICANT_ROLES:
        return None
    org = user.active_org
    if org is None or not org.verified or org.org_type in (OrgType.FINANCE.value, OrgType.GOVERNMENT.value):
        return None
    return org


def can_view_product(user: Any, product: FinanceProduct) -> bool:
    if product.status == ProductStatus.PUBLISHED.value:
        return True
    return is_admin(user) or is_institution_member(user, product.org_id)


def can_view_application(user: Any, application: FinanceApplication) -> bool:
    return (
        is_admin(user)
        or is_institution_member(user, application.institution_id)
        or belongs_to(user, application.org_id)
    )


def can_organise(user: Any) -> bool:
    return is_admin(user) or is_official(user) or institution_of(user) is not None


def is_organiser(user: Any, roadshow: Roadshow) -> bool:
    if not is_authenticated(user):
        return False
    if is_admin(user) or user.id == roadshow.organizer_id:
        return True
    return roadshow.organizer_org_id is not None and is_institution_member(user, roadshow.organizer_org_id)


def load_product(product_id: int, user: Any) -> FinanceProduct:
    product = db.session.get(FinanceProduct, product_id)
    if product is None or not can_view_product(user, product):
        raise NotFound("金融产品不存在或尚未发布")
    return product


def load_application(application_id: int, user: Any) -> FinanceApplication:
    application = db.session.get(FinanceApplication, application_id)
    if application is None:
        raise NotFound("融资申请不存在")
    if not is_authenticated(user):
        raise PermissionDenied("请先登录")
    if not can_view_application(user, application):
        raise PermissionDenied("只有申请机构和受理的金融机构可以查看此融资申请")
    return application


def load_roadshow(roadshow_id: int) -> Roadshow:
    roadshow = db.session.get(Roadshow, roadshow_id)
    if roadshow is None:
        raise NotFound("路演活动不存在")
    return roadshow


# ---------------------------------------------------------------------------------------------
# Parsing helpers


def _text(data: Mapping[str, Any], name: str, label: str, errors: dict, *, required: bool, limit: int) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        errors[name] = f"请填写{label}"
    elif len(value) > limit:
        errors[name] = f"{label}不超过 {limit} 字（现有 {len(value)} 字）"
    return value


def _amount(raw: Any, name: str, label: str, errors: dict, *, required: bool = True) -> Decimal | None:
    if raw in (None, ""):
        if required:
            errors[name] = f"请填写{label}"
        return None
    if isinstance(raw, float | bool):
        errors[name] = f'{label}须为十进制字符串，如 "500000.00" 或 "50万"'
        return None
    text = str(raw).strip()
    if text.startswith("-"):
        errors[name] = f"{label}不能为负数"
        return None
    try:
        value = parse_amount(raw)
    except ValueError as exc:
        errors[name] = f"{label}：{exc}"
        return None
    if value <= 0:
        errors[name] = f"{label}须大于 0"
        return None
    return value


def parse_rate(raw: Any, name: str, label: str, errors: dict, *, required: bool) -> Decimal | None:
    """Annual rate in percent: '3.45', '3.45%', '4.3500'; at most 4 decimals; never negative."""
    if raw in (None, ""):
        if required:
            errors[name] = f"请填写{label}"
        return None
    if isinstance(raw, float | bool):
        errors[name] = f'{label}须为十进制字符串，如 "3.45"'
        return None
    text = str(raw).strip().rstrip("%％").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[name] = f"{label}“{raw}”无法识别，请填写百分数，如 3.45"
        return None
    if not value.is_finite():
        errors[name] = f"{label}“{raw}”无法识别"
        return None
    if value < 0:
        errors[name] = f"{label}不能为负数"
        return None
    if value > MAX_RATE:
        errors[name] = f"{label}不能超过 100%"
        return None
    if -value.as_tuple().exponent > 4:
        errors[name] = f"{label}最多保留 4 位小数"
        return None
    return value.quantize(Decimal("0.0001"))


def format_rate(value: Decimal | None) -> str:
    """4.3500 -> '4.35%', 3.4567 -> '3.4567%' (2 to 4 decimals)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):.4f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}%"


def _int(
    raw: Any, name: str, label: str, errors: dict, bounds: tuple[int, int], *, required: bool = True
) -> int | None:
    if raw in (None, ""):
        if required:
            errors[name] = f"请填写{label}"
        return None
    if isinstance(raw, bool | float):
        errors[name] = f"{label}须为整数"
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        errors[name] = f"{label}须为整数"
        return None
    if not bounds[0] <= value <= bounds[1]:
        errors[name] = f"{label}须在 {bounds[0]}–{bounds[1]} 之间"
        return None
    return value


def _date(raw: Any, name: str, label: str, errors: dict) -> date | None:
    if isinstance(raw, date):
        return raw
    text = str(raw or "").strip()
    if not text:
        errors[name] = f"请填写{label}"
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label}请按 年-月-日 填写，如 2026-12-01"
        return None


def parse_local_datetime(raw: Any, name: str, label: str, errors: dict) -> datetime | None:
    """'2026-12-20T14:30' or '2026-12-20 14:30' in Asia/Shanghai -> naive UTC."""
    if isinstance(raw, datetime):
        return raw
    text = str(raw or "").strip().replace("T", " ")
    if not text:
        errors[name] = f"请填写{label}"
        return None
    try:
        local = datetime.strptime(text[:16], "%Y-%m-%d %H:%M")
    except ValueError:
        errors[name] = f"{label}请按 年-月-日 时:分 填写（北京时间），如 2026-12-20 14:30"
        return None
    return local.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def _id_list(raw: Any) -> list[Any]:
    if raw in (None, ""):
        return []
    if isinstance(raw, list | tuple):
        return list(raw)
    return [part for part in re.split(r"[,\s，]+", str(raw)) if part]


def _field_codes(raw: Any, errors: dict) -> list[str]:
    taxonomy = current_app.extensions["taxonomy"]
    codes: list[str] = []
    for item in _id_list(raw):
        field = taxonomy.parse_field(item)
        if field is None:
            errors["fields"] = f"技术领域“{item}”不存在"
            return []
        if field.code not in codes:
            codes.append(field.code)
    return codes


# ---------------------------------------------------------------------------------------------
# Products


def parse_product(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = ProductKind.parse(data.get("kind"))
    if kind is None:
        errors["kind"] = "请选择产品类型：" + "、".join(k.label for k in ProductKind)
    title = _text(data, "title", "产品名称", errors, required=True, limit=200)
    description = _text(data, "description", "产品介绍", errors, required=True, limit=5000)
    requirements = _text(data, "requirements", "担保与准入条件", errors, required=False, limit=3000)
    amount_min = _amount(data.get("amount_min"), "amount_min", "最低额度", errors)
    amount_max = _amount(data.get("amount_max"), "amount_max", "最高额度", errors)
    loan = kind is not None and kind.is_loan
    rate_min = parse_rate(data.get("rate_min"), "rate_min", "最低年利率", errors, required=loan)
    rate_max = parse_rate(data.get("rate_max"), "rate_max", "最高年利率", errors, required=loan)
    term_min = _int(data.get("term_min"), "term_min", "最短期限（月）", errors, TERM_BOUNDS)
    term_max = _int(data.get("term_max"), "term_max", "最长期限（月）", errors, TERM_BOUNDS)
    fields = _field_codes(data.get("fields"), errors)
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        errors["amount_max"] = "最高额度不能低于最低额度"
    if rate_min is not None and rate_max is not None and rate_min > rate_max:
        errors["rate_max"] = "最高年利率不能低于最低年利率"
    if (rate_min is None) != (rate_max is None) and "rate_min" not in errors and "rate_max" not in errors:
        errors["rate_max" if rate_max is None else "rate_min"] = "年利率区间须同时填写上下限"
    if term_min is not None and term_max is not None and term_min > term_max:
        errors["term_max"] = "最长期限不能短于最短期限"
    if errors:
        raise ValidationFailed(errors)
    return {
        "kind": kind.value,
        "title": title,
        "description": description,
        "requirements": requirements or None,
        "amount_min": amount_min,
        "amount_max": amount_max,
        "rate_min": rate_min,
        "rate_max": rate_max,
        "term_min": term_min,
        "term_max": term_max,
        "fields": fields,
    }


def _require_institution(actor: Any) -> Organization:
    org = institution_of(actor)
    if org is None:
        raise PermissionDenied("只有经认证的金融机构可以发布金融产品")
    return org


def create_product(actor: Any, data: Mapping[str, Any]) -> FinanceProduct:
    org = _require_institution(actor)
    clean = parse_product(data)
    product = FinanceProduct(org_id=org.id, created_by_id=actor.id, status=ProductStatus.DRAFT.value, **clean)
    db.session.add(product)
    db.session.flush()
    audit.record(actor, "create", product, to_state=product.status)
    if str(data.get("publish") or "") in ("1", "true", "on", "True") or data.get("publish") is True:
        set_product_status(product, actor, "publish")
    return product


def _require_product_member(actor: Any, product: FinanceProduct) -> None:
    _require_institution(actor)
    if not is_institution_member(actor, product.org_id):
        raise PermissionDenied("只有发布该产品的金融机构成员可以修改它")


def update_product(product: FinanceProduct, actor: Any, data: Mapping[str, Any]) -> FinanceProduct:
    _require_product_member(actor, product)
    current = {
        "kind": product.kind,
        "title": product.title,
        "description": product.description,
        "requirements": product.requirements,
        "amount_min": product.amount_min,
        "amount_max": product.amount_max,
        "rate_min": product.rate_min,
        "rate_max": product.rate_max,
        "term_min": product.term_min,
        "term_max": product.term_max,
        "fields": product.fields,
    }
    clean = parse_product({**current, **{k: v for k, v in data.items() if k in current}})
    changed = [k for k, v in clean.items() if getattr(product, k) != v]
    for key, value in clean.items():
        setattr(product, key, value)
    audit.record(actor, "update", product, details={"changed": changed})
    return product


PRODUCT_ACTIONS = {
    "publish": ({ProductStatus.DRAFT.value, ProductStatus.CLOSED.value}, ProductStatus.PUBLISHED),
    "close": ({ProductStatus.PUBLISHED.value}, ProductStatus.CLOSED),
}


def set_product_status(product: FinanceProduct, actor: Any, action: str) -> FinanceProduct:
    _require_product_member(actor, product)
    if action not in PRODUCT_ACTIONS:
        raise ValidationFailed({"action": "操作须为 publish（发布）或 close（下架）"})
    allowed, to = PRODUCT_ACTIONS[action]
    if product.status not in allowed:
        raise Conflict(f"产品当前状态为“{product.status_label}”，不能{'发布' if action == 'publish' else '下架'}")
    before = product.status
    product.status = to.value
    if to is ProductStatus.PUBLISHED:
        product.published_at = utcnow()
    audit.record(actor, action, product, from_state=before, to_state=to.value)
    return product


def delete_product(product: FinanceProduct, actor: Any) -> None:
    _require_product_member(actor, product)
    if product.status != ProductStatus.DRAFT.value:
        raise Conflict("只能删除草稿；已发布的产品请下架")
    if db.session.scalar(select(FinanceApplication.id).where(FinanceApplication.product_id == product.id).limit(1)):
        raise Conflict("该产品已有融资申请，不能删除")
    audit.record(actor, "delete", product, from_state=product.status)
    db.session.delete(product)


def catalogue(args: Mapping[str, Any], page: int = 1, per_page: int = 20):
    """Published products, filtered by kind, field, institution, amount and keyword."""
    stmt = select(FinanceProduct).where(FinanceProduct.status == ProductStatus.PUBLISHED.value)
    kind = ProductKind.parse(args.get("kind"))
    if kind is not None:
        stmt = stmt.where(FinanceProduct.kind == kind.value)
    org_id = parse_id(args.get("org"))
    if org_id is not None:
        stmt = stmt.where(FinanceProduct.org_id == org_id)
    q = str(args.get("q") or "").strip()[:100]
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(FinanceProduct.title.ilike(like), FinanceProduct.description.ilike(like)))
    amount_text = str(args.get("amount") or "").strip()
    if amount_text:
        try:
            amount = parse_amount(amount_text)
        except ValueError:
            amount = None
        if amount is not None:
            stmt = stmt.where(FinanceProduct.amount_min <= amount, FinanceProduct.amount_max >= amount)
    items = list(db.session.scalars(stmt.order_by(FinanceProduct.published_at.desc(), FinanceProduct.id.desc())))
    field = str(args.get("field") or "").strip()
    if field:
        # A product with no fields serves every field; a top-level filter matches its children.
        items = [
            p for p in items if not p.fields or any(c == field or c[:2] == field or field[:2] == c for c in p.fields)
        ]
    total = len(items)
    return items[(page - 1) * per_page : page * per_page], total


def products_of_org(org_id: int) -> list[FinanceProduct]:
    stmt = select(FinanceProduct).where(FinanceProduct.org_id == org_id).order_by(FinanceProduct.id.desc())
    return list(db.session.scalars(stmt))


def institutions() -> list[Organization]:
    stmt = (
        select(Organization)
        .where(Organization.org_type == OrgType.FINANCE.value, Organization.verified.is_(True))
        .order_by(Organization.name)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Applications: materials


def attachable(org: Organization | None) -> dict[str, list[tuple[int, str]]]:
    """What the organisation may attach: its own contracts, patents and listings."""
    if org is None:
        return dict.fromkeys(REF_FIELDS, [])
    contracts = db.session.scalars(
        select(TechContract)
        .where(or_(TechContract.seller_org_id == org.id, TechContract.buyer_org_id == org.id))
        .order_by(TechContract.id.desc())
    )
    patents = db.session.scalars(
        select(AchievementPatent).where(AchievementPatent.org_id == org.id).order_by(AchievementPatent.id)
    )
    achievements = db.session.scalars(
        select(Achievement).where(Achievement.org_id == org.id).order_by(Achievement.id.desc()).limit(200)
    )
    demands = db.session.scalars(select(Demand).where(Demand.org_id == org.id).order_by(Demand.id.desc()).limit(200))
    return {
        "contract_ids": [(c.id, _contract_label(c)) for c in contracts],
        "patent_ids": [(p.id, f"专利 {p.number}（{p.achievement.title}）") for p in patents],
        "achievement_ids": [(a.id, f"科技成果：{a.title}") for a in achievements],
        "demand_ids": [(d.id, f"技术需求：{d.title}") for d in demands],
    }


def _contract_label(contract: TechContract) -> str:
    number = contract.registration_number or f"#{contract.id}"
    return f"技术合同 {number}：{contract.project_name}（{format_yuan(contract.amount)}）"


def _owned(kind: AttachmentKind, ref_id: int, org: Organization) -> tuple[bool, str]:
    """Does the row exist and belong to `org`? And its label."""
    if kind is AttachmentKind.CONTRACT:
        contract = db.session.get(TechContract, ref_id)
        ok = contract is not None and org.id in (contract.seller_org_id, contract.buyer_org_id)
        return ok, _contract_label(contract) if contract else ""
    if kind is AttachmentKind.PATENT:
        patent = db.session.get(AchievementPatent, ref_id)
        return patent is not None and patent.org_id == org.id, f"专利 {patent.number}" if patent else ""
    model = Achievement if kind is AttachmentKind.ACHIEVEMENT else Demand
    listing = db.session.get(model, ref_id)
    return listing is not None and listing.org_id == org.id, f"{model.KIND_LABEL}：{listing.title}" if listing else ""


def _resolve_refs(org: Organization, data: Mapping[str, Any], existing: set[tuple[str, int]]) -> list[tuple]:
    """(kind, ref_id, label) for every reference in `data`; another organisation's (or a missing)
    row is refused with the field's reason, before anything is saved."""
    errors: dict[str, str] = {}
    found: list[tuple] = []
    for name, kind in REF_FIELDS.items():
        for raw in _id_list(data.get(name)):
            ref_id = None if isinstance(raw, bool) else parse_id(raw)
            if ref_id is None:
                digits = str(raw).strip()
                whole = not isinstance(raw, bool) and digits.isascii() and digits.isdigit()
                # a whole number past the database's range names nothing: 不存在, not 须为整数
                errors[name] = f"{kind.label} #{raw} 不存在" if whole else f"{kind.label}编号“{raw}”须为整数"
                break
            ok, label = _owned(kind, ref_id, org)
            if not ok:
                errors[name] = f"{kind.label} #{ref_id} 不属于本机构（{org.name}），只能附上本机构的{kind.label}"
                break
            if (kind.value, ref_id) not in existing and all(f[:2] != (kind.value, ref_id) for f in found):
                found.append((kind.value, ref_id, label[:300]))
    if errors:
        raise ValidationFailed(errors)
    return found


def _check_file(filename: str, content: bytes) -> tuple[str, str, str]:
    limit_mb = current_app.config.get("MAX_UPLOAD_MB", 10)
    if not content:
        raise ValidationFailed({"file": "文件是空的"})
    if len(content) > limit_mb * 1024 * 1024:
        raise ValidationFailed({"file": f"文件超过{limit_mb}MB的大小限制"})
    kind = sniff(content[:16])
    if kind is None:
        raise ValidationFailed({"file": "只能上传 PDF 文件或图片（PNG、JPEG、GIF、WebP）"})
    mime, ext = kind
    name = safe_filename(filename or "材料")
    if not name.lower().endswith(ext) and not (ext == ".jpg" and name.lower().endswith(".jpeg")):
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}{ext}"
    return name, mime, ext


def _store_file(application: FinanceApplication, actor: Any, name: str, mime: str, ext: str, content: bytes):
    stored = "fin-" + secrets.token_hex(16) + ext
    write_upload(stored, content)
    row = FinanceAttachment(
        application_id=application.id,
        kind=AttachmentKind.FILE.value,
        label=name,
        stored_name=stored,
        content_type=mime,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        added_by_id=actor.id,
    )
    db.session.add(row)
    return row


def _add_materials(application: FinanceApplication, actor: Any, data: Mapping[str, Any], files: list) -> int:
    """Validate everything first (refs and files), then store: a refusal saves nothing."""
    existing = {(a.kind, a.ref_id) for a in application.attachments if a.ref_id is not None}
    refs = _resolve_refs(application.organization, data, existing)
    checked = [(content, *_check_file(filename, content)) for filename, content in files]
    count_files = sum(1 for a in application.attachments if a.kind == AttachmentKind.FILE.value)
    if count_files + len(checked) > MAX_FILES:
        raise ValidationFailed({"file": f"每个申请最多上传 {MAX_FILES} 个文件"})
    for kind, ref_id, label in refs:
        db.session.add(
            FinanceAttachment(
                application_id=application.id, kind=kind, ref_id=ref_id, label=label, added_by_id=actor.id
            )
        )
    for content, name, mime, ext in checked:
        _store_file(application, actor, name, mime, ext, content)
    db.session.flush()
    db.session.refresh(application, ["attachments"])
    return len(refs) + len(checked)


# ---------------------------------------------------------------------------------------------
# Applications


def create_application(
    actor: Any, product: FinanceProduct | None, data: Mapping[str, Any], files: list | None = None
) -> FinanceApplication:
    org = applicant_org(actor)
    if org is None:
        raise PermissionDenied("只有已认证机构（金融机构除外）的成员可以申请融资")
    if product is None or product.status != ProductStatus.PUBLISHED.value:
        raise ValidationFailed({"product_id": "请选择已发布的金融产品"})
    errors: dict[str, str] = {}
    amount = _amount(data.get("amount_requested"), "amount_requested", "申请金额", errors)
    if amount is not None and not product.amount_min <= amount <= product.amount_max:
        errors["amount_requested"] = (
            f"申请金额须在该产品额度范围内：{format_yuan(product.amount_min)} 至 {format_yuan(product.amount_max)}"
        )
    term = _int(data.get("term_months"), "term_months", "期限（月）", errors, TERM_BOUNDS)
    if term is not None and not product.term_min <= term <= product.term_max:
        errors["term_months"] = f"期限须在 {product.term_min}–{product.term_max} 个月之间"
    purpose = _text(data, "purpose", "资金用途", errors, required=True, limit=3000)
    try:
        _resolve_refs(org, data, set())  # checked now with the other fields; stored below
    except ValidationFailed as exc:
        errors.update(exc.fields)
    checked = []
    for filename, content in files or []:
        try:
            checked.append((filename, content, *_check_file(filename, content)))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    application = FinanceApplication(
        product_id=product.id,
        institution_id=product.org_id,
        org_id=org.id,
        applicant_id=actor.id,
        amount_requested=amount,
        term_months=term,
        purpose=purpose,
        status=S.SUBMITTED.value,
    )
    db.session.add(application)
    db.session.flush()
    _add_materials(application, actor, data, [(f, c) for f, c, *_ in checked])
    audit.record(actor, "submit", application, to_state=S.SUBMITTED.value, details={"product_id": product.id})
    alerts.notify(
        org_members(product.org_id),
        f"新的融资申请：{org.name} 申请“{product.title}”",
        f"申请金额 {format_yuan(amount)}，期限 {term} 个月。",
        f"/finance/applications/{application.id}",
    )
    return application


OPEN_STATES = (S.SUBMITTED.value, S.UNDER_REVIEW.value, S.DOCUMENTS_REQUESTED.value)
INSTITUTION, APPLICANT = "institution", "applicant"

# action -> (who acts, from states, to state, label)
TRANSITIONS: dict[str, tuple[str, tuple[str, ...], ApplicationStatus, str]] = {
    "review": (INSTITUTION, (S.SUBMITTED.value,), S.UNDER_REVIEW, "受理审核"),
    "request_documents": (INSTITUTION, (S.UNDER_REVIEW.value,), S.DOCUMENTS_REQUESTED, "要求补充材料"),
    "respond": (APPLICANT, (S.DOCUMENTS_REQUESTED.value,), S.UNDER_REVIEW, "补充材料"),
    "approve": (INSTITUTION, (S.UNDER_REVIEW.value,), S.APPROVED, "批准"),
    "decline": (INSTITUTION, OPEN_STATES, S.DECLINED, "不予批准"),
    "withdraw": (APPLICANT, OPEN_STATES, S.WITHDRAWN, "撤回申请"),
    "disburse": (INSTITUTION, (S.APPROVED.value,), S.DISBURSED, "放款"),
    "settle": (INSTITUTION, (S.DISBURSED.value,), S.SETTLED, "结清"),
}
USER_ACTIONS = tuple(a for a in TRANSITIONS if a != "settle")  # settle follows the last repayment
ACTION_LABELS = {
    **{action: spec[3] for action, spec in TRANSITIONS.items()},
    "submit": "提交申请",
    "attach": "添加材料",
    "repayment": "记录还款",
}


def _prepare(application: FinanceApplication, action: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The action's own input, validated (ValidationFailed lists every field)."""
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    product = application.product
    if action == "request_documents":
        changes["documents_note"] = _text(data, "note", "需补充的材料", errors, required=True, limit=2000)
    elif action == "respond":
        changes["response_note"] = _text(data, "note", "答复说明", errors, required=False, limit=2000) or None
    elif action == "decline":
        changes["decline_reason"] = _text(data, "reason", "不予批准的原因", errors, required=True, limit=2000)
    elif action == "approve":
        amount = _amount(data.get("approved_amount"), "approved_amount", "批准金额", errors)
        if amount is not None and amount > application.amount_requested:
            errors["approved_amount"] = f"批准金额不能超过申请金额 {format_yuan(application.amount_requested)}"
        rate = parse_rate(data.get("approved_rate"), "approved_rate", "批准年利率", errors, required=product.is_loan)
        if rate is not None and product.rate_min is not None and not product.rate_min <= rate <= product.rate_max:
            errors["approved_rate"] = (
                f"年利率须在产品利率范围内：{format_rate(product.rate_min)} 至 {format_rate(product.rate_max)}"
            )
        term = _int(data.get("approved_term"), "approved_term", "批准期限（月）", errors, TERM_BOUNDS)
        if term is not None and not product.term_min <= term <= product.term_max:
            errors["approved_term"] = f"期限须在 {product.term_min}–{product.term_max} 个月之间"
        changes.update(approved_amount=amount, approved_rate=rate, approved_term=term, decided_at=utcnow())
    elif action == "disburse":
        amount = _amount(data.get("disbursed_amount"), "disbursed_amount", "放款金额", errors)
        if amount is not None and amount > application.approved_amount:
            errors["disbursed_amount"] = f"放款金额不能超过批准金额 {format_yuan(application.approved_amount)}"
        on = _date(data.get("disbursed_on"), "disbursed_on", "放款日期", errors)
        if on is not None and on > local_today():
            errors["disbursed_on"] = "放款日期不能晚于今天"
        elif on is not None and application.decided_at and on < to_local(application.decided_at).date():
            errors["disbursed_on"] = "放款日期不能早于批准日期"
        changes.update(disbursed_amount=amount, disbursed_on=on)
    if errors:
        raise ValidationFailed(errors)
    if action == "decline":
        changes["decided_at"] = utcnow()
    return changes


def transition(application: FinanceApplication, action: str, actor: Any, data: Mapping[str, Any] | None = None):
    """The one place an application changes state: who may act (403), from which state (409), the
    action's input (422); then the change, its audit record and a notification to the other side."""
    data = data or {}
    if action not in TRANSITIONS:
        raise ValidationFailed({"action": "操作须为：" + "、".join(USER_ACTIONS)})
    side, sources, target, label = TRANSITIONS[action]
    if side == INSTITUTION and not is_institution_member(actor, application.institution_id):
        raise PermissionDenied("只有受理该申请的金融机构成员可以审批")
    if side == APPLICANT and not belongs_to(actor, application.org_id):
        raise PermissionDenied("只有申请机构的成员可以执行此操作")
    if application.status not in sources:
        raise Conflict(f"申请当前状态为“{application.status_label}”，不能{label}")
    if action == "disburse" and not application.product.is_loan:
        raise Conflict("只有贷款类产品需要登记放款")
    changes = _prepare(application, action, data)
    before = application.status
    for key, value in changes.items():
        setattr(application, key, value)
    application.status = target.value
    reason = changes.get("documents_note") or changes.get("decline_reason") or changes.get("response_note")
    details = {k: str(v) for k, v in changes.items() if v is not None and k not in ("decided_at",)}
    audit.record(actor, action, application, from_state=before, to_state=target.value, reason=reason, details=details)
    _notify_other_side(
        application, side, f"融资申请“{application.product.title}”：{label}", reason or _summary(application)
    )
    return application


def _summary(application: FinanceApplication) -> str:
    if application.status == S.APPROVED.value:
        rate = f"，年利率 {format_rate(application.approved_rate)}" if application.approved_rate is not None else ""
        return f"批准金额 {format_yuan(application.approved_amount)}{rate}，期限 {application.approved_term} 个月。"
    if application.status == S.DISBURSED.value:
        return f"已于 {application.disbursed_on} 放款 {format_yuan(application.disbursed_amount)}。"
    return f"当前状态：{application.status_label}"


def _notify_other_side(application: FinanceApplication, side: str, title: str, body: str) -> None:
    org_id = application.org_id if side == INSTITUTION else application.institution_id
    alerts.notify(org_members(org_id), title, body, f"/finance/applications/{application.id}")


def attach(
    application: FinanceApplication, actor: Any, data: Mapping[str, Any], files: list | None = None
) -> FinanceApplication:
    """The applicant adds materials while the application is open."""
    if not belongs_to(actor, application.org_id):
        raise PermissionDenied("只有申请机构的成员可以添加材料")
    if application.status not in OPEN_STATES:
        raise Conflict(f"申请当前状态为“{application.status_label}”，不能再添加材料")
    added = _add_materials(application, actor, data, list(files or []))
    if not added:
        raise ValidationFailed({"file": "请选择要附上的材料或上传文件"})
    audit.record(actor, "attach", application, details={"added": added})
    return application


def get_file(application: FinanceApplication, attachment_id: int) -> FinanceAttachment:
    row = db.session.get(FinanceAttachment, attachment_id)
    if row is None or row.application_id != application.id or not row.stored_name:
        raise NotFound("文件不存在")
    return row


def record_repayment(application: FinanceApplication, actor: Any, data: Mapping[str, Any]) -> FinanceRepayment:
    """还款: partial amounts, never more than the outstanding balance; the last one settles."""
    if not is_institution_member(actor, application.institution_id):
        raise PermissionDenied("只有放款的金融机构成员可以记录还款")
    if application.status != S.DISBURSED.value:
        raise Conflict(f"申请当前状态为“{application.status_label}”，只有已放款的贷款可以记录还款")
    errors: dict[str, str] = {}
    amount = _amount(data.get("amount"), "amount", "还款金额", errors)
    outstanding = application.outstanding
    if amount is not None and amount > outstanding:
        errors["amount"] = f"还款金额不能超过未偿余额 {format_yuan(outstanding)}"
    paid_on = _date(data.get("paid_on"), "paid_on", "还款日期", errors)
    if paid_on is not None and paid_on > local_today():
        errors["paid_on"] = "还款日期不能晚于今天"
    elif paid_on is not None and application.disbursed_on and paid_on < application.disbursed_on:
        errors["paid_on"] = "还款日期不能早于放款日期"
    note = _text(data, "note", "备注", errors, required=False, limit=300)
    if errors:
        raise ValidationFailed(errors)
    repayment = FinanceRepayment(
        application_id=application.id, amount=amount, paid_on=paid_on, note=note or None, recorded_by_id=actor.id
    )
    db.session.add(repayment)
    db.session.flush()
    db.session.refresh(application, ["repayments"])
    audit.record(
        actor,
        "repayment",
        application,
        details={"amount": str(amount), "paid_on": paid_on.isoformat(), "outstanding": str(application.outstanding)},
    )
    if application.outstanding == ZERO:
        application.settled_on = paid_on
        transition(application, "settle", actor)
    else:
        _notify_other_side(
            application,
            INSTITUTION,
            f"贷款“{application.product.title}”已记录还款 {format_yuan(amount)}",
            f"未偿余额 {format_yuan(application.outstanding)}。",
        )
    return repayment


def applications_of_org(org_id: int, status: str | None = None) -> list[FinanceApplication]:
    stmt = select(FinanceApplication).where(FinanceApplication.org_id == org_id)
    if status:
        stmt = stmt.where(FinanceApplication.status == status)
    return list(db.session.scalars(stmt.order_by(FinanceApplication.id.desc())))


def applications_for_institution(org_id: int, status: str | None = None) -> list[FinanceApplication]:
    stmt = select(FinanceApplication).where(FinanceApplication.institution_id == org_id)
    if status:
        stmt = stmt.where(FinanceApplication.status == status)
    return list(db.session.scalars(stmt.order_by(FinanceApplication.id.desc())))


def applications_for(user: Any, status: str | None = None) -> list[FinanceApplication]:
    institution = institution_of(user)
    if institution is not None:
        return applications_for_institution(institution.id, status)
    org = user.active_org if is_authenticated(user) else None
    return applications_of_org(org.id, status) if org is not None else []


def history(application: FinanceApplication) -> list[dict[str, Any]]:
    rows = []
    for entry in audit.history(application):
        actor = db.session.get(User, entry.actor_id) if entry.actor_id else None
        rows.append(
            {
                "at": entry.created_at,
                "action": entry.action,
                "label": ACTION_LABELS.get(entry.action, entry.action),
                "actor": actor.name if actor else "系统",
                "from_state": entry.from_state,
                "to_state": entry.to_state,
                "to_label": S.label_of(entry.to_state) if entry.to_state else "",
                "reason": entry.reason,
                "details": entry.details or {},
            }
        )
    return rows


def allowed_actions(application: FinanceApplication, user: Any) -> list[str]:
    """The actions `user` could take now (for the buttons on the page)."""
    out = []
    for action in USER_ACTIONS:
        side, sources, _target, _label = TRANSITIONS[action]
        if application.status not in sources:
            continue
        if action == "disburse" and not application.product.is_loan:
            continue
        if (
            side == INSTITUTION
            and is_institution_member(user, application.institution_id)
            or side == APPLICANT
            and belongs_to(user, application.org_id)
        ):
            out.append(action)
    return out


# ---------------------------------------------------------------------------------------------
# Field follows: a saved search of achievements with only a field filter (the alerts machinery
# checks each published achievement once per saved search, never withdrawn ones)


def _is_follow(saved: SavedSearch) -> bool:
    return saved.kind == "achievement" and not saved.query_text and set((saved.filters or {}).keys()) == {"field"}


def follows_of(user: Any) -> list[SavedSearch]:
    return [s for s in alerts.searches_of(user) if _is_follow(s)]


def follow_field(user: Any, raw_field: Any) -> SavedSearch:
    if not is_authenticated(user):
        raise PermissionDenied("请先登录")
    taxonomy = current_app.extensions["taxonomy"]
    field = taxonomy.parse_field(raw_field)
    if field is None:
        raise ValidationFailed({"field": "请选择要关注的技术领域"})
    for saved in follows_of(user):
        code = saved.filters["field"]
        if code == field.code:
            raise Conflict(f"您已关注“{taxonomy.field_path(field.code)}”")
        # One notification per achievement: a field and its own subfield never both.
        if code == field.parent or (
            field.is_top and taxonomy.field(code) and taxonomy.field(code).parent == field.code
        ):
            raise ValidationFailed(
                {"field": f"已关注的“{taxonomy.field_path(code)}”与此领域重叠，请先取消其中一个再关注"}
            )
    return alerts.save_search(
        user, MultiDict({"field": field.code}), name=f"关注领域：{taxonomy.field_path(field.code)}"
    )


def unfollow(user: Any, saved_id: int) -> None:
    saved = alerts.load_own(saved_id, user)
    if not _is_follow(saved):
        raise NotFound("不是领域关注")
    alerts.delete_search(saved)


# ---------------------------------------------------------------------------------------------
# Roadshows


def parse_roadshow(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = _text(data, "title", "路演名称", errors, required=True, limit=200)
    description = _text(data, "description", "活动介绍", errors, required=True, limit=5000)
    place = _text(data, "place", "地点", errors, required=False, limit=300)
    online_url = _text(data, "online_url", "线上链接", errors, required=False, limit=500)
    if online_url and not re.match(r"^https?://", online_url):
        errors["online_url"] = "线上链接须以 http:// 或 https:// 开头"
    if not place and not online_url and "place" not in errors:
        errors["place"] = "请填写活动地点或线上链接（至少一项）"
    capacity = _int(data.get("capacity"), "capacity", "名额", errors, (1, 100000))
    starts_at = parse_local_datetime(data.get("starts_at"), "starts_at", "开始时间", errors)
    deadline = parse_local_datetime(data.get("registration_deadline"), "registration_deadline", "报名截止时间", errors)
    now = utcnow()
    if starts_at is not None and starts_at <= now:
        errors["starts_at"] = "开始时间须晚于现在"
    if starts_at is not None and deadline is not None and deadline > starts_at:
        errors["registration_deadline"] = "报名截止时间不能晚于开始时间"
    elif deadline is not None and deadline <= now:
        errors["registration_deadline"] = "报名截止时间须晚于现在"
    if errors:
        raise ValidationFailed(errors)
    return {
        "title": title,
        "description": description,
        "place": place or None,
        "online_url": online_url or None,
        "capacity": capacity,
        "starts_at": starts_at,
        "registration_deadline": deadline,
    }


def create_roadshow(actor: Any, data: Mapping[str, Any]) -> Roadshow:
    if not can_organise(actor):
        raise PermissionDenied("只有科技管理部门、平台管理员或金融机构可以发起路演")
    clean = parse_roadshow(data)
    institution = institution_of(actor)
    roadshow = Roadshow(organizer_id=actor.id, organizer_org_id=institution.id if institution else None, **clean)
    db.session.add(roadshow)
    db.session.flush()
    audit.record(actor, "create", roadshow)
    return roadshow


def _require_open(roadshow: Roadshow) -> None:
    if roadshow.is_past():
        raise Conflict("路演已开始或结束，不能再修改")


def registration_of(roadshow: Roadshow, user: Any) -> RoadshowRegistration | None:
    if not is_authenticated(user):
        return None
    return next((r for r in roadshow.registrations if r.user_id == user.id), None)


def register(roadshow: Roadshow, user: Any) -> RoadshowRegistration:
    if not is_authenticated(user):
        raise PermissionDenied("请先登录")
    _require_open(roadshow)
    if utcnow() > roadshow.registration_deadline:
        raise Conflict("报名已截止")
    if registration_of(roadshow, user) is not None:
        raise Conflict("您已报名此路演")
    # Count under a row lock on PostgreSQL, so two last-seat registrations do not both pass.
    db.session.scalars(select(Roadshow.id).where(Roadshow.id == roadshow.id).with_for_update()).first()
    taken = db.session.scalar(
        select(func.count(RoadshowRegistration.id)).where(RoadshowRegistration.roadshow_id == roadshow.id)
    )
    if taken >= roadshow.capacity:
        raise Conflict("名额已满")
    row = RoadshowRegistration(roadshow_id=roadshow.id, user_id=user.id)
    db.session.add(row)
    db.session.flush()
    db.session.refresh(roadshow, ["registrations"])
    audit.record(user, "register", roadshow, reason="报名路演")
    return row


def cancel_registration(roadshow: Roadshow, user: Any) -> None:
    if not is_authenticated(user):
        raise PermissionDenied("请先登录")
    _require_open(roadshow)
    row = registration_of(roadshow, user)
    if row is None:
        raise Conflict("您尚未报名此路演")
    db.session.delete(row)
    db.session.flush()
    db.session.refresh(roadshow, ["registrations"])
    audit.record(user, "cancel", roadshow, reason="取消报名")


def presentable(user: Any) -> list[Achievement]:
    """The user's organisation's published achievements."""
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return []
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org.id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.id.desc())
    )
    return list(db.session.scalars(stmt.limit(200)))


def apply_to_present(roadshow: Roadshow, user: Any, achievement: Achievement | None) -> RoadshowProject:
    if not is_authenticated(user) or user.role not in (Role.UNIVERSITY.value, Role.ENTERPRISE.value):
        raise PermissionDenied("只有科技成果所属机构（高校/院所、企业）的成员可以申请路演")
    _require_open(roadshow)
    if achievement is None or not is_listing_owner(user, achievement):
        raise ValidationFailed({"achievement_id": "请选择本机构已发布的科技成果"})
    if achievement.status != ListingStatus.PUBLISHED.value:
        raise ValidationFailed({"achievement_id": "只有已发布的科技成果可以申请路演"})
    if any(p.achievement_id == achievement.id for p in roadshow.projects):
        raise Conflict("该成果已申请此路演")
    project = RoadshowProject(roadshow_id=roadshow.id, achievement_id=achievement.id, applicant_id=user.id)
    db.session.add(project)
    db.session.flush()
    db.session.refresh(roadshow, ["projects"])
    audit.record(user, "apply", roadshow, reason="申请路演", details={"achievement_id": achievement.id})
    if roadshow.organizer is not None:
        alerts.notify(
            [roadshow.organizer],
            f"路演“{roadshow.title}”收到项目申请",
            f"{achievement.organization.name}：{achievement.title}",
            f"/finance/roadshows/{roadshow.id}",
        )
    return project


def accept_project(roadshow: Roadshow, actor: Any, project_id: Any) -> RoadshowProject:
    if not is_organiser(actor, roadshow):
        raise PermissionDenied("只有路演的组织者可以确认路演项目")
    _require_open(roadshow)
    project = next((p for p in roadshow.projects if str(p.id) == str(project_id)), None)
    if project is None:
        raise NotFound("路演项目不存在")
    if project.status == ProjectStatus.ACCEPTED.value:
        raise Conflict("该项目已确认路演")
    project.status = ProjectStatus.ACCEPTED.value
    audit.record(
        actor, "accept", roadshow, details={"project_id": project.id, "achievement_id": project.achievement_id}
    )
    if project.applicant is not None:
        alerts.notify(
            [project.applicant],
            f"您的项目已确认参加路演“{roadshow.title}”",
            project.achievement.title,
            f"/finance/roadshows/{roadshow.id}",
        )
    return project


def roadshows(upcoming: bool = True) -> list[Roadshow]:
    now = utcnow()
    stmt = select(Roadshow)
    stmt = (
        stmt.where(Roadshow.starts_at > now).order_by(Roadshow.starts_at)
        if upcoming
        else stmt.where(Roadshow.starts_at <= now).order_by(Roadshow.starts_at.desc())
    )
    return list(db.session.scalars(stmt.limit(100)))
