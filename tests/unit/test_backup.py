"""Backups (`flask backup create|restore`, marketplace/backup): a small world backed up from the
session's app and restored into an empty, separate instance (a new SQLite file, or a new
PostgreSQL database made and dropped here) is found again — listings by full-text search in the
rebuilt index, the contract, its payment and invoice, the attachment's bytes; refusals (a
non-empty backup directory, a non-empty target without --force, a corrupted dump) change nothing;
a backup of an older schema is migrated on restore."""

from __future__ import annotations

import json
import secrets
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from marketplace import create_app, search
from marketplace.accounts.models import Organization, User
from marketplace.backup import services as backup
from marketplace.core.timeutil import local_today
from marketplace.deals import contracts, invoices
from marketplace.deals.models import Invoice, Payment, TechContract
from marketplace.extensions import db
from marketplace.listings import services as listings
from search_index import SearchQuery
from tests.conftest import login
from tests.web.access_contracts import registered
from tests.web.access_invoices import deal_between

PDF = b"%PDF-1.4\n% backup test\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) + b"\n%%EOF\n"
ACHIEVEMENT_TITLE = "深远海养殖网箱智能监测系统"
DEMAND_TITLE = "氢冶金高炉煤气余热回收技术需求"
ORG_NAME = "日照海洋工程研究院"


def is_postgresql(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def instance(tmp_path: Path, name: str, url: str | None = None) -> Flask:
    """A separate app with its own database, uploads and index (never the session's app)."""
    root = tmp_path / name
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url or f"sqlite:///{root}.db",
        UPLOAD_DIR=str(root / "uploads"),
        SEARCH_INDEX_DIR=str(root / "index"),
        WTF_CSRF_ENABLED=False,
    )


