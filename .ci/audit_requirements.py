#!/usr/bin/env python3
"""Audit the pinned requirements against the vulnerabilities PyPI publishes (from OSV).

`pip-audit` asks PyPI for `/pypi/<name>/<version>/json`; the PyPI mirror this project's machines
reach answers that with 404, so pip-audit audits nothing here ("Dependency not found on PyPI").
This script asks the same vulnerability data another way: the per-version document when it is
served, otherwise the project document, whose `vulnerabilities` describe the *latest* release —
which is what a pin equal to the latest release needs. A pin older than the latest release cannot
be audited from that document: it is listed as not audited (with the latest version), not passed.

Exit status: 0 when no pinned version has a known vulnerability, 1 when one has, 2 when PyPI could
not be asked. `--strict` also fails (1) when some pin could not be audited.

    python3 .ci/audit_requirements.py requirements.txt requirements-dev.txt
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

INDEX = "https://pypi.org/pypi"
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


@dataclass
class Result:
    name: str
    version: str
    audited: bool
    vulnerabilities: list[dict] = field(default_factory=list)
    latest: str | None = None


def read_pins(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Every `name==version` line of the files (and of files they include with -r)."""
    pins: list[tuple[str, str]] = []
    seen: set[str] = set()

    def read(path: str) -> None:
        if path in seen:
            return
        seen.add(path)
        base = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                stripped = line.strip()
                if stripped.startswith(("-r ", "--requirement ")):
                    read(base + stripped.split(None, 1)[1])
                    continue
                match = PIN.match(line)
                if match:
                    pins.append((match.group(1), match.group(2)))

    for path in paths:
        read(path)
    return sorted(set(pins), key=lambda pin: pin[0].lower())


def fetch_json(url: str, timeout: float = 20.0) -> dict | None:
    """The JSON document at url, None for 404; other failures raise."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def audit(name: str, version: str, fetch: Callable[[str], dict | None] = fetch_json) -> Result:
    doc = fetch(f"{INDEX}/{name}/{version}/json")
    if doc is not None:
        return Result(name, version, True, list(doc.get("vulnerabilities") or []))
    project = fetch(f"{INDEX}/{name}/json")
    if project is None:
        return Result(name, version, False)
    latest = project.get("info", {}).get("version")
    if latest == version:
        return Result(name, version, True, list(project.get("vulnerabilities") or []), latest)
    return Result(name, version, False, latest=latest)


def main(argv: list[str] | None = None, fetch: Callable[[str], dict | None] = fetch_json) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--strict", action="store_true", help="fail when a pin cannot be audited")
    args = parser.parse_args(argv)
    try:
        results = [audit(name, version, fetch) for name, version in read_pins(args.files)]
    except (OSError, ValueError) as exc:
        print(f"audit: PyPI could not be asked: {exc}", file=sys.stderr)
        return 2
    vulnerable = [r for r in results if r.vulnerabilities]
    unaudited = [r for r in results if not r.audited]
    for r in vulnerable:
        for vuln in r.vulnerabilities:
            fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
            ids = ", ".join([vuln.get("id", "?"), *(vuln.get("aliases") or [])])
            print(f"VULNERABLE {r.name}=={r.version}: {ids} (fixed in {fixed})")
    for r in unaudited:
        why = f"pinned {r.version}, latest {r.latest}" if r.latest else "not on the index"
        print(f"not audited {r.name}=={r.version}: {why}")
    audited = len(results) - len(unaudited)
    print(
        f"audit: {len(results)} pins, {audited} audited, {len(vulnerable)} with known vulnerabilities, "
        f"{len(unaudited)} not audited"
    )
    if vulnerable or (args.strict and unaudited):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
