"""成交确认书: the confirmation of a sold auction, rendered on demand with the deal room's PDF
page template (embedded CJK font, header, page numbers). Amounts from Decimals, never floats."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from ..core.audit import history
from ..deals import pdf
from .models import Auction


def number_of(auction: Auction) -> str:
    return f"CJ{auction.closed_at:%Y%m%d}{auction.id:05d}" if auction.closed_at else f"CJ{auction.id:05d}"


def render_confirmation(auction: Auction) -> bytes:
    winner = auction.winner
    assert winner is not None and auction.final_price is not None
    bids = sorted(auction_bids(auction), key=lambda b: b.seq)
    number = number_of(auction)

    def story(s) -> list[Any]:
        out: list[Any] = [
            pdf.paragraph("成交确认书", s["title"]),
            pdf.paragraph(auction.title, s["subtitle"]),
            Spacer(1, 3 * mm),
            pdf.paragraph("一、成交结果", s["section"]),
            pdf.pairs(
                [
                    ("确认书编号", number),
                    ("拍卖编号", f"PM{auction.id:06d}"),
                    ("标的", auction.title),
                    ("科技成果编号", auction.achievement_id),
                    ("成交价", pdf.money(auction.final_price)),
                    ("成交价（大写）", pdf.capital(auction.final_price)),
                    ("起拍价", pdf.money(auction.starting_price)),
                    ("加价幅度", pdf.money(auction.increment)),
                    ("竞价开始", pdf.local_minute(auction.starts_at)),
                    ("竞价结束", pdf.local_minute(auction.closed_at)),
                    ("有效出价次数", str(auction.bid_count)),
                    ("保证金", pdf.money(auction.deposit) if auction.deposit else "无"),
                ]
            ),
            pdf.paragraph("二、当事人", s["section"]),
            pdf.pairs(
                [
                    ("出让方（卖方）", auction.seller_org.name),
                    ("买受人", winner.organization.name),
                    ("买受人竞买号", winner.label),
                    ("联系人", f"{winner.organization.contact_name or '—'} {winner.organization.contact_phone or ''}"),
                ],
                columns=1,
            ),
            pdf.paragraph("三、出价记录（竞买人以竞买号显示）", s["section"]),
        ]
        rows = [["序号", "竞买号", "出价", "时间（北京时间）"]]
        rows += [[str(b.seq), b.bidder.label, pdf.money(b.amount), pdf.local_minute(b.created_at)] for b in bids[-20:]]
        out.append(pdf.grid(rows, [18 * mm, 40 * mm, 50 * mm, pdf.CONTENT_W - 108 * mm], header=True, align_right=(2,)))
        out += [
            pdf.paragraph("四、后续事项", s["section"]),
            pdf.paragraph(
                "1. 买受人的保证金转作价款；其他竞买人的保证金由平台在 5 个工作日内退还。\n"
                "2. 双方应在本确认书出具后 10 个工作日内签订技术合同，并在平台项目中完成合同登记。\n"
                f"3. 平台已开设交易项目（编号 {auction.deal_id or '—'}），后续洽谈、签约和付款在项目中进行。",
                s["body"],
            ),
            Spacer(1, 4 * mm),
            pdf.paragraph(
                f"{pdf.PLATFORM_BRAND}（{pdf.PLATFORM_FULL}）  {pdf.local_day(auction.closed_at)}", s["body"]
            ),
        ]
        closing = [e for e in history(auction) if e.action == "close"]
        if closing:
            out.append(pdf.paragraph(f"结果记录：{closing[-1].reason or ''}", s["small"]))
        return out

    return pdf.build_document("成交确认书", number, story)


def auction_bids(auction: Auction):
    from .services import bids_of

    return bids_of(auction)
