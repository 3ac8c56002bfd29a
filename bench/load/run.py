"""One command for the load test: gunicorn on the load world, locust at 20 and then 100 users.

    bench/load/.venv/bin/python bench/load/run.py --label after            # both steps, 60 s each
    bench/load/.venv/bin/python bench/load/run.py --label before --plain   # gunicorn as README shows it
    bench/load/.venv/bin/python bench/load/run.py --users 20 --time 30     # a quick look

Needs the load world (bench/load/seed.py) and the locust venv (bench/load/requirements.txt).
It starts gunicorn (`--workers`, default 2 x cores + 1) on 127.0.0.1:5104 against PostgreSQL
`kjtb_load` with Redis db 14 as the rate-limit storage, waits for /healthz, warms up for
`--warmup` s (20 users, discarded), then for each user count runs locust headless for `--time` s
after all users are spawned (`--reset-stats`: the ramp is not counted), writes locust's CSVs to
bench/load/results/<UTC time>_<label>/u<N>_*.csv, notes `uptime` before and after each step (other
work on the machine shows there), prints a markdown table per step (req/s, p50, p95, p99, errors)
and writes it to summary.md beside the CSVs. Exit status 1 when any request failed.

The log-in limit per address is raised for the run (LOGIN_LIMIT_PER_ADDRESS, default 20 per
minute): every simulated user logs in from 127.0.0.1, so a real limit would refuse them after 20.
The per-account limit stays as configured (each simulated user has its own account and only
failed attempts count)."""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from seed import environment  # noqa: E402

REDIS = "redis://127.0.0.1:6379/14"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def start_gunicorn(args, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        **environment(args.db),
        "REDIS_URL": REDIS,
        "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute",
        "PYTHONUNBUFFERED": "1",
    }
    tree = Path(args.tree).resolve() if args.tree else ROOT
    command = [str(tree / ".venv" / "bin" / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{args.port}"]
    if not args.plain:
        command += ["-c", str(HERE / "gunicorn_conf.py")]
    command.append("wsgi:app")
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    stop(process)
    sys.exit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def locust(args, users: int, seconds: int, prefix: Path | None, log_path: Path) -> int:
    rate = max(1, users // 5)  # every user spawned within about 5 s
    command = [
        str(HERE / ".venv" / "bin" / "locust"),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--host",
        f"http://127.0.0.1:{args.port}",
        "-u",
        str(users),
        "-r",
        str(rate),
        "--run-time",
        f"{seconds + users // rate + 1}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if prefix is not None:
        command += ["--csv", str(prefix), "--reset-stats"]
    with log_path.open("w") as log:
        return subprocess.run(command, cwd=HERE, stdout=log, stderr=subprocess.STDOUT).returncode


def table(stats_csv: Path) -> tuple[str, dict]:
    rows = list(csv.DictReader(stats_csv.open(encoding="utf-8")))
    lines = [
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = {}
    for row in rows:
        name = row["Name"] if row["Type"] else "**all**"
        if not row["Type"]:
            total = row
        lines.append(
            f"| {row['Type'] + ' ' if row['Type'] else ''}{name} | {row['Request Count']} | "
            f"{float(row['Requests/s']):.2f} | {row['50%']} | {row['95%']} | {row['99%']} | {row['Failure Count']} |"
        )
    return "\n".join(lines), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="kjtb_load")
    parser.add_argument("--label", default="run")
    parser.add_argument("--users", default="20,100", help="comma-separated user counts, run in order")
    parser.add_argument("--time", type=int, default=60, help="measured seconds per step (after the ramp)")
    parser.add_argument("--warmup", type=int, default=20, help="seconds of discarded traffic first")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--port", type=int, default=5104)
    parser.add_argument("--plain", action="store_true", help="gunicorn without bench/load/gunicorn_conf.py")
    parser.add_argument(
        "--tree",
        default="",
        help="serve the application from another checkout (e.g. `git archive` of the commit before the fixes)",
    )
    args = parser.parse_args()
    if not (HERE / ".accounts.json").exists():
        sys.exit("no load world: run bench/load/seed.py first")

    out = HERE / "results" / f"{datetime.now(UTC):%Y%m%d-%H%M}_{args.label}"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["redis-cli", "-n", "14", "FLUSHDB"], capture_output=True)  # fresh rate-limit counters
    gunicorn = start_gunicorn(args, out / "gunicorn.log")
    summary = [
        f"# load test {args.label} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"gunicorn -w {args.workers} {'(plain)' if args.plain else '-c bench/load/gunicorn_conf.py (preload)'}"
        f"{' from ' + args.tree if args.tree else ''}"
        f" on PostgreSQL {args.db}; locust {args.time} s per step after the ramp; think time 1-3 s.",
        "",
    ]
    failed = False
    try:
        if args.warmup:
            locust(args, 20, args.warmup, None, out / "warmup.log")
        for users in (int(u) for u in args.users.split(",")):
            before = uptime()
            code = locust(args, users, args.time, out / f"u{users}", out / f"u{users}_locust.log")
            after = uptime()
            text, total = table(out / f"u{users}_stats.csv")
            failed = failed or code != 0 or int(total.get("Failure Count") or 0) > 0
            block = [
                f"## {users} users",
                "",
                f"- uptime before: `{before}`",
                f"- uptime after: `{after}`",
                "",
                text,
                "",
            ]
            print("\n".join(block), flush=True)
            summary += block
    finally:
        stop(gunicorn)
    (out / "summary.md").write_text("\n".join(summary), encoding="utf-8")
    print(f"CSVs and summary.md in {out.relative_to(ROOT)}")
    if failed:
        print("FAILURES: see the *_failures.csv files; the error rate must be 0", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
