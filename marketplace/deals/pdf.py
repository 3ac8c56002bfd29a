"""PDF documents of the deal room, generated on demand with reportlab (never stored):

* render_certificate(contract) — 技术合同登记证明 of a registered (or cancelled) contract;
* render_deal_summary(deal)    — 项目摘要 of a deal;
* render_invoice(invoice)      — 发票, the platform's own settlement voucher (not a 税务发票).

Chinese text is set in the vendored WenQuanYi Micro Hei (fonts/wqy-microhei.ttc, TrueType
outlines, Apache-2.0): reportlab embeds the subset of glyphs a document uses, so the PDFs show
Chinese on machines without Chinese fonts. Every amount is formatted from its Decimal (to the fen),
never through a float, so the figures equal the database's."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from flask import current_app, has_app_context
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core.money import capital_amount, to_yuan
from ..core.taxonomy import (
    CommissionKind,
    ContractStatus,
    ContractType,
    DealStage,
    InvoiceStatus,
    IPType,
    LicenseScope,
    OrgType,
    PartyNature,
    PaymentMode,
    SocioEconomicObjective,
)
from ..core.timeutil import format_local, utcnow

FONT = "WQYMicroHei"
FONT_PATH = Path(__file__).parent / "fonts" / "wqy-microhei.ttc"
PLATFORM_BRAND = "科技淘宝"
PLATFORM_FULL = "日照技术转移与成果交易平台"

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#c5ccd3")
SHADE = colors.HexColor("#f1f4f7")
ACCENT = colors.HexColor("#0b5394")
ALERT = colors.HexColor("#b3261e")
PAGE_W, PAGE_H = A4
MARGIN_X = 18 * mm
CONTENT_W = PAGE_W - 2 * MARGIN_X


def register_font() -> str:
    """Register the CJK font once per process; returns its reportlab name."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH), subfontIndex=0))
        # One face only (Micro Hei has no bold): <b> in a paragraph maps to the same face.
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    return FONT


# ---------------------------------------------------------------------------------------------
# Formatting: Decimals to text without floats