def run(app: Flask, *args: str):
    """`flask …` on `app`. Its context is pushed first: Flask's CLI runs on whichever app context is
    already current (the session's, in a test), not on the runner's app."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def close(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def source(app, tmp_path, index):
    """The session's app with its own UPLOAD_DIR for this test (other tests' files stay out)."""
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "source-uploads")
    Path(app.config["UPLOAD_DIR"]).mkdir()
    yield app
    app.config["UPLOAD_DIR"] = previous


@pytest.fixture
def target(app, tmp_path):
    """An empty instance on the same kind of database as the session's: a new SQLite file, or a
    new PostgreSQL database on the same server, dropped afterwards."""
    if not is_postgresql(app):
        restored = instance(tmp_path, "restored")
        yield restored
        close(restored)
        return
    base = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    name = f"kjtb_backup_{secrets.token_hex(4)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    restored = instance(tmp_path, "restored", base.set(database=name).render_as_string(hide_password=False))
    try:
        yield restored
    finally:
        close(restored)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def world(source, make_org, make_user, make_achievement, make_demand):
    """An organisation with members, published listings, an attachment, and a registered contract
    with a payment and an invoice — made through the services."""
    seller = make_org(name=ORG_NAME, org_type="institute")
    buyer = make_org(name="山东岚桥港口装备有限公司", org_type="enterprise")
    owner = make_user("university", org=seller)
    broker = make_user("broker")
    official = make_user("official")
    achievement = make_achievement(owner=owner, title=ACHIEVEMENT_TITLE, keywords="深远海养殖；智能监测")
    demand = make_demand(owner=make_user("enterprise", org=buyer), title=DEMAND_TITLE, keywords="氢冶金；余热回收")
    attachment = listings.add_attachment(achievement, owner, "技术说明书.pdf", PDF)
    db.session.commit()
    deal = deal_between(seller, buyer, broker)
    contract = registered(deal, broker, official, project_name="深远海养殖网箱智能监测系统专利权转让")
    contracts.record_payment(contract, broker, local_today() - timedelta(days=1), "100000.00", reference="HD-001")
    invoice = invoices.create_invoice(deal, broker, "commission")
    db.session.commit()
    return {
        "owner": owner.id,  # ids only: the session's objects must not be loaded in another app
        "official": official.id,
        "achievement": achievement.id,
        "demand": demand.id,
        "org": seller.id,
        "attachment": attachment.id,
        "contract": contract.id,
        "registration_number": contract.registration_number,
        "project_name": contract.project_name,
        "invoice": invoice.id,
        "invoice_number": invoice.number,
        "invoice_total": invoice.total,
    }


def source_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            key: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for key, (table, _) in backup.KEY_TABLES.items()
        }


def api_search(client, q: str, kind: str) -> list[int]:
    response = client.get("/api/v1/search", query_string={"q": q, "type": kind})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def corrupt_copy(backup_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "corrupted"
    shutil.copytree(backup_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    dump = copy / manifest["database"]["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    return copy


# ---------------------------------------------------------------------------------------------
# The round trip


def test_a_backup_restored_into_an_empty_instance_finds_everything_again(source, target, world, tmp_path):
    expected = source_counts()
    backup_dir = tmp_path / "backups" / "2026-12-03"
    created = run(source, "backup", "create", str(backup_dir))
    assert created.exit_code == 0, created.output
    assert "备份完成" in created.output
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    kind = "postgresql" if is_postgresql(source) else "sqlite"
    assert manifest["database"]["kind"] == kind
    assert manifest["row_counts"] == expected
    assert expected["payments"] == expected["invoices"] == expected["tech_contracts"] == 1
    assert manifest["uploads"]["files"] == 1 and manifest["uploads"]["bytes"] == len(PDF)
    assert [p.name for p in backup_dir.parent.iterdir()] == ["2026-12-03"]  # no DIR.tmp-… left

    restored = run(target, "backup", "restore", str(backup_dir))
    assert restored.exit_code == 0, restored.output
    assert "搜索索引已重建" in restored.output and "不一致" not in restored.output

    with target.app_context():
        index = search.get_index()  # straight from the rebuilt index, before any catch-up
        assert not search.is_behind(index)
        found = index.search(SearchQuery(text="深远海养殖", kind="achievement", facets=(), highlight=False))
        assert [hit.id for hit in found.hits] == [world["achievement"]]
        client = target.test_client()
        assert api_search(client, "深远海养殖", "achievement") == [world["achievement"]]
        assert api_search(client, "氢冶金 余热回收", "demand") == [world["demand"]]
        assert world["org"] in api_search(client, "海洋工程研究院", "organization")
        hits = search.run_search(SearchQuery(text="网箱 专利权转让", kind=search.CONTRACT, facets=(), highlight=False))
        assert [hit.id for hit in hits.hits] == [world["contract"]]
        assert search.check().clean

        contract = db.session.get(TechContract, world["contract"])
        assert contract.registration_number == world["registration_number"]
        payment = db.session.scalar(select(Payment).where(Payment.contract_id == contract.id))
        assert (payment.amount, payment.reference) == (Decimal("100000.00"), "HD-001")
        invoice = db.session.get(Invoice, world["invoice"])
        assert (invoice.number, invoice.total) == (world["invoice_number"], world["invoice_total"])

        login(client, db.session.get(User, world["owner"]))
        with target.test_request_context():
            attachment_url = url_for("listings.attachment", attachment_id=world["attachment"])
        download = client.get(attachment_url)
        body = download.data
        download.close()  # a file download holds the file open until then
        assert download.status_code == 200 and body == PDF
        official = login(target.test_client(), db.session.get(User, world["official"]))
        page = official.get(f"/contracts/{world['contract']}")
        assert page.status_code == 200 and world["registration_number"] in page.get_data(as_text=True)


def test_a_non_empty_target_is_refused_without_force_and_a_corrupted_dump_always(source, target, world, tmp_path):
    backup_dir = tmp_path / "backup"
    backup.create_backup(backup_dir)
    with target.app_context():
        backup.restore_backup(backup_dir)
        db.session.add(Organization(name="恢复后新建的机构", org_type="enterprise"))
        db.session.commit()
        orgs_before = db.session.scalar(select(func.count(Organization.id)))
        stray = Path(target.config["UPLOAD_DIR"]) / "operator-note.txt"
        stray.write_text("keep")
    refused = run(target, "backup", "restore", str(backup_dir))
    assert refused.exit_code == 1
    assert "目标数据库已有数据" in refused.output and f"机构 {orgs_before} 行" in refused.output
    assert "--force" in refused.output

    corrupted = run(target, "backup", "restore", "--force", str(corrupt_copy(backup_dir, tmp_path)))
    assert corrupted.exit_code == 1 and "校验和" in corrupted.output

    with target.app_context():
        assert db.session.scalar(select(func.count(Organization.id))) == orgs_before  # both left it unchanged
        assert db.session.scalar(select(Organization.id).where(Organization.name == "恢复后新建的机构"))

    forced = run(target, "backup", "restore", "--force", str(backup_dir))
    assert forced.exit_code == 0, forced.output
    with target.app_context():
        assert db.session.scalar(select(Organization.id).where(Organization.name == "恢复后新建的机构")) is None
        assert backup.current_counts()[0] == json.loads((backup_dir / "manifest.json").read_text())["row_counts"]
        assert search.check().clean
    assert stray.read_text() == "keep"  # the operator's own files in UPLOAD_DIR are not deleted


def test_a_corrupted_dump_into_an_empty_target_changes_nothing(source, target, world, tmp_path):
    backup_dir = tmp_path / "backup"
    backup.create_backup(backup_dir)
    result = run(target, "backup", "restore", str(corrupt_copy(backup_dir, tmp_path)))
    assert result.exit_code == 1 and "校验和与备份清单不符" in result.output
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        assert list(Path(target.config["UPLOAD_DIR"]).iterdir()) == []


def test_a_missing_upload_or_a_foreign_kind_is_refused(source, target, world, tmp_path):
    backup_dir = tmp_path / "backup"
    backup.create_backup(backup_dir)
    broken = tmp_path / "broken"
    shutil.copytree(backup_dir, broken)
    next(p for p in (broken / "uploads").rglob("*") if p.is_file()).unlink()
    with target.app_context():
        with pytest.raises(backup.BackupError, match="附件与清单不符"):
            backup.restore_backup(broken)
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        manifest["database"]["kind"] = "postgresql" if manifest["database"]["kind"] == "sqlite" else "sqlite"
        manifest["database"]["file"] = backup.DATABASE_FILES[manifest["database"]["kind"]]
        (broken / manifest["database"]["file"]).write_bytes(b"x")
        manifest["database"]["sha256"] = backup.sha256_of(broken / manifest["database"]["file"])
        shutil.copytree(backup_dir / "uploads", broken / "uploads", dirs_exist_ok=True)
        (broken / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(backup.BackupError, match="不能直接恢复"):
            backup.restore_backup(broken)
        assert inspect(db.engine).get_table_names() == []


# ---------------------------------------------------------------------------------------------
# Create


def test_create_refuses_a_directory_that_is_not_empty(source, world, tmp_path):
    backup_dir = tmp_path / "taken"
    backup_dir.mkdir()
    (backup_dir / "old.txt").write_text("上一次的备份")
    result = run(source, "backup", "create", str(backup_dir))
    assert result.exit_code == 1
    assert "备份目录已存在且不为空" in result.output
    assert [p.name for p in backup_dir.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir() if ".tmp-" in p.name) == []

    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(source, "backup", "create", str(empty)).exit_code == 0
    assert sorted(p.name for p in empty.iterdir()) == [
        "database." + ("pgdump" if is_postgresql(source) else "sqlite3"),
        "manifest.json",
        "uploads",
    ]


def test_the_password_reaches_pg_dump_through_the_environment_only():
    url = make_url("postgresql+psycopg://kjtb:s3cret%40pw@db.internal:5433/kjtb?sslmode=require")
    args, env = backup.pg_connection(url)
    assert not any("s3cret" in arg for arg in args)
    assert args[0] == "--dbname=dbname='kjtb'"
    assert (env["PGPASSWORD"], env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGSSLMODE"]) == (
        "s3cret@pw",
        "db.internal",
        "5433",
        "kjtb",
        "require",
    )


# ---------------------------------------------------------------------------------------------
# Older schema


def test_a_backup_of_an_older_schema_is_migrated_on_restore(app, tmp_path, make_org):
    from alembic.script import ScriptDirectory

    with app.app_context():
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    head = script.get_current_head()
    older = script.get_revision(head).down_revision
    assert isinstance(older, str)
    old, new = instance(tmp_path, "old"), instance(tmp_path, "new")
    try:
        with old.app_context():
            upgrade(revision=older)
            make_org(name=ORG_NAME, org_type="institute")
            created = backup.create_backup(tmp_path / "backup")
        assert created.manifest["database"]["alembic_revision"] == older
        with new.app_context():
            restored = backup.restore_backup(tmp_path / "backup")
            assert restored.revision == head and not restored.mismatches
            assert db.session.scalar(select(Organization.name)) == ORG_NAME
            assert api_search(new.test_client(), "海洋工程", "organization") != []
            assert search.check().clean
    finally:
        close(old)
        close(new)
