"""The one query path of the statistics.

What counts (see also README «技术合同成交额统计»):

- Only registered contracts count (认定登记), as of the chosen date `as_of` (default: now). A
  contract counts as of a date when it was registered by the end of that day (Asia/Shanghai) and
  not cancelled (注销) by then; its amounts, field, IP type and objective are the values it had
  then — amendments (变更) made after that day are undone from their recorded "before" values.
  So a 2025 report drawn "as of 2025-12-31" keeps a contract cancelled in March 2026, and the same
  report drawn today leaves it out.
- A contract belongs to the period in which it was registered, in Asia/Shanghai time
  (registered_at is UTC: 2025-12-31 23:30 in Shanghai is 15:30 UTC and belongs to 2025).
- Directions: 技术输出 = seller in our city (config STATS_CITY_REGION, default "3711") or in the
  chosen district; 技术吸纳 = buyer there. 涉外 flows are shown apart: 涉外输出 = seller here and
  buyer in 港澳台 or abroad, 涉外吸纳 = buyer here and seller in 港澳台 or abroad. A region is
  港澳台/境外 when its code starts with 71 (台湾), 81 (香港), 82 (澳门) or 9 (境外: registration
  offices record foreign parties as 9xxxxx, the country after it). 涉外 contracts are included in
  the direction totals too, as in the national statistics.
- Amounts are summed exactly (Decimal on PostgreSQL, integer fen on SQLite) and rounded only for
  display.

`Filters` describes a selection; `selection(filters)` is the filtered SELECT every figure,
breakdown and list is built on."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import Select

from ..accounts.models import User
from ..core.taxonomy import IPType, PartyNature, SocioEconomicObjective
from ..core.timeutil import LOCAL_TZ, local_today
from ..core.validators import parse_id
from ..deals.models import ContractAmendment, DealBroker, Money, TechContract
from ..extensions import db
from .taxonomy import (
    CONTRACT_GROUP_LABELS,
    FOREIGN_PREFIXES,
    contract_group_members,
    contract_group_of,
    contract_type_label,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

DIRECTIONS = {
    "output": "技术输出",
    "input": "技术吸纳",
    "foreign_output": "涉外输出（输出到港澳台及境外）",
    "foreign_input": "涉外吸纳（从港澳台及境外吸纳）",
}
GROUPS = {
    "month": "月份",
    "quarter": "季度",
    "district": "区县",
    "field": "技术领域",
    "contract_group": "合同类别",
    "contract_type": "合同类型",
    "ip_type": "知识产权类型",
    "seller_nature": "卖方性质",
    "buyer_nature": "买方性质",
    "objective": "社会经济目标",
    "broker": "技术经纪人",
    "seller": "卖方",
    "buyer": "买方",
}
# Fields an amendment may change that the statistics read; all else is fixed at registration.
AMENDED_FIELDS = ("amount", "technology_amount", "field_code", "ip_type", "objective")
NONE_KEY = ""  # the key of the row for contracts with no value (e.g. no broker)
# The city plan's target: 技术合同成交额 125亿元 in 2025 (config STATS_TARGETS replaces it).
DEFAULT_TARGETS = {"2025": "12500000000"}


# ---------------------------------------------------------------------------------------------
# Filters


@dataclass(frozen=True)
class Filters:
    start: date  # first day, Asia/Shanghai
    end: date  # last day (inclusive)
    direction: str = "output"
    district: str | None = None  # a region code of our city; None = the whole city
    field: str | None = None  # a top-level national field "01".."11"
    contract_type: str | None = None  # a contract type code or a group code (dev, transfer, ...)
    as_of: date | None = None  # None = now
    by: str | None = None  # drill-down: restrict to one row of a breakdown ...
    key: str | None = None  # ... with this key
    q: str = ""  # register search: number, project, seller or buyer name

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    def query_args(self, **overrides: Any) -> dict[str, str]:
        """The filters as URL query arguments (for links to the list behind a figure)."""
        args = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "direction": self.direction,
            "district": self.district or "",
            "field": self.field or "",
            "contract_type": self.contract_type or "",
            "as_of": self.as_of.isoformat() if self.as_of else "",
            "by": self.by or "",
            "key": self.key if self.key is not None else "",
            "q": self.q,
        }
        args.update({k: ("" if v is None else str(v)) for k, v in overrides.items()})
        return {k: v for k, v in args.items() if v != "" or (k == "key" and args.get("by"))}


def city_prefix() -> str:
    return str(current_app.config.get("STATS_CITY_REGION", "3711"))


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Asia/Shanghai, as naive UTC."""
    lo = datetime.combine(start, time.min, LOCAL_TZ).astimezone(tz=None)
    hi = datetime.combine(end + timedelta(days=1), time.min, LOCAL_TZ).astimezone(tz=None)
    return _naive_utc(lo), _naive_utc(hi)