def money(amount: Decimal | None) -> str:
    """¥1,234,567.89 (to the fen), or — when there is no amount."""
    if amount is None:
        return "—"
    value = to_yuan(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def capital(amount: Decimal | None) -> str:
    return "—" if amount is None else capital_amount(amount)


def plain_number(value: Decimal | None) -> str:
    """6.000 -> 6, 6.500 -> 6.5, 2.250 -> 2.25 (rates and quantities)."""
    if value is None:
        return "—"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{plain_number(value)}%"


def day(value: date | None) -> str:
    return value.strftime("%Y年%m月%d日") if value else "—"


def local_day(value: datetime | None) -> str:
    return format_local(value, "%Y年%m月%d日") if value else "—"


def local_minute(value: datetime | None) -> str:
    return format_local(value, "%Y-%m-%d %H:%M") if value else "—"


def _text(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _taxonomy():
    return current_app.extensions["taxonomy"] if has_app_context() else None


def field_name(code: str | None) -> str:
    taxonomy = _taxonomy()
    name = taxonomy.field_path(code) if taxonomy and code else ""
    return f"{name}（{code}）" if name else _text(code)


def district_name(code: str | None) -> str:
    taxonomy = _taxonomy()
    return (taxonomy.district_name(code) if taxonomy and code else "") or _text(code)


def contract_type_text(contract: Any) -> str:
    kind = ContractType.parse(contract.contract_type)
    if kind is None:
        return _text(contract.contract_type)
    text = f"{kind.group_label} — {kind.label}"
    if kind.is_license and contract.license_scope:
        text += f"（{LicenseScope.label_of(contract.license_scope)}）"
    return text


# ---------------------------------------------------------------------------------------------
# Page furniture: header, footer with "第 N 页 共 M 页", watermark


class _DocumentCanvas(Canvas):
    """Holds every page back until the end so the footer can say how many pages there are."""

    def __init__(self, *args: Any, meta: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._meta = meta
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._furnish(total)
            super().showPage()
        super().save()

    def _furnish(self, total: int) -> None:
        meta = self._meta
        self.saveState()
        if meta.get("watermark"):
            self.setFillColor(ALERT)
            self.setFillAlpha(0.16)
            self.setFont(FONT, 110)
            self.translate(PAGE_W / 2, PAGE_H / 2)
            self.rotate(35)
            self.drawCentredString(0, -40, meta["watermark"])
            self.restoreState()
            self.saveState()
        top = PAGE_H - 14 * mm
        self.setFillColor(ACCENT)
        self.setFont(FONT, 15)
        self.drawString(MARGIN_X, top, PLATFORM_BRAND)
        brand_w = pdfmetrics.stringWidth(PLATFORM_BRAND, FONT, 15)
        self.setFillColor(MUTED)
        self.setFont(FONT, 8.5)
        self.drawString(MARGIN_X + brand_w + 3 * mm, top + 0.5, PLATFORM_FULL)
        self.setFont(FONT, 9)
        self.setFillColor(INK)
        self.drawRightString(PAGE_W - MARGIN_X, top + 0.5, meta["title"])
        self.setStrokeColor(ACCENT)
        self.setLineWidth(1.2)
        self.line(MARGIN_X, top - 3 * mm, PAGE_W - MARGIN_X, top - 3 * mm)

        bottom = 11 * mm
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN_X, bottom + 4.5 * mm, PAGE_W - MARGIN_X, bottom + 4.5 * mm)
        self.setFont(FONT, 7.5)
        self.setFillColor(MUTED)
        self.drawString(MARGIN_X, bottom, f"生成时间：{meta['generated']}（北京时间）")
        self.drawCentredString(PAGE_W / 2, bottom, f"第 {self._pageNumber} 页 共 {total} 页")
        self.drawRightString(PAGE_W - MARGIN_X, bottom, f"文件编号：{meta['number']}")
        self.restoreState()


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9.5, leading=14, textColor=INK, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12.5),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=9, leading=12.5, alignment=TA_RIGHT),
        "label": ParagraphStyle("label", parent=base, fontSize=8.5, leading=12, textColor=MUTED),
        "title": ParagraphStyle(
            "title", parent=base, fontSize=20, leading=26, alignment=TA_CENTER, spaceBefore=2, spaceAfter=2
        ),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base, fontSize=10, leading=14, alignment=TA_CENTER, textColor=MUTED
        ),
        "section": ParagraphStyle(
            "section", parent=base, fontSize=11, leading=15, textColor=ACCENT, spaceBefore=7, spaceAfter=3
        ),
        "big": ParagraphStyle("big", parent=base, fontSize=17, leading=22, alignment=TA_CENTER, textColor=INK),
        "alert": ParagraphStyle(
            "alert", parent=base, fontSize=10.5, leading=15, textColor=ALERT, alignment=TA_LEFT, spaceBefore=3
        ),
    }


def _build(title: str, number: str, story_of, watermark: str | None = None) -> bytes:
    register_font()
    buffer = io.BytesIO()
    meta = {
        "title": title,
        "number": number,
        "generated": format_local(utcnow(), "%Y-%m-%d %H:%M"),
        "watermark": watermark or "",
    }
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=25 * mm,
        bottomMargin=22 * mm,
        title=f"{title} {number}",
        author=f"{PLATFORM_BRAND}（{PLATFORM_FULL}）",
        subject=title,
        creator=PLATFORM_BRAND,
        # Pages start in our font, so no page refers to an unembedded Helvetica.
        initialFontName=FONT,
    )
    doc.build(story_of(_styles()), canvasmaker=partial(_DocumentCanvas, meta=meta))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Building blocks


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(_text(text)).replace("\n", "<br/>"), style)


def _grid(rows: list[list[Any]], widths: list[float], *, header: bool = False, shade_cols=(), align_right=()) -> Table:
    """A table with light rules. Cells that are not Flowables become wrapped paragraphs."""
    styles = _styles()
    data = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            if isinstance(cell, Paragraph | Table):
                cells.append(cell)
            elif cell == "":
                cells.append("")
            elif header and r == 0 or c in shade_cols:
                cells.append(_p(cell, styles["label"]))
            else:
                cells.append(_p(cell, styles["cell_right"] if c in align_right else styles["cell"]))
        data.append(cells)
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands: list[tuple] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    for c in shade_cols:
        commands.append(("BACKGROUND", (c, 0), (c, -1), SHADE))
    table.setStyle(TableStyle(commands))
    return table


