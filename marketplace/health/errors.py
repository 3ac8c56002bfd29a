"""The database is unreachable: a clear 503 instead of a stack trace, and recovery without restart.

Only *connection* failures are answered here. Services that expect an OperationalError of their
own (a lock timeout in trading, "database is locked" in resource bookings) catch it themselves;
anything else that escapes stays a 500, as before."""

from __future__ import annotations

from contextlib import suppress

from flask import current_app, g
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..extensions import db, login_manager

MESSAGE = "数据库暂时无法连接，请稍后再试"
RETRY_AFTER_SECONDS = 10

# SQLSTATEs that mean "no usable connection": class 08 (connection exception), the server shutting
# down or terminating the session (57P01-57P03), too many connections (53300).
_CONNECTION_STATES = ("57P01", "57P02", "57P03", "53300")


def is_connection_failure(exc: BaseException) -> bool:
    """True for a DBAPIError that means the database could not be reached or dropped the
    connection; False for errors of a statement that ran (lock or statement timeouts, deadlocks,
    serialisation failures, "database is locked")."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy recognised a dropped connection
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state:
        return state.startswith("08") or state in _CONNECTION_STATES
    if exc.statement is not None:  # a statement reached the database and failed on its own
        return False
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    # No statement: the pool could not open a connection. SQLite's only such failure is an
    # unopenable file; its "database is locked" on COMMIT is a writer conflict, not an outage.
    if type(exc.orig).__module__.startswith("sqlite3"):
        return "unable to open database file" in str(exc.orig)
    return True


def forget_connection() -> None:
    """Drop this request's session and connection, so that the next request checks out a fresh
    one (the pool pre-pings it); render the error page as an anonymous visitor, since loading the
    user (or the navbar's counters) would ask the database again."""
    current_app.logger.error("database unreachable", exc_info=True)
    for step in (db.session.rollback, db.session.remove):
        with suppress(Exception):  # the connection is gone: nothing more to undo
            step()
    g._login_user = login_manager.anonymous_user()
