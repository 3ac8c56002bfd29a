"""Two app nodes on one PostgreSQL database, each with its own search index (README: "Running on
PostgreSQL with several workers"): a listing published through node 1 is found on node 2 within
seconds, and a node 2 that was down while something was published catches up when it starts.

Real processes, as production runs them: gunicorn per node (search catch-up after requests on, the
default) and `flask search worker` beside node 2's gunicorn. The figures are printed (`-s`).
The server helpers here are shared with tests/unit/test_db_unreachable.py."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import BASE_DIR, _normalise_db_url

VENV_BIN = Path(BASE_DIR) / ".venv" / "bin"
if not (VENV_BIN / "gunicorn").exists():  # a venv elsewhere: the running interpreter's
    VENV_BIN = Path(os.sys.executable).parent


def is_postgresql(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith(("postgresql", "postgres"))


needs_postgresql = pytest.mark.skipif(
    not is_postgresql(os.environ.get("TEST_DATABASE_URL")),
    reason="needs TEST_DATABASE_URL=postgresql://… (several server processes share one database)",
)


# ---------------------------------------------------------------------------------------------
# A dedicated database and server processes


def admin_engine():
    base = make_url(_normalise_db_url(os.environ["TEST_DATABASE_URL"]))
    return create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")


@contextmanager
def dedicated_database(suffix: str) -> Iterator[str]:
    """A fresh database `<TEST_DATABASE_URL's>_<suffix>` migrated with the real migrations;
    dropped afterwards (whoever is still connected is disconnected)."""
    base = make_url(_normalise_db_url(os.environ["TEST_DATABASE_URL"]))
    name = f"{base.database}_{suffix}"
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        migrated = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
            cwd=BASE_DIR,
            env=server_env(url, {}),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def server_env(database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "FLASK_ENV", "REDIS_URL")}
    env.update(APP_CONFIG="production", SECRET_KEY=secrets.token_hex(16), DATABASE_URL=database_url)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process in its own process group, its output in a log file; stop() ends it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=BASE_DIR, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with suppress(ProcessLookupError, PermissionError):  # whatever of its group is left (gunicorn's workers)
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=5)
        self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Node:
    """One app node: gunicorn on a loopback port with its own SEARCH_INDEX_DIR; optionally the
    node's `flask search worker`."""

    def __init__(self, name: str, database_url: str, tmp: Path, *, worker: bool = False):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        home = tmp / name
        home.mkdir(parents=True, exist_ok=True)
        self.env = server_env(
            database_url,
            {
                "SEARCH_INDEX_DIR": str(home / "index"),
                "UPLOAD_DIR": str(tmp / "uploads"),  # shared by every node
                "INSTANCE_DIR": str(home / "instance"),
            },
        )
        argv = [str(VENV_BIN / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "5"]
        self.server = Process(f"{name}-gunicorn", [*argv, "wsgi:app"], self.env, tmp)
        self.worker = (
            Process(f"{name}-worker", [str(VENV_BIN / "flask"), "--app", "wsgi", "search", "worker"], self.env, tmp)
            if worker
            else None
        )

    def start(self, timeout: float = 60.0) -> Node:
        self.server.start()
        if self.worker:
            self.worker.start()
        wait_for(lambda: self.get("/healthz")[0] == 200, timeout, f"{self.name} to answer /healthz", self)
        return self

    def stop(self) -> None:
        for process in (self.worker, self.server):
            if process:
                process.stop()

    def request(self, method: str, path: str, body: Any = None, token: str | None = None, accept: str | None = None):
        """(status, headers, parsed JSON or text) — errors included, never raised."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return 0, {}, str(error)
        content = raw.decode("utf-8", errors="replace")
        if headers.get("Content-Type", "").startswith("application/json"):
            return status, headers, json.loads(content)
        return status, headers, content

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def logs(self) -> str:
        return "\n".join(p.tail() for p in (self.server, self.worker) if p)


def wait_for(check: Callable[[], Any], timeout: float, what: str, *nodes: Node, interval: float = 0.05) -> float:
    """Poll `check` until it returns something true; the seconds it took. Fails after `timeout`."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            logs = "\n".join(node.logs() for node in nodes)
            pytest.fail(f"waited {timeout:.0f} s for {what}\n{logs}")
        time.sleep(interval)


@contextmanager
def running(*nodes: Node) -> Iterator[None]:
    try:
        yield
    finally:
        for node in nodes:
            node.stop()


# ---------------------------------------------------------------------------------------------
# The test


def seed_accounts(database_url: str, tmp: Path) -> dict[str, str]:
    """A verified university with a member and an admin, each with an API token (via the services)."""
    from marketplace import create_app
    from marketplace.accounts import services as accounts
    from marketplace.extensions import db

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=_normalise_db_url(database_url),
        UPLOAD_DIR=str(tmp / "uploads"),
        SEARCH_INDEX_DIR=str(tmp / "seed-index"),
    )
    with app.app_context():
        try:
            org = accounts.create_org({"name": "日照海洋大学", "org_type": "university"}, verified=True)
            owner = accounts.create_user(
                {"email": "owner@example.cn", "name": "王老师", "role": "university", "password": "Passw0rd-demo"}, org
            )
            admin = accounts.create_user(
                {"email": "admin@example.cn", "name": "审核员", "role": "admin", "password": "Passw0rd-demo"}
            )
            tokens = {"owner": accounts.create_token(owner, "node"), "admin": accounts.create_token(admin, "node")}
            db.session.commit()
            return tokens
        finally:
            db.session.remove()
            db.engine.dispose()