def _pairs(items: list[tuple[str, Any]], columns: int = 2) -> Table:
    """Label/value pairs, `columns` pairs per row; a value ending a short row spans the rest."""
    label_w = 26 * mm if columns > 1 else 32 * mm
    value_w = (CONTENT_W - columns * label_w) / columns
    widths = [label_w, value_w] * columns
    rows: list[list[Any]] = []
    spans: list[tuple] = []
    for start in range(0, len(items), columns):
        chunk = items[start : start + columns]
        row: list[Any] = []
        for label, value in chunk:
            row += [label, value]
        if len(chunk) < columns:
            spans.append(("SPAN", (len(row) - 1, len(rows)), (-1, len(rows))))
            spans.append(("BACKGROUND", (len(row) - 1, len(rows)), (-1, len(rows)), colors.white))
            row += [""] * (2 * columns - len(row))
        rows.append(row)
    table = _grid(rows, widths, shade_cols=tuple(range(0, 2 * columns, 2)))
    if spans:
        table.setStyle(TableStyle(spans))
    return table


def _wide_pairs(items: list[tuple[str, Any]]) -> Table:
    return _pairs(items, columns=1)


def _note(text: str, styles) -> Paragraph:
    return _p(text, styles["small"])


# ---------------------------------------------------------------------------------------------
# 技术合同登记证明


