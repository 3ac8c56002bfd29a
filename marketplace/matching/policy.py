"""Who may use the brokers' matchmaking board and record introductions (引荐).

Brokers and administrators. Officials are not offered the board: it is a working tool, and the
introductions they oversee are in the audit log they already read (action `introduce`)."""

from __future__ import annotations

from typing import Any

from ..core.policy import is_authenticated
from ..core.taxonomy import Role

BOARD_ROLES = (Role.BROKER, Role.ADMIN)


def can_use_board(user: Any) -> bool:
    return is_authenticated(user) and user.role in BOARD_ROLES


def can_introduce(user: Any) -> bool:
    return can_use_board(user)


def sees_all_introductions(user: Any) -> bool:
    """Administrators see every broker's introductions; a broker sees their own."""
    return is_authenticated(user) and user.role == Role.ADMIN