def _naive_utc(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


def as_of_instant(as_of: date | None) -> datetime | None:
    """The end of the as-of day (UTC), or None when it is today or later (= now)."""
    if as_of is None or as_of >= local_today():
        return None
    return _utc_bounds(as_of, as_of)[1]


# ---------------------------------------------------------------------------------------------
# The register as of a date


def _columns(source: Any) -> list[Any]:
    c = source
    return [
        c.id.label("id"),
        c.registration_number.label("registration_number"),
        c.project_name.label("project_name"),
        c.registered_at.label("registered_at"),
        c.signed_on.label("signed_on"),
        c.contract_type.label("contract_type"),
        c.seller_name.label("seller_name"),
        c.seller_nature.label("seller_nature"),
        c.seller_region.label("seller_region"),
        c.buyer_name.label("buyer_name"),
        c.buyer_nature.label("buyer_nature"),
        c.buyer_region.label("buyer_region"),
        c.amount.label("amount"),
        c.technology_amount.label("technology_amount"),
        c.field_code.label("field_code"),
        c.ip_type.label("ip_type"),
        c.objective.label("objective"),
        c.deal_id.label("deal_id"),
    ]


def register_as_of(as_of: date | None, period: tuple[datetime, datetime] | None = None):
    """The registered contracts as of the end of `as_of` (None: now), one row per contract with
    the values it had then. Now, this is simply status == registered; for a past date, contracts
    cancelled later are back and contracts amended later carry their earlier values.

    The earlier values come from the amendments' recorded "before" values, worked out in Python
    for the few contracts amended after the date (those registered in `period`, when given) and
    passed to the database as one JSON parameter, so the SQL stays the same size however many
    there are."""
    instant = as_of_instant(as_of)
    tc = TechContract
    if instant is None:
        return select(*_columns(tc)).where(tc.status == "registered").subquery("register")
    counted = [
        tc.status.in_(("registered", "cancelled")),
        tc.registered_at < instant,
        or_(tc.cancelled_at.is_(None), tc.cancelled_at >= instant),
    ]
    if period:  # the period inside the union too: not every database pushes it down
        counted += [tc.registered_at >= period[0], tc.registered_at < period[1]]
    later = select(ContractAmendment.contract_id).where(
        ContractAmendment.kind == "amend", ContractAmendment.created_at >= instant
    )
    base = select(*_columns(tc)).where(*counted, tc.id.not_in(later))
    earlier = _values_before(instant, period)
    if not earlier:
        return base.subquery("register")
    overlay = _json_rows(earlier)
    columns = [
        overlay.c[name].label(name) if name in AMENDED_FIELDS else current
        for name, current in zip(_column_names(), _columns(tc), strict=True)
    ]
    # `earlier` holds only contracts counted at the instant; by id, the planner starts from them.
    ids = [values["id"] for values in earlier]
    amended = select(*columns).select_from(tc).join(overlay, overlay.c.id == tc.id).where(tc.id.in_(ids))
    return union_all(base, amended).subquery("register")


def _column_names() -> list[str]:
    return [column.key for column in _columns(TechContract)]


def _values_before(instant: datetime, period: tuple[datetime, datetime] | None) -> list[dict[str, Any]]:
    """{id, amount, technology_amount, field_code, ip_type, objective} as of `instant` for the
    contracts amended after it: the current values with the later changes undone, newest first."""
    stmt = (
        select(ContractAmendment.contract_id, ContractAmendment.changes)
        .join(TechContract, TechContract.id == ContractAmendment.contract_id)
        .where(ContractAmendment.kind == "amend", ContractAmendment.created_at >= instant)
        .order_by(ContractAmendment.created_at.desc(), ContractAmendment.id.desc())
    )
    if period:
        stmt = stmt.where(TechContract.registered_at >= period[0], TechContract.registered_at < period[1])
    changes = db.session.execute(stmt).all()
    if not changes:
        return []
    ids = sorted({contract_id for contract_id, _ in changes})
    tc = TechContract
    current = {
        row.id: {"id": row.id, **{name: getattr(row, name) for name in AMENDED_FIELDS}}
        for row in db.session.execute(
            select(tc.id, *(getattr(tc, name) for name in AMENDED_FIELDS)).where(
                tc.id.in_(ids),
                tc.status.in_(("registered", "cancelled")),
                tc.registered_at < instant,
                or_(tc.cancelled_at.is_(None), tc.cancelled_at >= instant),
            )
        )
    }
    changes = [(contract_id, diff) for contract_id, diff in changes if contract_id in current]
    for contract_id, diff in changes:  # newest first: each undo lands on the value after it
        values = current[contract_id]
        for name, pair in (diff or {}).items():
            if name in AMENDED_FIELDS and isinstance(pair, list | tuple) and len(pair) == 2:
                values[name] = pair[0] or None
    if not current:
        return []
    for values in current.values():
        for name in ("amount", "technology_amount"):
            values[name] = f"{Decimal(str(values[name] or 0)):.2f}"
    return list(current.values())


def _json_rows(rows: list[dict[str, Any]]):
    """The rows as a table inside the query, from one JSON parameter."""
    payload = json.dumps(rows, ensure_ascii=False)
    if _is_sqlite():
        each = func.json_each(literal(payload, String())).table_valued("value").alias("before_values")
        value = each.c.value
        cols = [cast(func.json_extract(value, "$.id"), Integer).label("id")]
        for name in AMENDED_FIELDS:
            extracted = func.json_extract(value, f"$.{name}")
            cols.append((cast(extracted, Money) if name in ("amount", "technology_amount") else extracted).label(name))
        return select(*cols).select_from(each).subquery("before")
    table = TechContract.__table__.c
    recordset = (
        func.jsonb_to_recordset(cast(literal(payload, String()), JSONB))
        .table_valued(
            column("id", Integer),
            *(
                column(name, Money if name in ("amount", "technology_amount") else table[name].type)
                for name in AMENDED_FIELDS
            ),
        )
        .render_derived(name="before", with_types=True)
    )
    return recordset


# ---------------------------------------------------------------------------------------------
# Expressions


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def money_sum(column: Any) -> Any:
    """Exact sum: Decimal on PostgreSQL; integer fen on SQLite (whose NUMERIC is a float)."""
    if _is_sqlite():
        return func.coalesce(func.sum(cast(func.round(column * 100), Integer)), 0)
    return func.coalesce(func.sum(column), 0)


def to_yuan(raw: Any) -> Decimal:
    if raw is None:
        return ZERO
    if _is_sqlite():
        return (Decimal(int(raw)) / 100).quantize(CENT)
    return Decimal(raw).quantize(CENT)


def _local(column: Any, fmt_sqlite: str, fmt_pg: str) -> Any:
    if _is_sqlite():
        return func.strftime(fmt_sqlite, column, "+8 hours")
    return func.to_char(column + literal_column("interval '8 hours'"), fmt_pg)


def foreign(column: Any) -> Any:
    return or_(*(column.like(prefix + "%") for prefix in FOREIGN_PREFIXES))


def _here(column: Any, filters: Filters) -> Any:
    if filters.district:
        return column == filters.district
    return column.like(city_prefix() + "%")


def _broker_of_deal():
    """deal_id -> the lead broker (or, without a lead, the first broker) of the deal."""
    lead = func.min(case((DealBroker.lead.is_(True), DealBroker.user_id)))
    return (
        select(
            DealBroker.deal_id.label("deal_id"), func.coalesce(lead, func.min(DealBroker.user_id)).label("broker_id")
        )
        .group_by(DealBroker.deal_id)
        .subquery("deal_broker")
    )


def group_key(reg: Any, group: str, filters: Filters, brokers: Any = None) -> Any:
    """The SQL expression whose value is a contract's row in the breakdown `group`."""
    c = reg.c
    if group == "month":
        return _local(c.registered_at, "%Y-%m", "YYYY-MM")
    if group == "quarter":
        month = _local(c.registered_at, "%m", "MM")
        quarter = case((month <= "03", "1"), (month <= "06", "2"), (month <= "09", "3"), else_="4")
        return _local(c.registered_at, "%Y", "YYYY").concat("-Q").concat(quarter)
    if group == "district":
        here = c.buyer_region if filters.direction in ("input", "foreign_input") else c.seller_region
        return here
    if group == "field":
        return func.substr(c.field_code, 1, 2)
    if group == "contract_group":
        return case(
            *((c.contract_type.in_(contract_group_members(code)), code) for code in CONTRACT_GROUP_LABELS),
            else_=c.contract_type,
        )
    if group == "broker":
        return brokers.c.broker_id
    if group in ("contract_type", "ip_type", "seller_nature", "buyer_nature", "objective"):
        return getattr(c, group)
    if group == "seller":
        return c.seller_name
    if group == "buyer":
        return c.buyer_name
    raise ValueError(group)


def selection(
    filters: Filters, *columns: Any, group: str | None = None, ids: list[int] | None = None
) -> tuple[Select, Any]:
    """SELECT columns FROM the register as of the filters' date WHERE the filters hold.

    Every figure, breakdown row and list is this select with different columns; returns the
    select and the group key expression (for `group`, or None)."""
    lo, hi = _utc_bounds(filters.start, filters.end)
    reg = register_as_of(filters.as_of, (lo, hi))
    c = reg.c
    conditions = [c.registered_at >= lo, c.registered_at < hi]
    if filters.direction == "output":
        conditions.append(_here(c.seller_region, filters))
    elif filters.direction == "input":
        conditions.append(_here(c.buyer_region, filters))
    elif filters.direction == "foreign_output":
        conditions += [_here(c.seller_region, filters), foreign(c.buyer_region)]
    elif filters.direction == "foreign_input":
        conditions += [_here(c.buyer_region, filters), foreign(c.seller_region)]
    if filters.field:
        conditions.append(c.field_code.like(filters.field + "%"))
    if filters.contract_type:
        members = contract_group_members(filters.contract_type) or [filters.contract_type]
        conditions.append(c.contract_type.in_(members))
    if filters.q:
        like = f"%{filters.q}%"
        conditions.append(
            or_(
                c.registration_number.like(like),
                c.project_name.like(like),
                c.seller_name.like(like),
                c.buyer_name.like(like),
            )
        )
    needs_broker = (
        group == "broker" or filters.by == "broker" or any(getattr(col, "name", None) == "broker_id" for col in columns)
    )
    brokers = _broker_of_deal() if needs_broker else None
    key = group_key(reg, group, filters, brokers) if group else None
    if filters.by:
        drill = group_key(reg, filters.by, filters, brokers)
        conditions.append(_drill_condition(drill, filters.by, filters.key))
    resolved = [col(reg, brokers) if callable(col) else col for col in columns]
    if key is not None:
        resolved.insert(0, key.label("key"))
    if ids is not None:
        conditions.append(c.id.in_(ids))
    stmt = select(*resolved).select_from(reg)
    if brokers is not None:
        stmt = stmt.outerjoin(brokers, brokers.c.deal_id == c.deal_id)
    return stmt.where(*conditions), key


def _drill_condition(drill: Any, group: str, key: str | None) -> Any:
    if key in (None, NONE_KEY):
        return drill.is_(None)
    if group == "broker":  # an integer key
        return drill == pk if (pk := parse_id(key)) else false()
    return drill == key


# ---------------------------------------------------------------------------------------------
# Figures


@dataclass
class Totals:
    count: int = 0
    contract_amount: Decimal = ZERO
    tech_amount: Decimal = ZERO

    @property
    def average(self) -> Decimal:
        if not self.count:
            return ZERO
        return (self.contract_amount / self.count).quantize(CENT, rounding=ROUND_HALF_UP)

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.count + other.count,
            self.contract_amount + other.contract_amount,
            self.tech_amount + other.tech_amount,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "contract_amount": f"{self.contract_amount:.2f}",
            "tech_amount": f"{self.tech_amount:.2f}",
        }


