"""Objects to JSON-ready dicts. What a caller may see is decided by `policy`, never here.

Money is a string of Decimal yuan ("500000.00"), never a float; times are ISO 8601 UTC with 'Z';
enumerations are {"code", "label"} with the Chinese label."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from werkzeug.routing import BuildError

from ..accounts.models import Organization, User
from ..core import policy
from ..core.money import Price
from ..core.taxonomy import DemandType, IPType, LabeledEnum, ListingStatus, Maturity, OrgType, TransferMode
from ..listings.models import Achievement, Demand
from ..listings.services import allowed_actions

Listing = Achievement | Demand
PLURAL = {"achievement": "achievements", "demand": "demands"}


def iso_utc(value: datetime | None) -> str | None:
    """Stored times are naive UTC: '2025-03-01T08:30:00Z'."""
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def money(amount: Decimal | None) -> str | None:
    return str(amount) if amount is not None else None


def enum(cls: type[LabeledEnum], code: str | None) -> dict[str, str] | None:
    if not code:
        return None
    return {"code": code, "label": cls.label_of(code)}


def price(value: Price) -> dict[str, Any]:
    return {"kind": value.kind.value, "low": money(value.low), "high": money(value.high), "display": value.display()}


def user(u: User) -> dict[str, Any]:
    org = u.organization
    return {
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "role": u.role,
        "role_label": u.role_label,
        "organization": _own_organization(org) if org is not None else None,
        "membership_status": u.membership_status,
    }


def _own_organization(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "type": enum(OrgType, org.org_type), "verified": bool(org.verified)}


def organization(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "verified": bool(org.verified)}


def listing(item: Listing, viewer: Any) -> dict[str, Any]:
    """The listing as `viewer` (a user or the anonymous user) may see it."""
    data: dict[str, Any] = {"id": item.id, "kind": item.KIND, "title": item.title}
    if isinstance(item, Achievement):
        data |= _achievement_body(item, viewer)
    else:
        data |= _demand_body(item)
    data |= {
        "field": _field(item.field_code),
        "keywords": list(item.keywords or []),
        "district": _district(item.district),
        "contact": _contact(item) if policy.can_view_contact(viewer) else None,
        "organization": organization(item.organization),
        "status": enum(ListingStatus, item.status),
        "review_reason": item.review_reason if _sees_review(viewer, item) else None,
        "view_count": item.view_count or 0,
        "created_at": iso_utc(item.created_at),
        "updated_at": iso_utc(item.updated_at),
        "published_at": iso_utc(item.published_at),
        "allowed_actions": allowed_actions(item, viewer),
        "can_edit": policy.can_edit_listing(viewer, item),
        "links": _links(item),
    }
    return data


def _achievement_body(item: Achievement, viewer: Any) -> dict[str, Any]:
    return {
        "summary": item.summary,
        "detail": item.detail if policy.can_view_detail(viewer, item) else None,
        "problem": item.problem,
        "advantages": item.advantages,
        "application_scope": item.application_scope,
        "team": item.team,
        "maturity": enum(Maturity, item.maturity),
        "trl": item.trl,
        "ip_type": enum(IPType, item.ip_type),
        "patent_numbers": item.patent_numbers,
        "transfer_modes": [enum(TransferMode, code) for code in item.transfer_modes or []],
        "price": price(item.price),
    }


def _demand_body(item: Demand) -> dict[str, Any]:
    return {
        "description": item.description,
        "demand_type": enum(DemandType, item.demand_type),
        "budget": price(item.budget),
        "valid_until": iso_date(item.valid_until),
    }


def _field(code: str | None) -> dict[str, str] | None:
    taxonomy = current_app.extensions["taxonomy"]
    field = taxonomy.field(code)
    if field is None:
        return None
    return {"code": field.code, "name": field.name, "path": taxonomy.field_path(field.code)}


def _district(code: str | None) -> dict[str, str] | None:
    if not code:
        return None
    return {"code": code, "name": current_app.extensions["taxonomy"].district_name(code)}


def _contact(item: Listing) -> dict[str, str | None]:
    return {"name": item.contact_name, "phone": item.contact_phone, "email": item.contact_email}


def _sees_review(viewer: Any, item: Listing) -> bool:
    return policy.is_admin(viewer) or policy.is_listing_owner(viewer, item)


def _links(item: Listing) -> dict[str, str | None]:
    plural = PLURAL[item.KIND]
    try:
        html = url_for(f"listings.{item.KIND}_detail", listing_id=item.id)
    except BuildError:  # the web pages are a separate blueprint; the API does not depend on their names
        html = None
    return {
        "self": url_for(f"api.{item.KIND}_detail", listing_id=item.id),
        "html": html,
        "collection": url_for(f"api.{plural}"),
    }
