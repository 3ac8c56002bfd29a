"""What the officials' dashboard shows, assembled from `query` (every number here is a
`query.figures` or `query.breakdown` call, so each links to the list behind it), plus the
marketplace funnel read from the listings, inquiries, matching and deals tables.

The register's figures (about 35 aggregate queries over every registered contract: 0.3 s at
100,000 contracts on PostgreSQL) are kept for STATS_CACHE_SECONDS (default 60; 0 turns it off) —
in Redis when REDIS_URL is set, so every worker and node shares one copy, else per process — under the selection *and* a version of the register read in one cheap query: a contract
registered, amended, cancelled or linked to a deal, an amendment, or a broker added to or removed
from a deal changes the version, so the next dashboard shows it at once; only a renamed broker
or party waits for the time-out. The funnel (listings, inquiries, deals) is always counted live."""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import threading
import time as _time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from ..core.timeutil import local_today
from ..deals.models import ContractAmendment, Deal, DealBroker, TechContract
from ..extensions import db
from ..inquiries.models import Inquiry
from ..listings.models import Achievement
from ..matching.models import Introduction
from . import query
from .query import DIRECTIONS, Filters, Totals

# The breakdowns shown as charts and tables (and as report sheets), in order.
BREAKDOWNS = (
    "district",
    "field",
    "contract_group",
    "contract_type",
    "ip_type",
    "seller_nature",
    "buyer_nature",
    "objective",
    "broker",
)
TOPS = ("seller", "buyer", "broker")
TOP_N = 10


@dataclass
class Kpi:
    direction: str
    label: str
    totals: Totals
    filters: Filters
    yoy: Any
    pop: Any
    previous_year: Totals
    previous_period: Totals


def kpis(filters: Filters) -> list[Kpi]:
    """The four headline figures (输出, 吸纳, 涉外输出, 涉外吸纳) with YoY and PoP growth."""
    last_year = query.same_period_last_year(filters.start, filters.end)
    before = query.previous_period(filters.start, filters.end)
    cards = []
    for direction, label in DIRECTIONS.items():
        f = filters.with_(direction=direction, by=None, key=None, q="")
        totals = query.figures(f)
        ly = query.figures(f.with_(start=last_year[0], end=last_year[1]))
        pp = query.figures(f.with_(start=before[0], end=before[1]))
        cards.append(
            Kpi(
                direction,
                label,
                totals,
                f,
                query.growth(totals.contract_amount, ly.contract_amount),
                query.growth(totals.contract_amount, pp.contract_amount),
                ly,
                pp,
            )
        )
    return cards


def trend(filters: Filters) -> dict[str, Any]:
    """Monthly 成交额 of the period and of the same months a year earlier."""
    rows = query.breakdown(filters, "month")
    start, end = query.same_period_last_year(filters.start, filters.end)
    before = {row.key: row for row in query.breakdown(filters.with_(start=start, end=end), "month")}
    previous = []
    for row in rows:
        year, month = row.key.split("-")
        match = before.get(f"{int(year) - 1}-{month}")
        previous.append(match.totals if match else Totals())
    return {"rows": rows, "previous": previous}


def funnel(start: date, end: date, field: str | None) -> list[dict[str, Any]]:
    """achievements listed → inquiries → introductions → deals → contracts signed → registered,
    each counted by when it happened in the period (Asia/Shanghai) and, with a field, by the
    achievement's (or the contract's) technology field. A contract is "signed" on its signed_on
    date once it is recorded on the platform (drafts included); "registered" as in the figures."""
    lo, hi = query._utc_bounds(start, end)

    def in_field(column: Any) -> list[Any]:
        return [column.like(field + "%")] if field else []

    listed = select(func.count(Achievement.id)).where(
        Achievement.published_at >= lo, Achievement.published_at < hi, *in_field(Achievement.field_code)
    )
    inquiries = (
        select(func.count(Inquiry.id))
        .join(Achievement, Achievement.id == Inquiry.achievement_id)
        .where(Inquiry.created_at >= lo, Inquiry.created_at < hi, *in_field(Achievement.field_code))
    )
    introductions = (
        select(func.count(Introduction.id))
        .join(Achievement, Achievement.id == Introduction.achievement_id)
        .where(Introduction.created_at >= lo, Introduction.created_at < hi, *in_field(Achievement.field_code))
    )
    deals = select(func.count(Deal.id)).where(Deal.created_at >= lo, Deal.created_at < hi)
    if field:
        deals = deals.join(Achievement, Achievement.id == Deal.achievement_id).where(*in_field(Achievement.field_code))
    signed = select(func.count()).where(
        TechContract.signed_on >= start, TechContract.signed_on <= end, *in_field(TechContract.field_code)
    )
    registered = select(func.count()).where(
        TechContract.status == "registered",
        TechContract.registered_at >= lo,
        TechContract.registered_at < hi,
        *in_field(TechContract.field_code),
    )
    steps = [
        ("成果发布", listed),
        ("咨询洽谈", inquiries),
        ("经纪引荐", introductions),
        ("立项对接", deals),
        ("合同签订", signed),
        ("认定登记", registered),
    ]
    return [{"label": label, "count": int(db.session.scalar(stmt) or 0)} for label, stmt in steps]