@dataclass
class Row:
    key: str
    label: str
    totals: Totals
    filters: Filters | None = None  # the drill-down selection behind the row

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.totals.as_json()}


def _aggregates() -> list[Any]:
    return [
        lambda reg, _b: func.count().label("n"),
        lambda reg, _b: money_sum(reg.c.amount).label("amount"),
        lambda reg, _b: money_sum(reg.c.technology_amount).label("tech"),
    ]


def figures(filters: Filters) -> Totals:
    stmt, _ = selection(filters, *_aggregates())
    n, amount, tech = db.session.execute(stmt).one()
    return Totals(int(n or 0), to_yuan(amount), to_yuan(tech))


def breakdown(filters: Filters, group: str, limit: int | None = None) -> list[Row]:
    """One row per value of `group` (contracts without a value in a row of their own), largest
    成交额 first (months and quarters in order); the rows add up to figures(filters) exactly —
    unless `limit` keeps only the top rows."""
    stmt, key = selection(filters, *_aggregates(), group=group)
    stmt = stmt.group_by(key)
    if group in ("month", "quarter"):
        stmt = stmt.order_by(key)
    else:
        stmt = stmt.order_by(literal_column("amount").desc(), key)
    if limit:
        stmt = stmt.limit(limit)
    rows = []
    for value, n, amount, tech in db.session.execute(stmt):
        value = NONE_KEY if value is None else str(value)
        rows.append(
            Row(
                value,
                label_of(group, value),
                Totals(int(n), to_yuan(amount), to_yuan(tech)),
                filters.with_(by=group, key=value),
            )
        )
    if group == "month":
        rows = _fill_months(filters, rows)
    if group == "broker":
        _name_brokers(rows)
    return rows


