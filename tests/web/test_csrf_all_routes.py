"""CSRF on every state-changing route, enumerated from the URL map (a new POST, PUT, PATCH or
DELETE route is covered without anyone listing it here).

For each route a user who may use it (taken from the access matrix, tests/web/test_access_matrix.py)
sends the request from a logged-in browser session:
* without a CSRF token: 400 with the Chinese CSRF page — or, under /api/v1, the JSON error
  `csrf_failed`: a session cookie alone never writes through the API (a bearer token, which a
  browser cannot be tricked into sending, is what exempts API calls) — and nothing is stored;
* with a valid token (the form field, or the X-CSRFToken header for the API): the request gets
  through to the view and has the outcome the access matrix expects for that user."""

from __future__ import annotations

import tempfile

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter

from marketplace import create_app
from marketplace.extensions import db
from tests.conftest import login
from tests.web import test_access_matrix as matrix
from tests.web.access_common import OK, ROLES
from tests.web.test_access_matrix import CASES, SPECIAL, outcome

world = matrix.world  # the access matrix's world (users of every role, one object of each kind), as a fixture
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_PAGE = "页面已过期或请求来源无法验证（CSRF）"
CSRF_SECRET = "csrf-secret-of-this-browser"


def write_routes() -> list[tuple[str, str, str, str]]:
    """(endpoint, method, rule, a URL of it) for every state-changing rule of the app."""
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite://", UPLOAD_DIR=scratch, SEARCH_INDEX_DIR=scratch)
        urls = app.url_map.bind("localhost")
        routes = [
            (rule.endpoint, method, rule.rule, urls.build(rule.endpoint, _sample_values(rule), method=method))
            for rule in app.url_map.iter_rules()
            for method in sorted(rule.methods & WRITE_METHODS)
        ]
        with app.app_context():
            db.engine.dispose()
    return sorted(routes)


def _sample_values(rule) -> dict[str, str | int]:
    values: dict[str, str | int] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, (IntegerConverter, FloatConverter)):
            values[name] = 1
        else:
            values[name] = "x"
    return values


ROUTES = write_routes()


def allowed_case(endpoint: str, method: str, sample_url: str) -> tuple[str, str, dict | None]:
    """(url template, role, expected outcomes) from the access matrix: the first row of this
    route that a logged-in user may use, else its first row with a logged-in user (refused or
    not found: the CSRF check still comes first). A route the matrix does not know yet gets a URL
    built from the rule, an administrator, and no expectation beyond passing the CSRF check."""
    rows = [
        (url, SPECIAL[expected] if isinstance(expected, str) else expected)
        for case_endpoint, case_method, url, expected in CASES
        if (case_endpoint, case_method) == (endpoint, method)
    ]
    for url, expected in rows:
        for role in (*ROLES[1:], ROLES[0]):  # a logged-in user first
            if expected[role] == OK:
                return url, role, expected
    if rows:
        return rows[0][0], ROLES[1], rows[0][1]
    return sample_url.replace("{", "{{").replace("}", "}}"), "admin", None


def csrf_token(app) -> str:
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(CSRF_SECRET)


def stored_rows() -> dict[str, list]:
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {table.name: sorted(map(repr, conn.execute(select(table)).all())) for table in db.metadata.sorted_tables}


def test_the_enumeration_finds_the_write_routes():
    endpoints = {endpoint for endpoint, _method, _rule, _url in ROUTES}
    assert {
        "accounts.login",
        "accounts.logout",
        "trading.bid",
        "api.auction_bid",
        "accounts.forgot_password",
    } <= endpoints
    assert len(ROUTES) > 100 and any(method == "PATCH" for _e, method, _r, _u in ROUTES)


@pytest.mark.parametrize(("endpoint", "method", "rule", "sample_url"), ROUTES, ids=[f"{r[1]} {r[2]}" for r in ROUTES])
def test_a_write_needs_the_csrf_token(app, world, csrf_enabled, endpoint, method, rule, sample_url):
    assert (endpoint, method) in {(r.endpoint, m) for r in app.url_map.iter_rules() for m in r.methods}
    template, role, expected = allowed_case(endpoint, method, sample_url)
    url = template.format(**world.ids)
    api = url.startswith("/api/")
    client = app.test_client()
    if role != "anonymous":
        login(client, world.users[role])
    with client.session_transaction() as session:
        session["csrf_token"] = CSRF_SECRET  # the secret behind this browser's forms

    before = stored_rows()
    refused = client.open(url, method=method, **({"json": {}} if api else {"data": {}}))
    refused.close()
    assert refused.status_code == 400, f"{role} {method} {url} without a CSRF token: {refused.status_code}"
    if api:
        assert refused.json["error"]["code"] == "csrf_failed"
        assert "CSRF" in refused.json["error"]["message"]
    else:
        assert CSRF_PAGE in refused.get_data(as_text=True)
    assert stored_rows() == before, "a refused request changed stored data"

    token = csrf_token(app)
    if api:
        accepted = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
    else:
        accepted = client.open(url, method=method, data={"csrf_token": token})
    accepted.close()  # a file download holds the file open until then
    if accepted.status_code == 400:
        body = accepted.get_data(as_text=True)
        assert CSRF_PAGE not in body and "csrf_failed" not in body, f"{role} {method} {url}: a valid token refused"
    if expected is not None:
        assert outcome(accepted) == expected[role], f"{role} {method} {url}: {accepted.status_code}"


def test_a_bearer_token_is_what_exempts_an_api_write(app, world, csrf_enabled, api_client):
    """The exemption is the authentication method, not the URL: the same API write with a
    bearer token and no CSRF token gets through; with a cookie session it does not."""
    url = "/api/v1/achievements/{draft}/submit".format(**world.ids)
    cookie = login(app.test_client(), world.users["owner"])
    assert cookie.post(url, json={}).json["error"]["code"] == "csrf_failed"
    response = api_client(world.users["owner"]).post(url, json={})
    assert response.status_code == 200 and response.json["status"]["code"] == "pending"
    # A made-up bearer token is refused outright rather than falling back to the cookie.
    forged = cookie.post(url, json={}, headers={"Authorization": "Bearer kjtb_made-up"})
    assert forged.status_code == 401
