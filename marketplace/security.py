"""Security headers on every response: Content-Security-Policy, framing, MIME sniffing, referrer,
browser features and (over HTTPS) Strict-Transport-Security.

The policy comes from the configuration (CONTENT_SECURITY_POLICY, CSP_REPORT_ONLY, CSP_REPORT_URI,
REFERRER_POLICY, PERMISSIONS_POLICY, HSTS_MAX_AGE, HSTS_INCLUDE_SUBDOMAINS; see config.py). The
pages need nothing inline: every script and style is a file under static/, dynamic sizes are set
from data- attributes by static/js/app.js, and the JSON blocks the charts read are not executed.
A view may tighten a header for its own response (the password reset page sends no referrer);
headers a view set are left alone.

Also the rate limits that several routes share (bids: the web form and the API count together)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user

from .extensions import limiter


def content_security_policy(config) -> str:
    directives = dict(config["CONTENT_SECURITY_POLICY"])
    if config.get("CSP_REPORT_URI"):
        directives["report-uri"] = config["CSP_REPORT_URI"]
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def security_headers(config) -> dict[str, str]:
    """The headers for one response under `config` (an app's config mapping)."""
    csp_header = "Content-Security-Policy-Report-Only" if config.get("CSP_REPORT_ONLY") else "Content-Security-Policy"
    headers = {
        csp_header: content_security_policy(config),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": config["REFERRER_POLICY"],
        "Permissions-Policy": config["PERMISSIONS_POLICY"],
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if config.get("PREFERRED_URL_SCHEME") == "https" and config.get("HSTS_MAX_AGE"):
        hsts = f"max-age={int(config['HSTS_MAX_AGE'])}"
        if config.get("HSTS_INCLUDE_SUBDOMAINS"):
            hsts += "; includeSubDomains"
        headers["Strict-Transport-Security"] = hsts
    return headers


def add_security_headers(response: Response) -> Response:
    config = current_app.config
    if not config.get("SECURITY_HEADERS_ENABLED", True):
        return response
    for name, value in security_headers(config).items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


# ---------------------------------------------------------------------------------------------
# Rate limits shared by routes


def user_or_address() -> str:
    """Per user once logged in (a bearer token counts as its user), per address before."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def limit_bids(view: Callable) -> Callable:
    """竞价 bids, by form or API, per user (BID_LIMIT_PER_USER) and per address
    (BID_LIMIT_PER_ADDRESS); the two routes share the counters. Over the limit: 429 with the
    Chinese page or JSON error. Put it above @login_required so it counts anonymous attempts too."""
    view = limiter.shared_limit(
        lambda: current_app.config["BID_LIMIT_PER_USER"], "bids-user", key_func=user_or_address
    )(view)
    return limiter.shared_limit(lambda: current_app.config["BID_LIMIT_PER_ADDRESS"], "bids-address")(view)
