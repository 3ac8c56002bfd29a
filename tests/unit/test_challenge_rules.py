"""The rules of 揭榜挂帅 at the service level: validation, the deadline in Asia/Shanghai against the
server's UTC clock (moved by monkeypatching services.utcnow), one application per organisation,
who may score, the decision and its notifications."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.alerts.models import EmailOutbox, Notification
from marketplace.challenges import policy
from marketplace.challenges import services as challenges
from marketplace.challenges.models import ApplicationStatus, ChallengeStatus
from marketplace.challenges.validation import clean_challenge, clean_criteria, parse_deadline, weighted_total
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from tests.web.access_challenges import application_data, challenge_data, close, publish

# 2026-12-01 00:00 in Shanghai is 2026-11-30 16:00 UTC.
DEADLINE_UTC = datetime(2026, 11, 30, 16, 0)
SHANGHAI_DEADLINE = {"deadline_date": "2026-12-01", "deadline_time": "00:00"}


@pytest.fixture
def clock(monkeypatch):
    """clock.set(naive UTC) moves the challenges' clock; starts well before the deadline."""

    class Clock:
        now = datetime(2026, 11, 1, 0, 0)

        def set(self, value: datetime) -> None:
            self.now = value

    c = Clock()
    monkeypatch.setattr(challenges, "utcnow", lambda: c.now)
    return c


@pytest.fixture
def people(make_user, make_org):
    admin = make_user("admin", org=None)
    publisher = make_user("enterprise", name="李总工")
    univ = make_user("university", name="王老师")
    return {
        "admin": admin,
        "publisher": publisher,
        "colleague": make_user("enterprise", org=publisher.organization),
        "univ": univ,
        "univ_colleague": make_user("university", org=univ.organization),
        "institute": make_user("university", org=make_org(org_type="institute")),
        "other_enterprise": make_user("enterprise"),
        "expert": make_user("university", name="赵专家"),
        "official": make_user("official"),
    }


@pytest.fixture
def challenge(people, clock):
    return publish(people["publisher"], people["admin"], **SHANGHAI_DEADLINE)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------------------------------------
# Validation


def test_deadline_is_entered_in_shanghai_and_stored_in_utc():
    assert parse_deadline("2026-12-01", "00:00") == DEADLINE_UTC
    assert parse_deadline("2026/12/1", "") == datetime(2026, 12, 1, 15, 59)  # default 23:59 local
    with pytest.raises(ValueError, match="截止日期"):
        parse_deadline("明天", "")
    with pytest.raises(ValueError, match="截止时间"):
        parse_deadline("2026-12-01", "25:00")


def test_deadline_must_lie_in_the_future(app):
    now = datetime(2026, 11, 30, 16, 0)  # exactly the deadline: already too late
    with pytest.raises(ValidationFailed) as exc:
        clean_challenge(challenge_data(**SHANGHAI_DEADLINE), now=now)
    assert "已过" in exc.value.fields["deadline_date"]
    cleaned = clean_challenge(challenge_data(**SHANGHAI_DEADLINE), now=now - timedelta(seconds=1))
    assert cleaned["deadline"] == DEADLINE_UTC


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "   "}, "title", "请填写榜单名称"),
        ({"title": "榜" * 201}, "title", "不能超过200个字"),
        ({"problem": ""}, "problem", "请填写需解决的问题"),
        ({"indicators": "指" * 20001}, "indicators", "不能超过20000个字"),
        ({"bounty": ""}, "bounty", "请填写悬赏金额"),
        ({"bounty": "0"}, "bounty", "应大于0"),
        ({"bounty": "两百万"}, "bounty", "无法识别"),
        ({"bounty": "10001亿"}, "bounty", "不能超过1万亿元"),
        ({"eligible_org_types": []}, "eligible_org_types", "至少选择一类"),
        ({"eligible_org_types": ["government"]}, "eligible_org_types", "只能从"),
        ({"field": "99"}, "field", "不在分类中"),
        ({"district": "火星"}, "district", "不在可选范围内"),
        ({"contact_phone": "abc"}, "contact_phone", ""),
    ],
)
def test_bad_challenge_input_is_named_beside_the_field(app, overrides, field, message):
    with pytest.raises(ValidationFailed) as exc:
        clean_challenge(challenge_data(**overrides), now=datetime(2026, 1, 1))
    assert field in exc.value.fields
    assert message in exc.value.fields[field]


