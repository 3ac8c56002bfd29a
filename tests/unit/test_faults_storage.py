"""A full upload disk or an upload directory that cannot be written gives a clear Chinese reason
(a flash on the page, 507/503 JSON with the `file` field in the API) and leaves no attachment row
and no partial file; an index directory that cannot be written loses no change: the publication
commits with its outbox row, the user gets the page, and a later catch-up applies it.

Tests run as root, where chmod does not stop writes: an unwritable directory is a path whose
parent is a regular file, a full disk is a write that stores half the bytes and then fails with
ENOSPC."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace import search
from marketplace.core.audit import AuditLog
from marketplace.deals.models import DealEvent
from marketplace.extensions import db
from marketplace.finance.models import FinanceAttachment
from marketplace.listings.models import Achievement, Attachment
from marketplace.outbox_models import SearchOutbox
from search_index import SearchIndex, SearchQuery
from tests.web.access_contracts import make_deal
from tests.web.access_finance import make_institution, make_product

PDF = b"%PDF-1.4\n" + b"0" * 4096 + b"\n%%EOF\n"
FULL = "服务器存储空间已满，文件未保存"
UNWRITABLE = "服务器的文件存储目录无法写入，文件未保存"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []


@pytest.fixture
def upload_dir(app, tmp_path):
    """A fresh UPLOAD_DIR for this test."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = previous


