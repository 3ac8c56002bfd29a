"""/api/v1 endpoints for 挂牌 and 竞价: list for sale, register interest, read an auction, bid
(with an Idempotency-Key: a replay returns the first answer and changes nothing), the anonymised
bid history, and qualifying a bidder (admin). Thin: parse, call `trading.services`, serialize."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import jsonify, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.errors import PermissionDenied, ServiceError, ValidationFailed
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement
from ..security import limit_bids
from ..trading import services
from ..trading.models import (
    Auction,
    AuctionPhase,
    AuctionStatus,
    Bid,
    IdempotentRequest,
    TradeListing,
    TradeListingStatus,
)
from . import bp, openapi
from .errors import json_error
from .openapi import AMOUNT, DATETIME, INTEGER, SECURED, STRING, errors, json_content, labeled, nullable, ref
from .serializers import iso_utc, money
from .views import caller, committed, int_arg, json_body

LISTING_KEYS = {
    "achievement_id",
    "transfer_mode",
    "listing_price",
    "deposit",
    "increment",
    "reserve_price",
    "disclosure_days",
    "auction_minutes",
    "extend_minutes",
    "conditions",
}
AMOUNT_KEYS = ("listing_price", "deposit", "increment", "reserve_price")
MAX_BIDS = 500


def serialize_listing(listing: TradeListing) -> dict[str, Any]:
    return {
        "id": listing.id,
        "achievement_id": listing.achievement_id,
        "title": listing.title,
        "seller": {"id": listing.organization.id, "name": listing.organization.name},
        "status": {"code": listing.status, "label": listing.status_label},
        "transfer_mode": listing.transfer_mode,
        "listing_price": money(listing.listing_price),
        "deposit": money(listing.deposit),
        "increment": money(listing.increment),
        "disclosure_days": listing.disclosure_days,
        "disclosure_start": iso_utc(listing.disclosure_start),
        "disclosure_end": iso_utc(listing.disclosure_end),
        "auction_minutes": listing.auction_minutes,
        "extend_minutes": listing.extend_minutes,
        "conditions": listing.conditions,
        "interest_count": len(listing.interests),
        "auction_id": listing.auction.id if listing.auction else None,
        "url": url_for("trading.listing", listing_id=listing.id),
    }


def serialize_auction(auction: Auction, viewer: Any) -> dict[str, Any]:
    phase = auction.phase()
    mine = services.own_bidder(auction, viewer)
    ended = auction.status != AuctionStatus.OPEN.value
    return {
        "id": auction.id,
        "title": auction.title,
        "listing_id": auction.listing_id,
        "status": {"code": auction.status, "label": auction.status_label},
        "phase": {"code": phase.value, "label": phase.label},
        "starting_price": money(auction.starting_price),
        "increment": money(auction.increment),
        "current_price": money(auction.current_price),
        "minimum_bid": None if phase is AuctionPhase.ENDED else money(auction.minimum_bid()),
        "bid_count": auction.bid_count,
        "deposit": money(auction.deposit),
        "has_reserve": auction.reserve_price is not None,
        "reserve_price": money(auction.reserve_price) if ended else None,
        "starts_at": iso_utc(auction.starts_at),
        "ends_at": iso_utc(auction.ends_at),
        "extend_minutes": auction.extend_minutes,
        "final_price": money(auction.final_price),
        "winner": auction.winner.label if auction.winner else None,
        "my_bidder": {"id": mine.id, "code": mine.label, "qualified": bool(mine.qualified)} if mine else None,
        "server_time": iso_utc(utcnow()),
        "url": url_for("trading.auction", auction_id=auction.id),
    }


def serialize_bid(bid: Bid) -> dict[str, Any]:
    return {
        "seq": bid.seq,
        "bidder": bid.bidder.label,
        "amount": money(bid.amount),
        "created_at": iso_utc(bid.created_at),
    }


def _listing_input(body: dict[str, Any]) -> tuple[Achievement | None, dict[str, Any]]:
    problems = {key: "不支持的字段，可用：" + "、".join(sorted(LISTING_KEYS)) for key in set(body) - LISTING_KEYS}
    for key in AMOUNT_KEYS:
        if body.get(key) is not None and not isinstance(body[key], str):
            problems[key] = '金额须为十进制字符串，如 "500000.00"'
    raw_id = body.get("achievement_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int):
        problems["achievement_id"] = "须为整数编号"
    if problems:
        raise ValidationFailed(problems)
    return db.session.get(Achievement, raw_id), body


@bp.post("/listings")
@login_required
def trading_listing_create():
    if not services.can_buy(caller()):
        raise PermissionDenied("只有已认证机构（高校/院所、企业）的成员可以挂牌")
    achievement, data = _listing_input(json_body())
    listing = services.create_listing(caller(), achievement, data)
    location = url_for("trading.listing", listing_id=listing.id)
    return committed(lambda: serialize_listing(listing), 201, {"Location": location})


@bp.post("/listings/<int:listing_id>/interest")
@login_required
def trading_listing_interest(listing_id: int):
    listing = services.load_listing(listing_id, caller())
    json_body(required=False)
    services.register_interest(listing, caller())
    return committed(lambda: serialize_listing(listing), 201)


@bp.get("/auctions/<int:auction_id>")
def auction_detail(auction_id: int):
    auction = services.close_if_due(services.load_auction(auction_id))
    return jsonify(serialize_auction(auction, caller()))


@bp.get("/auctions/<int:auction_id>/bids")
def auction_bids(auction_id: int):
    auction = services.load_auction(auction_id)
    bids = services.bids_of(auction, int_arg("limit", MAX_BIDS, maximum=MAX_BIDS))
    return jsonify({"total": auction.bid_count, "items": [serialize_bid(b) for b in bids]})


def _idempotency_key() -> str:
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key or len(key) > 100 or not key.isprintable():
        raise ValidationFailed(
            {"Idempotency-Key": "请在请求头 Idempotency-Key 中给出本次出价的唯一标识（1–100 个字符）"}
        )
    return key


def _replay(stored: IdempotentRequest, fingerprint: str):
    if stored.fingerprint != fingerprint:
        return json_error(
            422,
            "validation_failed",
            "同一 Idempotency-Key 已用于另一个请求",
            {"Idempotency-Key": "此键已用于内容不同的请求，请为新的出价使用新的键"},
        )
    response = jsonify(stored.body)
    response.status_code = stored.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _stored(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_id == user_id, IdempotentRequest.key == key)
    )


@bp.post("/auctions/<int:auction_id>/bids")
@limit_bids
@login_required
def auction_bid(auction_id: int):
    user = caller()
    services.require_bidder(services.load_auction(auction_id), user)  # rechecked under the lock
    key = _idempotency_key()
    fingerprint = hashlib.sha256(request.path.encode() + b"\n" + request.get_data()).hexdigest()
    stored = _stored(user.id, key)
    if stored is not None:
        return _replay(stored, fingerprint)
    body = json_body()
    extra = set(body) - {"amount"}
    try:
        if extra:
            raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段，可用：amount"))
        if not isinstance(body.get("amount"), str):
            raise ValidationFailed({"amount": '出价须为十进制字符串，如 "1010000.00"'})
        bid = services.place_bid(auction_id, user, body["amount"])
        auction = db.session.get(Auction, auction_id)
        status, answer = 201, {"bid": serialize_bid(bid), "auction": serialize_auction(auction, user)}
    except ServiceError as exc:
        db.session.rollback()
        status = exc.status
        answer = {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
    db.session.add(
        IdempotentRequest(user_id=user.id, key=key, fingerprint=fingerprint, status_code=status, body=answer)
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same key arrived twice at once: the other request stored its answer first; this
        # one's bid (if any) is rolled back with it, so the key changes the auction at most once.
        db.session.rollback()
        return _replay(_stored(user.id, key), fingerprint)
    response = jsonify(answer)
    response.status_code = status
    return response


@bp.post("/auctions/<int:auction_id>/qualify")
@login_required
def auction_qualify(auction_id: int):
    user = caller()
    auction = services.load_auction(auction_id)
    body = json_body()
    extra = set(body) - {"bidder_id"}
    if extra:
        raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段，可用：bidder_id"))
    bidder = services.qualify(auction, user, body.get("bidder_id"))
    return committed(
        lambda: {"id": bidder.id, "code": bidder.label, "qualified": True, "deposit": bidder.deposit_status}
    )


# ---------------------------------------------------------------------------------------------
# OpenAPI

AUCTION_ID = {"name": "auction_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
TRADE_LISTING_ID = {"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
MONEY_IN = {
    **nullable({"type": "string"}),
    "description": '金额（元），十进制字符串，可带单位，如 "1000000.00" 或 "100万"',
}
SCHEMAS = {
    "TradeListingInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["achievement_id", "transfer_mode", "listing_price", "increment"],
        "properties": {
            "achievement_id": {**INTEGER, "description": "本机构已发布的科技成果"},
            "transfer_mode": {
                "type": "string",
                "description": "交易方式：transfer / license / equity / co_develop / other",
            },
            "listing_price": MONEY_IN,
            "deposit": MONEY_IN,
            "increment": MONEY_IN,
            "reserve_price": {**MONEY_IN, "description": "保留价，不公开；不低于挂牌价"},
            "disclosure_days": {**INTEGER, "minimum": 1, "maximum": 90, "default": 20},
            "auction_minutes": {**INTEGER, "minimum": 5, "default": 60},
            "extend_minutes": {**INTEGER, "minimum": 0, "maximum": 60, "default": 5},
            "conditions": {**nullable(STRING), "maxLength": 5000},
        },
    },
    "TradeListing": {
        "type": "object",
        "required": ["id", "title", "status", "listing_price", "interest_count"],
        "properties": {
            "id": INTEGER,
            "achievement_id": INTEGER,
            "title": STRING,
            "seller": {"type": "object", "properties": {"id": INTEGER, "name": STRING}},
            "status": labeled(TradeListingStatus),
            "transfer_mode": STRING,
            "listing_price": AMOUNT,
            "deposit": AMOUNT,
            "increment": AMOUNT,
            "disclosure_days": INTEGER,
            "disclosure_start": DATETIME,
            "disclosure_end": DATETIME,
            "auction_minutes": INTEGER,
            "extend_minutes": INTEGER,
            "conditions": nullable(STRING),
            "interest_count": INTEGER,
            "auction_id": nullable(INTEGER),
            "url": STRING,
        },
    },
    "Auction": {
        "type": "object",
        "required": ["id", "status", "phase", "current_price", "bid_count", "ends_at"],
        "properties": {
            "id": INTEGER,
            "title": STRING,
            "listing_id": nullable(INTEGER),
            "status": labeled(AuctionStatus),
            "phase": labeled(AuctionPhase),
            "starting_price": AMOUNT,
            "increment": AMOUNT,
            "current_price": {**AMOUNT, "description": "最高有效出价；尚无出价时为 null"},
            "minimum_bid": {**AMOUNT, "description": "下一次出价的最低金额；已结束时为 null"},
            "bid_count": INTEGER,
            "deposit": AMOUNT,
            "has_reserve": {"type": "boolean"},
            "reserve_price": {**AMOUNT, "description": "保留价，仅在结束后公开"},
            "starts_at": DATETIME,
            "ends_at": {**DATETIME, "description": "结束时间；延时竞价会推后"},
            "extend_minutes": INTEGER,
            "final_price": AMOUNT,
            "winner": {**nullable(STRING), "description": "买受人竞买号（匿名）"},
            "my_bidder": nullable(
                {"type": "object", "properties": {"id": INTEGER, "code": STRING, "qualified": {"type": "boolean"}}}
            ),
            "server_time": DATETIME,
            "url": STRING,
        },
    },
    "AuctionBid": {
        "type": "object",
        "required": ["seq", "bidder", "amount", "created_at"],
        "properties": {"seq": INTEGER, "bidder": STRING, "amount": AMOUNT, "created_at": DATETIME},
    },
}


def paths() -> dict[str, Any]:
    listing = json_content(ref("TradeListing"))
    auction = json_content(ref("Auction"))
    return {
        "/listings": {
            "post": {
                "operationId": "create_trade_listing",
                "tags": ["trading"],
                "summary": "挂牌（成果所属机构的成员）：提交平台审核，通过后公示",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("TradeListingInput"))},
                "responses": {"201": {"description": "已提交审核", **listing}, **errors(400, 401, 403, 409, 422)},
            }
        },
        "/listings/{listing_id}/interest": {
            "parameters": [TRADE_LISTING_ID],
            "post": {
                "operationId": "register_listing_interest",
                "tags": ["trading"],
                "summary": "登记受让意向（已认证机构的成员，公示期内）",
                "security": SECURED,
                "responses": {"201": {"description": "已登记", **listing}, **errors(400, 401, 403, 404, 409)},
            },
        },
        "/auctions/{auction_id}": {
            "parameters": [AUCTION_ID],
            "get": {
                "operationId": "get_auction",
                "tags": ["trading"],
                "summary": "拍卖状态：当前价、出价次数、结束时间（到期时顺带结束拍卖）",
                "security": openapi.OPTIONAL_AUTH,
                "responses": {"200": {"description": "拍卖", **auction}, **errors(404)},
            },
        },
        "/auctions/{auction_id}/bids": {
            "parameters": [AUCTION_ID],
            "get": {
                "operationId": "list_auction_bids",
                "tags": ["trading"],
                "summary": "出价记录（竞买人匿名显示为竞买号），新的在前",
                "security": openapi.OPTIONAL_AUTH,
                "parameters": [
                    openapi.query(
                        "limit", f"最多条数（1–{MAX_BIDS}）", {"type": "integer", "minimum": 1, "maximum": MAX_BIDS}
                    )
                ],
                "responses": {
                    "200": {
                        "description": "出价",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["total", "items"],
                                "properties": {
                                    "total": INTEGER,
                                    "items": {"type": "array", "items": ref("AuctionBid")},
                                },
                            }
                        ),
                    },
                    **errors(401, 404, 422),
                },
            },
            "post": {
                "operationId": "place_auction_bid",
                "tags": ["trading"],
                "summary": "出价（已取得资格的竞买人）",
                "description": (
                    "金额须不低于当前价加最小加价幅度（首次出价不低于起拍价）。须带 Idempotency-Key 请求头："
                    "同一用户用同一键重发同一请求，返回第一次的结果（含拒绝）并且不再改变拍卖，响应头 "
                    "Idempotent-Replayed: true；同一键用于不同内容返回 422。被拒绝的出价不改变拍卖。"
                ),
                "security": SECURED,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 100},
                    }
                ],
                "requestBody": {
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["amount"],
                            "properties": {
                                "amount": {"type": "string", "description": '十进制字符串，如 "1010000.00"'}
                            },
                        }
                    ),
                },
                "responses": {
                    "201": {
                        "description": "出价已接受",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["bid", "auction"],
                                "properties": {"bid": ref("AuctionBid"), "auction": ref("Auction")},
                            }
                        ),
                    },
                    **errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/auctions/{auction_id}/qualify": {
            "parameters": [AUCTION_ID],
            "post": {
                "operationId": "qualify_auction_bidder",
                "tags": ["trading"],
                "summary": "确认竞买资格（管理员：记录保证金已缴纳）",
                "security": SECURED,
                "requestBody": {
                    "required": True,
                    **json_content({"type": "object", "required": ["bidder_id"], "properties": {"bidder_id": INTEGER}}),
                },
                "responses": {
                    "200": {
                        "description": "已确认",
                        **json_content(
                            {
                                "type": "object",
                                "properties": {
                                    "id": INTEGER,
                                    "code": STRING,
                                    "qualified": {"type": "boolean"},
                                    "deposit": STRING,
                                },
                            }
                        ),
                    },
                    **errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
    }


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "trading", "description": "挂牌交易与竞价拍卖"}])
