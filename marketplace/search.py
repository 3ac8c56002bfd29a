"""The bridge between the marketplace and `search_index`: models -> documents, the outbox, the
indexer, and the one `SearchIndex` each process holds.

Never out of step
-----------------
* Every service that changes a searchable row calls `enqueue(obj)`, which adds a `SearchOutbox`
  row to the *same* session, so the row commits or rolls back with the change. Nothing is indexed
  from ORM events: a rolled-back change leaves no outbox row, hence no document.
* `catch_up()` reads outbox rows after the index's last applied id, collapses them per object,
  recomputes each document from the database (published listings and verified organisations are
  upserted, anything else is deleted) and applies them with `SearchIndex.apply`, which records the
  highest id in the same index commit. A process killed after its commit but before indexing
  leaves its outbox row behind; the next run on any process applies it.
* Catch-ups of one index directory are serialised by a file lock beside it
  (`<SEARCH_INDEX_DIR>.sync.lock`). A caller that does not get the lock skips; whoever holds it
  re-checks the outbox *after* releasing, so a row committed while the lock was held is never
  left waiting (the skipper committed before it tried the lock, so the re-check sees its row).

The gap rule (PostgreSQL assigns ids before commit)
---------------------------------------------------
A transaction may hold id 11 while id 12 commits and is applied; the index then records 12 and
a plain "id > last applied" would never see 11. So each catch-up notes the ids missing below what
it applied as *gaps* and re-reads exactly those ids on later runs (an indexed lookup), applying a
row that has appeared. A gap is watched for `SEARCH_OUTBOX_GAP_SECONDS` (default 300 s, longer
than any transaction that writes listings) and then forgotten: it was a rolled-back transaction.
Gaps live in `<SEARCH_INDEX_DIR>.sync.json`, written under the lock after the index commit, so
every process of a node shares them. When that file is missing or does not match the index (a
crash between the commit and the write, a copied index), the run re-applies every outbox row of
the last gap period at or below the index position and watches the ids missing among them:
upserts are recomputed from the database, so applying a row twice is harmless.

Rows that change nothing in the index (edits of a draft that was never published) cost no index
commit: the state file records how far the outbox was read (`read_to`) beside the index position.

When indexing runs
------------------
* after a request that enqueued rows: once the response has been sent (`call_on_close`), the same
  worker catches up; if another worker holds the lock it skips at once (the holder re-checks);
* before every search (`run_search`): one MAX(id) query (plus a lookup of watched gaps, if any)
  and, when the index is behind, one bounded batch;
* `flask search worker`: a loop for deployments with several app nodes (each node has its own
  SEARCH_INDEX_DIR and catches up from the same outbox); it also prunes the outbox.
* `flask search reindex` holds the node's lock for the whole rebuild (see `reindex`); searches
  keep answering from the old index without waiting for it (`<SEARCH_INDEX_DIR>.rebuilding`), and
  what committed meanwhile is applied right after the swap.

Pruning rule: rows older than `SEARCH_OUTBOX_RETENTION_DAYS` (7) *and* at or below the pruning
node's own last applied id are deleted. Every node catches up continuously, so only a node that
was down for longer than the retention can miss rows; `flask search stats` warns about it and
`flask search reindex` repairs it.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, has_request_context
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from .accounts.models import Organization
from .core.background import after_response
from .core.faultpoints import pause_point
from .core.taxonomy import ContractStatus, ListingStatus, PriceKind
from .core.timeutil import local_today, utcnow
from .deals.models import TechContract
from .extensions import db
from .listings.models import Achievement, Demand
from .outbox_models import SearchOutbox, SearchWord
from .resources.models import Expert

if TYPE_CHECKING:
    from search_index import SearchIndex, SearchQuery, SearchResult

KINDS = ("achievement", "demand", "organization")
EXPERT = "expert"  # 科技人才库: active experts, without their contact data
# Registered technology contracts, indexed for the pricing guidance (marketplace.valuation) only: never
# a public search kind (not in search_params.KIND_LABELS); cancelled ones are removed.
CONTRACT = "contract"
ORG_LISTINGS = "org_listings"  # outbox kind: every listing of an organisation (its name changed)
LISTING_MODELS = {"achievement": Achievement, "demand": Demand}

DEFAULTS = {
    "SEARCH_OUTBOX_GAP_SECONDS": 300,
    "SEARCH_OUTBOX_RETENTION_DAYS": 7,
    "SEARCH_SYNC_AFTER_REQUEST": True,
    "SEARCH_AFTER_REQUEST_WAIT": 0.0,  # a held lock: its holder re-checks after releasing
    "SEARCH_AFTER_REQUEST_MAX_ROWS": 5000,  # a bulk import leaves the rest to the worker/searches
    "SEARCH_BEFORE_SEARCH_WAIT": 0.5,
    "SEARCH_BEFORE_SEARCH_MAX_ROWS": 500,
}
BATCH = 500  # outbox rows per index commit
IN_CHUNK = 500  # ids per IN (...) query
RECOVERY_IDS = 20_000  # how far below the index position a recovery looks


def setting(name: str, app: Flask | None = None) -> Any:
    return (app or current_app).config.get(name, DEFAULTS[name])


# ---------------------------------------------------------------------------------------------
# Outbox


def enqueue(obj: Any, *, listings: bool = False) -> None:
    """Record that `obj` (an Achievement, Demand or Organization) changed, in the current
    transaction; the caller commits. `listings=True` for an organisation whose name or type
    changed: its listings' documents carry them."""
    kind = kind_of(obj)
    if obj.id is None:
        db.session.flush()
    rows = [(kind, obj.id)] + ([(ORG_LISTINGS, obj.id)] if listings else [])
    pending = {(o.kind, o.object_id) for o in db.session.new if isinstance(o, SearchOutbox)}
    for row_kind, object_id in rows:
        if (row_kind, object_id) not in pending:  # twice in one unit of work is once
            db.session.add(SearchOutbox(kind=row_kind, object_id=object_id))
    if has_request_context() and setting("SEARCH_SYNC_AFTER_REQUEST"):
        _catch_up_after_this_request()
    for listener in current_app.extensions.get(LISTENERS, ()):
        listener(kind, obj.id)  # in the same transaction, like the outbox row


