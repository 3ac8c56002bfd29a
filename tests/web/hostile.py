"""Shared by the hostile-input tests (test_hostile_input.py, test_hostile_uploads.py,
test_api_schemathesis.py): the payloads, the forms a page offers, world ids for path parameters,
and the checks every answer to hostile input must pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import String, Text, select

from marketplace.extensions import db
from tests.conftest import PASSWORD

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
CONTROLS = "前\x00中\x1b[31m红色\x1b[0m\u202etxt.exe\r\n第二行\r第三行"
PAYLOADS = {
    "script": SCRIPT,
    "img": IMG,
    "long": "长" * 50_000 + "A" * 50_000,  # 100,000 characters
    "controls": CONTROLS,  # NUL, an ANSI escape, a right-to-left override, CRLF and a lone CR
    "mixed": "科技Ωmega тест ١٢٣ 𠀀",
    "emoji": "🔬🧪👩🏽‍🔬",
}
# What must never reach a page unescaped.
RAW_MARKERS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
# What must never be stored: control characters except tab and newline, and bidi overrides.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CHINESE = re.compile(r"[\u4e00-\u9fff]")

# Path parameter -> world ids that exist (tests/web/test_access_matrix.world), by the path it is in.
KNOWN_IDS: list[tuple[str, str, tuple[str, ...]]] = [
    (r"^/achievements/\{listing_id\}", "listing_id", ("draft", "published", "pending")),
    (r"^/achievements/\{achievement_id\}", "achievement_id", ("published", "draft")),
    (r"^/demands/", "listing_id", ("draft_demand", "published_demand")),
    (r"^/listings/", "listing_id", ("trade_public", "trade_pending")),
    (r"", "expert_id", ("team_expert", "expert", "inactive_expert")),
    (r"", "auction_id", ("auction", "sold_auction")),
    (r"", "booking_id", ("booking_pending", "booking_approved")),
    (r"", "contract_id", ("c_draft", "c_submitted", "c_registered", "inv_contract")),
    (r"", "deal_id", ("deal", "c_draft_deal", "inv_deal")),
    (r"^/evaluations/", "request_id", ("ev_requested", "ev_scoring", "ev_completed")),
    (r"^/services/requests/", "request_id", ("service_request", "done_request")),
    (r"", "application_id", ("fin_app", "fin_loan")),
    (r"", "saved_id", ("fin_follow",)),
    (r"", "product_id", ("fin_product", "fin_draft")),
    (r"", "roadshow_id", ("fin_roadshow",)),
    (r"", "project_id", ("fin_project",)),
    (r"", "instrument_id", ("instrument",)),
    (r"", "invoice_id", ("inv_unpaid", "inv_paid")),
    (r"", "offering_id", ("offering", "hidden_offering")),
    (r"", "org_id", ("org",)),
    (r"", "sheet_id", ("v_sheet",)),
]


def known_ids(path: str, name: str, ids: dict) -> list[int]:
    """World ids for path parameter `name` of the documented `path` (empty when none fit)."""
    for pattern, param, keys in KNOWN_IDS:
        if param == name and re.search(pattern, path):
            return [ids[key] for key in keys if key in ids]
    return []


class OwnSessionClient(FlaskClient):
    """A test client whose every request starts with a fresh database session, as in production.

    A request reuses the test's app context (and so its session): a read transaction left open
    by one request would make the next one's write fail on SQLite once the search indexer has
    written in between."""

    def open(self, *args: Any, **kwargs: Any):
        db.session.remove()
        return super().open(*args, **kwargs)


def own_session_client(app) -> OwnSessionClient:
    return OwnSessionClient(app, app.response_class, use_cookies=True)


# ---------------------------------------------------------------------------------------------
# Forms as the browser sees them


@dataclass
class Field:
    tag: str  # input, textarea, select
    type: str
    name: str
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)

    @property
    def is_text(self) -> bool:
        """A field the user types into (or a hidden one a page fills in): what gets attacked."""
        if self.name in ("", "csrf_token"):
            return False
        return self.tag == "textarea" or (self.tag == "input" and self.type in TEXT_TYPES)


TEXT_TYPES = ("", "text", "search", "email", "tel", "url", "number", "date", "datetime-local", "month", "time")
TEXT_TYPES += ("password", "hidden")


@dataclass
class Form:
    action: str
    multipart: bool
    fields: list[Field]

    @property
    def text_fields(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields if f.is_text))

    def values(self) -> list[tuple[str, str]]:
        """What a browser would send, blank fields filled with plausible values."""
        out: list[tuple[str, str]] = []
        for f in self.fields:
            if not f.name or f.type in ("submit", "button", "file", "reset", "image"):
                continue
            if f.tag == "select":
                chosen = [v for v, selected in f.options if selected] or [v for v, _ in f.options if v][:1]
                out += [(f.name, v) for v in chosen[:1]]
            elif f.type in ("checkbox", "radio"):
                if f.checked:
                    out.append((f.name, f.value or "on"))
            else:
                out.append((f.name, f.value or plausible(f)))
        return out

    @property
    def field_names(self) -> list[str]:
        """Every field a user can set: text, hidden, selects, checkboxes and radios."""
        skip = ("submit", "button", "file", "reset", "image")
        return list(
            dict.fromkeys(f.name for f in self.fields if f.name not in ("", "csrf_token") and f.type not in skip)
        )

    def with_value(self, name: str, value: str) -> list[tuple[str, str]]:
        """The form's values with every field called `name` set to `value`."""
        return [(key, value if key == name else current) for key, current in self.values()]


