"""Request plumbing shared by the API endpoints: the caller, the JSON body, one commit per write.

The endpoints themselves live in `me.py`, `listings.py` and `openapi.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from flask_login import current_user

from ..core.errors import ServiceError
from ..extensions import db


def caller() -> Any:
    """The authenticated user (bearer token or cookie session), or the anonymous user object."""
    return current_user._get_current_object()


def json_body(*, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; refuses anything else with a 400 in Chinese.

    With required=False an empty body counts as {} (actions such as submit carry no data)."""
    if not required and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ServiceError("请求体须为 JSON 对象，并设置 Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise ServiceError("请求体不是有效的 JSON")
    if not isinstance(data, dict):
        raise ServiceError("请求体须为 JSON 对象（{...}），而不是数组或单个值")
    return data


def committed(render: Callable[[], Any], status: int = 200, headers: dict[str, str] | None = None):
    """Commit the unit of work, then render the answer from the stored state (timestamps set at
    flush included). A ServiceError before this point rolls back (see the blueprint's error
    handler), so a refused write leaves the stored rows unchanged."""
    db.session.commit()
    response = jsonify(render())
    response.status_code = status
    response.headers.extend(headers or {})
    return response