def test_bounty_accepts_units_and_stays_decimal(app):
    cleaned = clean_challenge(challenge_data(bounty="1.5亿"), now=datetime(2026, 1, 1))
    assert cleaned["bounty"] == Decimal("150000000.00")
    assert isinstance(cleaned["bounty"], Decimal)


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "至少填写一项"),
        ([{"name": "先进性", "weight": 60}, {"name": "团队", "weight": 30}], "之和应为100（当前为90）"),
        ([{"name": "", "weight": 100}], "缺少名称"),
        ([{"name": "先进性", "weight": "四十"}], "整数"),
        ([{"name": "先进性", "weight": 0}, {"name": "团队", "weight": 100}], "1到100"),
        ([{"name": "先进性", "weight": 50}, {"name": "先进性", "weight": 50}], "重复"),
        ([{"name": f"标准{i}", "weight": 9} for i in range(11)], "最多10项"),
    ],
)
def test_criteria_rules(criteria, message):
    errors: dict[str, str] = {}
    clean_criteria(criteria, errors)
    assert message in errors["criteria"]


def test_empty_criteria_rows_of_the_form_are_skipped():
    errors: dict[str, str] = {}
    rows = [{"name": "先进性", "weight": "70"}, {"name": "团队", "weight": "30"}, {"name": " ", "weight": ""}]
    assert clean_criteria(rows, errors) == [{"name": "先进性", "weight": 70}, {"name": "团队", "weight": 30}]
    assert errors == {}


def test_weighted_total():
    criteria = [{"name": "a", "weight": 40}, {"name": "b", "weight": 30}, {"name": "c", "weight": 30}]
    assert weighted_total(criteria, [90, 80, 71]) == Decimal("81.30")


# ---------------------------------------------------------------------------------------------
# Who publishes; the review workflow


def test_only_verified_enterprises_and_officials_publish(people, make_user, clock):
    assert policy.can_publish(people["publisher"])
    assert policy.can_publish(people["official"])
    assert not policy.can_publish(people["univ"])
    unverified = make_user("enterprise", org="auto")
    unverified.organization.verified = False
    db.session.commit()
    with pytest.raises(PermissionDenied, match="尚未通过平台认证"):
        challenges.create_challenge(unverified, challenge_data())
    by_city = challenges.create_challenge(people["official"], challenge_data())
    assert by_city.on_behalf_of_city and by_city.org_id == people["official"].active_org.id