def plausible(f: Field) -> str:
    """A value that passes a typical check for a blank field, so the attacked field is the one judged."""
    name, soon = f.name.lower(), date.today() + timedelta(days=30)
    if f.type == "email" or "email" in name:
        return "hostile@example.cn"
    if f.type == "tel" or "phone" in name:
        return "0633-8888888"
    if f.type == "date" or name.endswith(("_on", "_date", "_until", "_from", "_to")):
        return soon.isoformat()
    if f.type == "datetime-local" or name.endswith("_at"):
        return f"{soon.isoformat()}T10:00"
    if f.type == "password":
        return PASSWORD if "old" in name else "Hostile-Passw0rd-2026"
    if f.type == "number" or any(word in name for word in ("amount", "price", "budget", "fee", "value", "bounty")):
        return "1000"
    if f.type == "url":
        return "https://example.cn"
    return "" if f.type == "hidden" else "测试内容"


class _FormParser(HTMLParser):
    def __init__(self, method: str = "post") -> None:
        super().__init__(convert_charrefs=True)
        self.method = method
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._text: Field | None = None  # the open textarea
        self._select: Field | None = None
        self._option: list[Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == self.method:
                self._form = Form(a.get("action", ""), "multipart" in a.get("enctype", ""), [])
                self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            typ = a.get("type", "").lower()
            self._form.fields.append(Field("input", typ, a.get("name", ""), a.get("value", ""), "checked" in a))
        elif tag == "textarea":
            self._text = Field("textarea", "", a.get("name", ""))
            self._form.fields.append(self._text)
        elif tag == "select":
            self._select = Field("select", "", a.get("name", ""))
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._close_option()
            self._option = [a.get("value") if "value" in a else None, "selected" in a, ""]

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.value += data
        if self._option is not None:
            self._option[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("option", "select"):
            self._close_option()
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._text = None
        elif tag == "select":
            self._select = None

    def _close_option(self) -> None:
        if self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((text.strip() if value is None else value, selected))
        self._option = None


def post_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def get_forms(html: str) -> list[Form]:
    """The page's GET forms: search boxes and list filters."""
    parser = _FormParser("get")
    parser.feed(html)
    return parser.forms


# ---------------------------------------------------------------------------------------------
# Checks


def assert_escaped(html: str, where: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"{where}: {marker!r} reached the page unescaped"


def assert_answer_is_sane(response, where: str) -> None:
    """No 5xx; a refusal says why in Chinese; whatever page comes back shows the input escaped."""
    assert response.status_code < 500, f"{where}: {response.status_code}"
    body = response.get_data(as_text=True)
    if response.status_code >= 400:
        assert CHINESE.search(body), f"{where}: {response.status_code} without a Chinese reason"
    if "html" in (response.content_type or ""):
        assert_escaped(body, where)


def stored_controls() -> list[str]:
    """Every stored text value (any table, any string column) that holds a control character
    other than tab and newline: `table.column = '…'`."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and FORBIDDEN.search(value):
                    found.append(f"{table.name}.{column.name} = {value[:60]!r}")
    return found