def render_certificate(contract: Any) -> bytes:
    """技术合同登记证明 of a registered contract (a cancelled one carries an 已注销 watermark).

    Raises ValueError for a contract that was never registered: there is nothing to certify."""
    if contract.status not in (ContractStatus.REGISTERED.value, ContractStatus.CANCELLED.value) or not (
        contract.registration_number
    ):
        raise ValueError("合同尚未登记，不能出具登记证明")
    cancelled = contract.status == ContractStatus.CANCELLED.value
    kind = ContractType.parse(contract.contract_type)

    def story(s):
        out: list[Any] = [
            _p("技术合同登记证明", s["title"]),
            _p("Certificate of Technology Contract Registration", s["subtitle"]),
            Spacer(1, 5 * mm),
        ]
        label_style = ParagraphStyle("centered_label", parent=s["label"], alignment=TA_CENTER)
        number_box = Table(
            [[_p("合同登记编号", label_style)], [_p(contract.registration_number, s["big"])]],
            colWidths=[110 * mm],
        )
        number_box.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), FONT),
                    ("BOX", (0, 0), (-1, -1), 1, ACCENT),
                    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                    ("BACKGROUND", (0, 0), (-1, -1), SHADE),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ]
            )
        )
        number_box.hAlign = "CENTER"
        out += [number_box, Spacer(1, 3 * mm)]
        registration = (
            f"登记机构代码 {_text(contract.office_code)}　·　登记日期 {local_day(contract.registered_at)}"
            f"　·　状态 {ContractStatus.label_of(contract.status)}"
        )
        out.append(_p(registration, ParagraphStyle("reg", parent=s["body"], alignment=TA_CENTER)))
        if cancelled:
            out.append(
                _p(
                    f"已注销：注销日期 {local_day(contract.cancelled_at)}；原因：{_text(contract.cancel_reason)}。"
                    "本证明仅供查询，不再作为有效登记凭证。",
                    s["alert"],
                )
            )
        out.append(_p("一、合同基本信息", s["section"]))
        basics = [
            ("项目名称", contract.project_name),
            ("合同类别", contract_type_text(contract)),
            ("技术领域", field_name(contract.field_code)),
            ("支付方式", PaymentMode.label_of(contract.payment_mode)),
            ("签订日期", day(contract.signed_on)),
            ("合同有效期限", f"{day(contract.valid_from)} 至 {day(contract.valid_to)}"),
            ("知识产权类型", IPType.label_of(contract.ip_type) or "—"),
            ("社会经济目标", SocioEconomicObjective.label_of(contract.objective) or "—"),
        ]
        out.append(_pairs(basics))

        out.append(_p("二、合同当事人", s["section"]))
        parties = [
            ["", "名称", "性质", "行政区划代码"],
            [
                "卖方（登记方）",
                contract.seller_name,
                PartyNature.label_of(contract.seller_nature),
                contract.seller_region,
            ],
            ["买方", contract.buyer_name, PartyNature.label_of(contract.buyer_nature), contract.buyer_region],
        ]
        out.append(_grid(parties, [28 * mm, 82 * mm, 34 * mm, CONTENT_W - 144 * mm], header=True, shade_cols=(0,)))

        out.append(_p("三、合同金额（人民币）", s["section"]))
        amounts = [
            ["", "小写", "大写"],
            ["合同成交额", money(contract.amount), capital(contract.amount)],
            ["非技术性费用", money(contract.non_tech_costs), capital(contract.non_tech_costs)],
            ["技术交易额（核定）", money(contract.technology_amount), capital(contract.technology_amount)],
        ]
        out.append(
            _grid(amounts, [36 * mm, 42 * mm, CONTENT_W - 78 * mm], header=True, shade_cols=(0,), align_right=(1,))
        )
        breakdown = {k: v for k, v in (contract.non_tech_breakdown or {}).items() if v not in (None, "", "0", "0.00")}
        if breakdown:
            parts = {
                "equipment": "设备",
                "instruments": "仪器",
                "parts": "零部件",
                "materials": "原材料",
                "other": "其他",
            }
            text = "；".join(f"{parts.get(k, k)} {money(Decimal(str(v)))}" for k, v in breakdown.items())
            out.append(_note(f"非技术性费用构成：{text}", s))
        out.append(_note("技术交易额 = 合同成交额 − 非技术性费用（设备、仪器、零部件、原材料等）。", s))
        if kind is not None and kind.is_transfer:
            out.append(Spacer(1, 2 * mm))
            out.append(
                _pairs(
                    [
                        ("预计新增投入", money(contract.expected_investment)),
                        ("预计新增产值", money(contract.expected_output)),
                    ]
                )
            )

        if contract.amendments:
            out.append(_p("四、变更与注销记录", s["section"]))
            rows = [["日期", "类别", "变更内容", "原因"]]
            for amendment in contract.amendments:
                rows.append(
                    [
                        local_day(amendment.created_at),
                        "注销" if amendment.kind == "cancel" else "变更",
                        _changes_text(amendment.changes),
                        amendment.reason,
                    ]
                )
            out.append(_grid(rows, [28 * mm, 16 * mm, 78 * mm, CONTENT_W - 122 * mm], header=True))

        closing = [
            Spacer(1, 6 * mm),
            _p("兹证明上述技术合同已经本登记机构认定登记。", s["body"]),
            Spacer(1, 8 * mm),
            Table(
                [[_p("登记机构（盖章）：", s["body"]), _p(f"日期：{local_day(contract.registered_at)}", s["body"])]],
                colWidths=[CONTENT_W * 0.55, CONTENT_W * 0.45],
                style=[("FONTNAME", (0, 0), (-1, -1), FONT)],
            ),
            Spacer(1, 6 * mm),
            _note(
                "本证明由科技淘宝（日照技术转移与成果交易平台）根据登记机构的登记结果生成，登记编号可在平台查询核验。",
                s,
            ),
        ]
        out.append(KeepTogether(closing))
        return out

    return _build("技术合同登记证明", contract.registration_number, story, watermark="已注销" if cancelled else None)


_CHANGE_LABELS = {
    "amount": "合同成交额",
    "non_tech_costs": "非技术性费用",
    "technology_amount": "技术交易额",
    "project_name": "项目名称",
    "valid_to": "有效期至",
    "valid_from": "有效期自",
    "payment_mode": "支付方式",
    "buyer_name": "买方名称",
    "seller_name": "卖方名称",
}


def _changes_text(changes: dict[str, Any] | None) -> str:
    if not changes:
        return "—"
    parts = []
    for key, value in changes.items():
        label = _CHANGE_LABELS.get(key, key)
        if isinstance(value, list | tuple) and len(value) == 2:
            parts.append(f"{label}：{_text(value[0])} → {_text(value[1])}")
        else:
            parts.append(f"{label}：{_text(value)}")
    return "；".join(parts)


# ---------------------------------------------------------------------------------------------
# 项目摘要


