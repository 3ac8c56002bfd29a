"""`GET /healthz`: what a load balancer reads — the database answers, the search index's lag —
public, without a session cookie, never rate-limited, and never catching the index up itself.
(The database being down: tests/unit/test_db_unreachable.py.)"""

from __future__ import annotations

import pytest

from marketplace import create_app, search
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from tests.conftest import login


def healthz(client):
    response = client.get("/healthz")
    assert response.mimetype == "application/json"
    return response


def test_a_healthy_node_answers_ok_with_every_figure(client, index):
    response = healthz(client)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["database"]["latency_ms"] >= 0
    assert body["search"] == {"ok": True, "last_applied_id": 0, "outbox_max_id": 0, "lag_rows": 0}
    assert body["version"] == "0.1.0"
    assert response.headers["Cache-Control"] == "no-store"


def test_app_version_setting_is_reported(app, client, index, monkeypatch):
    monkeypatch.setitem(app.config, "APP_VERSION", "2025.06-3f2a9c1")
    assert healthz(client).get_json()["version"] == "2025.06-3f2a9c1"


def test_the_lag_is_counted_and_the_probe_does_not_catch_up(app, client, index, make_achievement, monkeypatch):
    make_achievement(title="深远海养殖网箱智能投喂系统")  # outside a request: nothing indexed yet
    top = _db.session.scalar(_db.select(_db.func.max(search.SearchOutbox.id)))
    assert top > 0
    # Outbox ids never restart (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): after other
    # tests `top` may pass the default threshold, so set one this fresh index is below.
    monkeypatch.setitem(app.config, "HEALTH_MAX_INDEX_LAG", top + 1000)

    body = healthz(client).get_json()
    assert body["status"] == "ok"  # below the threshold
    assert body["search"] == {"ok": True, "last_applied_id": 0, "outbox_max_id": top, "lag_rows": top}
    assert index.last_applied_id() == 0 and search.is_behind(index), "the probe must not index"

    search.catch_up(index)
    body = healthz(client).get_json()
    assert body["search"]["lag_rows"] == 0 and body["search"]["last_applied_id"] == top


def test_an_index_beyond_the_allowed_lag_is_degraded_but_still_200(app, client, index, make_achievement, monkeypatch):
    make_achievement()
    monkeypatch.setitem(app.config, "HEALTH_MAX_INDEX_LAG", 1)
    response = healthz(client)
    assert response.status_code == 200  # the node still serves; the index will catch up
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["search"]["ok"] is False and body["search"]["lag_rows"] > 1
    assert body["search"]["error"] == "index_behind"
    assert body["database"]["ok"] is True

    search.catch_up(index)
    assert healthz(client).get_json()["status"] == "ok"


def test_an_unreadable_index_directory_is_degraded(app, client, tmp_path, monkeypatch):
    broken = tmp_path / "broken-index"
    (broken / "CURRENT").mkdir(parents=True)  # the file naming the live generation cannot be read
    monkeypatch.setitem(app.config, "SEARCH_INDEX_DIR", str(broken))
    response = healthz(client)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["search"]["ok"] is False and body["search"]["error"] == "index_unreadable"
    assert body["database"]["ok"] is True


@pytest.mark.parametrize("logged_in", [False, True])
def test_no_login_needed_and_no_session_cookie_set(client, index, make_user, logged_in):
    if logged_in:
        login(client, make_user("university"))
    response = healthz(client)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_the_probe_is_never_rate_limited(app, tmp_path):
    """With a default limit of 2 a minute on every route, the home page is refused on its third
    request; the probe answers every one."""
    was_enabled = limiter.enabled
    saved_defaults = limiter.limit_manager._default_limits  # the instance is shared by every app
    limiter.limit_manager._default_limits = []
    limited = create_app(
        "testing",
        RATELIMIT_ENABLED=True,
        RATELIMIT_DEFAULT="2 per minute",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        UPLOAD_DIR=str(tmp_path / "uploads"),
        SEARCH_INDEX_DIR=str(tmp_path / "index"),
    )
    try:
        client = limited.test_client()
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
        assert {client.get("/healthz").status_code for _ in range(10)} == {200}
    finally:
        limiter.enabled = was_enabled
        limiter.limit_manager._default_limits = saved_defaults
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()
