"""Builds the load-test world in PostgreSQL: 100,000 published listings, 100,000 registered
technology contracts, a few hundred persona accounts with API tokens, and the search index.

    .venv/bin/python bench/load/seed.py                      # database kjtb_load, defaults below
    .venv/bin/python bench/load/seed.py --db kjtb_load --achievements 70000 --demands 30000

Steps (each timed and printed):
1. drop and create the database, `flask db upgrade` (the real migrations);
2. the ordinary demo (`flask demo load`: demo organisations, accounts, challenges, deals, services);
3. persona organisations (universities, institutes, enterprises, agencies) and users with one
   shared password (hashed once, with the application's own hashing) and one API token each;
4. published 科技成果 and 技术需求 up to the targets, by COPY, from the real public texts in
   ../shared/data (51jishu listings, CSL paper titles/abstracts/keywords, Chinese patent titles),
   each template validated once through the listing service's own cleaning, then varied (title
   qualifiers, a second sentence, owner, district, dates), with their audit rows (create, submit,
   approve) like a reviewed listing;
5. registered contracts up to the target through `marketplace.stats.demo.load` (the demo's
   generator: periods 2019-today, districts, fields, types, a third with a broker's deal);
6. `flask search reindex` into bench/load/.index; the broker board's precomputed lists (the newest
   demands for real for `--match-seconds`, the rest marked computed, see `board_states`); ANALYZE.

Writes bench/load/.accounts.json (persona logins, tokens, sample listing ids) for the locustfile.
Prints figures; the load world is disposable (never point --db at a database you care about)."""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Load2026kjtb"  # the personas' password (a throw-away world; never reuse)
SECRET_KEY = "load-test-secret-key-not-for-production"
INDEX_DIR = HERE / ".index"
UPLOAD_DIR = HERE / ".index-uploads"
ACCOUNTS_FILE = HERE / ".accounts.json"

QUALIFIERS = (
    "（改进型）",
    "（第二代）",
    "（产业化方案）",
    "（低成本方案）",
    "（工程化版本）",
    "（中试验证）",
    "（示范应用）",
    "（集成方案）",
    "（轻量化）",
    "（智能化升级）",
)
PLACES = ("日照", "东港", "岚山", "五莲", "莒县", "山海天", "高新区", "经开区", "海洋城", "鲁东南")
ORG_WORDS = ("海港", "黄海", "蓝湾", "阳光", "东方", "鲁南", "海滨", "奎山", "九仙", "浮来", "龙门", "涛雒")
ORG_TRADES = ("智能装备", "新材料", "生物科技", "环保科技", "新能源", "信息技术", "食品", "机械", "化工", "水产")
# IPC sections of the patent titles -> a national technology field.
IPC_FIELD = {"A": "09", "B": "03", "C": "05", "D": "0506", "E": "1101", "F": "03", "G": "01", "H": "0101"}
TRANSFER_CHOICES = (["转让"], ["许可"], ["转让", "许可"], ["合作开发"], ["作价入股", "合作开发"], ["许可", "合作开发"])
PRICE_CHOICES = ("面议", "面议", "面议", "10万", "20万", "50万", "80万", "100万", "30万-60万", "100万-300万", "500万")
BUDGET_CHOICES = ("面议", "面议", "5万", "10万", "20万", "30万-50万", "50万-100万", "200万")


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Database


def pg_url(db: str) -> str:
    return f"postgresql://postgres@127.0.0.1/{db}"


