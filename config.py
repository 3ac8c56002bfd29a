"""Settings, read from the environment; every setting has an embedded default for development.

`create_app()` picks the class named by `APP_CONFIG` (development | production | testing),
falling back to `FLASK_ENV`, then development.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _normalise_db_url(url: str) -> str:
    # Heroku-style and bare postgresql:// URLs should use psycopg 3, the driver we pin.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _development_secret_key() -> str:
    """A key generated once into instance/ so sessions survive restarts in development."""
    key_file = INSTANCE_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


class Config:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(_env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}"))
    # JSON columns (keywords, transfer modes) keep Chinese readable, so SQL LIKE filters match it.
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "json_serializer": lambda obj: json.dumps(obj, ensure_ascii=False),
    }
    SEARCH_INDEX_DIR = _env("SEARCH_INDEX_DIR", str(INSTANCE_DIR / "search_index"))
    # /healthz: "degraded" (still 200) when this node's index is more outbox rows behind than this.
    HEALTH_MAX_INDEX_LAG = _env_int("HEALTH_MAX_INDEX_LAG", 1000)
    APP_VERSION = _env("APP_VERSION")  # shown by /healthz (a release or commit); unset: pyproject's version
    UPLOAD_DIR = _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    REDIS_URL = _env("REDIS_URL")
    # Optional JSON file replacing the default districts / technology fields (see README).
    TAXONOMY_FILE = _env("TAXONOMY_FILE")

    MAX_UPLOAD_MB = _env_int("MAX_UPLOAD_MB", 20)
    MAX_CONTENT_LENGTH = (_env_int("MAX_UPLOAD_MB", 20) + 1) * 1024 * 1024
    PASSWORD_MIN_LENGTH = 8
    PER_PAGE = 20

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ADDRESS = _env("LOGIN_LIMIT_PER_ADDRESS", "20 per minute")
    LOGIN_LIMIT_PER_ACCOUNT = _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute")
    REGISTER_LIMIT_PER_ADDRESS = _env("REGISTER_LIMIT_PER_ADDRESS", "10 per hour")
    INQUIRY_LIMIT = _env("INQUIRY_LIMIT", "10 per hour")  # new inquiry threads, per user
    INQUIRY_REPLY_LIMIT = _env("INQUIRY_REPLY_LIMIT", "60 per hour")  # replies, per user
    # 竞价拍卖 bids (web form and API), per user and per address; a bidder may bid every few seconds.
    BID_LIMIT_PER_USER = _env("BID_LIMIT_PER_USER", "30 per minute")
    BID_LIMIT_PER_ADDRESS = _env("BID_LIMIT_PER_ADDRESS", "120 per minute")
    # "忘记密码": reset mails asked for, per address and per e-mail address typed in.
    PASSWORD_RESET_LIMIT_PER_ADDRESS = _env("PASSWORD_RESET_LIMIT_PER_ADDRESS", "10 per hour")
    PASSWORD_RESET_LIMIT_PER_EMAIL = _env("PASSWORD_RESET_LIMIT_PER_EMAIL", "3 per hour")
    PASSWORD_RESET_MAX_AGE_MINUTES = _env_int("PASSWORD_RESET_MAX_AGE_MINUTES", 30)

    # Security headers on every response (marketplace/security.py). The policy allows scripts,
    # styles, fonts and images from this site only (plus data: images, which Bootstrap's CSS
    # uses): no inline script, no inline style, no eval, no framing.
    SECURITY_HEADERS_ENABLED = True
    CONTENT_SECURITY_POLICY = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    # Report-only: browsers report violations (console, CSP_REPORT_URI) but block nothing; for
    # trying a stricter policy on a live site first.
    CSP_REPORT_ONLY = _env("CSP_REPORT_ONLY", "0") in ("1", "true", "yes")
    CSP_REPORT_URI = _env("CSP_REPORT_URI")  # a collector for violation reports (report-uri)
    REFERRER_POLICY = "strict-origin-when-cross-origin"
    PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    # Strict-Transport-Security is sent only when the site is served over HTTPS
    # (PREFERRED_URL_SCHEME = "https", the production default).
    HSTS_MAX_AGE = _env_int("HSTS_MAX_AGE", 31536000)
    HSTS_INCLUDE_SUBDOMAINS = _env("HSTS_INCLUDE_SUBDOMAINS", "0") in ("1", "true", "yes")

    WTF_CSRF_CHECK_DEFAULT = False  # checked in a before_request hook, unless a bearer token authenticates
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    JSON_AS_ASCII = False
    LOAD_DEMO = False

    # Outgoing mail (alerts, introductions, challenge results). MAIL_SERVER unset: mail only
    # accumulates in the e-mail outbox, visible to admins at /admin/mail.
    SITE_URL = _env("SITE_URL", "http://127.0.0.1:5000")
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = _env("MAIL_USE_TLS", "0") in ("1", "true", "yes")  # STARTTLS
    MAIL_USE_SSL = _env("MAIL_USE_SSL", "0") in ("1", "true", "yes")  # SMTPS (port 465)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_FROM = _env("MAIL_FROM", "科技淘宝 <noreply@kjtb.localhost>")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    MAIL_MAX_ATTEMPTS = _env_int("MAIL_MAX_ATTEMPTS", 5)

    # Annual 技术合同成交额 targets for the statistics, JSON {"2025": "12500000000", "2025:371102": …}
    # (yuan; "year:district" for a district's own target). Unset: the defaults in marketplace/stats.
    STATS_TARGETS = _env("STATS_TARGETS")
    # 科技金融 targets (yuan), JSON: the plan's 科技成果转化贷款余额 5亿元 unless FINANCE_TARGETS says otherwise.
    FINANCE_TARGETS = json.loads(_env("FINANCE_TARGETS") or '{"transfer_loan_balance": "500000000"}')
    # Seconds a worker keeps the statistics dashboard's register figures (0 = always recompute); a
    # registration, amendment or cancellation shows at once regardless (marketplace/stats/dashboard.py).
    STATS_CACHE_SECONDS = _env_int("STATS_CACHE_SECONDS", 60)

    @property
    def RATELIMIT_STORAGE_URI(self) -> str:  # noqa: N802 - Flask config key
        return self.REDIS_URL or "memory://"


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = _env("SECRET_KEY")
    LOAD_DEMO = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    SECRET_KEY = _env("SECRET_KEY")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # Served over HTTPS (a TLS-terminating proxy in front): external URLs use https and the
    # Strict-Transport-Security header is sent.
    PREFERRED_URL_SCHEME = _env("PREFERRED_URL_SCHEME", "https")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(_env("TEST_DATABASE_URL", "sqlite://"))
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing keeps the suite quick
    STATS_CACHE_SECONDS = 0  # one app serves every test: a cache would outlive each test's database


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def load_config(name: str | None = None) -> Config:
    name = name or _env("APP_CONFIG") or _env("FLASK_ENV") or "development"
    if name not in CONFIGS:
        raise RuntimeError(f"Unknown configuration {name!r}; use one of {', '.join(CONFIGS)}")
    config = CONFIGS[name]()
    if config.SECRET_KEY is None:
        if name == "production":
            raise RuntimeError("SECRET_KEY must be set in the environment for the production configuration")
        config.SECRET_KEY = _development_secret_key()
    return config
