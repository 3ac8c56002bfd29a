"""Fixtures shared by every test: the app (schema built by the real migrations), a clean
database per test, clients logged in per role, and small factories.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from marketplace import create_app
from marketplace.accounts import services as accounts
from marketplace.accounts.models import Organization, User
from marketplace.core.taxonomy import MembershipStatus
from marketplace.extensions import db as _db
from marketplace.listings import services as listings

PASSWORD = "Passw0rd-demo"
_seq = itertools.count(1)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if url.startswith(("postgresql", "postgres:")):
            # pytest -n: one database per worker; either way created when missing
            return _worker_database(url, os.environ.get("PYTEST_XDIST_WORKER"))
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def _worker_database(url: str, worker: str | None) -> str:
    """TEST_DATABASE_URL's database, with the xdist worker's name appended (kjtb_test_gw0 …) under
    pytest -n, created on the same server when missing; each session drops and rebuilds its schema."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from config import _normalise_db_url

    base = make_url(_normalise_db_url(url))
    name = f"{base.database}_{worker}" if worker else base.database
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(tmp_path_factory) -> Iterator[Flask]:
    from config import _normalise_db_url

    url = _normalise_db_url(_database_url(tmp_path_factory))
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=str(tmp_path_factory.mktemp("uploads")),
        SEARCH_INDEX_DIR=str(tmp_path_factory.mktemp("index")),
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        if url.startswith("postgresql"):
            with _db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()  # the real migrations, never create_all
        _db.session.remove()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def db(app: Flask) -> Iterator[Any]:
    """An app context and an empty database for each test."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def index(app: Flask, tmp_path):
    """A fresh search index directory for this test (the database is emptied between tests, so
    row ids are reused and an index kept across tests would hold stale documents)."""
    from marketplace import search

    previous = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "index")
    yield search.get_index()
    app.config["SEARCH_INDEX_DIR"] = previous


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def csrf_enabled(app: Flask) -> Iterator[None]:
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


# ---------------------------------------------------------------------------------------------
# Factories


@pytest.fixture
def make_org() -> Callable[..., Organization]:
    def factory(name: str | None = None, org_type: str = "university", verified: bool = True, **extra) -> Organization:
        org = accounts.create_org(
            {"name": name or f"测试机构{next(_seq)}", "org_type": org_type, **extra}, verified=verified
        )
        _db.session.commit()
        return org

    return factory


@pytest.fixture
def make_user(make_org) -> Callable[..., User]:
    default_org_type = {
        "university": "university",
        "enterprise": "enterprise",
        "broker": "agency",
        "official": "government",
        "admin": None,
    }

    def factory(
        role: str = "university",
        org: Organization | None | str = "auto",
        email: str | None = None,
        password: str = PASSWORD,
        manager: bool = False,
        membership: MembershipStatus = MembershipStatus.ACTIVE,
        **extra,
    ) -> User:
        if org == "auto":
            org_type = default_org_type[role]
            org = make_org(org_type=org_type) if org_type else None
        data = {
            "email": email or f"user{next(_seq)}@example.cn",
            "name": extra.pop("name", f"{role}用户"),
            "role": role,
            "password": password,
            **extra,
        }
        if role == "broker":
            data.setdefault("broker_level", "junior")
            data.setdefault("broker_cert_no", "JJR-2025-0001")
        user = accounts.create_user(data, org, membership=membership, manager=manager)
        _db.session.commit()
        return user

    return factory


def achievement_data(**overrides) -> dict[str, Any]:
    data = {
        "title": "基于机器视觉的尺寸测量系统",
        "summary": "本项目采用机器视觉原理，开发一套通用的尺寸测量系统，可进行距离、宽度、角度、圆半径测量。",
        "field": "0303",
        "keywords": "机器视觉；尺寸测量",
        "maturity": "sample",
        "ip_type": "invention",
        "patent_numbers": "ZL201720001285.X",
        "transfer_modes": ["transfer", "license"],
        "price": "50万元",
        "contact_name": "王老师",
        "contact_phone": "0633-8888888",
    }
    data.update(overrides)
    return data


def demand_data(**overrides) -> dict[str, Any]:
    data = {
        "title": "LED升压恒流驱动电路",
        "description": "现有LED灯采用串联电阻限流，电能浪费且亮度不稳定。现寻求一种技术，保证LED恒流供电、亮度不变。",
        "field": "0101",
        "keywords": "LED, 恒流驱动",
        "demand_type": "tackle",
        "budget": "10-20万",
        "contact_name": "李经理",
        "contact_phone": "13800138000",
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_achievement(make_user) -> Callable[..., Any]:
    def factory(owner: User | None = None, status: str = "published", **overrides):
        owner = owner or make_user("university")
        listing = listings.create_listing("achievement", owner, achievement_data(**overrides))
        _advance(listing, owner, status)
        return listing

    return factory


@pytest.fixture
def make_demand(make_user) -> Callable[..., Any]:
    def factory(owner: User | None = None, status: str = "published", **overrides):
        owner = owner or make_user("enterprise")
        listing = listings.create_listing("demand", owner, demand_data(**overrides))
        _advance(listing, owner, status)
        return listing

    return factory


def _advance(listing, owner: User, status: str) -> None:
    """Walk a new draft through the real workflow to the wanted status."""
    admin = _db.session.scalar(_db.select(User).where(User.role == "admin")) or accounts.create_user(
        {"email": f"reviewer{next(_seq)}@example.cn", "name": "审核员", "role": "admin", "password": PASSWORD}
    )
    steps = {
        "draft": [],
        "pending": [("submit", owner)],
        "published": [("submit", owner), ("approve", admin)],
        "withdrawn": [("submit", owner), ("approve", admin), ("withdraw", owner)],
        "closed": [("submit", owner), ("approve", admin), ("close", owner)],
    }[status]
    for action, actor in steps:
        listings.transition(listing, action, actor)
    _db.session.commit()


# ---------------------------------------------------------------------------------------------
# Logged-in clients


def login(client: FlaskClient, user: User) -> FlaskClient:
    """Log a test client in as `user` without going through the form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def login_as(app: Flask) -> Callable[[User], FlaskClient]:
    return lambda user: login(app.test_client(), user)


@pytest.fixture
def university_client(login_as, make_user) -> FlaskClient:
    return login_as(make_user("university"))


@pytest.fixture
def enterprise_client(login_as, make_user) -> FlaskClient:
    return login_as(make_user("enterprise"))


@pytest.fixture
def broker_client(login_as, make_user) -> FlaskClient:
    return login_as(make_user("broker"))


@pytest.fixture
def official_client(login_as, make_user) -> FlaskClient:
    return login_as(make_user("official"))


@pytest.fixture
def admin_client(login_as, make_user) -> FlaskClient:
    return login_as(make_user("admin", org=None))


@pytest.fixture
def api_client(app: Flask):
    """A client for the JSON API with a bearer token for a given user: api_client(user)."""

    class ApiClient:
        def __init__(self, user: User):
            self.user = user
            self.token = accounts.create_token(user, "test")
            _db.session.commit()
            self._client = app.test_client()

        def open(self, method: str, url: str, **kwargs):
            headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
            return self._client.open(url, method=method, headers=headers, **kwargs)

        def get(self, url, **kw):
            return self.open("GET", url, **kw)

        def post(self, url, **kw):
            return self.open("POST", url, **kw)

        def patch(self, url, **kw):
            return self.open("PATCH", url, **kw)

        def delete(self, url, **kw):
            return self.open("DELETE", url, **kw)

    return ApiClient