LISTENERS = "search_enqueue_listeners"


def on_enqueue(app: Flask, listener: Callable[[str, int], None]) -> None:
    """Call `listener(kind, object_id)` from every `enqueue`, inside the caller's transaction: other
    domains keep caches derived from searchable rows (marketplace.matching's precomputed results)
    invalid-marked atomically with the change, without this module importing them."""
    listeners = app.extensions.setdefault(LISTENERS, [])
    if listener not in listeners:
        listeners.append(listener)


def kind_of(obj: Any) -> str:
    if isinstance(obj, Achievement):
        return "achievement"
    if isinstance(obj, Demand):
        return "demand"
    if isinstance(obj, Organization):
        return "organization"
    if isinstance(obj, TechContract):
        return CONTRACT
    if isinstance(obj, Expert):
        return EXPERT
    raise TypeError(f"not searchable: {obj!r}")


def _catch_up_after_this_request() -> None:
    # The search catch-up is asked for first, so it runs before the alerts and the match refresh.
    after_response(
        "search",
        lambda: catch_up(wait=setting("SEARCH_AFTER_REQUEST_WAIT"), max_rows=setting("SEARCH_AFTER_REQUEST_MAX_ROWS")),
        "search: catch-up",  # the next search, request or `flask search worker` repairs a miss
    )


# ---------------------------------------------------------------------------------------------
# Documents


def key_of(kind: str, object_id: int) -> str:
    return f"{kind}:{object_id}"


def is_public(obj: Any) -> bool:
    """What public pages show: published listings (demands until their date) and verified
    organisations. Anything else must not be in the index."""
    if isinstance(obj, Organization):
        return bool(obj.verified)
    if isinstance(obj, TechContract):  # indexed (registered), never shown by the public search
        return obj.status == ContractStatus.REGISTERED.value
    if isinstance(obj, Expert):
        return bool(obj.active)
    if obj.status != ListingStatus.PUBLISHED.value:
        return False
    return not (isinstance(obj, Demand) and obj.valid_until is not None and obj.valid_until < local_today())


def price_band(kind: str | None, low: Any) -> str:
    from search_index import PRICE_BANDS

    if kind == PriceKind.NEGOTIABLE.value or low is None:
        return "negotiable"
    value = float(low)
    for code, _label, lo, hi in PRICE_BANDS:
        if lo is not None and value >= lo and (hi is None or value < hi):
            return code
    return "negotiable"


def listing_version(updated_at, org_name: str | None, org_type: str | None) -> str:
    """updated_at, plus the organisation fields a listing's document carries, so that `check`
    also sees a listing whose organisation was renamed."""
    return f"{updated_at.isoformat() if updated_at else ''}|{_digest(org_name, org_type)}"


def org_version(org: Organization) -> str:
    # Organisations have no updated_at: a digest of the fields the document holds.
    return _digest(org.name, org.description, org.district, org.org_type, org.verified_at)


def expert_version(updated_at, org_name: str | None) -> str:
    return f"{updated_at.isoformat() if updated_at else ''}|{_digest(org_name)}"