def build(filters: Filters) -> dict[str, Any]:
    """Everything the dashboard page (and the report) shows for one selection."""
    f = filters.with_(by=None, key=None, q="")
    return {**register_figures(f), "funnel": funnel(f.start, f.end, f.field)}


def register_figures(f: Filters) -> dict[str, Any]:
    """The dashboard's figures from the register, cached (see the module docstring)."""
    seconds = current_app.config.get("STATS_CACHE_SECONDS", 0)
    if not seconds:
        return _register_figures(f)
    cache = current_app.extensions.get("stats_dashboard_cache")
    if cache is None:
        url = current_app.config.get("REDIS_URL")
        cache = _RedisCache(url, current_app.config["SECRET_KEY"]) if url else _Cache()
        cache = current_app.extensions.setdefault("stats_dashboard_cache", cache)
    key = (
        f,
        register_version(),
        local_today(),
        query.city_prefix(),
        repr(current_app.config.get("STATS_TARGETS")),
    )
    found = cache.get(key)
    if found is None:
        found = _register_figures(f)
        cache.put(key, found, seconds)
    return dict(found)


def _register_figures(f: Filters) -> dict[str, Any]:
    return {
        "filters": f,
        "kpis": kpis(f),
        "trend": trend(f),
        "breakdowns": {group: query.breakdown(f, group) for group in BREAKDOWNS},
        "tops": {group: query.breakdown(f, group, limit=TOP_N) for group in TOPS},
        "target": query.target_progress(f),
        "total": query.figures(f),
    }


CACHE_ENTRIES = 64


def register_version() -> tuple[Any, ...]:
    """Changes whenever a figure of the register could: one query of index-backed maxima (and a
    count and checksum of the small deal_brokers table, whose rows can be removed)."""
    tc, amendment, broker = TechContract, ContractAmendment, DealBroker
    lead_ids = func.coalesce(func.sum(case((broker.lead.is_(True), broker.id), else_=0)), 0)
    row = db.session.execute(
        select(
            *(
                select(value).scalar_subquery()
                for value in (
                    func.max(tc.id),
                    func.max(tc.updated_at),
                    func.max(amendment.id),
                    func.max(broker.id),
                    func.count(broker.id),
                    lead_ids,
                )
            )
        )
    ).one()
    return tuple(row)


class _Cache:
    """A small per-process LRU with a time-out per entry (one per app, so tests never share one)."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self.size = size
        self.entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] < _time.monotonic():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: Any, value: Any, seconds: float) -> None:
        with self.lock:
            self.entries[key] = (_time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


log = logging.getLogger(__name__)


class _RedisCache:
    """The same cache shared by every worker and node through Redis (REDIS_URL), entries expiring
    after their time-out. Values are pickled and signed with SECRET_KEY (HMAC-SHA256), so an
    entry someone else wrote into Redis is ignored, never unpickled. When Redis does not answer,
    the page is computed as if nothing were cached (and kept in this process meanwhile): a cache
    outage never breaks the dashboard."""

    PREFIX = "kjtb:stats-dashboard:"

    def __init__(self, url: str, secret: str) -> None:
        import redis

        self.errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        self.local = _Cache()

    def _name(self, key: Any) -> str:
        return self.PREFIX + hashlib.sha256(repr(key).encode()).hexdigest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()

    def get(self, key: Any) -> Any:
        try:
            raw = self.client.get(self._name(key))
        except self.errors as exc:
            log.warning("stats cache: Redis unavailable (%s); using this process's cache", exc)
            return self.local.get(key)
        if raw is None or len(raw) < 32 or not hmac.compare_digest(raw[:32], self._mac(raw[32:])):
            return None
        return pickle.loads(raw[32:])  # signed by this deployment's SECRET_KEY (above)

    def put(self, key: Any, value: Any, seconds: float) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.client.set(self._name(key), self._mac(payload) + payload, px=max(1, int(seconds * 1000)))
        except self.errors as exc:
            log.warning("stats cache: Redis unavailable (%s); using this process's cache", exc)
            self.local.put(key, value, seconds)