def _fill_months(filters: Filters, rows: list[Row]) -> list[Row]:
    """Every month of the period, zeros included, so a trend chart has no holes."""
    if (filters.end - filters.start).days > 366 * 5:
        return rows
    found = {row.key: row for row in rows}
    months, cursor = [], filters.start.replace(day=1)
    while cursor <= filters.end:
        key = f"{cursor:%Y-%m}"
        months.append(found.pop(key, Row(key, label_of("month", key), Totals(), filters.with_(by="month", key=key))))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months + list(found.values())


def _name_brokers(rows: list[Row]) -> None:
    ids = [int(row.key) for row in rows if row.key.isdigit()]
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    for row in rows:
        if row.key.isdigit():
            row.label = names.get(int(row.key), f"经纪人 #{row.key}")


def label_of(group: str, key: str) -> str:
    if key == NONE_KEY:
        return {"broker": "无经纪人参与", "district": "未填写"}.get(group, "未填写")
    taxonomy = current_app.extensions["taxonomy"]
    if group == "month":
        year, month = key.split("-")
        return f"{year}年{int(month)}月"
    if group == "quarter":
        year, quarter = key.split("-Q")
        return f"{year}年第{quarter}季度"
    if group == "district":
        return region_label(key)
    if group == "field":
        return taxonomy.field_path(key) or key
    if group == "contract_group":
        return CONTRACT_GROUP_LABELS.get(key, key)
    if group == "contract_type":
        return contract_type_label(key)
    if group == "ip_type":
        return IPType.label_of(key)
    if group in ("seller_nature", "buyer_nature"):
        return PartyNature.label_of(key)
    if group == "objective":
        return SocioEconomicObjective.label_of(key)
    return key


