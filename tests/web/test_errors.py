"""Error pages in Chinese for people, JSON errors for API callers."""

import pytest

from marketplace import create_app


@pytest.fixture
def failing_app(app, tmp_path):
    broken = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        UPLOAD_DIR=str(tmp_path),
        SEARCH_INDEX_DIR=str(tmp_path),
        WTF_CSRF_ENABLED=False,
        PROPAGATE_EXCEPTIONS=False,
    )

    @broken.get("/boom")
    def boom():
        raise RuntimeError("bug")

    @broken.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("bug")

    return broken


def test_unexpected_error_shows_a_chinese_page_without_details(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "服务器出错了" in page and "RuntimeError" not in page and "Traceback" not in page


def test_unexpected_api_error_is_json(failing_app):
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "server_error"


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("/no-such-page", 404, "找不到页面"),
        ("/achievements/424242", 404, "不存在"),
    ],
)
def test_not_found_pages_are_in_chinese(client, url, status, text):
    response = client.get(url)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


def test_api_not_found_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "not_found", "message": "页面不存在", "fields": {}}


def test_wrong_method_is_refused(client):
    assert client.get("/logout").status_code == 405


@pytest.fixture
def out_of_range_app(failing_app):
    """A route whose query gets a number no INTEGER holds: PostgreSQL's real error (22003); on
    SQLite, which has no such limit, the same error as psycopg raises it."""
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    from marketplace.extensions import db

    def huge():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT CAST(:n AS INTEGER)"), {"n": 99999999999})
        raise DataError("SELECT CAST(...)", {}, psycopg.errors.NumericValueOutOfRange("integer out of range"))

    failing_app.add_url_rule("/huge", "huge", huge)
    failing_app.add_url_rule("/api/v1/huge", "api_huge", huge)
    yield failing_app
    with failing_app.app_context():  # this second app's own pool: close its connection
        db.session.remove()
        db.engine.dispose()


def test_a_number_past_the_database_range_is_a_422_not_a_500(out_of_range_app):
    client = out_of_range_app.test_client()
    page = client.get("/huge")
    assert page.status_code == 422 and "输入的数值超出范围" in page.get_data(as_text=True)
    api = client.get("/api/v1/huge")
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "number_out_of_range"
    assert client.get("/no-such-page").status_code == 404  # the session was rolled back and still works
