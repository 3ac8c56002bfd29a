"""The CI dependency audit (.ci/audit_requirements.py) against a fake PyPI."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("audit_requirements", ROOT / ".ci" / "audit_requirements.py")
audit_requirements = importlib.util.module_from_spec(_spec)
sys.modules["audit_requirements"] = audit_requirements  # dataclasses look their module up
_spec.loader.exec_module(audit_requirements)

VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "fixed_in": ["2.0.1"]}


def fake_pypi(per_version: dict, projects: dict):
    def fetch(url: str):
        parts = url.removeprefix(audit_requirements.INDEX + "/").split("/")
        if len(parts) == 3:
            return per_version.get((parts[0], parts[1]))
        return projects.get(parts[0])

    return fetch


@pytest.fixture()
def reqs(tmp_path):
    (tmp_path / "requirements.txt").write_text("# runtime\nalpha==1.0\nBeta_pkg==2.0  # why\n", encoding="utf-8")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\ngamma==3.0\n", encoding="utf-8")
    return str(tmp_path / "requirements-dev.txt")


def test_pins_are_read_through_includes(reqs):
    assert audit_requirements.read_pins([reqs]) == [("alpha", "1.0"), ("Beta_pkg", "2.0"), ("gamma", "3.0")]


def test_a_known_vulnerability_fails_the_audit_and_is_named(reqs, capsys):
    fetch = fake_pypi(
        {("alpha", "1.0"): {"vulnerabilities": []}},
        {
            "Beta_pkg": {"info": {"version": "2.0"}, "vulnerabilities": [VULN]},
            "gamma": {"info": {"version": "3.0"}, "vulnerabilities": []},
        },
    )
    assert audit_requirements.main([reqs], fetch=fetch) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE Beta_pkg==2.0: PYSEC-2099-1, CVE-2099-0001 (fixed in 2.0.1)" in out
    assert "1 with known vulnerabilities" in out


def test_clean_pins_pass_and_old_pins_are_reported_not_audited(reqs, capsys):
    fetch = fake_pypi(
        {},
        {
            "alpha": {"info": {"version": "1.0"}, "vulnerabilities": []},
            "Beta_pkg": {"info": {"version": "2.0"}, "vulnerabilities": []},
            # gamma's latest has a vulnerability, but the pin is older: it cannot be judged from
            # the latest release's list, so it is neither passed nor failed as vulnerable.
            "gamma": {"info": {"version": "4.0"}, "vulnerabilities": [VULN]},
        },
    )
    assert audit_requirements.main([reqs], fetch=fetch) == 0
    out = capsys.readouterr().out
    assert "not audited gamma==3.0: pinned 3.0, latest 4.0" in out
    assert "3 pins, 2 audited, 0 with known vulnerabilities, 1 not audited" in out
    assert audit_requirements.main([reqs, "--strict"], fetch=fetch) == 1


def test_pypi_unreachable_is_an_error_not_a_pass(reqs, capsys):
    def fetch(url):
        raise OSError("connection refused")

    assert audit_requirements.main([reqs], fetch=fetch) == 2
    assert "PyPI could not be asked" in capsys.readouterr().err
