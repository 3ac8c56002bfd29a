"""Who may see and do what in the deal room. Used by the web views, the API and the tests.

* A deal is seen by members of its seller and buyer organisations, its assigned brokers,
  officials (read-only) and admins; everyone else gets 403.
* Working on a deal (notes, meetings, files, stage changes, commission terms) is for its
  assigned brokers, the two parties' members, and admins.
* Brokers open deals; so may a member of either party (a deal between their organisation and
  another). Officials never write in a deal.
* The contract is recorded by the deal's brokers or the seller side, and submitted for
  registration by the seller side (the registering party, 卖方登记) or its broker; registration
  and return are for officials (the registration office) only.
* Payments are recorded by the deal's brokers, either party, or admins; invoices are issued and
  voided by the deal's brokers or admins.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import NotFound, PermissionDenied
from ..core.policy import belongs_to, is_admin, is_authenticated, is_official
from ..core.taxonomy import Role
from ..extensions import db
from .models import Deal


def is_broker(user: Any) -> bool:
    return is_authenticated(user) and user.role == Role.BROKER


def is_deal_broker(user: Any, deal: Deal) -> bool:
    return is_broker(user) and any(b.user_id == user.id for b in deal.brokers)


def is_party(user: Any, deal: Deal) -> bool:
    return belongs_to(user, deal.seller_org_id) or belongs_to(user, deal.buyer_org_id)


def is_seller_side(user: Any, deal: Deal) -> bool:
    return belongs_to(user, deal.seller_org_id)


def can_view_deal(user: Any, deal: Deal) -> bool:
    return is_admin(user) or is_official(user) or is_deal_broker(user, deal) or is_party(user, deal)


def can_work_on_deal(user: Any, deal: Deal) -> bool:
    return is_admin(user) or is_deal_broker(user, deal) or is_party(user, deal)


def can_open_deal(user: Any) -> bool:
    """Brokers and admins, or a member of an organisation (for a deal with another one)."""
    if is_admin(user) or is_broker(user):
        return True
    return is_authenticated(user) and user.role in (Role.UNIVERSITY, Role.ENTERPRISE) and user.active_org is not None


def can_edit_contract(user: Any, deal: Deal) -> bool:
    return is_admin(user) or is_deal_broker(user, deal) or is_seller_side(user, deal)


def can_submit_contract(user: Any, deal: Deal) -> bool:
    return is_admin(user) or is_deal_broker(user, deal) or is_seller_side(user, deal)


def can_register_contracts(user: Any) -> bool:
    return is_official(user)


def can_record_payment(user: Any, deal: Deal) -> bool:
    return can_work_on_deal(user, deal)


def can_issue_invoice(user: Any, deal: Deal) -> bool:
    return is_admin(user) or is_deal_broker(user, deal)


def load_deal(deal_id: int, user: Any, *, write: bool = False) -> Deal:
    """The deal, or NotFound (404) / PermissionDenied (403): view rights, or work rights when
    `write`."""
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("项目不存在")
    if not can_view_deal(user, deal):
        raise PermissionDenied("只有项目双方、负责的技术经纪人、科技管理人员和管理员可以查看此项目")
    if write and not can_work_on_deal(user, deal):
        raise PermissionDenied("您只能查看此项目，不能修改")
    return deal