def expert_document(expert: Expert) -> dict[str, Any]:
    """Name, title, organisation, fields, expertise and representative achievements; never the
    phone or e-mail (they are private)."""
    taxonomy = current_app.extensions["taxonomy"]
    codes = list(expert.field_codes or [])
    field_code, field_top = _fields(codes[0] if codes else None)
    org_name = expert.display_org
    return {
        "key": key_of(EXPERT, expert.id),
        "kind": EXPERT,
        "id": expert.id,
        "title": expert.name,
        "body": "\n".join(p for p in (expert.expertise, expert.achievements_text) if p),
        "keywords": [k for k in [expert.title, *(taxonomy.field_path(c) for c in codes)] if k],
        "org_name": org_name,
        "org_type": expert.organization.org_type if expert.organization else "",
        "field": field_code,
        "field_top": field_top,
        "published_at": expert.created_at,
        "version": expert_version(expert.updated_at, org_name),
    }


def _digest(*values: Any) -> str:
    raw = json.dumps([str(v) if v is not None else None for v in values], ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def _fields(code: str | None) -> tuple[str, str]:
    if not code:
        return "", ""
    known = current_app.extensions["taxonomy"].field(code)
    top = (known.parent or known.code) if known else code[:2]
    return code, top


def document_for(obj: Any) -> dict[str, Any]:
    """The search document of a row: public text only (never detail, contacts or team)."""
    kind = kind_of(obj)
    if kind == CONTRACT:
        return contract_document(obj)
    if kind == EXPERT:
        return expert_document(obj)
    if kind == "organization":
        return {
            "key": key_of(kind, obj.id),
            "kind": kind,
            "id": obj.id,
            "title": obj.name,
            "body": obj.description or "",
            "keywords": [],
            "org_name": obj.name,
            "district": obj.district or "",
            "org_type": obj.org_type or "",
            "published_at": obj.verified_at,
            "version": org_version(obj),
        }
    org = obj.organization
    field_code, field_top = _fields(obj.field_code)
    doc = {
        "key": key_of(kind, obj.id),
        "kind": kind,
        "id": obj.id,
        "title": obj.title,
        "keywords": list(obj.keywords or []),
        "org_name": org.name if org else "",
        "org_type": org.org_type if org else "",
        "field": field_code,
        "field_top": field_top,
        "district": obj.district or "",
        "published_at": obj.published_at,
        "version": listing_version(obj.updated_at, org.name if org else None, org.org_type if org else None),
    }
    if kind == "achievement":
        parts = (obj.summary, obj.problem, obj.advantages, obj.application_scope)
        doc |= {
            "body": "\n".join(p for p in parts if p),
            # Patent numbers are shown on the public page and are what people paste in.
            "keywords": doc["keywords"] + [n for n in obj.patent_numbers if n not in doc["keywords"]],
            "maturity": obj.maturity or "",
            "transfer_modes": list(obj.transfer_modes or []),
            "ip_type": obj.ip_type or "",
            "demand_type": "",
            "price_band": price_band(obj.price_kind, obj.price_low),
            "price": _price(obj.price_kind, obj.price_low),
        }
    else:
        doc |= {
            "body": obj.description or "",
            "maturity": "",
            "transfer_modes": [],
            "ip_type": "",
            "demand_type": obj.demand_type or "",
            "price_band": price_band(obj.budget_kind, obj.budget_low),
            "price": _price(obj.budget_kind, obj.budget_low),
        }
    return doc


def contract_version(contract: TechContract) -> str:
    return _digest(contract.updated_at, contract.status, contract.project_name, contract.technology_amount)


def contract_document(contract: TechContract) -> dict[str, Any]:
    """A registered contract for the pricing guidance: its title and the attributes comparables
    are filtered by, never party names. 技术交易额 (yuan) is the `price` column."""
    field_code, field_top = _fields(contract.field_code)
    ctype = contract.contract_type or ""
    return {
        "key": key_of(CONTRACT, contract.id),
        "kind": CONTRACT,
        "id": contract.id,
        "title": contract.project_name,
        "body": "",
        "keywords": [],
        "field": field_code,
        "field_top": field_top,
        "ip_type": contract.ip_type or "",
        "contract_type": ctype,
        "contract_group": ctype.split("_")[0] if ctype else "",
        "price": float(contract.technology_amount) if contract.technology_amount is not None else None,
        "published_at": contract.registered_at,
        "version": contract_version(contract),
    }


def _price(kind: str | None, low: Any) -> float | None:
    return None if kind == PriceKind.NEGOTIABLE.value or low is None else float(low)


# ---------------------------------------------------------------------------------------------
# The index of this process


class _Holder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: SearchIndex | None = None
        self.path: str | None = None


def get_index(app: Flask | None = None) -> SearchIndex:
    """The process's SearchIndex for SEARCH_INDEX_DIR, created on first use (so commands that do
    not search never load the segmenter). A changed SEARCH_INDEX_DIR (tests) gives a new one."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    holder: _Holder = app.extensions.setdefault("search", _Holder())
    path = str(app.config["SEARCH_INDEX_DIR"])
    with holder.lock:
        if holder.index is None or holder.path != path:
            holder.index = open_index(path)
            holder.path = path
        return holder.index


_paths: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def open_index(path: str | Path, words: Iterable[str] | None = None) -> SearchIndex:
    """A SearchIndex on `path` with the administrators' words (another node's directory, tests)."""
    from search_index import SearchIndex

    Path(path).mkdir(parents=True, exist_ok=True)
    index = SearchIndex(path, user_words=list(words) if words is not None else user_words())
    index.before_commit = functools.partial(pause_point, "search.index.before_commit")  # tests only
    _paths[index] = str(path)
    return index


def path_of(index: SearchIndex) -> str:
    try:
        return _paths[index]
    except (KeyError, TypeError):
        return str(getattr(index, "path", None) or current_app.config["SEARCH_INDEX_DIR"])


def user_words() -> list[str]:
    with Session(db.engine) as session:
        return list(session.scalars(select(SearchWord.word).order_by(SearchWord.word)))


def add_words(words: Iterable[str]) -> list[str]:
    """Store administrators' domain terms; returns the ones that were new. Commits."""
    added = []
    for raw in words:
        word = raw.strip()
        if word and db.session.get(SearchWord, word) is None:
            db.session.add(SearchWord(word=word))
            added.append(word)
    db.session.commit()
    return added


