"""Backup and restore of one deployment: the database, the uploaded files and a manifest.

A backup is a directory:

    DIR/manifest.json          format, created_at (UTC), database kind, alembic revision,
                               row counts of the key tables, upload file count and bytes,
                               sha256 of the database file
    DIR/database.sqlite3       SQLite: a copy made with the online backup API
    DIR/database.pgdump        PostgreSQL: `pg_dump --format=custom`
    DIR/uploads/               a copy of UPLOAD_DIR

Consistency while the app runs: the SQLite backup API copies one consistent state; on PostgreSQL
the counts and the revision are read in a REPEATABLE READ transaction whose snapshot pg_dump uses
(`--snapshot`), so the manifest describes exactly what the dump holds. The uploads are copied
*after* the database: a file is written before the row naming it commits, so every attachment in
the dump has its file in the copy (files uploaded meanwhile are extra, and harmless).

The backup is written into `DIR.tmp-…` beside DIR and renamed into place at the end, so DIR
either does not exist or is complete. The search index is not backed up: restore rebuilds it.

Restore checks everything before it changes anything (manifest, kind, files, checksum, a
revision this code knows, an empty target unless forced), then replaces the database, copies the
uploads, migrates to the current schema and rebuilds the search index.

Connection details reach pg_dump / pg_restore through libpq's environment (PGHOST, PGPASSWORD…),
never the command line, where any local user could read the password (`ps`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from ..extensions import db

FORMAT = "kjtb-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
KIND_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

# manifest key -> (table, label); the payments of contracts live in contract_payments
KEY_TABLES: dict[str, tuple[str, str]] = {
    "organizations": ("organizations", "机构"),
    "users": ("users", "用户"),
    "achievements": ("achievements", "科技成果"),
    "demands": ("demands", "技术需求"),
    "tech_contracts": ("tech_contracts", "技术合同"),
    "invoices": ("invoices", "发票"),
    "payments": ("contract_payments", "付款记录"),
}

# libpq reads these from the environment; URL query parameters of the same name are passed on
LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}

CHUNK = 1024 * 1024


class BackupError(Exception):
    """A refusal or failure an operator can act on (Chinese message)."""


@dataclass
class Created:
    path: Path
    manifest: dict[str, Any]


@dataclass
class Restored:
    manifest: dict[str, Any]
    counts: dict[str, int]
    revision: str | None
    documents: int

    @property
    def mismatches(self) -> list[str]:
        expected = self.manifest["row_counts"]
        return [key for key in KEY_TABLES if self.counts.get(key) != expected.get(key)]


# ---------------------------------------------------------------------------------------------
# Small helpers


def database_kind() -> str:
    name = db.engine.dialect.name
    if name not in DATABASE_FILES:
        raise BackupError(f"不支持备份 {name} 数据库（仅支持 SQLite 与 PostgreSQL）")
    return name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_size(root: Path) -> tuple[int, int]:
    """(files, bytes) under root."""
    files = size = 0
    if root.is_dir():
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                files += 1
                size += path.stat().st_size
    return files, size


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _counts(scalar: Callable[[str], Any], tables: list[str] | None = None) -> dict[str, int]:
    present = set(tables) if tables is not None else None
    return {
        key: int(scalar(f'SELECT count(*) FROM "{table}"') or 0) if present is None or table in present else 0
        for key, (table, _label) in KEY_TABLES.items()
    }


def _revision(scalar: Callable[[str], Any], tables: list[str]) -> str | None:
    """The alembic revision; None when the database was never migrated."""
    return scalar("SELECT version_num FROM alembic_version") if "alembic_version" in tables else None


def human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


# ---------------------------------------------------------------------------------------------
# PostgreSQL client programs


def _pg_program(name: str) -> str:
    configured = current_app.config.get("PG_BIN_DIR")
    path = str(Path(configured) / name) if configured else shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（postgresql-client）或设置 PG_BIN_DIR")
    return path


def _conninfo_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """(arguments, environment) for pg_dump / pg_restore: only the database name goes on the
    command line; host, port, user and password go in libpq's environment variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    for key, var in LIBPQ_ENV.items():
        value = url.query.get(key)
        if value:
            env[var] = value if isinstance(value, str) else value[0]
    return [f"--dbname=dbname={_conninfo_value(url.database or '')}", "--no-password"], env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what}失败（退出码 {done.returncode}）：{' '.join(detail[-5:])}")


# ---------------------------------------------------------------------------------------------
# Create


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"备份目录已存在且不为空：{target}。请指定一个新的或空的目录。")