def region_label(code: str) -> str:
    taxonomy = current_app.extensions["taxonomy"]
    name = taxonomy.district_name(code)
    if name:
        return name
    if code.startswith(FOREIGN_PREFIXES):
        return {"71": "台湾", "81": "香港", "82": "澳门"}.get(code[:2], "境外") + f"（{code}）"
    if code == city_prefix() + "00":
        return "市本级"
    if code.startswith(city_prefix()):
        return f"本市其他（{code}）"
    return f"市外（{code}）"


# ---------------------------------------------------------------------------------------------
# The list behind a figure


SORTS = {
    "registered": ("registered_at", "登记时间"),
    "amount": ("amount", "成交额"),
    "tech": ("technology_amount", "技术交易额"),
    "number": ("registration_number", "登记号"),
}
MAX_PER_PAGE = 200


def _list_columns() -> list[Any]:
    names = _column_names()
    return [lambda reg, _b, n=name: getattr(reg.c, n) for name in names] + [_BrokerColumn()]


def contract_rows(filters: Filters, sort: str = "-registered", page: int = 1, per_page: int = 50):
    """One page of the contracts behind a figure, and that figure (computed by `figures` from
    the same filters, so the list's totals are the figure).

    The page is found first by id and sort key alone (read from the covering index), then only
    its rows are fetched whole."""
    column_name, descending = _sort(sort)
    keys, _ = selection(
        filters,
        lambda reg, _b: reg.c.id.label("id"),
        lambda reg, _b: getattr(reg.c, column_name).label("sort_key"),
    )
    order = literal_column("sort_key")
    keys = keys.order_by(order.desc() if descending else order.asc(), literal_column("id").desc())
    ids = db.session.scalars(keys.limit(per_page).offset((page - 1) * per_page)).all()
    items: list[dict[str, Any]] = []
    if ids:
        stmt, _ = selection(filters, *_list_columns(), ids=list(ids))
        found = {row.id: dict(row._mapping) for row in db.session.execute(stmt)}
        items = [found[i] for i in ids if i in found]
        _decorate(items)
    return items, figures(filters)


