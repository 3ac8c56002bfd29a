"""Work that follows a request: run once per request, after the response has been sent.

Werkzeug and gunicorn call the response's close() once the body is out — after the view has
committed — so the work sees the request's changes and never delays the user. The search
catch-up, the saved-search alerts and the board's match refresh all use it; each runs once per
request however many times it is asked for, in the order first asked."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, after_this_request, current_app, request


def after_response(key: str, work: Callable[[], None], what: str) -> None:
    """Run `work()` in an app context after this request's response is sent (once per `key`).
    A failure is logged as `what`: the user's request has already succeeded, and each caller
    names what repairs a missed run (a worker, a CLI command, the next change)."""
    marker = f"marketplace.after_response.{key}"
    if request.environ.get(marker):
        return
    request.environ[marker] = True
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def schedule(response):
        response.call_on_close(lambda: _run(app, work, what))
        return response


def _run(app: Flask, work: Callable[[], None], what: str) -> None:
    try:
        with app.app_context():
            work()
    except Exception:
        app.logger.exception("%s after the request failed", what)
