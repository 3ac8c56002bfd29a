"""Request plumbing shared by the API endpoints: the caller, the JSON body, one commit per write.

The endpoints themselves live in `me.py`, `listings.py` and `openapi.py`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from flask_login import current_user

from ..core.errors import ServiceError, ValidationFailed
from ..core.validators import INT_MAX
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
    problems = out_of_range_ids(data)
    if problems:
        raise ValidationFailed(problems)
    return data


_DIGITS = re.compile(r"[+-]?[0-9]{1,12}")


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer query parameter: absent or empty gives `default`; anything but a whole number
    within minimum..maximum is refused (422, the reason on the parameter)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}–{maximum} 之间的整数" if maximum is not None else f"不小于 {minimum} 的整数"
        raise ValidationFailed({name: f"{name} 须为 {bounds}"}, message="查询参数有误，请按提示修改")
    return value


def out_of_range_ids(data: Any, problems: dict[str, str] | None = None) -> dict[str, str]:
    """Fields named `id`, `…_id` or `…_ids` (at any depth) holding an integer no row can have:
    such an id names nothing, and looking it up would overflow the database's INTEGER (a
    DataError on PostgreSQL, an OverflowError on SQLite)."""
    problems = {} if problems is None else problems
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if isinstance(key, str) and (key == "id" or key.endswith(("_id", "_ids"))):
            values = value if isinstance(value, list) else [value]
            if any(_beyond_ids(v) for v in values):
                problems[key] = "编号不存在"
                continue
        if isinstance(value, (dict, list)):
            out_of_range_ids(value, problems)
    return problems


def _beyond_ids(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not -INT_MAX - 1 <= value <= INT_MAX


def committed(render: Callable[[], Any], status: int = 200, headers: dict[str, str] | None = None):
    """Commit the unit of work, then render the answer from the stored state (timestamps set at
    flush included). A ServiceError before this point rolls back (see the blueprint's error
    handler), so a refused write leaves the stored rows unchanged."""
    db.session.commit()
    response = jsonify(render())
    response.status_code = status
    response.headers.extend(headers or {})
    return response