def _sort(sort: str) -> tuple[str, bool]:
    return SORTS.get(sort.lstrip("-"), SORTS["registered"])[0], sort.startswith("-")


def _list_stmt(filters: Filters, sort: str) -> Select:
    stmt, _ = selection(filters, *_list_columns())
    column_name, descending = _sort(sort)
    order = literal_column(column_name)
    return stmt.order_by(order.desc() if descending else order.asc(), literal_column("id").desc())


class _BrokerColumn:
    """A list column that is the deal's broker id; its name makes `selection` join the
    broker subquery."""

    name = "broker_id"

    def __call__(self, reg: Any, brokers: Any) -> Any:
        return brokers.c.broker_id.label("broker_id")


def iter_contracts(filters: Filters, sort: str = "-registered", batch: int = 2000):
    """Every contract behind a figure, in list order (CSV export), in batches."""
    result = db.session.execute(_list_stmt(filters, sort).execution_options(yield_per=batch))
    for chunk in result.partitions(batch):
        items = [dict(row._mapping) for row in chunk]
        _decorate(items)
        yield from items


def _decorate(items: list[dict[str, Any]]) -> None:
    taxonomy = current_app.extensions["taxonomy"]
    broker_ids = {item["broker_id"] for item in items if item.get("broker_id")}
    names = (
        dict(db.session.execute(select(User.id, User.name).where(User.id.in_(broker_ids))).all()) if broker_ids else {}
    )
    for item in items:
        for name in ("amount", "technology_amount"):
            item[name] = Decimal(str(item[name])).quantize(CENT) if item[name] is not None else ZERO
        if isinstance(item["registered_at"], str):  # a union on SQLite may hand back text
            item["registered_at"] = datetime.fromisoformat(item["registered_at"])
        if isinstance(item["signed_on"], str):
            item["signed_on"] = date.fromisoformat(item["signed_on"])
        item["contract_type_label"] = contract_type_label(item["contract_type"])
        item["contract_group_label"] = CONTRACT_GROUP_LABELS.get(contract_group_of(item["contract_type"]), "")
        item["field_label"] = taxonomy.field_path(item["field_code"]) or "未填写"
        item["seller_region_label"] = region_label(item["seller_region"] or "")
        item["buyer_region_label"] = region_label(item["buyer_region"] or "")
        item["seller_nature_label"] = PartyNature.label_of(item["seller_nature"])
        item["buyer_nature_label"] = PartyNature.label_of(item["buyer_nature"])
        item["ip_type_label"] = IPType.label_of(item["ip_type"]) or "未填写"
        item["objective_label"] = SocioEconomicObjective.label_of(item["objective"]) or "未填写"
        item["broker_name"] = names.get(item.get("broker_id"), "")


