"""科技淘宝 — the Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, render_template, request
from flask_login import current_user

from config import BASE_DIR, Config, load_config

from . import security
from .extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: str | Config | None = None, **overrides) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    cfg = config if isinstance(config, Config) else load_config(config)
    app.config.from_object(cfg)
    app.config["RATELIMIT_STORAGE_URI"] = cfg.RATELIMIT_STORAGE_URI
    app.config.update(overrides)
    for key in ("UPLOAD_DIR", "SEARCH_INDEX_DIR"):
        Path(app.config[key]).mkdir(parents=True, exist_ok=True)

    from .core.taxonomy import load_taxonomy

    app.extensions["taxonomy"] = load_taxonomy(app.config.get("TAXONOMY_FILE"))
    register_extensions(app)
    register_input_guards(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    security.init_app(app)  # CSP and the other security headers on every response
    return app


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every model registered before migrations look

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    from .accounts.services import load_user_for_session

    login_manager.user_loader(load_user_for_session)

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import flash, redirect, url_for

        if wants_json():
            from .api.errors import json_error

            return json_error(401, "unauthorized", "请提供有效的 API 令牌（Authorization: Bearer …）或先登录")
        flash("请先登录", "warning")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def authenticate_bearer_or_check_csrf():
        """A bearer token authenticates API calls and exempts them from CSRF (a browser cannot
        be tricked into sending one); cookie sessions always get the CSRF check."""
        from .api.auth import bearer_token, load_bearer_user

        # `g` lives in the app context, which a request reuses when one is already pushed (a
        # test's, a CLI's): never let the previous request's user carry over.
        g.pop("_login_user", None)
        g.pop("token_auth", None)
        token = bearer_token()
        if token is not None:
            user = load_bearer_user(token)
            if user is not None:
                g._login_user = user  # Flask-Login's per-request user; the session is untouched
                g.token_auth = True
                return None
            from .api.errors import json_error

            return json_error(401, "unauthorized", "API 令牌无效、已吊销或账号已停用")
        if app.config.get("WTF_CSRF_ENABLED", True) and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            csrf.protect()
        return None


def register_input_guards(app: Flask) -> None:
    """Hostile input stops at the door: ids past the database's INTEGER range are 404s (before any
    route is added), control characters are stripped from every form field, query and JSON body,
    and values too long or too large for their column are field errors, never database errors."""
    from .core.urls import BoundedIntConverter
    from .core.validators import CleanRequest, enforce_column_limits

    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = CleanRequest
    enforce_column_limits(db.Model)


def _number_out_of_range(exc: Exception) -> bool:
    """PostgreSQL's 22003 numeric_value_out_of_range (SQLite raises OverflowError before the query)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "22003"


def configure_sqlite(engine) -> None:
    """Make SQLite behave like the production database where it matters.

    pysqlite's legacy transaction handling emits no BEGIN before a SAVEPOINT, so a savepoint's
    RELEASE would commit everything (SQLAlchemy documents this; its recipe is applied here): without
    it a per-row savepoint commits each row and a rollback undoes nothing. Foreign keys are
    enforced, as on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Readers do not block the writer (and vice versa) when a dev server and a CLI share the file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .admin.views import bp as admin_bp
    from .alerts.views import bp as alerts_bp
    from .api import bp as api_bp
    from .challenges.views import bp as challenges_bp
    from .deals.routes import bp as deals_bp
    from .evaluation.views import bp as evaluation_bp
    from .finance.views import bp as finance_bp
    from .health.views import bp as health_bp
    from .imports.views import bp as imports_bp
    from .inquiries.views import bp as inquiries_bp
    from .listings.views import bp as listings_bp
    from .main.views import bp as main_bp
    from .matching.views import bp as matching_bp
    from .providers.views import bp as providers_bp
    from .resources.views import bp as resources_bp
    from .search_views import bp as search_bp
    from .stats.views import bp as stats_bp
    from .trading.views import bp as trading_bp
    from .valuation.views import bp as valuation_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(listings_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(inquiries_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(challenges_bp)
    app.register_blueprint(deals_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(trading_bp)
    app.register_blueprint(resources_bp)  # /experts, /instruments
    app.register_blueprint(providers_bp, url_prefix="/services")
    app.register_blueprint(finance_bp, url_prefix="/finance")
    app.register_blueprint(evaluation_bp, url_prefix="/evaluations")
    app.register_blueprint(valuation_bp, url_prefix="/valuation")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(imports_bp, url_prefix="/import")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(health_bp)  # /healthz for load balancers


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register_errorhandlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from .core.errors import ServiceError

    messages = {
        400: "请求有误",
        401: "请先登录",
        403: "您没有权限访问此页面",
        404: "页面不存在",
        405: "不支持的请求方式",
        413: "上传的文件太大",
        429: "操作过于频繁，请稍后再试",
        500: "服务器出错了，我们已记录此问题，请稍后再试",
    }

    def render_error(status: int, message: str, code: str | None = None, fields=None):
        if wants_json():
            from .api.errors import json_error

            return json_error(status, code or _code_for(status), message, fields)
        return render_template("errors/error.html", status=status, message=message), status

    for status, message in messages.items():
        app.register_error_handler(status, lambda exc, s=status, m=message: render_error(s, m))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "页面已过期或请求来源无法验证（CSRF），请刷新页面后重试", "csrf_failed")

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return render_error(exc.status, exc.message, exc.code, exc.fields)

    @app.errorhandler(429)
    def rate_limited(exc):
        return render_error(429, messages[429])

    from sqlalchemy.exc import DBAPIError

    from .health.errors import MESSAGE, RETRY_AFTER_SECONDS, forget_connection, is_connection_failure

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        """A number out of range is the caller's input (422); a lost connection is a 503; anything
        else stays the 500 it was."""
        if _number_out_of_range(exc):
            # A number no column can hold reached a query (an id typed past INTEGER that no
            # validator caught): nothing can match it and nothing was written — a 422, not a 500.
            db.session.rollback()
            app.logger.warning("number out of range reached the database: %s", exc.orig)
            return render_error(422, "输入的数值超出范围", "number_out_of_range")
        if not is_connection_failure(exc):
            raise exc  # any other database error stays what it was: the 500 page, logged
        forget_connection()
        response = app.make_response(render_error(503, MESSAGE, "database_unavailable"))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _code_for(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "validation_failed",
        429: "rate_limited",
    }.get(status, "server_error")


def register_template_helpers(app: Flask) -> None:
    from .core import policy
    from .core.money import format_yuan
    from .core.taxonomy import (
        BrokerLevel,
        DemandType,
        IPType,
        ListingStatus,
        Maturity,
        OrgType,
        Role,
        TransferMode,
    )
    from .core.timeutil import format_local

    app.jinja_env.filters["local_time"] = format_local
    app.jinja_env.filters["yuan"] = format_yuan

    @app.context_processor
    def inject():
        return {
            "taxonomy": app.extensions["taxonomy"],
            "policy": policy,
            "enums": {
                "OrgType": OrgType,
                "Role": Role,
                "BrokerLevel": BrokerLevel,
                "Maturity": Maturity,
                "IPType": IPType,
                "TransferMode": TransferMode,
                "DemandType": DemandType,
                "ListingStatus": ListingStatus,
            },
            "current_user": current_user,
        }


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
