"""Per-object access rules, used by web views, the API and tests alike.

The functions take duck-typed users and objects so that core depends on no domain package:
a user has `role`, `is_authenticated`, `active_org`; a listing has `org_id`, `status`.
"""

from __future__ import annotations

from typing import Any

from .taxonomy import ListingStatus, Role

EDITABLE_STATES = {ListingStatus.DRAFT.value, ListingStatus.WITHDRAWN.value}
LISTING_ROLES = {Role.UNIVERSITY.value, Role.ENTERPRISE.value}


def is_authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_admin(user: Any) -> bool:
    return is_authenticated(user) and user.role == Role.ADMIN


def is_official(user: Any) -> bool:
    return is_authenticated(user) and user.role == Role.OFFICIAL


def belongs_to(user: Any, org_id: int | None) -> bool:
    """An approved member of the organisation."""
    if not is_authenticated(user) or org_id is None:
        return False
    org = user.active_org
    return org is not None and org.id == org_id


def can_create_listing(user: Any) -> bool:
    return is_authenticated(user) and user.role in LISTING_ROLES and user.active_org is not None


def is_listing_owner(user: Any, listing: Any) -> bool:
    return user is not None and getattr(user, "role", None) in LISTING_ROLES and belongs_to(user, listing.org_id)


def can_view_listing(user: Any, listing: Any) -> bool:
    if listing.status in (ListingStatus.PUBLISHED, ListingStatus.CLOSED, ListingStatus.EXPIRED):
        return True
    return is_admin(user) or is_official(user) or is_listing_owner(user, listing)


def can_view_detail(user: Any, listing: Any) -> bool:
    """The confidential part of an achievement: logged-in users of verified organisations."""
    if is_admin(user) or is_official(user) or is_listing_owner(user, listing):
        return True
    org = user.active_org if is_authenticated(user) else None
    return org is not None and bool(org.verified)


def can_view_contact(user: Any) -> bool:
    return is_authenticated(user)


def can_edit_listing(user: Any, listing: Any) -> bool:
    return is_listing_owner(user, listing) and listing.status in EDITABLE_STATES


def can_review(user: Any) -> bool:
    return is_admin(user)


def can_manage_org(user: Any, org: Any) -> bool:
    if is_admin(user):
        return True
    return belongs_to(user, org.id) and bool(user.is_org_manager)


def can_view_audit(user: Any) -> bool:
    return is_admin(user) or is_official(user)


def is_inquiry_party(user: Any, inquiry: Any) -> bool:
    """A member of one of the two organisations of an inquiry thread: may read and reply."""
    return belongs_to(user, inquiry.from_org_id) or belongs_to(user, inquiry.to_org_id)


def can_view_inquiry(user: Any, inquiry: Any) -> bool:
    """The parties, and administrators (read-only)."""
    return is_inquiry_party(user, inquiry) or is_admin(user)