def test_workflow_is_audited_and_rejection_needs_a_reason(people, clock):
    draft = challenges.create_challenge(people["publisher"], challenge_data(**SHANGHAI_DEADLINE))
    challenges.transition(draft, "submit", people["publisher"])
    with pytest.raises(PermissionDenied):
        challenges.transition(draft, "approve", people["publisher"])
    with pytest.raises(ValidationFailed) as exc:
        challenges.transition(draft, "reject", people["admin"], "  ")
    assert "reason" in exc.value.fields
    challenges.transition(draft, "reject", people["admin"], "悬赏金额与指标不匹配")
    assert draft.status == ChallengeStatus.REJECTED
    challenges.update_challenge(draft, people["publisher"], challenge_data(bounty="300万", **SHANGHAI_DEADLINE))
    challenges.transition(draft, "submit", people["publisher"])
    challenges.transition(draft, "approve", people["admin"])
    db.session.commit()
    moves = [(a.action, a.from_state, a.to_state) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert ("reject", "pending", "rejected") in moves
    assert ("approve", "pending", "published") in moves
    assert draft.bounty == Decimal("3000000.00")


def test_approval_refused_once_the_deadline_has_passed(people, clock):
    draft = challenges.create_challenge(people["publisher"], challenge_data(**SHANGHAI_DEADLINE))
    challenges.transition(draft, "submit", people["publisher"])
    clock.set(DEADLINE_UTC)
    with pytest.raises(ValidationFailed) as exc:
        challenges.transition(draft, "approve", people["admin"])
    assert "已过" in exc.value.fields["deadline_date"]
    assert draft.status == ChallengeStatus.PENDING


def test_published_challenge_with_applications_cannot_be_withdrawn(people, challenge):
    challenges.apply(people["univ"], challenge, application_data())
    with pytest.raises(Conflict, match="已有单位揭榜"):
        challenges.transition(challenge, "withdraw", people["publisher"])


# ---------------------------------------------------------------------------------------------
# Applications and the deadline


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        (DEADLINE_UTC - timedelta(seconds=1), True),  # 2026-11-30 23:59:59 Shanghai
        (DEADLINE_UTC, False),  # 2026-12-01 00:00:00 Shanghai: closed
        (DEADLINE_UTC + timedelta(seconds=1), False),
    ],
)
def test_applications_close_at_the_deadline_in_shanghai(people, challenge, clock, moment, accepted):
    clock.set(moment)
    if accepted:
        application = challenges.apply(people["univ"], challenge, application_data())
        assert application.status == ApplicationStatus.SUBMITTED
    else:
        with pytest.raises(Conflict, match="已截止"):
            challenges.apply(people["univ"], challenge, application_data())


def test_a_deadline_at_local_midnight_is_not_the_utc_date(people, challenge, clock):
    # 2026-11-30 20:00 UTC is still "30 November" in UTC, but already 1 December 04:00 in Shanghai.
    clock.set(datetime(2026, 11, 30, 20, 0))
    with pytest.raises(Conflict):
        challenges.apply(people["univ"], challenge, application_data())


def test_one_application_per_organisation(people, challenge):
    first = challenges.apply(people["univ"], challenge, application_data())
    db.session.commit()
    with pytest.raises(Conflict, match="每个单位限一份"):
        challenges.apply(people["univ_colleague"], challenge, application_data(proposal="另一份方案"))
    db.session.rollback()
    assert first.proposal.startswith("采用改性氧化铁")  # nothing lost


def test_edit_and_withdraw_until_the_deadline_then_reapply(people, challenge, clock):
    application = challenges.apply(people["univ"], challenge, application_data())
    challenges.update_application(people["univ_colleague"], application, application_data(budget="150万"))
    assert application.budget == Decimal("1500000.00")
    challenges.withdraw_application(people["univ"], application)
    assert application.status == ApplicationStatus.WITHDRAWN
    again = challenges.apply(people["univ"], challenge, application_data(proposal="修订后的方案"))
    assert again.id == application.id and again.status == ApplicationStatus.SUBMITTED
    clock.set(DEADLINE_UTC)
    with pytest.raises(Conflict, match="已截止"):
        challenges.update_application(people["univ"], again, application_data())
    with pytest.raises(Conflict, match="已截止"):
        challenges.withdraw_application(people["univ"], again)
    with pytest.raises(PermissionDenied):
        challenges.update_application(people["publisher"], again, application_data())