def _org_line(org: Any) -> list[str]:
    if org is None:
        return ["—", "—", "—", "—"]
    contact = " ".join(x for x in (org.contact_name, org.contact_phone) if x) or "—"
    return [org.name, OrgType.label_of(org.org_type), district_name(org.district), contact]


def _commission_text(deal: Any) -> str:
    if deal.commission_kind == CommissionKind.RATE.value:
        terms = f"按成交额的 {percent(deal.commission_rate)}"
    elif deal.commission_kind == CommissionKind.FIXED.value:
        terms = f"固定金额 {money(deal.commission_amount)}"
    else:
        return "未约定"
    return f"{terms}，{deal.commission_payer_label or '付款方未约定'}"


def _payment_figures(contract: Any) -> dict[str, Any]:
    try:
        from .contracts import payment_status
    except ImportError:  # the contracts module is written by another engineer; a plain sum until then
        payment_status = None
    if payment_status is not None:
        return payment_status(contract)
    paid = sum((p.amount for p in contract.payments), Decimal("0.00"))
    return {"paid": paid, "outstanding": contract.amount - paid, "overdue": None, "next_due": None}


def render_deal_summary(deal: Any) -> bytes:
    number = f"XM{deal.id:06d}"
    contract = deal.contract

    def story(s):
        numbers = iter("一二三四五六七八")

        def heading(title: str) -> Paragraph:
            return _p(f"{next(numbers)}、{title}", s["section"])

        out: list[Any] = [_p("项目摘要", s["title"]), _p(deal.title, s["subtitle"]), Spacer(1, 2 * mm)]
        out.append(heading("项目概况"))
        sources = []
        if deal.introduction_id:
            sources.append(f"经纪人引荐 #{deal.introduction_id}")
        if deal.achievement_id:
            sources.append(f"科技成果 #{deal.achievement_id}")
        if deal.demand_id:
            sources.append(f"技术需求 #{deal.demand_id}")
        if deal.challenge_id:
            sources.append(f"揭榜挂帅 #{deal.challenge_id}")
        basics = [
            ("项目编号", number),
            ("当前阶段", DealStage.label_of(deal.stage)),
            ("进入本阶段", local_minute(deal.stage_changed_at)),
            ("创建时间", local_minute(deal.created_at)),
            ("预计成交额", money(deal.expected_value)),
            ("佣金约定", _commission_text(deal)),
            ("项目来源", "；".join(sources) or "直接创建"),
        ]
        if deal.stage == DealStage.TERMINATED.value:
            basics.append(("终止原因", _text(deal.termination_reason)))
        out.append(_pairs(basics))
        if deal.summary:
            out += [Spacer(1, 2 * mm), _p(f"项目简介：{deal.summary}", s["body"])]

        out.append(heading("当事人与技术经纪人"))
        rows = [["", "名称", "类型", "所在区县", "联系人"]]
        rows.append(["卖方（技术方）", *_org_line(deal.seller_org)])
        rows.append(["买方（需求方）", *_org_line(deal.buyer_org)])
        out.append(
            _grid(rows, [27 * mm, 48 * mm, 30 * mm, 27 * mm, CONTENT_W - 132 * mm], header=True, shade_cols=(0,))
        )
        if deal.brokers:
            rows = [["技术经纪人", "所属机构", "经纪人证书编号", "电话"]]
            for broker in sorted(deal.brokers, key=lambda b: (not b.lead, b.id)):
                user = broker.user
                org = user.organization.name if user.organization else "—"
                name = f"{user.name}（主办）" if broker.lead else user.name
                rows.append([name, org, _text(user.broker_cert_no), _text(user.phone)])
            out += [Spacer(1, 2 * mm), _grid(rows, [36 * mm, 66 * mm, 40 * mm, CONTENT_W - 142 * mm], header=True)]
        else:
            out.append(_p("尚未指派技术经纪人。", s["body"]))

        out.append(heading("阶段记录"))
        stages = sorted((e for e in deal.events if e.kind == "stage"), key=lambda e: (e.created_at, e.id))
        if stages:
            rows = [["时间", "阶段变化", "说明", "操作人"]]
            for event in stages:
                change = f"{DealStage.label_of(event.from_stage) or '—'} → {DealStage.label_of(event.to_stage)}"
                rows.append(
                    [
                        local_minute(event.created_at),
                        change,
                        event.body or "—",
                        event.author.name if event.author else "系统",
                    ]
                )
            out.append(_grid(rows, [32 * mm, 34 * mm, CONTENT_W - 94 * mm, 28 * mm], header=True))
        else:
            out.append(_p(f"尚无阶段变更，项目自创建起处于“{DealStage.label_of(deal.stage)}”阶段。", s["body"]))

        out.append(heading("技术合同"))
        if contract is None:
            out.append(_p("尚未录入技术合同。", s["body"]))
        else:
            out.append(
                _pairs(
                    [
                        ("合同名称", contract.project_name),
                        ("合同类别", contract_type_text(contract)),
                        ("合同状态", ContractStatus.label_of(contract.status)),
                        ("登记编号", _text(contract.registration_number)),
                        ("合同成交额", money(contract.amount)),
                        ("技术交易额", money(contract.technology_amount)),
                        ("非技术性费用", money(contract.non_tech_costs)),
                        ("签订日期", day(contract.signed_on)),
                    ]
                )
            )
            if contract.payments or contract.installments:
                figures = _payment_figures(contract)
                out.append(heading("付款情况"))
                next_due = figures.get("next_due")
                if isinstance(next_due, date):
                    next_text = day(next_due)
                elif next_due:
                    due_on = getattr(next_due, "due_on", None)
                    rest = figures.get("next_due_rest") or getattr(next_due, "amount", None)
                    next_text = f"{day(due_on)} 应付 {money(rest)}" if due_on else str(next_due)
                else:
                    next_text = "—"
                out.append(
                    _pairs(
                        [
                            ("已付金额", money(figures.get("paid"))),
                            ("未付金额", money(figures.get("outstanding"))),
                            ("逾期金额", money(figures.get("overdue"))),
                            ("下一期", next_text),
                        ]
                    )
                )

        out.append(heading("发票"))
        if deal.invoices:
            rows = [["发票号码", "类别", "付款方", "开票日期", "价税合计", "状态"]]
            for invoice in deal.invoices:
                rows.append(
                    [
                        invoice.number,
                        invoice.kind_label.removesuffix("发票"),
                        invoice.payer_name,
                        invoice.issued_on.isoformat(),
                        money(invoice.total),
                        invoice.status_label,
                    ]
                )
            out.append(
                _grid(
                    rows,
                    [32 * mm, 22 * mm, CONTENT_W - 124 * mm, 22 * mm, 30 * mm, 18 * mm],
                    header=True,
                    align_right=(4,),
                )
            )
        else:
            out.append(_p("尚未开具发票。", s["body"]))
        out += [Spacer(1, 3 * mm), _note("本摘要由平台根据项目记录即时生成，仅供项目当事人、经纪人和管理部门参阅。", s)]
        return out

    return _build("项目摘要", number, story)


