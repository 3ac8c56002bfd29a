"""Who may see pricing guidance and worksheets.

Pricing guidance shows titles and 技术交易额 of registered contracts — figures the registry holds
and the parties did not publish. Decision: officials (科技管理人员: they register them) and admins
see it for any case; brokers (技术经纪人: pricing is their job) for any published achievement and for
contracts of the deals they are assigned to; members of an organisation for their own
organisation's achievements and for contracts their organisation is a party to. Anonymous users
are sent to the login page; anyone else gets 403.

Worksheets are private to the creating organisation (every approved member may read and edit;
shared by organisation only) and visible read-only to admins. A broker without an organisation
keeps them to himself.
"""

from __future__ import annotations

from typing import Any

from ..core.policy import belongs_to, can_view_listing, is_admin, is_authenticated, is_official
from ..deals.policy import is_broker, is_deal_broker


def can_use_pricing(user: Any) -> bool:
    if not is_authenticated(user):
        return False
    return is_admin(user) or is_official(user) or is_broker(user) or user.active_org is not None


def can_price_achievement(user: Any, achievement: Any) -> bool:
    if is_admin(user) or is_official(user):
        return True
    if belongs_to(user, achievement.org_id):
        return True
    return is_broker(user) and can_view_listing(user, achievement)


def can_price_contract(user: Any, contract: Any) -> bool:
    if is_admin(user) or is_official(user):
        return True
    if belongs_to(user, contract.seller_org_id) or belongs_to(user, contract.buyer_org_id):
        return True
    return contract.deal is not None and is_deal_broker(user, contract.deal)


def can_create_worksheet(user: Any) -> bool:
    return is_authenticated(user) and (user.active_org is not None or is_broker(user))


def can_edit_worksheet(user: Any, sheet: Any) -> bool:
    if not is_authenticated(user):
        return False
    if sheet.org_id is not None:
        return belongs_to(user, sheet.org_id)
    return sheet.created_by_id == user.id


def can_view_worksheet(user: Any, sheet: Any) -> bool:
    return is_admin(user) or can_edit_worksheet(user, sheet)
