"""The database goes away: `/healthz` says "down" with 503, pages get a 503 page in Chinese and API
callers a JSON 503 (never a stack trace), and the same process answers again once the database is
back — no restart. Other database errors stay the 500 they were.

On SQLite the outage is real too: the app opens a connection per checkout (NullPool) and the
database's directory is moved away, so opening the file fails as an unreachable server does. On
PostgreSQL a real gunicorn process loses its database (connections terminated, new ones refused)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from config import Config
from marketplace import create_app
from marketplace.accounts import services as accounts
from marketplace.extensions import db as _db
from marketplace.health.errors import is_connection_failure
from tests.conftest import PASSWORD, login
from tests.unit.test_two_nodes import Node, admin_engine, dedicated_database, needs_postgresql, wait_for

MESSAGE = "数据库暂时无法连接，请稍后再试"


# ---------------------------------------------------------------------------------------------
# Which errors are an outage


def wrapped(orig: Exception, statement: str | None = None, cls=OperationalError, invalidated: bool = False):
    return cls(statement, None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (wrapped(psycopg.OperationalError("connection failed: Connection refused")), True),
        (wrapped(psycopg.OperationalError("server closed the connection"), "SELECT 1", invalidated=True), True),
        (wrapped(psycopg.errors.AdminShutdown("terminating connection"), "SELECT 1"), True),
        (wrapped(psycopg.errors.TooManyConnections("too many clients")), True),
        (wrapped(sqlite3.OperationalError("unable to open database file")), True),
        # a statement's own failures: the services that expect them catch them; others stay a 500
        (wrapped(psycopg.errors.LockNotAvailable("lock timeout"), "SELECT … FOR UPDATE"), False),
        (wrapped(psycopg.errors.QueryCanceled("statement timeout"), "SELECT …"), False),
        (wrapped(psycopg.errors.SerializationFailure("could not serialize")), False),
        (wrapped(sqlite3.OperationalError("database is locked")), False),  # on COMMIT: no statement
        (wrapped(sqlite3.OperationalError("no such table: x"), "SELECT * FROM x"), False),
        (wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), "INSERT …", IntegrityError), False),
        (ValueError("not a database error"), False),
    ],
    ids=lambda v: type(getattr(v, "orig", v)).__name__ if isinstance(v, Exception) else str(v),
)
def test_only_connection_failures_count_as_an_outage(exc, outage):
    assert is_connection_failure(exc) is outage


# ---------------------------------------------------------------------------------------------
# SQLite: the database file cannot be opened


@pytest.fixture(scope="module")
def outage(tmp_path_factory) -> Iterator[tuple]:
    """An app on its own SQLite file, and a context manager that takes the file away."""
    home = tmp_path_factory.mktemp("outage")
    data = home / "data"
    data.mkdir()
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{data / 'app.db'}",
        # A connection per checkout, as a server database has to be reached again for each: a pooled
        # SQLite connection would keep the moved file open and never notice.
        SQLALCHEMY_ENGINE_OPTIONS={**Config.SQLALCHEMY_ENGINE_OPTIONS, "poolclass": NullPool},
        UPLOAD_DIR=str(home / "uploads"),
        SEARCH_INDEX_DIR=str(home / "index"),
        WTF_CSRF_ENABLED=False,
    )

    @app.get("/_broken-query")
    def broken_query():
        _db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        user = accounts.create_user(
            {"email": "outage@example.cn", "name": "王老师", "role": "admin", "password": PASSWORD}
        )
        _db.session.commit()
        session_id = user.get_id()  # what Flask-Login keeps in the session
        _db.session.remove()

    @contextmanager
    def database_down() -> Iterator[None]:
        away = home / "data-away"
        data.rename(away)
        try:
            yield
        finally:
            away.rename(data)

    yield app, database_down, session_id
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def test_healthz_is_503_down_while_the_database_is_unreachable_and_ok_again_after(outage):
    app, database_down, _ = outage
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    with database_down():
        response = client.get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "down"
        assert body["database"] == {"ok": False, "latency_ms": None}
        assert body["search"]["ok"] is False and body["search"]["lag_rows"] is None
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


@pytest.mark.parametrize("logged_in", [False, True])
def test_a_page_is_a_503_page_in_chinese_and_the_same_app_recovers(outage, logged_in):
    app, database_down, session_id = outage
    client = app.test_client()
    if logged_in:
        login(client, type("SessionUser", (), {"get_id": lambda self: session_id})())
    response = client.get("/achievements")
    assert response.status_code == 200
    assert ("退出登录" in response.get_data(as_text=True)) is logged_in
    with database_down():
        response = client.get("/achievements")
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.mimetype == "text/html"
        assert MESSAGE in page and "错误代码 503" in page
        assert "Traceback" not in page and "sqlite3" not in page
        assert response.headers["Retry-After"].isdigit()
    response = client.get("/achievements")
    assert response.status_code == 200
    assert ("退出登录" in response.get_data(as_text=True)) is logged_in  # the outage logged nobody out


def test_an_api_caller_gets_a_json_503(outage):
    app, database_down, _ = outage
    client = app.test_client()
    with database_down():
        response = client.get("/api/v1/achievements")
        assert response.status_code == 503
        assert response.get_json() == {"error": {"code": "database_unavailable", "message": MESSAGE, "fields": {}}}
    assert client.get("/api/v1/achievements").status_code == 200


def test_other_database_errors_stay_a_500(outage, monkeypatch):
    app, _, _ = outage
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    response = app.test_client().get("/_broken-query")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "服务器出错了" in page and MESSAGE not in page


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a real server process loses its database and gets it back


def worker_pids(node: Node) -> list[int]:
    pid = node.server.proc.pid
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


@needs_postgresql
def test_a_running_server_answers_503_while_postgresql_refuses_and_recovers_without_restart(tmp_path):
    with dedicated_database("outage") as url:
        name = url.rsplit("/", 1)[1]
        admin = admin_engine()
        node = Node("outage", url, tmp_path)
        try:
            node.start()
            assert node.get("/achievements")[0] == 200  # the worker now holds a pooled connection
            workers = worker_pids(node)

            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )
            status, _, body = node.get("/healthz")
            assert status == 503 and body["status"] == "down" and body["database"]["ok"] is False
            status, headers, page = node.get("/achievements")
            assert status == 503 and MESSAGE in page and "Traceback" not in page
            assert headers["Content-Type"].startswith("text/html")
            status, _, body = node.get("/api/v1/achievements")
            assert status == 503 and body["error"]["code"] == "database_unavailable"

            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            wait_for(lambda: node.get("/healthz")[0] == 200, 10, "the node to see the database again", node)
            status, _, body = node.get("/healthz")
            assert body["status"] == "ok"
            assert node.get("/achievements")[0] == 200
            assert node.server.alive() and worker_pids(node) == workers, "recovered without a restart"
        finally:
            node.stop()
            admin.dispose()