def create_backup(target: str | Path) -> Created:
    """Write a backup of this app's database and uploads into `target` (new or empty)."""
    target = Path(target).expanduser().absolute()
    _check_target(target)
    kind = database_kind()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.parent / f"{target.name}.tmp-{secrets.token_hex(4)}"
    work.mkdir()
    try:
        database = work / DATABASE_FILES[kind]
        dump = _dump_sqlite if kind == "sqlite" else _dump_postgresql
        counts, revision = dump(database)
        if revision is None:
            raise BackupError("数据库尚未建表（没有迁移版本）：请先运行 flask --app wsgi db upgrade")
        _fsync(database)
        uploads = work / UPLOADS
        source = Path(current_app.config["UPLOAD_DIR"])
        if source.is_dir():
            shutil.copytree(source, uploads, symlinks=False)
        else:
            uploads.mkdir()
        files, size = tree_size(uploads)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "database": {
                "kind": kind,
                "file": database.name,
                "sha256": sha256_of(database),
                "bytes": database.stat().st_size,
                "alembic_revision": revision,
            },
            "row_counts": counts,
            "uploads": {"dir": UPLOADS, "files": files, "bytes": size},
            "search_index": "not included: restore rebuilds it from the database",
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _fsync(work / MANIFEST)
        _check_target(target)  # someone may have filled it meanwhile
        try:
            os.rename(work, target)  # replaces an empty directory atomically
        except OSError as exc:
            raise BackupError(f"无法将备份移入 {target}：{exc.strerror}") from exc
        _fsync(target.parent)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Created(target, manifest)