def recreate_database(db: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')


def environment(db: str) -> dict[str, str]:
    """The settings the seed and the load test's gunicorn share."""
    return {
        "DATABASE_URL": pg_url(db),
        "SEARCH_INDEX_DIR": str(INDEX_DIR),
        "UPLOAD_DIR": str(UPLOAD_DIR),
        "SECRET_KEY": SECRET_KEY,
        "APP_CONFIG": "development",
    }


def copy_rows(table, rows: list[dict]) -> None:
    """COPY dict rows into a table; columns a row leaves out get the column's Python default."""
    from marketplace.extensions import db

    columns = list(table.columns)
    json_columns = {c.name for c in columns if c.type.__class__.__name__ == "JSON"}

    def value(column, row):
        if column.name in row:
            v = row[column.name]
        elif column.default is not None:
            arg = column.default.arg
            v = arg(None) if callable(arg) else arg
        else:
            v = None
        if column.name in json_columns and v is not None:
            v = json.dumps(v, ensure_ascii=False)
        return v

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        names = ", ".join(f'"{c.name}"' for c in columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([value(c, row) for c in columns])
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT MAX(id) FROM {table.name}))"
        )
        raw.commit()
    finally:
        raw.close()


def next_id(model) -> int:
    from sqlalchemy import func, select

    from marketplace.extensions import db

    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


# ---------------------------------------------------------------------------------------------
# Personas


def _uscc(rng: random.Random) -> str:
    from marketplace.core.validators import USCC_ALPHABET, uscc_check_char

    body = "91371100" + "".join(rng.choice(USCC_ALPHABET[:10] + "ABCDEFGH") for _ in range(9))
    return body + uscc_check_char(body)


def create_personas(rng: random.Random, universities: int, enterprises: int, brokers: int, officials: int):
    """Organisations through the accounts service; users in bulk with one hash of PASSWORD."""
    from sqlalchemy import insert, select

    from marketplace.accounts import services as accounts
    from marketplace.accounts.models import ApiToken, Organization, User
    from marketplace.core.audit import AuditLog
    from marketplace.core.timeutil import utcnow
    from marketplace.extensions import db

    districts = ["371102", "371103", "371121", "371122", "rz-etdz", "rz-hitech", "rz-oceancity", "rz-shanhaitian"]
    used_uscc = set(db.session.scalars(select(Organization.uscc)))

    def org(name: str, org_type: str) -> Organization:
        code = _uscc(rng)
        while code in used_uscc:
            code = _uscc(rng)
        used_uscc.add(code)
        return accounts.create_org(
            {
                "name": name,
                "org_type": org_type,
                "district": rng.choice(districts),
                "uscc": code,
                "contact_name": "联系人",
                "contact_phone": "0633-8000000",
                "description": "负载测试用机构，名称与信息均为虚构。",
            },
            verified=True,
        )

    research = [
        org(
            f"{PLACES[i % len(PLACES)]}{ORG_WORDS[i % len(ORG_WORDS)]}{'大学' if i % 3 == 0 else '研究院'}（负载{i:03d}）",
            "university" if i % 3 == 0 else "institute",
        )
        for i in range(40)
    ]
    companies = [
        org(
            f"{PLACES[i % len(PLACES)]}{ORG_WORDS[(i * 7) % len(ORG_WORDS)]}{ORG_TRADES[i % len(ORG_TRADES)]}"
            f"有限公司（负载{i:03d}）",
            "enterprise",
        )
        for i in range(80)
    ]
    agencies = [org(f"日照{ORG_WORDS[i]}技术转移中心（负载{i:03d}）", "agency") for i in range(4)]
    government = db.session.scalar(select(Organization).where(Organization.org_type == "government"))
    db.session.commit()

    password_hash = accounts.hash_password(PASSWORD)
    now = utcnow()
    users: list[dict] = []
    plan = (
        [("university", research, i) for i in range(universities)]
        + [("enterprise", companies, i) for i in range(enterprises)]
        + [("broker", agencies, i) for i in range(brokers)]
        + [("official", [government], i) for i in range(officials)]
    )
    first_member: set[int] = set()
    for role, orgs, i in plan:
        o = orgs[i % len(orgs)]
        users.append(
            {
                "email": f"{role}{i:03d}@load.kjtb.cn",
                "name": f"负载{ {'university': '研究员', 'enterprise': '经理', 'broker': '经纪人', 'official': '科员'}[role] }{i:03d}",
                "phone": None,
                "password_hash": password_hash,
                "role": role,
                "organization_id": o.id,
                "membership_status": "active",
                "is_org_manager": o.id not in first_member,
                "broker_level": "intermediate" if role == "broker" else None,
                "broker_cert_no": f"SD-JSJL-2025-{i:04d}" if role == "broker" else None,
                "is_disabled": False,
                "session_version": 1,
                "created_at": now,
            }
        )
        first_member.add(o.id)
    ids = db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), users).all()
    tokens, audits, accounts_out = [], [], []
    for user_id, row in zip(ids, users, strict=True):
        plain = (
            accounts.TOKEN_PREFIX
            + f"load{user_id:06d}"
            + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(32))
        )
        tokens.append(
            {
                "user_id": user_id,
                "name": "负载测试",
                "prefix": plain[:12],
                "token_hash": ApiToken.hash(plain),
                "created_at": now,
            }
        )
        audits.append(
            {"created_at": now, "actor_id": user_id, "action": "create", "object_type": "user", "object_id": user_id}
        )
        accounts_out.append(
            {
                "id": user_id,
                "email": row["email"],
                "password": PASSWORD,
                "role": row["role"],
                "org_id": row["organization_id"],
                "token": plain,
            }
        )
    db.session.execute(insert(ApiToken), tokens)
    db.session.execute(insert(AuditLog), audits)
    db.session.commit()
    return research, companies, accounts_out


