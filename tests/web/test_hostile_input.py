"""Hostile values in every text field of every form and every API write operation.

The forms are found the way a user finds them: every page of the access matrix
(tests/web/test_access_matrix.py, which must list every route) is opened as each kind of user,
and every POST form on it is read from the HTML. Each text field (inputs, textareas, hidden
fields) in turn gets each payload of tests/web/hostile.py — `<script>`, an `onerror=` image,
100,000 characters, control characters (NUL, an ANSI escape, a right-to-left override, CR),
mixed scripts and emoji — while the other fields keep what the page put there (blank ones get a
plausible value). The API write operations and their string properties come from the OpenAPI
document. A new form or endpoint is covered without touching this file.

Every answer: no 5xx; a refusal carries a Chinese reason; every page that comes back (the
answer itself, the page a redirect leads to, the form's page afterwards) shows the input
escaped; nothing stored holds a control character other than tab and newline. Search indexes
and answers queries made of the same payloads."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import String, Text, func, literal
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from marketplace.accounts import services as accounts
from marketplace.api.openapi import document
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Achievement
from tests.conftest import achievement_data, demand_data, login
from tests.web import test_access_matrix
from tests.web.hostile import (
    CONTROLS,
    FORBIDDEN,
    IMG,
    PAYLOADS,
    SCRIPT,
    assert_answer_is_sane,
    assert_escaped,
    get_forms,
    known_ids,
    own_session_client,
    post_forms,
    stored_controls,
)

world = test_access_matrix.world  # the access-matrix world, as a fixture of this module

ROLES = ("owner", "enterprise", "broker", "official", "admin", "other_member")
# GET pages of the access matrix that render HTML for someone (the missing-object rows are left out).
PAGES = sorted(
    {
        url
        for _endpoint, method, url, _expected in test_access_matrix.CASES
        if method == "GET" and not url.startswith("/api/") and "999999" not in url and "not-a-token" not in url
    }
)
# Forms whose POST ends the session the crawl is using.
SESSION_ENDERS = {"accounts.logout"}


def endpoint_of(app, url: str, method: str = "POST") -> str | None:
    try:
        return app.url_map.bind("localhost").match(urlsplit(url).path, method)[0]
    except HTTPException:
        return None


def follow(client, response, where: str) -> None:
    """Open the page a redirect leads to (when it stays on this site) and check it."""
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303) and location and not urlsplit(location).netloc:
        page = client.get(location)
        page.close()
        assert_answer_is_sane(page, f"{where} → {location}")


# ---------------------------------------------------------------------------------------------
# Forms


def forms_on_pages(app, client, ids: dict, methods: tuple[str, ...] = ("POST",)):
    """(page url, method, action, endpoint, form) for every form on every access-matrix page this
    client can open (forms that end its session left out)."""
    for template in PAGES:
        url = template.format(**ids)
        page = client.get(url)
        page.close()
        if page.status_code != 200 or "html" not in page.content_type:
            continue
        html = page.get_data(as_text=True)
        for method in methods:
            for form in (post_forms if method == "POST" else get_forms)(html):
                action = form.action or url
                endpoint = endpoint_of(app, action, method)
                if endpoint is not None and endpoint not in SESSION_ENDERS:
                    yield url, method, action, endpoint, form


def submit(client, method: str, action: str, form, data: list[tuple[str, str]]):
    """Send the form's values as a browser would (query string for GET, multipart when it says so)."""
    if method == "GET":
        response = client.get(action, query_string=data)
    else:
        kwargs = {"content_type": "multipart/form-data"} if form.multipart else {}
        response = client.post(action, data=MultiDict(data), **kwargs)
    response.close()
    return response


@pytest.mark.parametrize("role", ROLES)
def test_every_text_field_of_every_form_takes_hostile_input(app, world, role):
    client = login(own_session_client(app), world.users[role])
    attacked: set[tuple[str, str]] = set()
    posts = 0
    statuses: Counter[int] = Counter()
    for url, method, action, endpoint, form in forms_on_pages(app, client, world.ids):
        for name in form.text_fields:
            if (endpoint, name) in attacked:
                continue
            attacked.add((endpoint, name))
            for label, payload in PAYLOADS.items():
                where = f"{role} POST {action} [{name}={label}] (form on {url})"
                response = submit(client, method, action, form, form.with_value(name, payload))
                assert_answer_is_sane(response, where)
                follow(client, response, where)
                posts += 1
                statuses[response.status_code] += 1
        again = client.get(url)
        again.close()
        if again.status_code < 500:
            assert_answer_is_sane(again, f"{role} GET {url} after attacking {action}")
    assert stored_controls() == []
    assert posts >= 6 * 5, f"{role}: only {posts} hostile posts — did the pages lose their forms?"
    print(f"{role}: {len(attacked)} form fields × {len(PAYLOADS)} payloads = {posts} posts; {dict(statuses)}")