def run_search(query: SearchQuery) -> SearchResult:
    """Search the process's index, first applying outbox rows it has not seen (bounded), so a
    change committed on any process or node is found by the next search."""
    index = get_index()
    try:
        if is_behind(index):
            catch_up(
                index, wait=setting("SEARCH_BEFORE_SEARCH_WAIT"), max_rows=setting("SEARCH_BEFORE_SEARCH_MAX_ROWS")
            )
    except Exception:  # a stale result beats an error page; the next run repairs it
        current_app.logger.exception("search: catch-up before the search failed")
    return index.search(query)


def is_behind(index: SearchIndex | None = None, session: Any = None) -> bool:
    """One MAX(id) query (and a lookup of watched gaps, when there are any)."""
    index = index or get_index()
    session = session or db.session
    top = session.scalar(select(func.max(SearchOutbox.id))) or 0
    position = index.last_applied_id()
    state = _read_state(path_of(index))
    if top > (state.position(position) if state else position):
        return True
    if state and state.gaps:
        return session.scalar(select(SearchOutbox.id).where(_in_ranges(state.gaps)).limit(1)) is not None
    return False


# ---------------------------------------------------------------------------------------------
# Lock and shared state beside the index directory


def _sibling(path: str, suffix: str) -> Path:
    p = Path(path)
    return p.with_name(p.name + suffix)


