"""Bulk-import benchmark: 10,000 real 科技成果 rows (51jishu.com, cycled) as .xlsx, .jsonl and
.csv, each imported into a fresh temporary SQLite database built by the real migrations.

    .venv/bin/python bench/bench_import.py [--rows 10000] [--formats xlsx,jsonl,csv]

Prints rows/s, seconds (reading the file, importing, total) and peak RSS per format; each format
runs in its own process so its peak RSS is its own. It never passes or fails on time."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "techmarket_51jishu" / "achievements.jsonl"
sys.path.insert(0, str(ROOT))

# 51jishu's 11 top-level technology fields -> our national technology-market fields.
FIELD_MAP = {
    "现代农业": "农业",
    "新材料": "新材料及其应用",
    "装备制造": "先进制造",
    "电子信息": "电子信息",
    "生物医药": "生物、医药和医疗器械",
    "交通运输": "现代交通",
    "技术服务": "城市建设与社会发展",
    "新能源": "新能源与高效节能",
    "资源环保": "环境保护与资源综合利用",
    "生活必需": "城市建设与社会发展",
    "建筑安装": "城市建设与社会发展",
}
# Patent-type digit of a CNIPA application number, for the synthetic numbers patent rows need.
PATENT_TYPE_DIGIT = {"发明专利": "1", "实用新型专利": "2", "实用新型": "2", "外观专利": "3", "外观设计": "3"}
ORG_NAME = "日照基准测试大学"


def build_rows(count: int) -> list[dict]:
    from marketplace.core.validators import patent_check_char

    source = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for index in range(count):
        record = source[index % len(source)]
        cycle = index // len(source)
        patents = ""
        digit = PATENT_TYPE_DIGIT.get(record["ip_type"])
        if digit:  # the source has no numbers; patent rows need one, unique within the org
            digits = f"2019{digit}{index:07d}"
            patents = f"ZL{digits}.{patent_check_char(digits)}"
        rows.append(
            {
                "title": record["name"] if cycle == 0 else f"{record['name']}（{cycle + 1}）",
                "summary": record["description"],
                "field": FIELD_MAP[record["tech_field_l1"]],
                "keywords": [k for k in (record.get("tech_field_l2"), record.get("industry_class_l2")) if k][:2],
                "maturity": record["maturity"],
                "ip_type": record["ip_type"],
                "patent_numbers": patents,
                "transfer_modes": record["cooperation"],
                "price": record["price"],
                "district": "东港区",
                "contact": "王老师 0633-8888888",
            }
        )
    return rows


def write_files(rows: list[dict], directory: Path, formats: list[str]) -> dict[str, Path]:
    from marketplace.listings.importer import ACHIEVEMENT_COLUMNS

    headers = {key: header for key, header, _r, _h in ACHIEVEMENT_COLUMNS} | {"contact": "联系方式"}
    keys = list(rows[0])
    paths: dict[str, Path] = {}

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):
        value = "；".join(value) if isinstance(value, list) else value
        # a few scraped titles carry control characters a worksheet cannot hold
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    if "jsonl" in formats:
        path = paths["jsonl"] = directory / "achievements.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if "xlsx" in formats:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("科技成果")
        sheet.append([headers[k] for k in keys])
        for row in rows:
            sheet.append([cell(row[k]) for k in keys])
        path = paths["xlsx"] = directory / "achievements.xlsx"
        workbook.save(path)
    if "csv" in formats:
        import csv

        path = paths["csv"] = directory / "achievements.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([headers[k] for k in keys])
            writer.writerows([cell(row[k]) for k in keys] for row in rows)
    return paths


def run_one(fmt: str, path: Path) -> dict:
    """In a child process: fresh database, migrations, one import; figures as a dict."""
    import logging

    logging.disable(logging.INFO)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from marketplace import create_app
    from marketplace.accounts import services as accounts
    from marketplace.extensions import db
    from marketplace.listings import importer
    from marketplace.listings.models import Achievement, AchievementPatent

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{work / 'bench.db'}",
        UPLOAD_DIR=str(work / "uploads"),
        SEARCH_INDEX_DIR=str(work / "index"),
    )
    with app.app_context():
        upgrade()
        org = accounts.create_org({"name": ORG_NAME, "org_type": "university", "district": "东港区"}, verified=True)
        accounts.create_user(
            {"email": "tto@bench.example.cn", "name": "成果转化办", "role": "university", "password": "Bench-pass-1"},
            org,
            manager=True,
        )
        db.session.commit()
        actor = importer.acting_user(org)
        content = path.read_bytes()
        started = time.perf_counter()
        parsed = importer.read_file(content, path.name, "achievement")
        read_seconds = time.perf_counter() - started
        result = importer.import_rows(parsed, org, actor)
        total_seconds = time.perf_counter() - started
        stored = db.session.scalar(select(func.count()).select_from(Achievement))
        patents = db.session.scalar(select(func.count()).select_from(AchievementPatent))
        reasons: dict[str, int] = {}
        for row in result.rejected_rows:
            for error in row.errors:
                key = f"{error.column}: {error.reason[:40]}"
                reasons[key] = reasons.get(key, 0) + 1
    return {
        "format": fmt,
        "bytes": len(content),
        "rows": result.total,
        "imported": result.imported,
        "rejected": result.rejected,
        "stored": stored,
        "patents": patents,
        "read_s": read_seconds,
        "import_s": result.seconds,
        "total_s": total_seconds,
        "rows_per_s": result.total / total_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "reject_reasons": reasons,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--formats", default="xlsx,jsonl,csv")
    parser.add_argument("--run", nargs=2, metavar=("FORMAT", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_one(args.run[0], Path(args.run[1])), ensure_ascii=False))
        return

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-import-files-") as tmp:
        started = time.perf_counter()
        paths = write_files(build_rows(args.rows), Path(tmp), formats)
        print(f"built {args.rows:,} rows from {DATA.name} in {time.perf_counter() - started:.1f} s")
        print(
            f"{'format':<7}{'size':>10}{'rows':>8}{'imported':>10}{'rejected':>10}"
            f"{'read s':>9}{'import s':>10}{'total s':>9}{'rows/s':>9}{'peak RSS':>11}"
        )
        for fmt in formats:
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            child = subprocess.run(
                [sys.executable, __file__, "--run", fmt, str(paths[fmt])],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=False,
            )
            if child.returncode != 0:
                print(f"{fmt}: failed\n{child.stderr}", file=sys.stderr)
                continue
            r = json.loads(child.stdout.strip().splitlines()[-1])
            print(
                f"{fmt:<7}{r['bytes'] / 1e6:>8.1f}MB{r['rows']:>8,}{r['imported']:>10,}{r['rejected']:>10,}"
                f"{r['read_s']:>9.2f}{r['import_s']:>10.2f}{r['total_s']:>9.2f}{r['rows_per_s']:>9,.0f}"
                f"{r['peak_rss_mb']:>9.0f}MB"
            )
            for reason, count in sorted(r["reject_reasons"].items(), key=lambda item: -item[1]):
                print(f"         rejected {count:>5} × {reason}")
            if r["stored"] != r["imported"]:
                print(f"         !! {r['stored']} rows stored but {r['imported']} reported imported")


if __name__ == "__main__":
    main()
