"""知识产权价值评估工作表 as a PDF, with the deal room's PDF machinery (embedded CJK font, header,
page numbers, tables): inputs, every computed row, results, the disclaimer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from ..deals import pdf
from . import compute
from .models import ValuationWorksheet


def number_of(sheet: ValuationWorksheet) -> str:
    return f"GZ{sheet.id:06d}-v{sheet.version}"


def wan(text: str | None) -> str:
    if text in (None, ""):
        return "—"
    return f"{Decimal(text):,.4f} 万元"


def render_worksheet(sheet: ValuationWorksheet) -> bytes:
    inputs, results = sheet.inputs, sheet.results
    income, cost = results["income"], results.get("cost")

    def story(s) -> list[Any]:
        out: list[Any] = [
            pdf.paragraph("知识产权价值评估工作表", s["title"]),
            pdf.paragraph(sheet.title, s["subtitle"]),
            Spacer(1, 3 * mm),
            pdf.paragraph(compute.DISCLAIMER, s["alert"]),
            pdf.paragraph("一、评估对象", s["section"]),
            pdf.pairs(
                [
                    ("工作表编号", number_of(sheet)),
                    ("版本", str(sheet.version)),
                    ("所属机构", sheet.organization.name if sheet.organization else "—"),
                    ("更新时间", pdf.local_minute(sheet.updated_at)),
                    ("关联成果", sheet.achievement.title if sheet.achievement else "—"),
                    ("专利号", sheet.patent_number or "—"),
                ]
            ),
        ]
        if sheet.subject:
            out.append(pdf.pairs([("说明", sheet.subject)], columns=1))
        out += [
            pdf.paragraph("二、收益法假设", s["section"]),
            pdf.pairs(
                [
                    ("技术分成率", pdf.percent(Decimal(inputs["share_pct"]))),
                    ("折现率", pdf.percent(Decimal(inputs["discount_pct"]))),
                    ("风险调整", pdf.percent(Decimal(inputs["risk_pct"])) if inputs.get("risk_pct") else "—"),
                    ("采用折现率", pdf.percent(Decimal(income["rate_pct"]))),
                    ("剩余寿命", f"{pdf.plain_number(Decimal(inputs['life_years']))} 年"),
                    ("计算年数", str(income["years"])),
                ]
            ),
            pdf.paragraph("三、收益法计算（金额：万元）", s["section"]),
        ]
        rows = [["年", "期间", "收入", "计入比例", "分成收入", "折现系数", "现值"]]
        rows += [
            [str(r["t"]), r["year"], r["revenue"], r["fraction"], r["share_amount"], r["factor"], r["pv"]]
            for r in income["rows"]
        ]
        rows.append(["", "合计", "", "", "", "", income["value"]])
        widths = [12 * mm, 26 * mm, 26 * mm, 20 * mm, 28 * mm, 26 * mm]
        widths.append(pdf.CONTENT_W - sum(widths))
        out.append(pdf.grid(rows, widths, header=True, align_right=(2, 3, 4, 5, 6)))
        out.append(
            pdf.paragraph(
                "现值 = 收入 × 分成率 × 计入比例 ÷ (1 + 折现率)^年；各年现值四舍五入至 0.0001 万元，合计为各年现值之和。"
                + "".join(income["notes"]),
                s["small"],
            )
        )
        out.append(pdf.paragraph("四、成本法", s["section"]))
        if cost:
            items = [["成本项", "金额（万元）"]] + [[i["name"], i["amount"]] for i in inputs["cost_items"]]
            items += [
                ["成本合计", cost["subtotal"]],
                [f"加合理利润（{cost['margin_pct']}%）后重置成本", cost["replacement"]],
                [f"成新率（{cost['factor_explain']}）", cost["factor"]],
                ["成本法评估值", cost["value"]],
            ]
            out.append(pdf.grid(items, [pdf.CONTENT_W - 45 * mm, 45 * mm], header=True, align_right=(1,)))
        else:
            out.append(pdf.paragraph("未填写成本项，未采用成本法。", s["body"]))
        out += [
            pdf.paragraph("五、结果", s["section"]),
            pdf.pairs(
                [
                    ("收益法", wan(income["value"])),
                    ("成本法", wan(cost["value"]) if cost else "—"),
                    ("参考区间", f"{wan(results['range']['low'])} – {wan(results['range']['high'])}"),
                ],
                columns=1,
            ),
            pdf.paragraph("两种方法的结果并列给出，区间仅反映所录入假设下的差异，并非“真实价值”。", s["small"]),
            Spacer(1, 4 * mm),
            pdf.paragraph(compute.DISCLAIMER, s["alert"]),
        ]
        return out

    return pdf.build_document("知识产权价值评估工作表", number_of(sheet), story)