# Numbers that are not row ids: "²".isdigit() is true yet int("²") fails, and an id past INTEGER
# overflows PostgreSQL. Selects, hidden ids, checkboxes and list filters get them too.
NOT_IDS = {"superscript": "²", "huge": "99999999999", "negative": "-1", "fraction": "1.5"}


def _with(form, name: str, value: str) -> list[tuple[str, str]]:
    data = form.with_value(name, value)
    return data if any(key == name for key, _ in data) else [*data, (name, value)]


@pytest.mark.parametrize("role", ROLES)
def test_every_field_and_filter_takes_numbers_that_are_not_ids(app, world, role):
    client = login(own_session_client(app), world.users[role])
    attacked: set[tuple[str, str, str]] = set()
    requests = 0
    for url, method, action, endpoint, form in forms_on_pages(app, client, world.ids, ("POST", "GET")):
        for name in form.field_names:
            if (method, endpoint, name) in attacked:
                continue
            attacked.add((method, endpoint, name))
            for label, value in NOT_IDS.items():
                where = f"{role} {method} {action} [{name}={label}] (form on {url})"
                assert_answer_is_sane(submit(client, method, action, form, _with(form, name, value)), where)
                requests += 1
    assert any(method == "GET" for method, _, _ in attacked), "no list filter was found to attack"
    assert requests >= 4 * 10, f"{role}: only {requests} requests — did the pages lose their forms?"
    print(f"{role}: {len(attacked)} fields and filters × {len(NOT_IDS)} numbers = {requests} requests")


# ---------------------------------------------------------------------------------------------
# API write operations

DOC = document()


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = DOC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _takes_string(schema: dict) -> bool:
    schema = _resolve(schema)
    types = schema.get("type")
    if types == "string" or (isinstance(types, list) and "string" in types):
        return "enum" not in schema and "format" not in schema
    return any(_takes_string(s) for s in schema.get("oneOf", []) + schema.get("anyOf", []))


def _write_operations() -> list[tuple[str, str, str, list[str]]]:
    ops = []
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method == "parameters" or "requestBody" not in op:
                continue
            schema = _resolve(op["requestBody"]["content"]["application/json"]["schema"])
            strings = [name for name, prop in schema.get("properties", {}).items() if _takes_string(prop)]
            if strings:
                ops.append((op["operationId"], method.upper(), path, strings))
    return sorted(ops)


WRITE_OPERATIONS = _write_operations()
# Bodies that are valid as they are, so the attacked property is the one judged.
GOOD_BODIES = {
    "create_achievement": lambda: achievement_data(patent_numbers=""),
    "create_demand": demand_data,
    "suggest": lambda: {"text": "基于机器视觉的尺寸测量系统"},
}


def test_the_api_has_string_properties_to_attack():
    assert len(WRITE_OPERATIONS) >= 30
    assert sum(len(strings) for *_, strings in WRITE_OPERATIONS) >= 100


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def _html_links(value) -> list[str]:
    if not isinstance(value, dict):
        return []
    links = [v for k, v in value.items() if k in ("url", "html") and isinstance(v, str) and v.startswith("/")]
    return links + _html_links(value.get("links"))


@pytest.mark.parametrize(
    ("op_id", "method", "path", "strings"), WRITE_OPERATIONS, ids=[op[0] for op in WRITE_OPERATIONS]
)
def test_every_string_property_of_an_api_write_takes_hostile_input(app, world, op_id, method, path, strings):
    url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str((known_ids(path, m.group(1), world.ids) or [1])[0]), path)
    tokens = {role: accounts.create_token(world.users[role], "hostile") for role in ROLES}
    db.session.commit()
    client = own_session_client(app)
    base = GOOD_BODIES.get(op_id, dict)()
    role = None
    for name in strings:
        for label, payload in PAYLOADS.items():
            where = f"{method} {url} [{name}={label}]"
            for candidate in [role] if role else ROLES:
                response = client.open(
                    url,
                    method=method,
                    json={**base, name: payload},
                    headers={"Authorization": f"Bearer {tokens[candidate]}"},
                )
                if response.status_code not in (401, 403):
                    role = candidate
                    break
            where += f" as {role}"
            assert response.status_code < 500, (
                f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
            )
            assert response.is_json, where
            body = response.get_json()
            if response.status_code >= 400:
                assert CHINESE_REASON(body), f"{where}: {body}"
                continue
            leaked = [s[:40] for s in _json_strings(body) if FORBIDDEN.search(s)]
            assert leaked == [], f"{where}: control characters in the answer"
            for link in _html_links(body):
                page = client.get(link, headers={"Authorization": f"Bearer {tokens[role or 'owner']}"})
                page.close()
                if page.status_code < 500 and "html" in page.content_type:
                    assert_escaped(page.get_data(as_text=True), f"{where} → {link}")
    assert stored_controls() == []


