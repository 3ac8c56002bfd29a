"""成果评价报告: the report of a completed evaluation, rendered on demand with the deal room's PDF
page template (embedded CJK font, header, page numbers). Scores from Decimals, never floats."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from ..deals import pdf
from . import scoring
from .models import EvaluationRequest, MemberStatus
from .services import result_of

TITLE = "科技成果评价报告"


def _n(value) -> str:
    return f"{value:.2f}"


def render_report(request: EvaluationRequest) -> bytes:
    result = result_of(request)
    assert result is not None and request.report_number
    achievement = request.achievement
    scored = request.scored_members
    withdrawn = [m for m in request.members if m.status == MemberStatus.WITHDRAWN.value]

    def story(s) -> list[Any]:
        out: list[Any] = [
            pdf.paragraph(TITLE, s["title"]),
            pdf.paragraph(achievement.title, s["subtitle"]),
            Spacer(1, 3 * mm),
            pdf.paragraph("一、评价对象", s["section"]),
            pdf.pairs(
                [
                    ("报告编号", request.report_number),
                    ("评价日期", pdf.local_day(request.completed_at)),
                    ("成果名称", achievement.title),
                    ("成果编号", achievement.id),
                    ("成果所属机构", request.organization.name),
                    ("技术领域", pdf.field_name(achievement.field_code)),
                    ("评价目的", request.purpose),
                    ("组织评价", request.provider.name if request.provider else f"{pdf.PLATFORM_BRAND}平台"),
                ]
            ),
            pdf.paragraph("二、评价结论", s["section"]),
            pdf.paragraph(f"综合得分 {_n(result.overall)} 分　评价等级 {result.grade.text}", s["big"]),
            pdf.paragraph(
                f"依据本平台公开的成果评价模型，由 {len(scored)} 位评审专家独立评分后汇总。",
                s["subtitle"],
            ),
            Spacer(1, 2 * mm),
            pdf.paragraph("三、各维度得分", s["section"]),
        ]
        rows: list[list[Any]] = [["维度", "权重", "平均分", "最低分", "最高分", "加权得分"]]
        for r in result.dimensions:
            rows.append(
                [
                    r.dimension.label,
                    r.dimension.weight_percent,
                    _n(r.mean_2),
                    f"{r.minimum:.1f}",
                    f"{r.maximum:.1f}",
                    _n(r.weighted_2),
                ]
            )
        rows.append(["综合得分", "100%", "", "", "", _n(result.overall)])
        widths = [40 * mm, 20 * mm, 25 * mm, 25 * mm, 25 * mm, pdf.CONTENT_W - 135 * mm]
        out.append(pdf.grid(rows, widths, header=True, align_right=(1, 2, 3, 4, 5)))
        out.append(
            pdf.paragraph(
                "综合得分 = Σ 权重 × 该维度专家评分的平均值（以未经舍入的平均值计算，最后四舍五入保留两位小数）；"
                "表中平均分与加权得分为四舍五入后的显示值。",
                s["small"],
            )
        )
        out.append(pdf.paragraph("四、评审专家组", s["section"]))
        panel = [["序号", "姓名", "职称", "工作单位", "状态"]]
        for i, m in enumerate(request.members, 1):
            state = m.status_label + (f"（{m.withdrawn_reason}）" if m.withdrawn_reason else "")
            panel.append([str(i), m.expert.name, m.expert.title or "—", m.expert.display_org or "—", state])
        out.append(pdf.grid(panel, [14 * mm, 28 * mm, 30 * mm, pdf.CONTENT_W - 112 * mm, 40 * mm], header=True))
        out.append(pdf.paragraph("五、专家意见摘要", s["section"]))
        comments = [["维度", "专家评语"]]
        for dim in scoring.DIMENSIONS:
            texts = [f"{i}. {m.score_of(dim.code).comment}" for i, m in enumerate(scored, 1) if m.score_of(dim.code)]
            comments.append([dim.label, "\n".join(texts)])
        comments.append(["总体意见", "\n".join(f"{i}. {m.opinion or ''}" for i, m in enumerate(scored, 1))])
        out.append(pdf.grid(comments, [28 * mm, pdf.CONTENT_W - 28 * mm], header=True, shade_cols=(0,)))
        out.append(pdf.paragraph("评语按评分专家逐条列出，不标注专家姓名。", s["small"]))
        if withdrawn:
            out.append(
                pdf.paragraph(
                    "退出评审的专家：" + "；".join(f"{m.expert.name}（{m.withdrawn_reason}）" for m in withdrawn),
                    s["small"],
                )
            )
        out.append(pdf.paragraph("六、评分模型", s["section"]))
        model = [["维度", "权重", "评价要点", "90 / 70 / 50 / 30 分的含义"]]
        for dim in scoring.DIMENSIONS:
            levels = "\n".join(f"{p} 分：{m}" for p, m in zip(scoring.LEVEL_POINTS, dim.levels, strict=True))
            model.append([dim.label, dim.weight_percent, dim.question, levels])
        out.append(pdf.grid(model, [24 * mm, 14 * mm, 44 * mm, pdf.CONTENT_W - 82 * mm], header=True))
        grades = "；".join(
            f"{g.text}：{'≥ ' + str(g.minimum) + ' 分' if g.minimum else '< 55 分'}" for g in scoring.GRADES
        )
        out.append(pdf.paragraph(f"等级：{grades}（B、C 为区间下限含、上限不含）。", s["body"]))
        out += [
            pdf.paragraph("七、声明", s["section"]),
            pdf.paragraph(scoring.DISCLAIMER, s["alert"]),
            Spacer(1, 4 * mm),
            pdf.paragraph(
                f"{pdf.PLATFORM_BRAND}（{pdf.PLATFORM_FULL}）  {pdf.local_day(request.completed_at)}", s["body"]
            ),
        ]
        return out

    return pdf.build_document(TITLE, request.report_number, story)