def publish(node: Node, tokens: dict[str, str], title: str) -> int:
    """Create, submit and approve an achievement through `node`'s API; its id."""
    from tests.conftest import achievement_data

    status, _, body = node.request(
        "POST", "/api/v1/achievements", achievement_data(title=title, patent_numbers=""), tokens["owner"]
    )
    assert status == 201, body
    listing_id = body["id"]
    url = f"/api/v1/achievements/{listing_id}"
    status, _, body = node.request("POST", f"{url}/submit", {}, tokens["owner"])
    assert status == 200, body
    status, _, body = node.request("POST", f"{url}/review", {"decision": "approve"}, tokens["admin"])
    assert status == 200 and body["status"]["code"] == "published", body
    return listing_id


def found(node: Node, query: str, listing_id: int) -> bool:
    status, _, body = node.get(f"/api/v1/search?q={urllib.parse.quote(query)}&type=achievement")
    return status == 200 and any(item["id"] == listing_id for item in body["items"])


def caught_up(node: Node) -> bool:
    status, _, body = node.get("/healthz")
    return status == 200 and body["search"]["lag_rows"] == 0


PROPAGATION_LIMIT = 10.0  # seconds: "within a few seconds", with room for a loaded CI machine


@needs_postgresql
def test_a_listing_published_on_node_1_is_found_on_node_2_and_a_restarted_node_catches_up(tmp_path):
    with dedicated_database("nodes") as url:
        tokens = seed_accounts(url, tmp_path)
        node1 = Node("node1", url, tmp_path)
        node2 = Node("node2", url, tmp_path, worker=True)
        with running(node1, node2):
            node1.start()
            node2.start()
            for node in (node1, node2):  # the first search of a worker loads the dictionary (~1 s)
                assert node.get("/api/v1/search?q=" + urllib.parse.quote("预热"))[0] == 200
            wait_for(lambda: caught_up(node2), 30, "node 2 to be caught up before the test", node2)

            figures = []
            for title, query in (("深远海养殖网箱智能投喂系统", "深远海养殖"), ("氢冶金短流程炼钢工艺", "氢冶金")):
                listing_id = publish(node1, tokens, title)
                published = time.monotonic()
                assert found(node1, query, listing_id), "node 1 finds what it published"
                # /healthz never catches up, so node 2's lag reaching 0 is node 2's worker's doing.
                wait_for(lambda: caught_up(node2), PROPAGATION_LIMIT, "node 2's worker", node2)
                indexed = time.monotonic() - published
                wait_for(lambda q=query, i=listing_id: found(node2, q, i), PROPAGATION_LIMIT, "node 2's search", node2)
                figures.append((title, query, listing_id, indexed, time.monotonic() - published))
            for title, _query, _id, indexed, searchable in figures:
                print(
                    f"\n{title}: node 2's index caught up {indexed:.2f} s after the publish; found {searchable:.2f} s"
                )

            node2.stop()
            assert not node2.server.alive()
            listing_id = publish(node1, tokens, "软件定义卫星星载计算平台")
            assert found(node1, "软件定义卫星", listing_id)
            started = time.monotonic()
            node2.start()  # same index directory as before: it must catch up, not start over
            wait_for(lambda: caught_up(node2), PROPAGATION_LIMIT, "the restarted node 2 to catch up", node2)
            assert found(node2, "软件定义卫星", listing_id)
            for _title, query, earlier_id, _indexed, _searchable in figures:
                assert found(node2, query, earlier_id), "what node 2 indexed before it stopped is still there"
            print(f"node 2 restarted and caught up {time.monotonic() - started:.2f} s after its start")
