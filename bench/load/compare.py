"""Before/after side by side from two run.py result directories (locust's *_stats.csv).

    python3 bench/load/compare.py bench/load/results/20261204-0204_before bench/load/results/20261204-0207_after

Prints one markdown table per user count: requests/s, p50, p95, p99 and errors of each endpoint,
before → after. Standard library only."""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def read(directory: Path, users: str) -> dict[str, dict[str, str]]:
    path = directory / f"u{users}_stats.csv"
    rows = {}
    for row in csv.DictReader(path.open(encoding="utf-8")):
        name = f"{row['Type']} {row['Name']}".strip() if row["Type"] else "**all**"
        rows[name] = row
    return rows


def cell(before: dict[str, str] | None, after: dict[str, str] | None, key: str, fmt=str) -> str:
    def value(row):
        if row is None or row.get(key) in (None, "", "N/A"):
            return "–"
        return fmt(row[key])

    return f"{value(before)} → {value(after)}"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before_dir, after_dir = Path(sys.argv[1]), Path(sys.argv[2])
    users = sorted({p.name.split("_")[0][1:] for p in after_dir.glob("u*_stats.csv")}, key=int)
    for count in users:
        before, after = read(before_dir, count), read(after_dir, count)
        names = sorted(set(before) | set(after), key=lambda n: (n == "**all**", n.split(" ", 1)[-1]))
        print(f"\n#### {count} users: before → after\n")
        print("| endpoint | req/s | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in names:
            b, a = before.get(name), after.get(name)
            print(
                f"| {name} | {cell(b, a, 'Requests/s', lambda v: f'{float(v):.2f}')} | {cell(b, a, '50%')} | "
                f"{cell(b, a, '95%')} | {cell(b, a, '99%')} | {cell(b, a, 'Failure Count')} |"
            )


if __name__ == "__main__":
    main()