def CHINESE_REASON(body) -> bool:
    """The error's message, or one of its field reasons, is in Chinese."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    texts = [error.get("message", ""), *error.get("fields", {}).values()]
    return any(re.search(r"[\u4e00-\u9fff]", str(t)) for t in texts)


# ---------------------------------------------------------------------------------------------
# Search


def test_search_indexes_and_answers_hostile_text(client, index, api_client, make_user):
    owner, admin = make_user("university"), make_user("admin", org=None)
    owner_api = api_client(owner)
    titles = {label: f"机器视觉{payload}" for label, payload in PAYLOADS.items() if label != "long"}
    for label, title in titles.items():
        summary = f"测量系统 {PAYLOADS[label]} {PAYLOADS['long'][:3000]}"
        created = owner_api.post(
            "/api/v1/achievements", json=achievement_data(title=title, summary=summary, patent_numbers="")
        )
        assert created.status_code == 201, created.get_json()
        listing = db.session.get(Achievement, created.get_json()["id"])
        listings.transition(listing, "submit", owner)
        listings.transition(listing, "approve", admin)
        db.session.commit()
    for label, payload in PAYLOADS.items():
        for q in (payload, f"机器视觉 {payload}", f'"{payload}"'):
            page = client.get("/search", query_string={"q": q})
            assert_answer_is_sane(page, f"/search?q={label}")
            api = client.get("/api/v1/search", query_string={"q": q[:200]})
            assert api.status_code == 200, (label, api.get_json())
            for item in api.get_json()["items"]:
                assert_escaped(item["title_highlight"] + item["highlight"], f"/api/v1/search?q={label}")
                assert not FORBIDDEN.search(item["title"] + item["summary"]), label
    found = client.get("/api/v1/search", query_string={"q": "机器视觉"}).get_json()
    shown = {item["title"] for item in found["items"]}
    assert titles["script"] in shown and titles["emoji"] in shown
    assert "机器视觉前中[31m红色[0mtxt.exe\n第二行\n第三行" in shown  # the control characters were dropped
    assert SCRIPT not in client.get("/search?q=机器视觉").get_data(as_text=True)


def test_controls_are_stripped_before_anything_sees_them(api_client, make_user):
    """The stored text is the typed text minus the control characters: CRLF and CR become LF."""
    owner = make_user("university")
    response = api_client(owner).post(
        "/api/v1/achievements", json=achievement_data(title=f"标题{CONTROLS}", patent_numbers="")
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["title"] == "标题前中[31m红色[0mtxt.exe\n第二行\n第三行"


# ---------------------------------------------------------------------------------------------
# Stored markup on every page

XSS = IMG + SCRIPT
# Columns that hold what people type (names, titles, descriptions, notes, reasons …).
FREE_TEXT = re.compile(
    r"^(title|name|summary|description|detail|body|notes?|reason|message|comment|problem|advantages|"
    r"application_scope|team|purpose|subject|specs|address|place|conditions|opinion|proposal|schedule|result|"
    r"expertise|achievements_text|project_name|\w+_name|model|manufacturer|price_note|availability_notes|"
    r"indicators|label|filename|\w+_note|\w+_comment|\w+_reason)$"
)


def _plant_markup() -> int:
    """Prefix every free-text value in the database with XSS (kept within the column's size)."""
    planted = 0
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                length = getattr(column.type, "length", None)
                if not (isinstance(column.type, (String, Text)) and FREE_TEXT.match(column.name)):
                    continue
                if length is not None and length < 2 * len(XSS):
                    continue
                value = literal(XSS).concat(column)
                value = func.substr(value, 1, length) if length else value
                planted += conn.execute(table.update().where(column.is_not(None)).values({column.name: value})).rowcount
    return planted


@pytest.mark.parametrize("role", (*ROLES, "anonymous"))
def test_stored_markup_is_shown_escaped_on_every_page(app, world, role):
    assert _plant_markup() > 100
    client = own_session_client(app)
    if role != "anonymous":
        login(client, world.users[role])
    shown = 0
    for template in PAGES:
        url = template.format(**world.ids)
        page = client.get(url)
        page.close()
        assert page.status_code < 500, f"{role} GET {url}: {page.status_code}"
        if page.status_code == 200 and "html" in page.content_type:
            text = page.get_data(as_text=True)
            assert_escaped(text, f"{role} GET {url}")
            shown += "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert shown >= 10, f"{role}: the planted text showed on only {shown} pages"
