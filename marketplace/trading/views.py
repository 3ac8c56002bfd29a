"""挂牌/拍卖 pages: the hall, listing for sale, a listing's page, an auction's page (live price and
countdown by polling the API), and the POST actions. Views parse, call `services`, commit once;
a refusal of the input or the state is flashed, a missing right is a 403/404 page."""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..core.actions import commit_or_flash as _act
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.policy import is_admin
from ..core.taxonomy import TransferMode
from ..core.timeutil import utcnow
from ..core.validators import parse_id
from ..extensions import db
from ..listings.models import Achievement
from ..security import limit_bids
from . import documents, services
from .models import AuctionPhase

bp = Blueprint("trading", __name__, url_prefix="/trading")

LISTING_FIELDS = (
    "transfer_mode",
    "listing_price",
    "deposit",
    "increment",
    "reserve_price",
    "disclosure_days",
    "auction_minutes",
    "extend_minutes",
    "conditions",
)


@bp.get("")
def hall():
    return render_template(
        "trading/hall.html",
        hall=services.hall(),
        pending=services.pending_listings() if is_admin(current_user) else [],
        mine=services.own_listings(current_user),
        can_list=services.can_buy(current_user),
        now=utcnow(),
    )


@bp.route("/listings/new", methods=["GET", "POST"])
@login_required
def new_listing():
    if not services.can_buy(current_user):
        raise PermissionDenied("只有已认证机构（高校/院所、企业）的成员可以挂牌")
    achievements = services.sellable_achievements(current_user)
    values = {name: request.form.get(name, "") for name in LISTING_FIELDS}
    values.setdefault("achievement_id", "")
    values["achievement_id"] = request.values.get("achievement_id", "")
    errors: dict[str, str] = {}
    if request.method == "POST":
        achievement = None
        if (pk := parse_id(values["achievement_id"])) is not None:
            achievement = db.session.get(Achievement, pk)
        try:
            listing = services.create_listing(current_user, achievement, values)
            db.session.commit()
            flash("挂牌申请已提交，平台审核通过后开始公示", "success")
            return redirect(url_for("trading.listing", listing_id=listing.id))
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            errors = exc.fields or {"achievement_id": exc.message}
    return render_template(
        "trading/new_listing.html",
        achievements=achievements,
        values=values,
        errors=errors,
        modes=TransferMode.choices(),
    ), (422 if errors else 200)


@bp.get("/listings/<int:listing_id>")
def listing(listing_id: int):
    item = services.conclude_if_due(services.load_listing(listing_id, current_user))
    org = current_user.active_org if current_user.is_authenticated else None
    return render_template(
        "trading/listing.html",
        listing=item,
        is_seller=services.is_seller(current_user, item.org_id),
        is_admin=is_admin(current_user),
        can_buy=services.can_buy(current_user) and not services.is_seller(current_user, item.org_id),
        interested=org is not None and any(i.org_id == org.id for i in item.interests),
        now=utcnow(),
    )


@bp.post("/listings/<int:listing_id>/interest")
@login_required
def interest(listing_id: int):
    item = services.load_listing(listing_id, current_user)
    return _act(
        lambda: services.register_interest(item, current_user),
        url_for("trading.listing", listing_id=listing_id),
        "已登记受让意向：公示期满时仅一家意向方则协议转让，多家则转入竞价",
    )


@bp.post("/listings/<int:listing_id>/review")
@login_required
def review(listing_id: int):
    if not is_admin(current_user):
        raise PermissionDenied("只有平台管理员可以审核挂牌")
    item = services.load_listing(listing_id, current_user)
    approve = request.form.get("decision") == "approve"
    return _act(
        lambda: services.review_listing(item, current_user, approve, request.form.get("reason")),
        url_for("trading.listing", listing_id=listing_id),
        "已通过审核，开始公示" if approve else "已驳回",
    )


@bp.post("/listings/<int:listing_id>/extend")
@login_required
def extend(listing_id: int):
    item = services.load_listing(listing_id, current_user)
    return _act(
        lambda: services.extend_listing(item, current_user, request.form.get("days")),
        url_for("trading.listing", listing_id=listing_id),
        "已延长公示期",
    )


@bp.post("/listings/<int:listing_id>/withdraw")
@login_required
def withdraw(listing_id: int):
    item = services.load_listing(listing_id, current_user)
    return _act(
        lambda: services.withdraw_listing(item, current_user, request.form.get("reason")),
        url_for("trading.listing", listing_id=listing_id),
        "挂牌已撤回",
    )


@bp.get("/auctions/<int:auction_id>")
def auction(auction_id: int):
    item = services.close_if_due(services.load_auction(auction_id))
    mine = services.own_bidder(item, current_user)
    return render_template(
        "trading/auction.html",
        auction=item,
        phase=item.phase(),
        phases=AuctionPhase,
        bids=services.bids_of(item, 100),
        mine=mine,
        is_admin=is_admin(current_user),
        is_seller=services.is_seller(current_user, item.seller_org_id),
        can_sign_up=services.can_buy(current_user) and mine is None,
        can_confirm=services.can_see_confirmation(current_user, item),
    )


@bp.post("/auctions/<int:auction_id>/signup")
@login_required
def sign_up(auction_id: int):
    item = services.load_auction(auction_id)
    return _act(
        lambda: services.sign_up(item, current_user),
        url_for("trading.auction", auction_id=auction_id),
        "已报名。" + ("请缴纳保证金，平台确认后即可出价" if item.deposit else "可以出价了"),
    )


@bp.post("/auctions/<int:auction_id>/bids")
@limit_bids
@login_required
def bid(auction_id: int):
    services.load_auction(auction_id)
    return _act(
        lambda: services.place_bid(auction_id, current_user, request.form.get("amount", "")),
        url_for("trading.auction", auction_id=auction_id),
        "出价成功",
    )


@bp.post("/auctions/<int:auction_id>/qualify")
@login_required
def qualify(auction_id: int):
    if not is_admin(current_user):
        raise PermissionDenied("只有平台管理员可以确认竞买资格")
    item = services.load_auction(auction_id)
    return _act(
        lambda: services.qualify(item, current_user, request.form.get("bidder_id")),
        url_for("trading.auction", auction_id=auction_id),
        "已确认保证金到账，竞买资格生效",
    )


@bp.get("/auctions/<int:auction_id>/confirmation.pdf")
@login_required
def confirmation(auction_id: int):
    item = services.close_if_due(services.load_auction(auction_id))
    if not services.can_see_confirmation(current_user, item):
        if item.status != "sold":
            raise NotFound("该拍卖尚未成交，没有成交确认书")
        raise PermissionDenied("成交确认书仅买受人、卖方、科技管理人员和管理员可以下载")
    pdf = documents.render_confirmation(item)
    return send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"成交确认书-{documents.number_of(item)}.pdf",
    )
