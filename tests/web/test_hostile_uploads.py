"""Hostile uploads on every upload route: listing attachments, deal files, a service request's
result file, finance application materials (web form, the apply form, the API) and imports.

Judged by content, not by name: a `.pdf` that is HTML or JavaScript is refused, a PNG called
`.exe` is stored as the PNG it is. Names are made safe (no path, no control characters, no
right-to-left override, no `<>`; long names shortened with their extension kept) and shown
escaped. Over the size limit is a 413 with a Chinese message, as a page or as JSON. Downloads
are attachments (RFC 5987 `filename*=` for Chinese names) with `X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from marketplace.accounts import services as accounts
from marketplace.deals.models import DealEvent
from marketplace.extensions import db
from marketplace.finance.models import FinanceAttachment
from marketplace.listings.models import Attachment
from marketplace.providers import services as providers
from marketplace.providers.models import ServiceRequest
from tests.conftest import login
from tests.web import test_access_matrix
from tests.web.hostile import CHINESE, RAW_MARKERS, assert_escaped, own_session_client

world = test_access_matrix.world  # the access-matrix world, as a fixture of this module

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
JS = b"alert(document.cookie); // %PDF-1.4"


@dataclass
class Route:
    """One upload route in the access-matrix world: who uploads, how, and where it shows up."""

    name: str
    role: str
    upload: Any  # (client, world, filename, content) -> response
    latest: Any  # (world) -> download URL of the newest stored file, or None
    page: Any  # (world) -> the page that lists the files
    api: bool = False


def _listing_upload(client, world, filename, content):
    data = {"file": (BytesIO(content), filename)}
    return client.post(f"/achievements/{world.ids['draft']}/attachments", data=data, content_type="multipart/form-data")


def _listing_latest(world):
    row = db.session.scalar(
        select(Attachment).where(Attachment.achievement_id == world.ids["draft"]).order_by(Attachment.id.desc())
    )
    return f"/attachments/{row.id}" if row else None


def _deal_upload(client, world, filename, content):
    data = {"file": (BytesIO(content), filename), "body": "技术资料"}
    return client.post(f"/deals/{world.ids['deal']}/files", data=data, content_type="multipart/form-data")


def _deal_latest(world):
    row = db.session.scalar(
        select(DealEvent)
        .where(DealEvent.deal_id == world.ids["deal"], DealEvent.kind == "file")
        .order_by(DealEvent.id.desc())
    )
    return f"/deals/{world.ids['deal']}/files/{row.id}" if row else None


def _finance_upload(client, world, filename, content):
    data = {"file": (BytesIO(content), filename)}
    url = f"/finance/applications/{world.ids['fin_app']}/attachments"
    return client.post(url, data=data, content_type="multipart/form-data")


def _finance_api_upload(client, world, filename, content):
    token = accounts.create_token(world.users["enterprise"], "uploads")
    db.session.commit()
    data = {"file": (BytesIO(content), filename)}
    url = f"/api/v1/finance/applications/{world.ids['fin_app']}/attachments"
    return client.post(url, data=data, content_type="multipart/form-data", headers={"Authorization": f"Bearer {token}"})


def _finance_apply(client, world, filename, content):
    data = {
        "amount_requested": "100万",
        "term_months": "12",
        "purpose": "中试线建设",
        "file": (BytesIO(content), filename),
    }
    return client.post(
        f"/finance/products/{world.ids['fin_product']}/apply", data=data, content_type="multipart/form-data"
    )


def _finance_latest(world):
    row = db.session.scalar(
        select(FinanceAttachment)
        .where(FinanceAttachment.stored_name.is_not(None))
        .order_by(FinanceAttachment.id.desc())
    )
    return f"/finance/applications/{row.application_id}/files/{row.id}" if row else None


def _service_upload(client, world, filename, content):
    request_id = world.ids["service_request"]
    req = db.session.get(ServiceRequest, request_id)
    if req.status == "submitted":
        providers.transition(req, "accept", world.users["owner"])
        providers.transition(req, "start", world.users["owner"])
        db.session.commit()
    data = {"result": "服务已完成", "file": (BytesIO(content), filename)}
    return client.post(f"/services/requests/{request_id}/complete", data=data, content_type="multipart/form-data")


def _service_latest(world):
    req = db.session.get(ServiceRequest, world.ids["service_request"])
    return f"/services/requests/{req.id}/file" if req.result_file_name else None


ROUTES = [
    Route(
        "listing attachment",
        "owner",
        _listing_upload,
        _listing_latest,
        lambda w: f"/achievements/{w.ids['draft']}",
    ),
    Route("deal file", "owner", _deal_upload, _deal_latest, lambda w: f"/deals/{w.ids['deal']}"),
    Route(
        "finance material",
        "enterprise",
        _finance_upload,
        _finance_latest,
        lambda w: f"/finance/applications/{w.ids['fin_app']}",
    ),
    Route(
        "finance material (API)",
        "enterprise",
        _finance_api_upload,
        _finance_latest,
        lambda w: f"/finance/applications/{w.ids['fin_app']}",
        api=True,
    ),
    Route("finance application form", "enterprise", _finance_apply, _finance_latest, lambda w: "/finance/applications"),
    Route(
        "service result",
        "owner",
        _service_upload,
        _service_latest,
        lambda w: f"/services/requests/{w.ids['service_request']}",
    ),
]
IDS = [route.name for route in ROUTES]


def _client(app, world, route: Route):
    return login(own_session_client(app), world.users[route.role])


def _refused(client, response, route: Route) -> None:
    """Refused with a Chinese reason: a JSON error (API), or the page the user is sent back to."""
    assert response.status_code < 500, response.status_code
    if route.api:
        assert response.status_code in (400, 413, 422), response.get_json()
        error = response.get_json()["error"]
        assert CHINESE.search(error["message"] + "".join(error["fields"].values()))
        return
    if response.status_code in (301, 302, 303):
        response = client.get(response.headers["Location"])
    assert "只能上传" in response.get_data(as_text=True)  # "只能上传 PDF 文件或图片…", beside the form or flashed


def _disposition_name(response) -> str:
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment"), header
    star = re.search(r"filename\*=UTF-8''([^;]+)", header)
    if star:
        return unquote(star.group(1))
    return re.search(r'filename="?([^";]+)"?', header).group(1)


def _download(client, world, route: Route):
    url = route.latest(world)
    assert url is not None, f"{route.name}: nothing was stored"
    response = client.get(url)
    response.close()
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"  # a private file stays out of caches
    return response


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize(("filename", "content"), [("报告.pdf", HTML), ("报告.pdf", JS), ("图片.png", HTML)])
def test_a_file_that_only_claims_to_be_a_pdf_or_image_is_refused(app, world, route, filename, content):
    client = _client(app, world, route)
    before = route.latest(world)
    response = route.upload(client, world, filename, content)
    _refused(client, response, route)
    assert route.latest(world) == before, "the disguised file was stored"


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_a_png_named_exe_is_stored_as_the_png_it_is(app, world, route):
    client = _client(app, world, route)
    response = route.upload(client, world, "setup.exe", PNG)
    assert response.status_code in (200, 201, 302), response.get_data(as_text=True)[:300]
    download = _download(client, world, route)
    assert download.mimetype == "image/png"
    assert _disposition_name(download) == "setup.png"


HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd.pdf"),
    ("..\\..\\x.pdf", "x.pdf"),
    ("a\x00b.pdf", "ab.pdf"),
    ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),
    ("<script>alert(1)</script>.pdf", "script.pdf"),  # "</" starts a path: the last part is kept
    ("长" * 296 + ".pdf", "长" * 116 + ".pdf"),
]


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
@pytest.mark.parametrize(
    ("filename", "expected"), HOSTILE_NAMES, ids=["unix-path", "windows-path", "nul", "rtl", "script", "300-chars"]
)
def test_hostile_file_names_are_made_safe_and_shown_escaped(app, world, route, filename, expected):
    client = _client(app, world, route)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    before = {p for p in upload_dir.parent.rglob("*") if p.is_file()}
    response = route.upload(client, world, filename, PDF)
    assert response.status_code in (200, 201, 302), response.get_data(as_text=True)[:300]
    stored = _disposition_name(_download(client, world, route))
    assert stored == expected
    assert "/" not in stored and "\\" not in stored and not re.search("[\x00-\x1f\u202a-\u202e<>]", stored)
    new = {p for p in upload_dir.parent.rglob("*") if p.is_file()} - before
    assert all(upload_dir in p.parents for p in new), "a file was written outside UPLOAD_DIR"
    page = client.get(route.page(world))
    assert page.status_code == 200
    assert_escaped(page.get_data(as_text=True), route.name)


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_a_chinese_file_name_downloads_as_an_attachment_with_rfc5987_name(app, world, route):
    client = _client(app, world, route)
    response = route.upload(client, world, "技术说明书.pdf", PDF)
    assert response.status_code in (200, 201, 302)
    download = _download(client, world, route)
    header = download.headers["Content-Disposition"]
    assert header.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8A%80%E6%9C%AF%E8%AF%B4%E6%98%8E%E4%B9%A6.pdf" in header
    assert download.mimetype == "application/pdf"
    assert download.headers.get("Cache-Control", "").find("public") < 0


@pytest.mark.parametrize("route", ROUTES, ids=IDS)
def test_over_the_size_limit_is_a_413_in_chinese(app, world, route, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    client = _client(app, world, route)
    before = route.latest(world)
    response = route.upload(client, world, "大文件.pdf", PDF + b"0" * (128 * 1024))
    assert response.status_code == 413
    if route.api:
        error = response.get_json()["error"]
        assert error["code"] == "too_large" and CHINESE.search(error["message"])
    else:
        assert "html" in response.content_type and "上传的文件太大" in response.get_data(as_text=True)
    assert route.latest(world) == before


def test_over_the_per_file_limit_but_within_the_request_limit_is_a_field_error(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    client = login(own_session_client(app), world.users["owner"])
    # Encoded here, in memory: the test client would spool a body over 500 KB to a temporary
    # file that it never closes (a ResourceWarning in whichever test runs next).
    boundary, body = encode_multipart({"file": FileStorage(BytesIO(PDF + b"0" * (1024 * 1024 + 10)), "大文件.pdf")})
    response = client.post(
        f"/achievements/{world.ids['draft']}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    assert "文件超过1MB的大小限制" in client.get(response.headers["Location"]).get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Imports: judged by content too, and the name only ever shown escaped


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("成果.xlsx", HTML),
        ("成果.csv", PNG),
        ("成果.jsonl", b"\x00\x01\x02" * 100),
        ("<script>alert(1)</script>.csv", "名称,简介\n<script>alert(1)</script>,x\n".encode()),
        ("../../etc/passwd.csv", "名称\n测试\n".encode()),
    ],
)
def test_import_refuses_or_reads_hostile_files_without_an_error_page(app, world, filename, content):
    client = login(own_session_client(app), world.users["owner"])
    data = {"kind": "achievement", "file": (BytesIO(content), filename)}
    response = client.post("/import/", data=data, content_type="multipart/form-data")
    assert response.status_code < 500
    text = response.get_data(as_text=True)
    assert CHINESE.search(text)
    for marker in RAW_MARKERS:
        assert marker not in text


def test_import_over_the_size_limit_is_a_413_in_chinese(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    client = login(own_session_client(app), world.users["owner"])
    data = {"kind": "achievement", "file": (BytesIO(b"a,b\n" * 40_000), "成果.csv")}
    response = client.post("/import/", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "上传的文件太大" in response.get_data(as_text=True)