# ---------------------------------------------------------------------------------------------
# Listing templates from the public data


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def achievement_templates(data: Path) -> list[tuple[str, dict]]:
    """(source_ref prefix, form data) for every usable public text, as a member would type it."""
    from marketplace import demo

    out: list[tuple[str, dict]] = []
    for row in _jsonl(data / "techmarket_51jishu" / "achievements.jsonl"):
        out.append(
            (
                f"51jishu:{row['id']}",
                demo.achievement_from_51jishu(row),
            )
        )
    for row in _jsonl(data / "csl" / "csl_papers.jsonl"):
        if row["discipline"] not in demo.CSL_FIELD:
            continue
        out.append(
            (
                f"csl:{row['id']}",
                {
                    "title": row["title"][:200],
                    "summary": row["abstract"],
                    "field": demo.CSL_FIELD[row["discipline"]],
                    "keywords": row["keywords"][:10],
                    "maturity": "正在研发",
                    "ip_type": "非专利技术",
                    "transfer_modes": ["合作开发", "许可"],
                    "price": "面议",
                },
            )
        )
    with (data / "patents" / "cn_patent_titles_ipc.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            number, title, _subclasses, sections = line.rstrip("\n").split("\t")
            kind = "发明专利" if number.endswith(("A", "B")) else "实用新型专利"
            out.append(
                (
                    f"patent:{number}",
                    {
                        "title": title[:200],
                        "summary": f"{title}。本成果已公开专利（公开号 {number}），技术方案完整，"
                        "可提供专利转让或实施许可，并可配合企业完成工艺调试与产业化。",
                        "field": IPC_FIELD.get(sections[:1], "11"),
                        "keywords": [],
                        "maturity": "通过小试",
                        "ip_type": kind,
                        "transfer_modes": ["转让", "许可"],
                        "price": "面议",
                    },
                )
            )
    return out


def demand_templates(data: Path) -> list[tuple[str, dict]]:
    from marketplace import demo

    out: list[tuple[str, dict]] = []
    for row in _jsonl(data / "techmarket_51jishu" / "requirements.jsonl"):
        coop = row.get("cooperation") or []
        demand_type = "co_develop" if "委托开发" in coop else "introduce" if coop and coop != ["其他"] else "tackle"
        out.append(
            (
                f"51jishu:{row['id']}",
                {
                    "title": row["name"][:200],
                    "description": row["description"] or row["name"],
                    "field": demo.INDUSTRY_FIELD.get((row.get("industry_classes") or [""])[0], "11"),
                    "demand_type": demand_type,
                },
            )
        )
    for row in _jsonl(data / "csl" / "csl_papers.jsonl"):
        words = [k for k in row["keywords"] if 2 <= len(k) <= 12][:2]
        if row["discipline"] not in demo.CSL_FIELD or not words:
            continue
        first = row["abstract"].split("。")[0][:160]
        out.append(
            (
                f"csl:{row['id']}",
                {
                    "title": f"寻求{'、'.join(words)}方面的技术解决方案",
                    "description": f"我单位在生产中遇到与“{row['title'][:60]}”相关的问题，希望与高校院所合作攻关。"
                    f"背景：{first}。",
                    "field": demo.CSL_FIELD[row["discipline"]],
                    "keywords": words,
                    "demand_type": "tackle" if len(first) % 2 else "co_develop",
                },
            )
        )
    return out


def clean_templates(kind: str, templates: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Each template through the listing service's own cleaning (what a real form would store)."""
    from marketplace.core.errors import ServiceError
    from marketplace.listings import services as listings

    out = []
    for ref, data in templates:
        data = {k: v for k, v in data.items() if v is not None}
        data.setdefault("contact_name", "联系人")
        data.setdefault("contact_phone", "0633-8000000")
        if kind == "achievement":
            data.setdefault("price", "面议")
        else:
            data.setdefault("budget", "面议")
        try:
            cleaned = listings._clean(kind, data)
        except ServiceError:
            continue
        cleaned.pop("patent_numbers", None)
        out.append((ref, cleaned))
    return out


# ---------------------------------------------------------------------------------------------
# Listings in bulk


def bulk_listings(kind: str, count: int, templates, owners, rng: random.Random) -> tuple[int, int]:
    """`count` published listings of `kind` from the cleaned templates, COPYed with audit rows."""
    from marketplace.core.audit import AuditLog
    from marketplace.core.timeutil import local_today, utcnow
    from marketplace.listings.models import Achievement, Demand

    model = Achievement if kind == "achievement" else Demand
    text_key = "summary" if kind == "achievement" else "description"
    first_id = next_id(model)
    now = utcnow().replace(microsecond=0)
    today = local_today()
    uses: dict[int, int] = defaultdict(int)
    rows, audits = [], []
    districts = ["371102", "371103", "371121", "371122", "rz-etdz", "rz-hitech", "rz-oceancity", "rz-shanhaitian"]
    order = list(range(len(templates)))
    rng.shuffle(order)
    for n in range(count):
        t = order[n % len(order)]
        ref, base = templates[t]
        k = uses[t]
        uses[t] += 1
        row = dict(base)
        if k:
            row["title"] = (base["title"][: 200 - 12] + QUALIFIERS[(k + t) % len(QUALIFIERS)])[:200]
            other = templates[rng.randrange(len(templates))][1][text_key]
            row[text_key] = f"{base[text_key]}\n{other.split('。')[0][:200]}。"
        if kind == "achievement":
            if base.get("price_kind") == "negotiable" and k:
                row.update(random_price(rng, PRICE_CHOICES, "price"))
            if not row.get("transfer_modes"):
                row["transfer_modes"] = ["license"]
        else:
            row.update(random_price(rng, BUDGET_CHOICES, "budget"))
            row["valid_until"] = today + timedelta(days=rng.randint(20, 720)) if rng.random() < 0.9 else None
        org_id, user_id = owners[rng.randrange(len(owners))]
        published = now - timedelta(days=rng.random() * 1100)
        created = published - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
        listing_id = first_id + n
        row.update(
            {
                "id": listing_id,
                "district": row.get("district") or rng.choice(districts),
                "org_id": org_id,
                "created_by_id": user_id,
                "status": "published",
                "view_count": rng.randint(0, 400),
                "created_at": created,
                "updated_at": published,
                "submitted_at": published - timedelta(hours=rng.randint(1, 72)),
                "published_at": published,
                "source_ref": f"{ref}#load{n}"[:64],
            }
        )
        rows.append(row)
        audit_type = model.AUDIT_TYPE
        audits += [
            {
                "created_at": created,
                "actor_id": user_id,
                "action": "create",
                "object_type": audit_type,
                "object_id": listing_id,
                "to_state": "draft",
            },
            {
                "created_at": row["submitted_at"],
                "actor_id": user_id,
                "action": "submit",
                "object_type": audit_type,
                "object_id": listing_id,
                "from_state": "draft",
                "to_state": "pending",
            },
            {
                "created_at": published,
                "actor_id": None,
                "action": "approve",
                "object_type": audit_type,
                "object_id": listing_id,
                "from_state": "pending",
                "to_state": "published",
            },
        ]
    copy_rows(model.__table__, rows)
    copy_rows(AuditLog.__table__, [{"id": next_id(AuditLog) + i, **a} for i, a in enumerate(audits)])
    return first_id, first_id + count - 1


def random_price(rng: random.Random, choices: tuple[str, ...], prefix: str) -> dict:
    """A price (or budget) as a member types it ("50万", "30万-60万", "面议"), parsed by the app."""
    from marketplace.core.money import parse_price

    price = parse_price(rng.choice(choices))
    return {f"{prefix}_kind": price.kind.value, f"{prefix}_low": price.low, f"{prefix}_high": price.high}


# ---------------------------------------------------------------------------------------------


def reindex(env: dict[str, str]) -> None:
    """`flask search reindex`, as an operator runs it (both cores)."""
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "search", "reindex"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )


def board_states(seconds: float) -> int:
    """The broker board's precomputed lists, as a node that has run for a while has them.

    Computing all 30,000 demands' lists takes the better part of an hour on two cores, so the
    newest demands are computed for real for `seconds` (what the board's first pages show) and
    every other published listing gets a state marked computed with no stored candidates. Without
    states every request that changed a listing would start working through that backlog after
    its response (MATCH_REFRESH_AFTER_REQUEST), which a steady-state node never does."""
    from sqlalchemy import insert, select

    from marketplace.core.timeutil import utcnow
    from marketplace.extensions import db
    from marketplace.listings.models import Achievement, Demand
    from marketplace.matching import precompute
    from marketplace.matching.models import MatchState

    result = precompute.refresh(budget_s=seconds, lock_wait=None, index_wait=None)
    now = utcnow()
    for kind, model in (("achievement", Achievement), ("demand", Demand)):
        have = select(MatchState.source_id).where(MatchState.source_kind == kind)
        ids = db.session.scalars(select(model.id).where(model.status == "published", model.id.not_in(have))).all()
        rows = [{"source_kind": kind, "source_id": i, "stale": 0, "computed_at": now} for i in ids]
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(MatchState), rows[start : start + 5000])
    db.session.commit()
    return result.computed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="kjtb_load")
    parser.add_argument("--achievements", type=int, default=70_000, help="published 科技成果 in all")
    parser.add_argument("--demands", type=int, default=30_000, help="published 技术需求 in all")
    parser.add_argument("--contracts", type=int, default=100_000, help="registered contracts in all")
    parser.add_argument("--universities", type=int, default=120)
    parser.add_argument("--enterprises", type=int, default=140)
    parser.add_argument("--brokers", type=int, default=30)
    parser.add_argument("--officials", type=int, default=20)
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--match-seconds", type=float, default=60, help="real board lists computed for this long")
    args = parser.parse_args()
    if not args.db.startswith("kjtb_load"):
        sys.exit("refusing: the load world's database name must start with kjtb_load (it is dropped first)")

    env = environment(args.db)
    os.environ.update(env)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, t0: float) -> None:
        timings[name] = time.perf_counter() - t0
        log(f"  {name}: {timings[name]:.1f} s")

    t0 = time.perf_counter()
    recreate_database(args.db)
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from marketplace import create_app
    from marketplace.deals.models import TechContract
    from marketplace.demo import data_dir, load_demo
    from marketplace.extensions import db
    from marketplace.listings.models import Achievement, Demand

    app = create_app()
    rng = random.Random(2026)
    with app.app_context():
        upgrade()
        step("database + migrations", t0)

        t0 = time.perf_counter()
        load_demo(600, 400, 200, echo=lambda *_a, **_k: None)
        step("demo (flask demo load)", t0)

        t0 = time.perf_counter()
        research, companies, personas = create_personas(
            rng, args.universities, args.enterprises, args.brokers, args.officials
        )
        step(f"personas ({len(personas)} users with tokens)", t0)

        t0 = time.perf_counter()
        data = data_dir()
        ach_templates = clean_templates("achievement", achievement_templates(data))
        dem_templates = clean_templates("demand", demand_templates(data))
        step(f"templates ({len(ach_templates)} achievement, {len(dem_templates)} demand)", t0)

        by_org: dict[int, list[int]] = defaultdict(list)
        for p in personas:
            by_org[p["org_id"]].append(p["id"])
        research_owners = [(o.id, u) for o in research for u in by_org[o.id]]
        company_owners = [(o.id, u) for o in companies for u in by_org[o.id]]

        def published(model) -> int:
            return db.session.scalar(select(func.count(model.id)).where(model.status == "published")) or 0

        t0 = time.perf_counter()
        need = args.achievements - published(Achievement)
        # Nine in ten achievements from universities and institutes, the rest from enterprises.
        research_part = need * 9 // 10
        ach_range = bulk_listings("achievement", research_part, ach_templates, research_owners, rng)
        ach_range = (
            ach_range[0],
            bulk_listings("achievement", need - research_part, ach_templates, company_owners, rng)[1],
        )
        dem_range = bulk_listings("demand", args.demands - published(Demand), dem_templates, company_owners, rng)
        step(f"listings ({published(Achievement)} achievements + {published(Demand)} demands published)", t0)

        t0 = time.perf_counter()
        from marketplace.stats import demo as stats_demo

        registered = db.session.scalar(select(func.count(TechContract.id))) or 0
        remaining = args.contracts - registered
        while remaining > 0:
            chunk = min(remaining, 20_000)
            stats_demo.load(chunk, seed=11)
            remaining -= chunk
        contracts = db.session.scalar(select(func.count(TechContract.id)).where(TechContract.status == "registered"))
        step(f"contracts ({contracts} registered)", t0)

        if not args.skip_index:
            t0 = time.perf_counter()
            reindex(env)
            step("search reindex", t0)
            t0 = time.perf_counter()
            computed = board_states(args.match_seconds)
            step(f"broker board ({computed} demands computed, the rest marked computed-empty)", t0)

        t0 = time.perf_counter()
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        step("vacuum analyze", t0)

        pick = random.Random(5)
        published_ids = {
            kind: list(db.session.scalars(select(m.id).where(m.status == "published")))
            for kind, m in (("achievement", Achievement), ("demand", Demand))
        }
    ACCOUNTS_FILE.write_text(
        json.dumps(
            {
                "personas": personas,
                "achievement_ids": pick.sample(
                    published_ids["achievement"], min(5000, len(published_ids["achievement"]))
                ),
                "demand_ids": pick.sample(published_ids["demand"], min(3000, len(published_ids["demand"]))),
                "ranges": {"achievement": ach_range, "demand": dem_range},
            },
            ensure_ascii=False,
        )
    )
    total = time.perf_counter() - started
    log(f"seed done in {total:.0f} s; accounts in {ACCOUNTS_FILE.relative_to(ROOT)}")
    log("| step | seconds |\n|---|---:|")
    for name, seconds in timings.items():
        log(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