def _dump_sqlite(database: Path) -> tuple[dict[str, int], str | None]:
    """Copy with the online backup API (one consistent state, writers keep working), then make the
    copy a self-contained file (rollback journal, no -wal beside it) and read it back."""
    with db.engine.connect() as conn:
        source = conn.connection.dbapi_connection
        copy = sqlite3.connect(database)
        try:
            source.backup(copy)  # type: ignore[union-attr]
            copy.execute("PRAGMA journal_mode=DELETE")

            def scalar(sql: str):
                return copy.execute(sql).fetchone()[0]

            tables = [r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return _counts(scalar, tables), _revision(scalar, tables)
        finally:
            copy.close()


def _dump_postgresql(database: Path) -> tuple[dict[str, int], str | None]:
    """pg_dump from a snapshot exported by the transaction that reads the counts."""
    args, env = pg_connection(db.engine.url)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        try:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()

            def scalar(sql: str):
                return conn.execute(text(sql)).scalar()

            tables = inspect(conn).get_table_names()
            counts, revision = _counts(scalar, tables), _revision(scalar, tables)
            _run(
                [_pg_program("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={database}", *args],
                env,
                "pg_dump 备份",
            )
        finally:
            conn.rollback()
    return counts, revision


# ---------------------------------------------------------------------------------------------
# Restore


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup directory, checked against the files beside it."""
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"不是备份目录：{source} 中没有 {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        database = manifest["database"]
        kind, name, digest = database["kind"], database["file"], database["sha256"]
        manifest["row_counts"], manifest["uploads"]["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"备份清单 {MANIFEST} 已损坏或不完整：{exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"不支持的备份格式：{manifest.get('format')} 版本 {manifest.get('format_version')}"
            f"（本程序读取 {FORMAT} 版本 {FORMAT_VERSION}）"
        )
    if kind not in DATABASE_FILES or name != DATABASE_FILES[kind]:
        raise BackupError(f"备份清单中的数据库类型或文件名无效：{kind} / {name}")
    dump = source / name
    if not dump.is_file():
        raise BackupError(f"备份不完整：缺少数据库文件 {name}")
    if sha256_of(dump) != digest:
        raise BackupError(f"数据库文件 {name} 的校验和与备份清单不符：文件已损坏或被修改，未做任何更改。")
    uploads = source / manifest["uploads"].get("dir", UPLOADS)
    files, size = tree_size(uploads)
    if not uploads.is_dir() or (files, size) != (manifest["uploads"]["files"], manifest["uploads"].get("bytes", size)):
        raise BackupError(
            f"备份中的附件与清单不符：清单 {manifest['uploads']['files']} 个文件，"
            f"目录中 {files} 个（{human_bytes(size)}）"
        )
    return manifest


def _known_revision(revision: str | None) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    try:
        if revision is None or script.get_revision(revision) is None:
            raise LookupError(revision)
    except Exception as exc:
        raise BackupError(
            f"备份的数据库迁移版本 {revision} 不在本程序的迁移中：备份来自更新的版本，请用相应版本的程序恢复。"
        ) from exc


def holdings() -> dict[str, int]:
    """Tables of the target database that hold rows (key tables by label, then the others)."""
    db.session.remove()
    with db.engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]

        def scalar(sql: str):
            return conn.execute(text(sql)).scalar()

        counts = _counts(scalar, tables)
        held = {KEY_TABLES[key][1]: n for key, n in counts.items() if n}
        keyed = {table for table, _label in KEY_TABLES.values()}
        for table in sorted(set(tables) - keyed):
            n = int(scalar(f'SELECT count(*) FROM "{table}"') or 0)
            if n:
                held[table] = n
    return held


def describe_holdings(held: dict[str, int], shown: int = 5) -> str:
    """「机构 3 行、用户 5 行；另有 audit_log 12 行、… 等 9 张表」: the key tables, then a few others."""
    labels = {label for _table, label in KEY_TABLES.values()}
    keyed = [f"{name} {n} 行" for name, n in held.items() if name in labels]
    others = [f"{name} {n} 行" for name, n in held.items() if name not in labels]
    text_ = "、".join(keyed)
    if others:
        more = f" 等 {len(others)} 张表" if len(others) > shown else ""
        text_ += ("；另有 " if keyed else "") + "、".join(others[:shown]) + more
    return text_


def current_counts() -> tuple[dict[str, int], str | None]:
    db.session.remove()
    with db.engine.connect() as conn:
        tables = inspect(conn).get_table_names()

        def scalar(sql: str):
            return conn.execute(text(sql)).scalar()

        return _counts(scalar, tables), _revision(scalar, tables)


def restore_backup(source: str | Path, *, force: bool = False) -> Restored:
    """Replace this app's database and add the backup's uploads, then migrate and reindex."""
    from flask_migrate import upgrade

    from .. import search

    source = Path(source).expanduser().absolute()
    if not source.is_dir():
        raise BackupError(f"备份目录不存在：{source}")
    manifest = read_manifest(source)
    kind = database_kind()
    backup_kind = manifest["database"]["kind"]
    if backup_kind != kind:
        raise BackupError(
            f"备份来自 {KIND_LABELS[backup_kind]} 数据库，当前数据库是 {KIND_LABELS[kind]}：不能直接恢复。"
        )
    _known_revision(manifest["database"]["alembic_revision"])
    held = holdings()
    if held and not force:
        listed = describe_holdings(held)
        raise BackupError(f"目标数据库已有数据（{listed}），未做任何更改。确认要用备份覆盖它，请加 --force。")
    if kind == "sqlite":
        _restore_sqlite(source / manifest["database"]["file"])
    else:
        _restore_postgresql(source / manifest["database"]["file"])
    uploads = source / manifest["uploads"].get("dir", UPLOADS)
    shutil.copytree(uploads, Path(current_app.config["UPLOAD_DIR"]), dirs_exist_ok=True)
    upgrade()
    db.session.remove()
    documents = search.reindex(search.get_index())
    counts, revision = current_counts()
    return Restored(manifest, counts, revision, documents)


def _restore_sqlite(dump: Path) -> None:
    """Copy the backup into the app's database with the backup API (works for a file or memory)."""
    db.session.remove()
    db.engine.dispose()
    backup = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    try:
        with db.engine.connect() as conn:
            backup.backup(conn.connection.dbapi_connection)  # type: ignore[arg-type]
    finally:
        backup.close()
    db.engine.dispose()


def _restore_postgresql(dump: Path) -> None:
    """Check the dump is readable, drop what the target holds (so tables of a newer schema do not
    survive to break the migrations), then pg_restore in one transaction."""
    args, env = pg_connection(db.engine.url)
    pg_restore = _pg_program("pg_restore")
    _run([pg_restore, "--list", str(dump)], env, "读取备份文件")
    db.session.remove()
    with db.engine.begin() as conn:
        inspector = inspect(conn)
        tables = inspector.get_table_names()
        views = inspector.get_view_names()
        if views:
            conn.execute(text("DROP VIEW IF EXISTS " + ", ".join(f'"{v}"' for v in views) + " CASCADE"))
        if tables:
            conn.execute(text("DROP TABLE IF EXISTS " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        for sequence in inspector.get_sequence_names():
            conn.execute(text(f'DROP SEQUENCE IF EXISTS "{sequence}" CASCADE'))
    db.engine.dispose()
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *args,
            str(dump),
        ],
        env,
        "pg_restore 恢复",
    )
    db.engine.dispose()