def test_who_may_apply(people, make_user, make_org, clock):
    only_research = publish(people["publisher"], people["admin"], eligible_org_types=["university", "institute"])
    now = challenges.now()
    assert policy.apply_refusal(people["univ"], only_research, now) is None
    assert policy.apply_refusal(people["institute"], only_research, now) is None
    assert "只接受" in policy.apply_refusal(people["other_enterprise"], only_research, now)
    assert "本单位" in policy.apply_refusal(people["colleague"], only_research, now)
    assert "只有高校" in policy.apply_refusal(people["official"], only_research, now)
    unverified = make_user("university", org=make_org(org_type="university", verified=False))
    assert "认证" in policy.apply_refusal(unverified, only_research, now)
    with pytest.raises(PermissionDenied):
        challenges.apply(people["other_enterprise"], only_research, application_data())


def test_bad_application_input(people, challenge, make_achievement):
    with pytest.raises(ValidationFailed) as exc:
        challenges.apply(people["univ"], challenge, application_data(proposal="", team="队" * 5001, budget="很多"))
    assert set(exc.value.fields) == {"proposal", "team", "budget"}
    foreign = make_achievement(owner=people["expert"])
    with pytest.raises(ValidationFailed) as exc:
        challenges.apply(people["univ"], challenge, application_data(achievement_ids=[str(foreign.id)]))
    assert "本单位" in exc.value.fields["achievement_ids"]
    own = make_achievement(owner=people["univ"], patent_numbers="")
    application = challenges.apply(people["univ"], challenge, application_data(achievement_ids=[str(own.id)]))
    assert application.achievement_ids == [own.id]


# ---------------------------------------------------------------------------------------------
# Reviewers, scores, shortlist, decision


def test_invite_reviewer_rules(people, challenge):
    with pytest.raises(ValidationFailed) as exc:
        challenges.invite_reviewer(people["publisher"], challenge, "nobody@example.cn")
    assert "没有邮箱" in exc.value.fields["email"]
    challenges.apply(people["univ"], challenge, application_data())
    with pytest.raises(ValidationFailed) as exc:
        challenges.invite_reviewer(people["publisher"], challenge, people["univ_colleague"].email)
    assert "回避" in exc.value.fields["email"]
    with pytest.raises(PermissionDenied):
        challenges.invite_reviewer(people["univ"], challenge, people["expert"].email)
    challenges.invite_reviewer(people["publisher"], challenge, people["expert"].email.upper())
    assert policy.is_reviewer(people["expert"], challenge)
    assert count(Notification, Notification.user_id == people["expert"].id) == 1


def test_scoring_only_after_the_deadline_and_only_by_reviewers(people, challenge, clock):
    application = challenges.apply(people["univ"], challenge, application_data())
    challenges.invite_reviewer(people["publisher"], challenge, people["expert"].email)
    with pytest.raises(Conflict, match="截止后"):
        challenges.score(people["expert"], application, [90, 80, 70], "")
    clock.set(DEADLINE_UTC)
    with pytest.raises(PermissionDenied, match="评审专家"):
        challenges.score(people["other_enterprise"], application, [90, 80, 70], "")
    with pytest.raises(PermissionDenied):
        challenges.score(people["univ"], application, [100, 100, 100], "")
    with pytest.raises(ValidationFailed) as exc:
        challenges.score(people["expert"], application, [90, 101, ""], "")
    assert set(exc.value.fields) == {"score_1", "score_2"}
    row = challenges.score(people["expert"], application, [90, 80, 70], "方案可行")
    assert row.total == Decimal("81.00")  # 90×0.4 + 80×0.3 + 70×0.3
    again = challenges.score(people["expert"], application, [100, 80, 70], "方案可行，建议补充中试数据")
    assert again.id == row.id and again.total == Decimal("85.00")  # one row per reviewer, edited
    challenges.score(people["colleague"], application, [60, 60, 60], "")  # the publisher's member
    assert challenges.average_score(application) == Decimal("72.50")


