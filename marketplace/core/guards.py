"""Coarse role guards for views. Per-object rules live in `policy`.

Anonymous HTML callers are sent to the login page; JSON callers and logged-in users without the
role get 403 (as a JSON error under /api, a Chinese page elsewhere)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask_login import current_user

from ..extensions import login_manager
from .errors import PermissionDenied
from .taxonomy import Role


def roles_required(*roles: Role | str, message: str = "您的身份无权访问此页面") -> Callable:
    allowed = {str(r) for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                raise PermissionDenied(message)
            return view(*args, **kwargs)

        return wrapper

    return decorator


admin_required = roles_required(Role.ADMIN, message="只有平台管理员可以访问此页面")
