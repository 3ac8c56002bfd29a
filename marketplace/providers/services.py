"""Service providers and requests. Rules and transactions; views and the API call these."""

from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import Organization
from ..extensions import db
from .models import ServiceOffering


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