@contextmanager
def sync_lock(path: str, wait: float | None) -> Iterator[bool]:
    """The node's catch-up lock: yields True when held; wait=None blocks, else waits that long."""
    lock_file = _sibling(path, ".sync.lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if wait is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.01)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


Gap = tuple[int, int, float]  # first id, last id, when noticed (epoch seconds)


@dataclass
class SyncState:
    """What a node's catch-ups share beside the index. Valid only while `last_applied_id` equals
    the index's own position. `read_to` >= it: rows up to there were read and changed nothing in
    the index (drafts being edited), so no index commit was spent on them."""

    last_applied_id: int
    gaps: list[Gap] = field(default_factory=list)
    read_to: int = 0

    def position(self, index_position: int) -> int:
        return max(self.read_to, index_position) if self.last_applied_id == index_position else index_position


def _read_state(path: str) -> SyncState | None:
    try:
        raw = json.loads(_sibling(path, ".sync.json").read_text())
        gaps = [(int(a), int(b), float(t)) for a, b, t in raw["gaps"]]
        return SyncState(int(raw["last_applied_id"]), gaps, int(raw.get("read_to", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(path: str, state: SyncState) -> None:
    target = _sibling(path, ".sync.json")
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    data = {"last_applied_id": state.last_applied_id, "read_to": state.read_to, "gaps": state.gaps}
    tmp.write_text(json.dumps(data))
    os.replace(tmp, target)


def _in_ranges(gaps: list[Gap]):
    if len(gaps) <= 50:
        return or_(*(SearchOutbox.id.between(a, b) for a, b, _ in gaps))
    return SearchOutbox.id.between(min(a for a, _, _ in gaps), max(b for _, b, _ in gaps))


def _missing(ids: list[int], low: int, high: int, now: float) -> list[Gap]:
    """Ranges of ids in (low, high] absent from the sorted `ids`."""
    gaps: list[Gap] = []
    expected = low + 1
    for i in ids:
        if i > expected:
            gaps.append((expected, i - 1, now))
        expected = max(expected, i + 1)
    if expected <= high:
        gaps.append((expected, high, now))
    return gaps


def _without(gaps: list[Gap], found: set[int]) -> list[Gap]:
    out: list[Gap] = []
    for a, b, t in gaps:
        inside = sorted(i for i in found if a <= i <= b)
        for part in _missing(inside, a - 1, b, t):
            out.append((part[0], part[1], t))
    return out


# ---------------------------------------------------------------------------------------------
# The indexer


@dataclass
class CatchUp:
    applied: int = 0  # outbox rows applied
    skipped: bool = False  # another process held the lock (it re-checks after releasing)
    last_applied_id: int = 0


def catch_up(
    index: SearchIndex | None = None,
    *,
    limit: int = BATCH,
    wait: float | None = None,
    max_rows: int | None = None,
) -> CatchUp:
    """Apply outbox rows after the index's position (and rows that filled watched gaps), `limit`
    rows per index commit, until none are left or `max_rows` were applied. wait=None waits for
    the lock; otherwise a held lock after `wait` seconds means skip (its holder re-checks)."""
    index = index or get_index()
    path = path_of(index)
    result = CatchUp()
    if wait is not None and _rebuilding(path):
        wait = 0.0  # the lock is held for the whole rebuild: do not make a user wait for it
    while True:
        with sync_lock(path, wait) as held:
            if not held:
                result.skipped = True
                break
            more = True
            while more and (max_rows is None or result.applied < max_rows):
                applied, more = _catch_up_once(index, path, limit)
                result.applied += applied
        if max_rows is not None and result.applied >= max_rows:
            break
        with Session(db.engine) as session:  # re-check after releasing; see the module docstring
            if not is_behind(index, session):
                break
        wait = 0.0
    result.last_applied_id = index.last_applied_id()
    return result


def _catch_up_once(index: SearchIndex, path: str, limit: int) -> tuple[int, bool]:
    gap_seconds = setting("SEARCH_OUTBOX_GAP_SECONDS")
    now = time.time()
    applied = index.last_applied_id()
    state = _read_state(path)
    position = state.position(applied) if state else applied
    columns = (SearchOutbox.id, SearchOutbox.kind, SearchOutbox.object_id)
    with Session(db.engine) as session:
        new = session.execute(
            select(*columns).where(SearchOutbox.id > position).order_by(SearchOutbox.id).limit(limit)
        ).all()
        if state is None or state.last_applied_id != applied:
            # Unknown history: re-apply what may have committed late, watch what is still missing.
            late = _recent_rows(session, position, gap_seconds)
            gaps = _missing([r.id for r in late], late[0].id - 1, position, now) if late else []
        else:
            gaps = [g for g in state.gaps if now - g[2] < gap_seconds]
            late = session.execute(select(*columns).where(_in_ranges(gaps))).all() if gaps else []
            late = [r for r in late if any(a <= r.id <= b for a, b, _ in gaps)]
        top = new[-1].id if new else position
        gaps = _without(gaps, {r.id for r in late}) + _missing([r.id for r in new], position, top, now)
        rows = list(new) + list(late)
        upserts, deletes = _changes(session, [(r.kind, r.object_id) for r in rows]) if rows else ([], [])
    if upserts or deletes:
        index.apply(upserts, deletes, top)
        applied = index.last_applied_id()
    new_state = SyncState(applied, gaps[-1000:], top)
    if state != new_state:
        _write_state(path, new_state)
    return len(rows), len(new) >= limit


def _recent_rows(session: Session, position: int, gap_seconds: float):
    cutoff = utcnow() - timedelta(seconds=gap_seconds)
    return session.execute(
        select(SearchOutbox.id, SearchOutbox.kind, SearchOutbox.object_id)
        .where(
            SearchOutbox.id > position - RECOVERY_IDS, SearchOutbox.id <= position, SearchOutbox.created_at >= cutoff
        )
        .order_by(SearchOutbox.id)
    ).all()


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def _changes(session: Session, changed: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Collapse changes per object, load the current rows in bulk, and say what to upsert and
    what to delete."""
    wanted: dict[str, set[int]] = {kind: set() for kind in KINDS}
    cascade: set[int] = set()
    for kind, object_id in changed:
        if kind == ORG_LISTINGS:
            cascade.add(object_id)
        elif kind in wanted:
            wanted[kind].add(object_id)
    found: dict[str, dict[int, Any]] = {kind: {} for kind in KINDS}
    for kind, model in LISTING_MODELS.items():
        for chunk in _chunks(wanted[kind]):
            for obj in session.scalars(_listing_select(model).where(model.id.in_(chunk))).unique():
                found[kind][obj.id] = obj
        for chunk in _chunks(cascade):
            stmt = _listing_select(model).where(model.org_id.in_(chunk), model.status == ListingStatus.PUBLISHED.value)
            for obj in session.scalars(stmt).unique():
                found[kind][obj.id] = obj
                wanted[kind].add(obj.id)
    for chunk in _chunks(wanted["organization"]):
        for org in session.scalars(select(Organization).where(Organization.id.in_(chunk))):
            found["organization"][org.id] = org
    upserts, deletes = [], []
    contracts = {object_id for kind, object_id in changed if kind == CONTRACT}
    for chunk in _chunks(contracts):
        rows = {c.id: c for c in session.scalars(select(TechContract).where(TechContract.id.in_(chunk)))}
        for object_id in chunk:
            contract = rows.get(object_id)
            if contract is not None and is_public(contract):
                upserts.append(contract_document(contract))
            else:
                deletes.append(key_of(CONTRACT, object_id))
    for kind in KINDS:
        for object_id in sorted(wanted[kind]):
            obj = found[kind].get(object_id)
            if obj is not None and is_public(obj):
                upserts.append(document_for(obj))
            elif not (kind in LISTING_MODELS and obj is not None and obj.published_at is None):
                deletes.append(key_of(kind, object_id))
            # else: a listing never published (a draft being edited) cannot be in the index
    expert_upserts, expert_deletes = _expert_changes(session, changed, cascade)
    return upserts + expert_upserts, deletes + expert_deletes


def _expert_changes(session: Session, changed: list[tuple[str, int]], orgs: set[int]):
    """Experts changed, and the experts of renamed organisations (their documents carry the name)."""
    wanted = {object_id for kind, object_id in changed if kind == EXPERT}
    for chunk in _chunks(orgs):
        wanted |= set(session.scalars(select(Expert.id).where(Expert.organization_id.in_(chunk))))
    found: dict[int, Expert] = {}
    for chunk in _chunks(wanted):
        found |= {e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_(chunk)))}
    upserts, deletes = [], []
    for object_id in sorted(wanted):
        expert = found.get(object_id)
        if expert is not None and expert.active:
            upserts.append(expert_document(expert))
        else:
            deletes.append(key_of(EXPERT, object_id))
    return upserts, deletes


def _listing_select(model):
    stmt = select(model)  # the organisation comes joined (lazy="joined" on the relationship)
    if model is Achievement:
        stmt = stmt.options(selectinload(Achievement.patents))
    return stmt


# ---------------------------------------------------------------------------------------------
# Rebuild, check, prune, stats


def public_count() -> int:
    with Session(db.engine) as session:
        experts = session.scalar(select(func.count(Expert.id)).where(Expert.active.is_(True))) or 0
        experts_and_contracts = experts + (
            session.scalar(select(func.count(TechContract.id)).where(_registered())) or 0
        )
        return experts_and_contracts + sum(
            session.scalar(select(func.count()).select_from(q.subquery())) or 0 for q in _public_selects()
        )


def _public_selects() -> list:
    published = ListingStatus.PUBLISHED.value
    today = local_today()
    return [
        select(Achievement.id).where(Achievement.status == published),
        select(Demand.id).where(
            Demand.status == published, or_(Demand.valid_until.is_(None), Demand.valid_until >= today)
        ),
        select(Organization.id).where(Organization.verified.is_(True)),
    ]


def iter_documents(batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """Every public document, read in batches by id; each batch is its own short read, so a long
    rebuild never holds a read transaction (on SQLite that would stall writers)."""
    for kind, stmt in zip(KINDS, _public_selects(), strict=True):
        model = LISTING_MODELS.get(kind, Organization)
        last = 0
        while True:
            with Session(db.engine) as session:
                ids = list(session.scalars(stmt.where(model.id > last).order_by(model.id).limit(batch)))
                if not ids:
                    break
                query = _listing_select(model) if kind != "organization" else select(Organization)
                rows = session.scalars(query.where(model.id.in_(ids)).order_by(model.id)).unique().all()
                docs = [document_for(obj) for obj in rows]
            yield from docs
            last = ids[-1]
    yield from _expert_documents(batch)
    yield from _contract_documents(batch)


def _registered():
    return TechContract.status == ContractStatus.REGISTERED.value


def _contract_documents(batch: int) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        with Session(db.engine) as session:
            stmt = select(TechContract).where(_registered(), TechContract.id > last).order_by(TechContract.id)
            docs = [contract_document(c) for c in session.scalars(stmt.limit(batch))]
        if not docs:
            break
        yield from docs
        last = docs[-1]["id"]


def _expert_documents(batch: int) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        with Session(db.engine) as session:
            stmt = select(Expert).where(Expert.active.is_(True), Expert.id > last).order_by(Expert.id).limit(batch)
            docs = [expert_document(e) for e in session.scalars(stmt)]
        if not docs:
            break
        yield from docs
        last = docs[-1]["id"]


def reindex(
    index: SearchIndex | None = None, *, progress: Callable[[int], None] | None = None, procs: int | None = None
) -> int:
    """Rebuild the index from the database (atomic swap: searches use the old index meanwhile)
    and record the outbox position read *before* the first row: later changes are caught up.

    The node's catch-up lock is held throughout: a catch-up that read the old index's position
    and applied after the swap would record a position the new index has not reached. Searches
    keep working meanwhile; changes committed during the rebuild appear right after it.
    `procs` goes to the library (None: it uses both cores for large builds)."""
    index = index or get_index()
    path = path_of(index)
    gap_seconds = setting("SEARCH_OUTBOX_GAP_SECONDS")
    with sync_lock(path, None), _rebuild_marker(path):
        with Session(db.engine) as session:
            position = session.scalar(select(func.max(SearchOutbox.id))) or 0
            recent = _recent_rows(session, position, gap_seconds)
            # Rows visible now are in the rebuild; ids still missing may commit late: watch them.
            gaps = _missing([r.id for r in recent], recent[0].id - 1, position, time.time()) if recent else []
        total = public_count()
        extra = {"procs": procs} if procs else {}
        index.rebuild(iter_documents(), position, total=total, progress=_absolute(progress), **extra)
        _write_state(path, SyncState(position, gaps, position))
    catch_up(index)
    return total


@contextmanager
def _rebuild_marker(path: str) -> Iterator[None]:
    marker = _sibling(path, ".rebuilding")
    marker.write_text(str(os.getpid()))
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)


def _rebuilding(path: str) -> bool:
    try:
        pid = int(_sibling(path, ".rebuilding").read_text())
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, another user's
    except (OSError, ValueError):
        return False
    return True


def _absolute(progress: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """The library reports documents done so far; click's bar.update wants increments."""
    if progress is None:
        return None
    done = 0

    def report(count: int) -> None:
        nonlocal done
        if count > done:
            progress(count - done)
            done = count

    return report


def needs_rebuild(index: SearchIndex | None = None) -> bool:
    """True when the index is missing or empty while the database has public rows, or when it was
    built by an older release whose schema lacks a field (e.g. the contract facets)."""
    index = index or get_index()
    if index.schema_outdated():
        return True
    stats = index.stats()
    docs = stats.get("documents", stats.get("docs"))
    if isinstance(docs, dict):
        docs = sum(docs.values())
    empty = (docs == 0) if docs is not None else not index.versions()
    return empty and public_count() > 0


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)  # public in the database, not in the index
    stale: list[str] = field(default_factory=list)  # in both, but the index has an older version
    extra: list[str] = field(default_factory=list)  # in the index, not public in the database
    pending: int = 0  # keys left out because an outbox row for them is not applied yet

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def expected_versions() -> dict[str, str]:
    """key -> version of every public row, from the database (columns only, no documents)."""
    published = ListingStatus.PUBLISHED.value
    out: dict[str, str] = {}
    with Session(db.engine) as session:
        for kind, model in LISTING_MODELS.items():
            stmt = (
                select(model.id, model.updated_at, Organization.name, Organization.org_type)
                .join(Organization, Organization.id == model.org_id)
                .where(model.status == published)
            )
            if model is Demand:
                stmt = stmt.where(or_(Demand.valid_until.is_(None), Demand.valid_until >= local_today()))
            for row in session.execute(stmt):
                out[key_of(kind, row.id)] = listing_version(row.updated_at, row.name, row.org_type)
        for org in session.scalars(select(Organization).where(Organization.verified.is_(True))):
            out[key_of("organization", org.id)] = org_version(org)
        for expert in session.scalars(select(Expert).where(Expert.active.is_(True))):
            out[key_of(EXPERT, expert.id)] = expert_version(expert.updated_at, expert.display_org)
        for contract in session.scalars(select(TechContract).where(_registered())):
            out[key_of(CONTRACT, contract.id)] = contract_version(contract)
    return out


def check(index: SearchIndex | None = None) -> Drift:
    """Compare the index with the database after catching up. Objects with an outbox row newer
    than the compared position (a change committing meanwhile) are not counted as drift."""
    index = index or get_index()
    catch_up(index)
    with sync_lock(path_of(index), None):
        position = index.last_applied_id()
        actual = index.versions()
        state = _read_state(path_of(index))
        position = state.position(position) if state else position
    expected = expected_versions()
    in_flight = _keys_changed_after(position, state.gaps if state else [])
    drift = Drift()
    for key, version in expected.items():
        if key in in_flight:
            drift.pending += 1
        elif key not in actual:
            drift.missing.append(key)
        elif actual[key] != version:
            drift.stale.append(key)
    drift.extra = sorted(k for k in actual if k not in expected and k not in in_flight)
    drift.pending += sum(1 for k in actual if k not in expected and k in in_flight)
    drift.missing.sort()
    drift.stale.sort()
    return drift


def _keys_changed_after(position: int, gaps: list[Gap]) -> set[str]:
    with Session(db.engine) as session:
        condition = SearchOutbox.id > position
        if gaps:
            condition = or_(condition, _in_ranges(gaps))
        rows = session.execute(select(SearchOutbox.kind, SearchOutbox.object_id).where(condition)).all()
        keys = {key_of(r.kind, r.object_id) for r in rows if r.kind != ORG_LISTINGS}
        orgs = [r.object_id for r in rows if r.kind == ORG_LISTINGS]
        for kind, model in LISTING_MODELS.items():
            for chunk in _chunks(orgs):
                keys |= {key_of(kind, i) for i in session.scalars(select(model.id).where(model.org_id.in_(chunk)))}
        for chunk in _chunks(orgs):
            stmt = select(Expert.id).where(Expert.organization_id.in_(chunk))
            keys |= {key_of(EXPERT, i) for i in session.scalars(stmt)}
    return keys


def prune_outbox(index: SearchIndex | None = None, *, retention_days: float | None = None) -> int:
    """Delete outbox rows older than the retention that this node has applied (see the module
    docstring for why other nodes are safe). Commits the session: for commands, not requests."""
    index = index or get_index()
    days = retention_days if retention_days is not None else setting("SEARCH_OUTBOX_RETENTION_DAYS")
    cutoff = utcnow() - timedelta(days=days)
    position = index.last_applied_id()
    result = db.session.execute(
        delete(SearchOutbox).where(SearchOutbox.created_at < cutoff, SearchOutbox.id <= position)
    )
    db.session.commit()
    return result.rowcount or 0


def outbox_stats(index: SearchIndex | None = None) -> dict[str, Any]:
    index = index or get_index()
    position = index.last_applied_id()
    state = _read_state(path_of(index))
    with Session(db.engine) as session:
        rows, first, last = session.execute(
            select(func.count(), func.min(SearchOutbox.id), func.max(SearchOutbox.id))
        ).one()
        backlog, oldest = session.execute(
            select(func.count(), func.min(SearchOutbox.created_at)).where(SearchOutbox.id > position)
        ).one()
        words = session.scalar(select(func.count()).select_from(SearchWord)) or 0
    return {
        "outbox_rows": rows,
        "outbox_first_id": first,
        "outbox_last_id": last,
        "last_applied_id": position,
        "backlog": backlog,
        "oldest_pending_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else 0,
        "watched_gaps": len(state.gaps) if state else 0,
        "admin_words": words,
        # Rows this node never applied may have been pruned: it was down longer than the retention.
        "behind_retention": bool(first is not None and 0 < position < first - 1),
    }


# ---------------------------------------------------------------------------------------------
# Rebuilding from the admin pages: a background thread of this process, its progress in a small
# JSON file beside the index so that every worker of the node shows the same bar.


def reindex_status(path: str | None = None) -> dict[str, Any]:
    """{"state": "idle"|"running"|"done"|"failed", "done", "total", "started", "finished", "error"}."""
    path = path or str(current_app.config["SEARCH_INDEX_DIR"])
    try:
        status = json.loads(_sibling(path, ".reindex.json").read_text())
    except (OSError, ValueError):
        return {"state": "idle", "done": 0, "total": 0}
    if status.get("state") == "running" and not _alive(status.get("pid")):
        status["state"] = "failed"  # the process that ran it is gone
        status["error"] = status.get("error") or "重建进程已中断，请重新开始"
    return status


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True
    except (OSError, TypeError, ValueError):
        return False
    return True


def start_reindex_job(app: Flask) -> threading.Thread:
    """Start a rebuild in a background thread (refused while one is running on this node)."""
    path = str(app.config["SEARCH_INDEX_DIR"])
    if _rebuilding(path) or reindex_status(path).get("state") == "running":
        raise RuntimeError("索引正在重建中，请等待完成")
    status_file = _sibling(path, ".reindex.json")

    def write(**values: Any) -> None:
        status_file.write_text(json.dumps({**values, "pid": os.getpid()}, ensure_ascii=False))

    total = public_count()
    write(state="running", done=0, total=total, started=time.time())

    def run() -> None:
        started = time.time()
        with app.app_context():
            try:
                # A fresh SearchIndex picks up the administrators' words added since start-up.
                index = open_index(path, user_words())
                done = 0

                def progress(step: int) -> None:
                    nonlocal done
                    done += step
                    if done == total or done % 500 < step:
                        write(state="running", done=done, total=total, started=started)

                count = reindex(index, progress=progress)
                write(state="done", done=count, total=count, started=started, finished=time.time())
            except Exception as exc:  # the admin page must say it failed, not spin forever
                app.logger.exception("search reindex failed")
                write(state="failed", done=0, total=total, started=started, finished=time.time(), error=str(exc))
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="search-reindex", daemon=True)
    thread.start()
    app.extensions.setdefault("search_jobs", []).append(thread)
    return thread