@pytest.fixture
def unwritable_uploads(app, tmp_path):
    """UPLOAD_DIR below a regular file: every mkdir or write there fails (even for root)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(blocker / "uploads")
    yield blocker
    app.config["UPLOAD_DIR"] = previous


@pytest.fixture
def disk_full(monkeypatch):
    """The disk fills up in the middle of a write: half the bytes land, then ENOSPC."""
    real = Path.write_bytes

    def write_half(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", write_half)


def upload_attachment(client, listing, name: str = "检测报告.pdf"):
    return client.post(
        f"/achievements/{listing.id}/attachments",
        data={"file": (io.BytesIO(PDF), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


# ---------------------------------------------------------------------------------------------
# Uploads


def test_an_attachment_on_a_full_disk_is_refused_with_a_reason_and_leaves_nothing(
    upload_dir, disk_full, login_as, make_achievement
):
    listing = make_achievement()
    page = upload_attachment(login_as(listing.created_by), listing)
    assert page.status_code == 200
    assert f"上传失败：{FULL}" in page.get_data(as_text=True)
    assert count(Attachment) == 0
    assert count(AuditLog, AuditLog.action == "attach") == 0
    assert files_under(upload_dir) == []  # not even the half-written temporary file


def test_an_attachment_to_an_unwritable_directory_is_refused_and_works_once_it_is_fixed(
    app, unwritable_uploads, login_as, make_achievement
):
    listing = make_achievement()
    client = login_as(listing.created_by)
    page = upload_attachment(client, listing)
    assert f"上传失败：{UNWRITABLE}" in page.get_data(as_text=True)
    assert count(Attachment) == 0

    unwritable_uploads.unlink()  # the operator fixes the directory
    unwritable_uploads.mkdir()
    page = upload_attachment(client, listing)
    assert "附件“检测报告.pdf”已上传" in page.get_data(as_text=True)
    (attachment,) = db.session.scalars(select(Attachment)).all()
    stored = Path(app.config["UPLOAD_DIR"]) / attachment.stored_name[:2] / attachment.stored_name
    assert stored.read_bytes() == PDF
    assert [p.name for p in files_under(unwritable_uploads)] == [attachment.stored_name]


def test_a_deal_file_on_a_full_disk_is_refused_and_the_timeline_is_unchanged(
    upload_dir, disk_full, make_org, make_user, login_as
):
    broker = make_user("broker")
    deal = make_deal(make_org(org_type="university"), make_org(org_type="enterprise"), broker)
    db.session.commit()
    events = count(DealEvent)
    page = login_as(broker).post(
        f"/deals/{deal.id}/files",
        data={"file": (io.BytesIO(PDF), "保密协议.pdf"), "body": "已盖章"},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert page.status_code == 200 and FULL in page.get_data(as_text=True)
    assert count(DealEvent) == events and count(DealEvent, DealEvent.kind == "file") == 0
    assert files_under(upload_dir) == []


def test_the_api_answers_507_with_the_file_field_when_the_disk_is_full(upload_dir, disk_full, api_client, make_user):
    _org, member = make_institution("日照银行科技支行（存储）")
    product = make_product(member)
    db.session.commit()
    applicant = api_client(make_user("enterprise"))
    app_id = applicant.post(
        "/api/v1/finance/applications",
        json={"product_id": product.id, "amount_requested": "100万", "term_months": 12, "purpose": "研发"},
    ).json["id"]
    response = applicant.post(
        f"/api/v1/finance/applications/{app_id}/attachments",
        data={"file": (io.BytesIO(PDF), "财务报表.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 507
    error = response.json["error"]
    assert error["code"] == "insufficient_storage" and FULL in error["message"]
    assert FULL in error["fields"]["file"]
    assert count(FinanceAttachment) == 0
    assert files_under(upload_dir) == []


def test_the_api_answers_503_when_the_upload_directory_cannot_be_written(unwritable_uploads, api_client, make_user):
    _org, member = make_institution("日照银行科技支行（目录）")
    product = make_product(member)
    db.session.commit()
    applicant = api_client(make_user("enterprise"))
    app_id = applicant.post(
        "/api/v1/finance/applications",
        json={"product_id": product.id, "amount_requested": "100万", "term_months": 12, "purpose": "研发"},
    ).json["id"]
    response = applicant.post(
        f"/api/v1/finance/applications/{app_id}/attachments",
        data={"file": (io.BytesIO(PDF), "财务报表.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 503
    assert response.json["error"]["code"] == "storage_unavailable"
    assert UNWRITABLE in response.json["error"]["fields"]["file"]
    assert count(FinanceAttachment) == 0


# ---------------------------------------------------------------------------------------------
# The search index directory


def approve(admin_client, listing):
    page = admin_client.post(
        f"/admin/reviews/achievement/{listing.id}", data={"decision": "approve"}, follow_redirects=True
    )
    assert f"已通过审核并发布：《{listing.title}》" in page.get_data(as_text=True)
    return page


@pytest.fixture
def unwritable_index(app, tmp_path):
    blocker = tmp_path / "index-parent"
    blocker.write_text("x")
    previous = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    yield blocker
    app.config["SEARCH_INDEX_DIR"] = previous


def test_a_publication_while_the_index_directory_cannot_be_written_is_applied_later(
    app, unwritable_index, admin_client, make_achievement, caplog
):
    listing = make_achievement(status="pending", title="索引目录坏掉时发布的氢冶金成果")
    page = approve(admin_client, listing)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(Achievement, listing.id).status == "published"
    assert count(SearchOutbox, SearchOutbox.kind == "achievement", SearchOutbox.object_id == listing.id) >= 1
    assert "search: catch-up after the request failed" in caplog.text  # logged, not shown to the user

    unwritable_index.unlink()  # the operator repairs the directory
    unwritable_index.mkdir()
    index = search.get_index()
    search.catch_up(index)
    hits = index.search(SearchQuery(text="氢冶金")).hits
    assert [h.title for h in hits] == ["索引目录坏掉时发布的氢冶金成果"]
    assert search.check(index).clean


def test_a_publication_while_the_index_disk_is_full_is_applied_by_the_next_catch_up(
    app, index, admin_client, make_achievement, monkeypatch
):
    listing = make_achievement(status="pending", title="索引磁盘已满时发布的氢冶金成果")
    real_apply = SearchIndex.apply

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(SearchIndex, "apply", full)
    page = approve(admin_client, listing)
    assert page.status_code == 200
    assert db.session.get(Achievement, listing.id).status == "published"
    assert index.search(SearchQuery(text="氢冶金")).hits == []

    monkeypatch.setattr(SearchIndex, "apply", real_apply)  # space was freed
    assert search.catch_up(index).applied >= 1
    assert [h.title for h in index.search(SearchQuery(text="氢冶金")).hits] == ["索引磁盘已满时发布的氢冶金成果"]
    assert search.check(index).clean
