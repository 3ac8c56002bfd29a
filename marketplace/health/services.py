"""What `/healthz` reports: can this node reach the database, and how far behind is its search index.

Cheap by design (a load balancer asks every few seconds): one connection from the pool for
`SELECT 1` and one `MAX(id)` on the outbox, and the index's recorded position (a small file read
once the searcher is open). It never catches the index up: that is the searches' and the worker's
job, and a probe that wrote to the index would hide the lag it is meant to show."""

from __future__ import annotations

import time
import tomllib
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from config import BASE_DIR

from .. import search
from ..extensions import db
from ..outbox_models import SearchOutbox

DEFAULT_MAX_INDEX_LAG = 1000


def health() -> tuple[dict[str, Any], int]:
    """The report and its HTTP status: 200 while the database answers (status "ok", or "degraded"
    when the index lags by more than HEALTH_MAX_INDEX_LAG rows or cannot be read), else 503 "down"."""
    database, outbox_max_id = _database()
    index = _search(outbox_max_id)
    if not database["ok"]:
        status = "down"
    elif not index["ok"]:
        status = "degraded"
    else:
        status = "ok"
    report = {"status": status, "database": database, "search": index, "version": version()}
    return report, 503 if status == "down" else 200


def _database() -> tuple[dict[str, Any], int | None]:
    started = time.perf_counter()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            outbox_max_id = conn.scalar(select(func.max(SearchOutbox.id))) or 0
    except Exception as exc:  # any failure to answer is "down"; the reason goes to the log, not to the world
        current_app.logger.warning("healthz: the database does not answer: %s", exc)
        return {"ok": False, "latency_ms": None}, None
    return {"ok": True, "latency_ms": round(latency, 1)}, outbox_max_id


def _search(outbox_max_id: int | None) -> dict[str, Any]:
    max_lag = int(current_app.config.get("HEALTH_MAX_INDEX_LAG", DEFAULT_MAX_INDEX_LAG))
    report: dict[str, Any] = {"ok": False, "last_applied_id": None, "outbox_max_id": outbox_max_id, "lag_rows": None}
    if outbox_max_id is None:  # the database is down: the lag is unknown (and opening the index asks it)
        return report
    try:
        position = _index_position()
    except Exception as exc:  # an unreadable index directory (permissions, a broken disk)
        current_app.logger.warning("healthz: the search index cannot be read: %s", exc)
        report["error"] = "index_unreadable"
        return report
    report["last_applied_id"] = position
    lag = max(outbox_max_id - position, 0)
    report.update(lag_rows=lag, ok=lag <= max_lag)
    if lag > max_lag:
        report["error"] = "index_behind"
    return report


def _index_position() -> int:
    """How far this node's index has read the outbox, as `search.is_behind` counts it: the recorded
    position, or further when the node's sync state says the rows after it changed nothing."""
    index = search.get_index()
    position = index.last_applied_id()
    state = search._read_state(search.path_of(index))  # the same rule as is_behind
    return state.position(position) if state else position


@cache
def _project_version() -> str:
    try:
        with open(BASE_DIR / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def version() -> str:
    """APP_VERSION (a deployment sets it to its release or commit), else pyproject's version."""
    return current_app.config.get("APP_VERSION") or _project_version()
