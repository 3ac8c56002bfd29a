"""Saved searches and their alerts.

How an alert is never lost and never doubled
--------------------------------------------
* Publishing a listing (`listings.services.transition` to 已发布) calls `enqueue_check`, which adds
  an `AlertCheck` row in the *same* transaction: a rolled-back approval leaves no check.
* `run_pending` processes unprocessed checks: only when the search index has applied every
  committed change (`search.is_behind` is false), so the new listing is searchable; a listing that
  is no longer public by then (withdrawn meanwhile) alerts nobody. It runs after the publishing
  request's response is sent (like the search catch-up) and via `flask alerts run`.
* Each saved search is matched by running its own query through the search index with the
  listing's own facet values added as filters: that narrows the result to the listing's cell
  without ever excluding the listing itself, so "is its key among the hits" is exact.
* `Notification` is unique per (user, saved search, listing): re-publishing after a withdrawal,
  or two runners racing, never notifies twice.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from ..core.background import after_response
from ..core.errors import NotFound, PermissionDenied, ValidationFailed
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement, Demand
from .models import AlertCheck, EmailOutbox, Notification, SavedSearch

KINDS = {"achievement": "科技成果", "demand": "技术需求"}
MAX_SAVED = 50  # per user
MATCH_DEPTH = 100  # hits looked at per saved search (the listing's own facet cell)
BATCH = 100  # checks per run


# ---------------------------------------------------------------------------------------------
# Saved searches


def save_search(user: Any, args: MultiDict[str, str], name: str = "") -> SavedSearch:
    """Save what the /search page was showing (its URL parameters, parsed the same way)."""
    from ..search_params import parse_search_args

    req = parse_search_args(args, strict=False)
    errors = {}
    if req.kind not in KINDS:
        errors["type"] = "只能订阅科技成果或技术需求的搜索"
    if not req.q and not req.filters:
        errors["q"] = "请先输入搜索词或选择筛选条件，再保存为订阅"
    count = db.session.scalar(select(func.count(SavedSearch.id)).where(SavedSearch.user_id == user.id)) or 0
    if count >= MAX_SAVED:
        errors["name"] = f"最多保存{MAX_SAVED}个订阅，请先删除不再需要的"
    if errors:
        raise ValidationFailed(errors)
    name = " ".join(name.split())[:100] or _default_name(req.q, req.kind, req.filters)
    saved = SavedSearch(user_id=user.id, name=name, kind=req.kind, query_text=req.q, filters=dict(req.filters))
    db.session.add(saved)
    db.session.flush()
    return saved


def _default_name(q: str, kind: str, filters: dict[str, str]) -> str:
    from ..search_params import param_label, value_label

    parts = [q] if q else []
    parts += [f"{param_label(p, kind)}:{value_label(p, c)}" for p, c in filters.items()]
    return f"{KINDS[kind]}：{'，'.join(parts)}"[:100]


def search_args(saved: SavedSearch) -> dict[str, str]:
    """The /search URL parameters that show this saved search."""
    args = {"q": saved.query_text, **(saved.filters or {})}
    if saved.kind != "achievement":
        args["type"] = saved.kind
    return {k: v for k, v in args.items() if v}


def describe(saved: SavedSearch) -> list[str]:
    from ..search_params import param_label, value_label

    return [f"{param_label(p, saved.kind)}：{value_label(p, c)}" for p, c in (saved.filters or {}).items()]


def searches_of(user: Any) -> list[SavedSearch]:
    stmt = select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.id.desc())
    return list(db.session.scalars(stmt))


def load_own(saved_id: int, user: Any) -> SavedSearch:
    saved = db.session.get(SavedSearch, saved_id)
    if saved is None:
        raise NotFound("订阅不存在")
    if saved.user_id != user.id:
        raise PermissionDenied("这不是您的订阅")
    return saved


def by_token(token: str) -> SavedSearch:
    saved = db.session.scalar(select(SavedSearch).where(SavedSearch.unsubscribe_token == token)) if token else None
    if saved is None:
        raise NotFound("退订链接无效或订阅已删除")
    return saved


def set_active(saved: SavedSearch, active: bool) -> None:
    saved.active = active


def delete_search(saved: SavedSearch) -> None:
    db.session.delete(saved)


# ---------------------------------------------------------------------------------------------
# Checks


def enqueue_check(listing: Achievement | Demand) -> None:
    """Record, in the publishing transaction, that `listing` must be checked against the saved
    searches; the caller commits. After the request, the same worker runs the check."""
    db.session.add(AlertCheck(listing_kind=listing.KIND, listing_id=listing.id))
    if has_request_context() and current_app.config.get("ALERTS_AFTER_REQUEST", True):
        _run_after_this_request()


def _run_after_this_request() -> None:
    def work() -> None:
        from .. import search

        search.catch_up(wait=0.5)
        run_pending()

    after_response("alerts", work, "alerts: check")  # `flask alerts run` or the next publish repairs a miss


def pending_count() -> int:
    return db.session.scalar(select(func.count(AlertCheck.id)).where(AlertCheck.processed_at.is_(None))) or 0


def run_pending(limit: int | None = None) -> int:
    """Process pending checks; returns how many notifications were created. Idempotent. Does
    nothing while the search index is behind the database (the listing may not be searchable
    yet): the checks wait for the next run. Commits."""
    from .. import search

    created = 0
    while True:
        if search.is_behind():
            break
        checks = list(
            db.session.scalars(
                select(AlertCheck).where(AlertCheck.processed_at.is_(None)).order_by(AlertCheck.id).limit(BATCH)
            )
        )
        if not checks:
            break
        for check in checks:
            created += _process(check)
            check.processed_at = utcnow()
        db.session.commit()
        if limit is not None and created >= limit:
            break
    return created


def _process(check: AlertCheck) -> int:
    from .. import search

    model = search.LISTING_MODELS.get(check.listing_kind)
    listing = db.session.get(model, check.listing_id) if model else None
    if listing is None or not search.is_public(listing):
        return 0  # withdrawn (or gone) before the check ran: nobody hears of it
    stmt = (
        select(SavedSearch)
        .where(SavedSearch.kind == check.listing_kind, SavedSearch.active.is_(True))
        .order_by(SavedSearch.id)
    )
    created = 0
    for saved in db.session.scalars(stmt).all():
        user = saved.user
        if user.is_disabled or (user.organization_id is not None and user.organization_id == listing.org_id):
            continue  # never tell an organisation about its own listing
        if _already_notified(saved, listing) or not matches(saved, listing):
            continue
        created += _notify(saved, listing)
    return created


def matches(saved: SavedSearch, listing: Achievement | Demand) -> bool:
    """Does the published, indexed `listing` match the saved search?"""
    from .. import search
    from ..search_params import parse_search_args

    req = parse_search_args(MultiDict(search_args(saved)), strict=False)
    filters = req.index_filters()
    doc = search.document_for(listing)
    # The listing's own facet values never exclude it, and they narrow the hits to its cell.
    for facet in req.to_query().facets:
        value = doc.get(facet)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value and facet not in filters:
            filters[facet] = str(value)
    query = req.to_query(filters=filters, sort="newest", page=1, per_page=MATCH_DEPTH, facets=(), highlight=False)
    key = search.key_of(listing.KIND, listing.id)
    return any(hit.key == key for hit in search.run_search(query).hits)


def _already_notified(saved: SavedSearch, listing: Any) -> bool:
    stmt = select(Notification.id).where(
        Notification.user_id == saved.user_id,
        Notification.saved_search_id == saved.id,
        Notification.listing_kind == listing.KIND,
        Notification.listing_id == listing.id,
    )
    return db.session.scalar(stmt) is not None


def _notify(saved: SavedSearch, listing: Any) -> int:
    url = f"/{listing.KIND}s/{listing.id}"
    title = f"订阅“{saved.name}”有新{KINDS[listing.KIND]}：{listing.title}"[:300]
    org = listing.organization
    body = f"{org.name if org else ''} 发布了{KINDS[listing.KIND]}《{listing.title}》，符合您的订阅“{saved.name}”。"
    try:
        with db.session.begin_nested():  # a racing runner already notified: skip, keep the rest
            db.session.add(
                Notification(
                    user_id=saved.user_id,
                    saved_search_id=saved.id,
                    listing_kind=listing.KIND,
                    listing_id=listing.id,
                    title=title,
                    body=body,
                    url=url,
                )
            )
    except IntegrityError:
        return 0
    site = current_app.config.get("SITE_URL", "").rstrip("/")
    db.session.add(
        EmailOutbox(
            to_address=saved.user.email,
            subject=title,
            body=f"{body}\n\n查看：{site}{url}\n\n不想再收到此订阅的提醒？一键退订：{site}/alerts/unsubscribe/"
            f"{saved.unsubscribe_token}\n",
        )
    )
    return 1


# ---------------------------------------------------------------------------------------------
# Notifications


def notify(users: Any, title: str, body: str = "", url: str = "", *, email: bool = True) -> int:
    """One in-app notification per user (and a row in the e-mail outbox unless `email=False`),
    in the caller's transaction. For events other than saved searches: an introduction, a
    challenge result, a reply. Disabled users and duplicates in `users` are skipped. Returns the
    number of users notified."""
    site = current_app.config.get("SITE_URL", "").rstrip("/")
    seen: set[int] = set()
    for user in users:
        if user is None or user.id in seen or not getattr(user, "is_active", True):
            continue
        seen.add(user.id)
        db.session.add(Notification(user_id=user.id, title=title[:300], body=body, url=url[:500]))
        if email and user.email:
            link = f"\n\n查看：{site}{url}" if url else ""
            db.session.add(EmailOutbox(to_address=user.email, subject=title[:300], body=f"{body}{link}\n"))
    return len(seen)


def notifications_of(user: Any, limit: int = 200) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    stmt = select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    return db.session.scalar(stmt) or 0


def mark_all_read(user: Any) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0


def outbox(limit: int = 50) -> list[EmailOutbox]:
    return list(db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.id.desc()).limit(limit)))
