"""成果评价 workflow through the services: requesting (one open request per achievement, the
provider must be a verified 成果评价 provider), the panel (size, conflicts of interest, unknown or
unusable experts), scoring (hidden before the close, revisable until it), closing (all scored, or
at least three with the rest withdrawn with a reason), cancelling, the audit trail, notifications,
the report number and the badge."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.alerts.models import Notification
from marketplace.core.audit import history
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.evaluation import services as evaluation
from marketplace.evaluation.models import EvaluationScore
from marketplace.extensions import db
from marketplace.resources.models import AchievementExpert
from tests.web.access_evaluation import due, make_expert, make_provider, published, sheet


@pytest.fixture
def people(make_org, make_user):
    owner_org = make_org(name="日照理工大学", org_type="university")
    provider_org = make_org(name="日照科技评估中心", org_type="agency")
    make_provider(provider_org)
    owner = make_user("university", org=owner_org)
    p = {
        "owner_org": owner_org,
        "owner": owner,
        "colleague": make_user("university", org=owner_org),
        "admin": make_user("admin", org=None),
        "provider_org": provider_org,
        "assessor": make_user("broker", org=provider_org),
        "stranger": make_user("enterprise"),
        "experts": [make_expert(f"专家{i}") for i in range(1, 6)],
        "achievement": published(owner, "港口散货智能抑尘系统"),
    }
    db.session.commit()
    return p


def request_of(p, **data):
    return evaluation.create_request(p["owner"], p["achievement"], {"purpose": "转让定价参考", **data})


def assigned(p, n=3, **data):
    request = request_of(p, **data)
    evaluation.assign_panel(request, p["admin"], [e.id for e in p["experts"][:n]], due())
    return request


def test_owner_requests_and_admins_are_notified(people):
    request = request_of(people, notes="已有中试数据")
    db.session.commit()
    assert request.status == "requested" and request.org_id == people["owner_org"].id
    assert [e.action for e in history(request)] == ["create"]
    notified = db.session.scalars(select(Notification.user_id)).all()
    assert people["admin"].id in notified


def test_only_owner_members_request_published_achievements(people, make_achievement):
    with pytest.raises(PermissionDenied):
        evaluation.create_request(people["stranger"], people["achievement"], {"purpose": "x"})
    draft = make_achievement(owner=people["owner"], status="draft")
    with pytest.raises(ValidationFailed) as exc:
        evaluation.create_request(people["owner"], draft, {"purpose": "x"})
    assert exc.value.fields == {"achievement_id": "只有已发布的科技成果可以申请评价"}
    with pytest.raises(ValidationFailed) as exc:
        evaluation.create_request(people["owner"], people["achievement"], {"purpose": " "})
    assert exc.value.fields == {"purpose": "请填写评价目的"}


def test_one_open_request_per_achievement(people):
    first = request_of(people)
    with pytest.raises(Conflict, match=f"编号 {first.id}"):
        request_of(people)
    evaluation.cancel(first, people["colleague"], "改期")
    assert request_of(people).status == "requested"


def test_provider_must_be_a_verified_evaluation_provider(people, make_org):
    plain = make_org(name="普通企业", org_type="enterprise")
    with pytest.raises(ValidationFailed) as exc:
        request_of(people, provider_org_id=plain.id)
    assert "不是已认证的成果评价服务机构" in exc.value.fields["provider_org_id"]
    make_provider(people["owner_org"])
    with pytest.raises(ValidationFailed) as exc:
        request_of(people, provider_org_id=people["owner_org"].id)
    assert "利益冲突" in exc.value.fields["provider_org_id"]
    unverified = make_org(name="未认证评估所", org_type="agency", verified=False)
    make_provider(unverified)
    with pytest.raises(ValidationFailed):
        request_of(people, provider_org_id=unverified.id)
    assert unverified not in evaluation.provider_orgs()
    assert people["provider_org"] in evaluation.provider_orgs()


def test_provider_member_assigns_and_closes_admin_too_but_not_others(people):
    request = request_of(people, provider_org_id=people["provider_org"].id)
    ids = [e.id for e in people["experts"][:3]]
    for outsider in (people["owner"], people["stranger"]):
        with pytest.raises(PermissionDenied):
            evaluation.assign_panel(request, outsider, ids, due())
    evaluation.assign_panel(request, people["assessor"], ids, due())
    assert request.status == "assigned" and request.assigned_by_id == people["assessor"].id
    # Without a chosen provider only admins assign.
    other = published(people["owner"])
    plain = evaluation.create_request(people["owner"], other, {"purpose": "x"})
    with pytest.raises(PermissionDenied):
        evaluation.assign_panel(plain, people["assessor"], ids, due())


@pytest.mark.parametrize("n", [2, 8])
def test_panel_size_is_three_to_seven(people, n):
    request = request_of(people)
    experts = people["experts"] + [make_expert() for _ in range(3)]
    with pytest.raises(ValidationFailed) as exc:
        evaluation.assign_panel(request, people["admin"], [e.id for e in experts[:n]], due())
    assert exc.value.fields["experts"] == f"评审专家组须为 3–7 位专家（已选 {n} 位）"
    assert request.status == "requested" and request.members == []


def test_conflict_of_interest_is_refused_with_a_clear_message(people):
    request = request_of(people)
    insider = make_expert("钱同事", org=people["owner_org"])
    ids = [e.id for e in people["experts"][:2]]
    with pytest.raises(ValidationFailed) as exc:
        evaluation.assign_panel(request, people["admin"], [*ids, insider.id], due())
    assert exc.value.fields["experts"] == "钱同事来自成果所属机构（日照理工大学），存在利益冲突，不能参加评审"
    # An expert whose account belongs to the owner organisation, and a member of the team.
    colleague = make_expert("孙老师", user=people["colleague"])
    member = people["experts"][3]
    db.session.add(AchievementExpert(achievement_id=people["achievement"].id, expert_id=member.id))
    db.session.flush()
    with pytest.raises(ValidationFailed) as exc:
        evaluation.assign_panel(request, people["admin"], [*ids, colleague.id, member.id], due())
    assert "孙老师的账号属于成果所属机构" in exc.value.fields["experts"]
    assert f"{member.name}是该成果的团队成员" in exc.value.fields["experts"]
    candidates = evaluation.candidate_experts(request)
    assert insider not in candidates and colleague not in candidates and member not in candidates
    assert people["experts"][0] in candidates


def test_unknown_unusable_experts_and_bad_due_dates(people):
    request = request_of(people)
    no_account = make_expert("周无号", account=False)
    busy = make_expert("吴忙", available_evaluation=False)
    off = make_expert("郑停", active=False)
    ids = [e.id for e in people["experts"][:2]]
    with pytest.raises(ValidationFailed) as exc:
        evaluation.assign_panel(request, people["admin"], [*ids, 999999, no_account.id, busy.id, off.id], "2020-01-01")
    fields = exc.value.fields
    assert "专家编号 999999 不存在" in fields["experts"]
    assert "周无号没有可用的平台账号" in fields["experts"]
    assert "吴忙暂不接受成果评价邀请" in fields["experts"]
    assert "郑停已停用" in fields["experts"]
    assert fields["due_date"] == "截止日期不能早于今天"
    with pytest.raises(ValidationFailed) as exc:
        evaluation.assign_panel(request, people["admin"], ids + [people["experts"][2].id], "明天")
    assert exc.value.fields == {"due_date": "截止日期格式应为 YYYY-MM-DD"}


def test_experts_are_notified_and_see_only_their_own_scores(people):
    request = assigned(people)
    first, second = people["experts"][:2]
    db.session.commit()
    inbox = db.session.scalars(select(Notification).where(Notification.user_id == first.user_id)).all()
    assert any("成果评价邀请" in n.title for n in inbox)
    evaluation.submit_scores(request, first.user, sheet([80, 80, 80, 80, 80, 80]))
    assert request.status == "scoring"
    # Before the close nobody gets the panel's result, and another expert's sheet is not theirs.
    assert evaluation.result_of(request) is None
    assert evaluation.member_of(request, second.user).scores == []
    assert evaluation.member_of(request, people["owner"]) is None


def test_out_of_range_scores_are_field_errors_and_change_nothing(people):
    request = assigned(people)
    expert = people["experts"][0]
    bad = sheet([80, 101, 80, 80, 80, -5])
    bad["team_comment"] = ""
    with pytest.raises(ValidationFailed) as exc:
        evaluation.submit_scores(request, expert.user, bad)
    assert exc.value.fields == {
        "innovation": "评分须在 0–100 之间",
        "risk": "评分须在 0–100 之间",
        "team_comment": "请填写团队能力评语",
    }
    assert request.status == "assigned"
    assert db.session.scalar(select(EvaluationScore.id)) is None


def test_only_panel_experts_score_and_may_revise_until_the_close(people):
    request = assigned(people)
    outsider = people["experts"][4]
    with pytest.raises(PermissionDenied):
        evaluation.submit_scores(request, outsider.user, sheet([80] * 6))
    with pytest.raises(PermissionDenied):
        evaluation.submit_scores(request, people["owner"], sheet([80] * 6))
    experts = people["experts"][:3]
    for expert in experts:
        evaluation.submit_scores(request, expert.user, sheet([60] * 6))
    member = evaluation.submit_scores(request, experts[0].user, sheet([90] * 6, comment="修改后"))
    assert member.revised_at is not None and member.score_of("risk").score == Decimal("90.0")
    evaluation.close_panel(request, people["admin"])
    with pytest.raises(Conflict, match="不能再提交或修改"):
        evaluation.submit_scores(request, experts[0].user, sheet([99] * 6))
    assert request.overall == Decimal("70.00")  # (90 + 60 + 60) / 3


def test_close_needs_all_scores_or_three_and_reasons(people):
    request = assigned(people, n=5)
    experts = people["experts"]
    with pytest.raises(Conflict, match="尚无专家提交评分"):
        evaluation.close_panel(request, people["admin"])
    for expert in experts[:2]:
        evaluation.submit_scores(request, expert.user, sheet([80] * 6))
    with pytest.raises(ValidationFailed) as exc:
        evaluation.close_panel(request, people["admin"])
    assert "尚未评分" in exc.value.fields["withdrawn"] and experts[2].name in exc.value.fields["withdrawn"]
    reasons = {e.id: "出差无法参加" for e in experts[2:]}
    with pytest.raises(ValidationFailed) as exc:
        evaluation.close_panel(request, people["admin"], reasons)
    assert exc.value.fields == {"withdrawn": "至少需要 3 位专家的评分才能关闭专家组（现有 2 位）"}
    evaluation.submit_scores(request, experts[2].user, sheet([70] * 6))
    with pytest.raises(ValidationFailed):
        evaluation.close_panel(request, people["admin"], {experts[3].id: "出差", experts[4].id: ""})
    with pytest.raises(PermissionDenied):
        evaluation.close_panel(request, people["owner"], reasons)
    evaluation.close_panel(request, people["admin"], {experts[3].id: "出差", experts[4].id: "回避"})
    assert request.status == "completed"
    assert [m.status for m in request.members] == ["scored", "scored", "scored", "withdrawn", "withdrawn"]
    assert request.members[4].withdrawn_reason == "回避"
    assert request.overall == Decimal("76.67") and request.grade == "B"  # (80 + 80 + 70) / 3


def test_close_computes_result_report_number_audit_and_notifies(people):
    request = assigned(people)
    for expert, scores in zip(
        people["experts"][:3],
        ([80, 85, 70, 90, 75, 60], [85, 80, 75, 85, 80, 65], [90, 78.5, 72, 80, 70, 70.5]),
        strict=True,
    ):
        evaluation.submit_scores(request, expert.user, sheet(scores))
    evaluation.close_panel(request, people["admin"])
    db.session.commit()
    assert request.overall == Decimal("78.36") and request.grade == "B"
    year = request.completed_at.year
    assert request.report_number == f"PJ{year}000001"
    assert [(e.action, e.to_state) for e in history(request) if e.to_state] == [
        ("create", "requested"),
        ("invite_reviewer", "assigned"),
        ("score", "scoring"),
        ("close", "completed"),
    ]
    owner_inbox = db.session.scalars(select(Notification.title).where(Notification.user_id == people["owner"].id)).all()
    assert any("成果评价已完成" in t for t in owner_inbox)
    # The next report takes the next number.
    second = assigned({**people, "achievement": published(people["owner"])})
    for expert in people["experts"][:3]:
        evaluation.submit_scores(second, expert.user, sheet([50] * 6))
    evaluation.close_panel(second, people["admin"])
    assert second.report_number == f"PJ{year}000002" and second.grade == "D"


def test_cancel_by_requester_or_admin_before_the_close(people):
    request = assigned(people)
    with pytest.raises(PermissionDenied):
        evaluation.cancel(request, people["assessor"])
    with pytest.raises(PermissionDenied):
        evaluation.cancel(request, people["experts"][0].user)
    evaluation.cancel(request, people["owner"], "需求变化")
    assert request.status == "cancelled" and request.cancel_reason == "需求变化"
    with pytest.raises(Conflict, match="不能取消"):
        evaluation.cancel(request, people["admin"])
    with pytest.raises(Conflict):
        evaluation.assign_panel(request, people["admin"], [e.id for e in people["experts"][:3]], due())


def test_completed_cannot_be_cancelled_and_badge_is_the_owners_to_hide(people):
    request = assigned(people)
    for expert in people["experts"][:3]:
        evaluation.submit_scores(request, expert.user, sheet([80] * 6))
    with pytest.raises(Conflict):
        evaluation.set_badge_hidden(request, people["owner"], True)
    evaluation.close_panel(request, people["admin"])
    with pytest.raises(Conflict):
        evaluation.cancel(request, people["owner"])
    assert evaluation.badge_of(people["achievement"].id) == request
    with pytest.raises(PermissionDenied):
        evaluation.set_badge_hidden(request, people["admin"], True)
    evaluation.set_badge_hidden(request, people["owner"], True)
    assert evaluation.badge_of(people["achievement"].id) is None
    assert evaluation.is_public(request) is False
    evaluation.set_badge_hidden(request, people["colleague"], False)
    assert evaluation.badge_of(people["achievement"].id) == request


def test_who_may_view_and_download(people, make_user):
    request = assigned(people, provider_org_id=people["provider_org"].id)
    official = make_user("official")
    viewers = [
        people["owner"],
        people["colleague"],
        people["admin"],
        people["assessor"],
        official,
        people["experts"][0].user,
    ]
    assert all(evaluation.can_view(u, request) for u in viewers)
    assert not evaluation.can_view(people["stranger"], request)
    assert not evaluation.can_view(people["experts"][4].user, request)
    assert not evaluation.can_download_report(people["owner"], request)  # not completed yet
