"""Test-only pause points: where a fault test kills a process with SIGKILL in the middle of a unit
of work (tests/unit/test_faults_kill.py).

`pause_point(name)` does nothing unless the environment variable ``KJTB_TEST_PAUSE_AT`` names this
point. Then it writes a marker file (``KJTB_TEST_PAUSE_MARKER``, default
``<tmp>/kjtb-pause-<pid>``) holding the pid and the point's name, and sleeps until it is killed
(at most ``KJTB_TEST_PAUSE_SECONDS``, default 60, then it carries on as if nothing happened).
``KJTB_TEST_PAUSE_AT=<name>:<n>`` pauses at the n-th time the point is reached (e.g. the third
batch of an import), counting per process.

Unset, a call costs one dictionary lookup. Never set the variable in production: a paused worker
holds its transaction (and on PostgreSQL its row locks) until it is killed.

The points (keep them few; each sits after the flush and before the commit of its unit of work):

* ``import.before_batch_commit`` — `listings.importer.import_rows`, before each batch commit
  (every `batch_size` rows; the final commit of the rest is not a pause point);
* ``contract.register.before_commit`` — `deals.contracts.register`, after the number was taken,
  the contract flushed and its audit/outbox rows added, before the caller commits;
* ``trading.bid.before_commit`` — `trading.services.place_bid`, after the auction UPDATE and the bid
  row were flushed, before the caller commits;
* ``search.index.before_commit`` — `search_index.SearchIndex.apply`, with the documents and the
  outbox position written to the Whoosh writer, before its commit (wired by `marketplace.search`).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

ENV = "KJTB_TEST_PAUSE_AT"
MARKER_ENV = "KJTB_TEST_PAUSE_MARKER"
SECONDS_ENV = "KJTB_TEST_PAUSE_SECONDS"

POINTS = (
    "import.before_batch_commit",
    "contract.register.before_commit",
    "trading.bid.before_commit",
    "search.index.before_commit",
)

_hits: dict[str, int] = {}


def pause_point(name: str) -> None:
    """Pause here when KJTB_TEST_PAUSE_AT names this point (see the module docstring)."""
    target = os.environ.get(ENV)
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] != (int(nth) if nth else 1):
        return
    marker = Path(os.environ.get(MARKER_ENV) or Path(tempfile.gettempdir()) / f"kjtb-pause-{os.getpid()}")
    partial = marker.with_name(marker.name + ".tmp")
    partial.write_text(f"{os.getpid()} {name}\n")
    os.replace(partial, marker)  # the parent never reads a half-written marker
    deadline = time.monotonic() + float(os.environ.get(SECONDS_ENV) or 60)
    while time.monotonic() < deadline:
        time.sleep(0.05)