# ---------------------------------------------------------------------------------------------
# Periods, growth, targets


def year_period(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def quarter_period(year: int, quarter: int) -> tuple[date, date]:
    first = 3 * (quarter - 1) + 1
    return date(year, first, 1), date(year, first + 2, calendar.monthrange(year, first + 2)[1])


def month_period(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _whole_months(start: date, end: date) -> int | None:
    """The number of whole calendar months [start, end] spans, or None."""
    if start.day != 1 or (end + timedelta(days=1)).day != 1:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period just before, of the same kind: the previous month / quarter / year for whole
    months, else the same number of days before."""
    months = _whole_months(start, end)
    if months:
        new_start = _shift_months(start, -months)
        return new_start, start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def same_period_last_year(start: date, end: date) -> tuple[date, date]:
    months = _whole_months(start, end)
    if months:
        new_start = _shift_months(start, -12)
        return new_start, _shift_months(end + timedelta(days=1), -12) - timedelta(days=1)
    return _shift_months(start, -12), _shift_months(end, -12)


def growth(current: Decimal | int, previous: Decimal | int) -> Decimal | None:
    """Percentage change, one decimal; None when there is nothing to compare with."""
    if not previous:
        return None
    return ((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )


def target_for(year: int, district: str | None) -> Decimal | None:
    """The annual 技术合同成交额 target (技术输出, 元) from config STATS_TARGETS (a dict, or the
    same as a JSON string): {"2025": "12500000000", "2025:371102": "3000000000"} — the city's by
    year, a district's by "year:code"."""
    targets = current_app.config.get("STATS_TARGETS") or DEFAULT_TARGETS
    if isinstance(targets, str):  # from the environment, as JSON
        targets = json.loads(targets)
    raw = targets.get(f"{year}:{district}" if district else str(year))
    return Decimal(str(raw)).quantize(CENT) if raw not in (None, "") else None


def target_progress(filters: Filters) -> dict[str, Any] | None:
    """Year-to-date 技术输出 成交额 of the period's last year against its target."""
    year = filters.end.year
    target = target_for(year, filters.district)
    if target is None:
        return None
    start, end = year_period(year)
    ytd_end = min(end, max(filters.end, start), local_today())
    done = figures(
        Filters(start, ytd_end, direction="output", district=filters.district, as_of=filters.as_of)
    ).contract_amount
    ratio = (done * 100 / target).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if target else None
    return {"year": year, "target": target, "done": done, "ratio": ratio, "through": ytd_end}
