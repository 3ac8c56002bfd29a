"""The one way a web view runs a button's state change: commit, or show the refusal as a flash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect

from ..extensions import db
from .errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def commit_or_flash(action: Callable[[], Any], back: str, done: str):
    """Run `action` (a service call) and commit, flashing `done`; a refusal of the input or state
    rolls back and comes back as a flash. 403/404 roll back and propagate to the error pages.
    Redirects to `back` either way."""
    try:
        action()
        db.session.commit()
        flash(done, "success")
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        flash("；".join(exc.fields.values()) if exc.fields else exc.message, "danger")
    except (PermissionDenied, NotFound):
        db.session.rollback()
        raise
    return redirect(back)
