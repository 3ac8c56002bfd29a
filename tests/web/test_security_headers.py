"""Security headers on every kind of response (pages, error pages, the JSON API, static files),
the CSP switches in the configuration, HSTS only over HTTPS, templates with nothing inline that
the policy would block, and production cookies that carry Secure, HttpOnly and SameSite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import BASE_DIR, ProductionConfig
from marketplace import create_app
from marketplace.extensions import db, limiter
from tests.conftest import PASSWORD

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_secured(response) -> None:
    policy = directives(response.headers["Content-Security-Policy"])
    for name, value in POLICY.items():
        assert policy.get(name) == value, name
    assert not any("unsafe" in value for value in policy.values())
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    features = response.headers["Permissions-Policy"]
    assert all(f"{feature}=()" in features for feature in ("camera", "microphone", "geolocation"))


@pytest.mark.parametrize(
    "url",
    ["/", "/login", "/achievements", "/search?q=机器视觉", "/no-such-page", "/api/v1/achievements", "/api/v1/nothing"],
)
def test_every_kind_of_response_carries_the_headers(client, url):
    response = client.get(url)
    assert_secured(response)
    assert "Strict-Transport-Security" not in response.headers  # testing is plain http


def test_static_files_and_refusals_carry_them_too(client, university_client, csrf_enabled):
    for response in (
        client.get("/static/js/app.js"),
        client.get("/static/css/app.css"),
        university_client.get("/admin/"),  # 403
        university_client.post("/me/tokens", data={"name": "x"}),  # 400, CSRF
    ):
        assert_secured(response)
        response.close()


def test_report_only_and_a_report_uri_are_configurable(app, client):
    app.config.update(CSP_REPORT_ONLY=True, CSP_REPORT_URI="https://csp.example.cn/report")
    try:
        response = client.get("/")
    finally:
        app.config.update(CSP_REPORT_ONLY=False, CSP_REPORT_URI=None)
    assert "Content-Security-Policy" not in response.headers
    policy = directives(response.headers["Content-Security-Policy-Report-Only"])
    assert policy["script-src"] == "'self'" and policy["report-uri"] == "https://csp.example.cn/report"


def test_hsts_only_when_the_site_is_served_over_https(app, client):
    app.config.update(PREFERRED_URL_SCHEME="https")
    try:
        response = client.get("/")
        app.config["HSTS_INCLUDE_SUBDOMAINS"] = True
        with_subdomains = client.get("/")
    finally:
        app.config.update(PREFERRED_URL_SCHEME="http", HSTS_INCLUDE_SUBDOMAINS=False)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert with_subdomains.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert ProductionConfig.PREFERRED_URL_SCHEME == "https"


# ---------------------------------------------------------------------------------------------
# Nothing inline in the templates: the policy would block it (the browser check is
# tests/e2e/test_csp.py; this catches a template no browser test opens).

TEMPLATES = sorted((BASE_DIR / "templates").rglob("*.html"))
INLINE = {
    "a style attribute": re.compile(r"""\sstyle\s*=\s*["']""", re.I),
    "a <style> element": re.compile(r"<style[\s>]", re.I),
    "an inline event handler": re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


def test_there_are_templates_to_check():
    assert len(TEMPLATES) > 100


@pytest.mark.parametrize("path", TEMPLATES, ids=[str(p.relative_to(BASE_DIR / "templates")) for p in TEMPLATES])
def test_templates_hold_no_inline_script_or_style(path: Path):
    source = path.read_text(encoding="utf-8")
    for what, pattern in INLINE.items():
        assert not pattern.search(source), f"{what} in {path.name}"
    for tag in re.findall(r"<script\b[^>]*>", source, re.I):
        # Scripts are files; a JSON data block is not executed and is fine.
        assert "src=" in tag or 'type="application/json"' in tag, tag


# ---------------------------------------------------------------------------------------------
# Production cookies

HTTPS = "https://kjtb.example.cn"


def test_production_cookies_are_secure_httponly_and_samesite(app, make_user, tmp_path):
    user = make_user("university", email="prod@example.cn")
    config = ProductionConfig()
    config.SECRET_KEY = "production-test-key"
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.REMEMBER_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == config.REMEMBER_COOKIE_SAMESITE == "Lax"
    was_enabled = limiter.enabled
    production = create_app(
        config,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        UPLOAD_DIR=str(tmp_path / "uploads"),
        SEARCH_INDEX_DIR=str(tmp_path / "index"),
    )
    try:
        client = production.test_client()
        page = client.get("/login", base_url=HTTPS)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "remember": "1", "csrf_token": csrf},
            base_url=HTTPS,
            headers={"Referer": f"{HTTPS}/login"},  # over HTTPS the CSRF check wants the same origin
        )
        assert response.status_code == 302
        cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
        assert {"session", "remember_token"} <= cookies.keys()
        for name in ("session", "remember_token"):
            attributes = {part.strip().lower() for part in cookies[name].split(";")[1:]}
            assert {"secure", "httponly", "samesite=lax"} <= attributes, cookies[name]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert client.get("/me", base_url=HTTPS).status_code == 200  # the cookies work over https
    finally:
        limiter.enabled = was_enabled
        with production.app_context():
            db.session.remove()
            db.engine.dispose()