# ---------------------------------------------------------------------------------------------
# 发票 (the platform's settlement voucher)


def render_invoice(invoice: Any) -> bytes:
    void = invoice.status == InvoiceStatus.VOID.value
    paid = invoice.status == InvoiceStatus.PAID.value

    def story(s):
        title = ParagraphStyle("invoice_title", parent=s["title"], fontSize=22, leading=28)
        out: list[Any] = [
            _p("发  票", title),
            _p(invoice.kind_label.removesuffix("发票"), s["subtitle"]),
            _p(
                "本发票为平台结算凭证，不作为增值税发票使用",
                ParagraphStyle("fine", parent=s["small"], alignment=TA_CENTER),
            ),
            Spacer(1, 4 * mm),
        ]
        status_color = ALERT if void else (colors.HexColor("#1e7a34") if paid else INK)
        status_style = ParagraphStyle("status", parent=s["cell"], textColor=status_color, fontSize=10.5)
        status_text = invoice.status_label
        if paid and invoice.paid_on:
            status_text += f"（{day(invoice.paid_on)}）"
        head = [
            ("发票号码", invoice.number),
            ("开票日期", day(invoice.issued_on)),
            ("付款期限", day(invoice.due_on)),
            ("状态", Paragraph(escape(status_text), status_style)),
        ]
        out.append(_pairs(head))
        if void:
            out += [
                Spacer(1, 2 * mm),
                _p(f"本发票已于 {local_day(invoice.voided_at)} 作废，原因：{_text(invoice.void_reason)}", s["alert"]),
            ]

        out.append(Spacer(1, 4 * mm))
        half = CONTENT_W / 2
        party = [
            ["付款方", "", "收款方", ""],
            ["名称", invoice.payer_name, "名称", invoice.payee_name],
            ["纳税人识别号", _text(invoice.payer_tax_id), "纳税人识别号", _text(invoice.payee_tax_id)],
            ["地址", _text(invoice.payer_address), "开户银行", _text(invoice.payee_bank)],
            ["", "", "银行账号", _text(invoice.payee_account)],
        ]
        party_table = _grid(party, [24 * mm, half - 24 * mm, 24 * mm, half - 24 * mm], header=True, shade_cols=(0, 2))
        party_table.setStyle(TableStyle([("SPAN", (0, 0), (1, 0)), ("SPAN", (2, 0), (3, 0))]))
        out.append(party_table)

        out.append(Spacer(1, 5 * mm))
        rows: list[list[Any]] = [["序号", "项目名称", "数量", "单价", "金额"]]
        for index, line in enumerate(invoice.lines, start=1):
            rows.append(
                [str(index), line.description, plain_number(line.quantity), money(line.unit_price), money(line.amount)]
            )
        n_lines = len(rows)
        rows.append(["", "", "", "小计", money(invoice.subtotal)])
        rows.append(["", "", "", f"税率 {percent(invoice.tax_rate)}  税额", money(invoice.tax)])
        total_style = ParagraphStyle("total", parent=s["cell_right"], fontSize=11)
        rows.append(["", "", "", "价税合计", _p(money(invoice.total), total_style)])
        capital_style = ParagraphStyle("capital", parent=s["cell"], fontSize=10.5, leading=15)
        capital_text = (
            f'<font color="#616e7c" size="8.5">价税合计（大写）</font>&nbsp;&nbsp;{escape(capital(invoice.total))}'
            f'&nbsp;&nbsp;&nbsp;&nbsp;<font color="#616e7c" size="8.5">（小写）</font>{escape(money(invoice.total))}'
        )
        rows.append([Paragraph(capital_text, capital_style), "", "", "", ""])
        widths = [12 * mm, CONTENT_W - 98 * mm, 16 * mm, 34 * mm, 36 * mm]
        lines = _grid(rows, widths, header=True, align_right=(2, 3, 4))
        last = len(rows) - 1
        lines.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, n_lines), (2, last - 1)),
                    ("SPAN", (0, last), (-1, last)),
                    ("BACKGROUND", (3, n_lines), (3, last - 1), SHADE),
                    ("LINEABOVE", (0, n_lines), (-1, n_lines), 0.9, MUTED),
                ]
            )
        )
        out.append(lines)

        out.append(Spacer(1, 5 * mm))
        deal = invoice.deal
        reference = [("关联项目", f"{deal.title}（项目编号 XM{deal.id:06d}）")]
        contract = deal.contract
        if contract is not None and contract.registration_number:
            reference.append(("技术合同登记编号", contract.registration_number))
        elif contract is not None:
            reference.append(("技术合同", f"{contract.project_name}（{ContractStatus.label_of(contract.status)}）"))
        out.append(_wide_pairs(reference))
        out += [
            Spacer(1, 6 * mm),
            _note(
                "说明：本发票为平台结算凭证，由科技淘宝（日照技术转移与成果交易平台）根据项目记录生成，"
                "发票号码连续编制、不重复使用，作废的发票保留原号码。请按付款期限将款项汇入收款方账户，"
                "并在备注中注明发票号码。",
                s,
            ),
        ]
        return out

    return _build(invoice.kind_label, invoice.number, story, watermark="作废" if void else None)


# ---------------------------------------------------------------------------------------------
# Shared with documents of other domains (trading's 成交确认书): the same page template, styles
# and blocks, so every PDF of the platform looks alike.

build_document = _build
paragraph = _p
pairs = _pairs
grid = _grid
