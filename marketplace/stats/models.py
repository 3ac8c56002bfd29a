"""The statistics keep no tables of their own: figures are read live from the contract register.

What they add is one covering index on tech_contracts, so that every dashboard query (a period
of registered contracts, filtered by region / field / type, grouped by any breakdown) is read
from the index alone on PostgreSQL and SQLite without touching the table rows (see README
«性能» for the figures at 1,000,000 contracts)."""

from __future__ import annotations

from sqlalchemy import Index

from ..deals.models import TechContract

_c = TechContract.__table__.c

STATS_INDEX = Index(
    "ix_tech_contracts_stats",
    _c.status,
    _c.registered_at,
    _c.seller_region,
    _c.buyer_region,
    _c.contract_type,
    _c.field_code,
    _c.seller_nature,
    _c.buyer_nature,
    _c.ip_type,
    _c.objective,
    _c.deal_id,
    _c.cancelled_at,
    _c.amount,
    _c.technology_amount,
    _c.id,  # lets a list page be found from the index alone, then fetched by id
    _c.seller_name,  # the top-10 sellers and buyers
    _c.buyer_name,
)
