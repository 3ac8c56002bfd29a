from __future__ import annotations

from flask import request


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def load_bearer_user(token: str):
    from ..accounts.services import user_for_token
    from ..extensions import db

    if not token:
        return None
    user = user_for_token(token)
    if user is not None:
        db.session.commit()  # last_used_at
    return user
