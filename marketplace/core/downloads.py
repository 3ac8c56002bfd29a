"""One way to hand a stored private file to the browser that is allowed to see it."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file


def private_file(path: Path | str, mimetype: str | None, name: str) -> Response:
    """A download of a file only this user may see: always an attachment (never rendered by the
    browser, whatever it holds) under its Chinese name (RFC 5987 filename*), with nosniff, and kept
    out of shared and browser caches."""
    response = send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