def test_decide_a_winner_notifies_every_applicant(people, challenge, clock):
    won = challenges.apply(people["univ"], challenge, application_data())
    lost = challenges.apply(people["institute"], challenge, application_data())
    withdrawn = challenges.apply(people["other_enterprise"], challenge, application_data())
    challenges.withdraw_application(people["other_enterprise"], withdrawn)
    with pytest.raises(Conflict, match="截止后"):
        challenges.decide(people["publisher"], challenge, won.id)
    clock.set(DEADLINE_UTC + timedelta(days=3))
    challenges.score(people["publisher"], lost, [50, 50, 50], "指标论证不足")
    challenges.set_shortlisted(people["publisher"], won, True)
    with pytest.raises(PermissionDenied):
        challenges.decide(people["univ"], challenge, won.id)
    with pytest.raises(ValidationFailed) as exc:
        challenges.decide(people["publisher"], challenge, withdrawn.id)
    assert "winner" in exc.value.fields
    db.session.query(Notification).delete()
    challenges.decide(people["publisher"], challenge, won.id, note="签约后三个月内完成中试")
    db.session.commit()
    assert challenge.status == ChallengeStatus.DECIDED
    assert challenge.winner_application_id == won.id
    assert (won.status, lost.status, withdrawn.status) == ("won", "not_selected", "withdrawn")
    for user in (people["univ"], people["univ_colleague"], people["institute"]):
        note = db.session.scalar(select(Notification).where(Notification.user_id == user.id))
        assert note is not None and "揭榜结果" in note.title
    lost_note = db.session.scalar(select(Notification).where(Notification.user_id == people["institute"].id))
    assert "未入选" in lost_note.body and "指标论证不足" in lost_note.body
    assert count(Notification, Notification.user_id == people["other_enterprise"].id) == 0
    assert count(EmailOutbox, EmailOutbox.to_address == people["univ"].email) >= 1
    with pytest.raises(Conflict, match="已经揭晓"):
        challenges.decide(people["publisher"], challenge, lost.id)
    with pytest.raises(Conflict):
        challenges.score(people["publisher"], lost, [90, 90, 90], "")


def test_no_winner_needs_a_reason(people, challenge, clock):
    challenges.apply(people["univ"], challenge, application_data())
    clock.set(DEADLINE_UTC)
    with pytest.raises(ValidationFailed) as exc:
        challenges.decide(people["publisher"], challenge, "none", "")
    assert "no_winner_reason" in exc.value.fields
    challenges.decide(people["publisher"], challenge, "none", "各方案均未达到总硫 ≤ 20 mg/m³ 的指标")
    assert challenge.winner_application_id is None
    assert challenge.applications[0].status == ApplicationStatus.NOT_SELECTED


def test_statistics(people, challenge, clock):
    challenges.apply(people["univ"], challenge, application_data())
    challenges.apply(people["institute"], challenge, application_data())
    challenges.apply(people["other_enterprise"], challenge, application_data())
    clock.set(DEADLINE_UTC - timedelta(days=2, hours=1))
    open_stats = challenges.stats(challenge)
    assert open_stats.applications == 3 and open_stats.days_left == 2 and not open_stats.closed
    assert dict(open_stats.by_org_type) == {"高校": 1, "科研院所": 1, "企业": 1}
    assert challenges.countdown(challenge) == "还剩 2 天 1 小时"
    clock.set(DEADLINE_UTC)
    assert challenges.countdown(challenge) == "已截止"
    first, second, _ = challenge.applications
    challenges.score(people["publisher"], first, [80, 80, 80], "")
    challenges.score(people["publisher"], second, [60, 60, 60], "")
    assert challenges.stats(challenge).average_total is None  # only once decided
    challenges.decide(people["publisher"], challenge, first.id)
    decided = challenges.stats(challenge)
    assert decided.closed and decided.average_total == Decimal("70.00") and decided.shortlisted == 1


def test_closing_in_tests_uses_the_real_clock(people, make_user):
    """The helper the browser test relies on: moving the deadline into the past closes it."""
    challenge = publish(people["publisher"], people["admin"])
    close(challenge)
    assert policy.in_review(challenge, challenges.now())
