"""Deal stages and the rules of opening a deal (marketplace/deals/services.py): every allowed and
refused transition, the guards on the contract's registration status, reasons, permissions, the
audit trail, the timeline and the notifications."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import product

import pytest
from sqlalchemy import select

from marketplace.alerts.models import Notification
from marketplace.core import audit
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import utcnow
from marketplace.deals import services
from marketplace.deals.models import DealEvent, TechContract
from marketplace.extensions import db

STAGES = ("intent", "negotiation", "signed", "registration", "performance", "completed", "terminated")
# Written out by hand (not derived from services.TRANSITIONS) so the table is checked, not echoed.
FORWARD = {
    ("intent", "negotiation"),
    ("negotiation", "signed"),
    ("signed", "registration"),
    ("registration", "performance"),
    ("performance", "completed"),
}
BACK = {
    ("negotiation", "intent"),
    ("signed", "negotiation"),
    ("registration", "signed"),
    ("performance", "registration"),
}
TERMINATE = {(s, "terminated") for s in ("intent", "negotiation", "signed", "registration", "performance")}
ALLOWED = FORWARD | BACK | TERMINATE


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(org_type="university")
    buyer = make_org(org_type="enterprise")
    return {
        "seller_org": seller,
        "buyer_org": buyer,
        "seller": make_user("university", org=seller),
        "buyer": make_user("enterprise", org=buyer),
        "buyer2": make_user("enterprise", org=buyer),
        "broker": make_user("broker"),
        "other_broker": make_user("broker"),
        "official": make_user("official"),
        "admin": make_user("admin", org=None),
        "outsider": make_user("enterprise"),
    }


@pytest.fixture
def deal(people):
    deal = services.open_deal(
        people["broker"],
        people["seller_org"],
        people["buyer_org"],
        "海水淡化膜技术许可",
        expected_value="120万",
        commission_kind="rate",
        commission_rate="5",
        commission_payer="seller",
    )
    db.session.commit()
    return deal


def contract_for(deal, status: str) -> TechContract:
    contract = TechContract(
        deal_id=deal.id,
        project_name=deal.title,
        contract_type="license_patent",
        seller_name=deal.seller_org.name,
        seller_nature="022",
        seller_region="371102",
        buyer_name=deal.buyer_org.name,
        buyer_nature="150",
        buyer_region="371103",
        amount=Decimal("1200000.00"),
        technology_amount=Decimal("1200000.00"),
        signed_on=date.today(),
        status=status,
    )
    db.session.add(contract)
    db.session.flush()
    return contract


# ---------------------------------------------------------------------------------------------
# The transition table


@pytest.mark.parametrize(("before", "after"), list(product(STAGES, STAGES)))
def test_every_pair_of_stages_is_allowed_or_refused(deal, people, before, after):
    contract_for(deal, "registered")  # no contract guard in the way: only the table decides
    deal.stage = before
    db.session.flush()
    if (before, after) in ALLOWED:
        services.change_stage(deal, after, people["admin"], "双方协商一致")
        assert deal.stage == after
    else:
        with pytest.raises(Conflict) as refused:
            services.change_stage(deal, after, people["admin"], "双方协商一致")
        assert refused.value.message  # a Chinese sentence for the user
        assert deal.stage == before


def test_the_happy_path_walks_all_six_stages_with_the_contract(deal, people):
    broker = people["broker"]
    services.change_stage(deal, "negotiation", broker)
    services.change_stage(deal, "signed", people["seller"])
    with pytest.raises(Conflict, match="提交技术合同登记"):
        services.change_stage(deal, "registration", broker)  # no contract at all
    contract = contract_for(deal, "draft")
    with pytest.raises(Conflict, match="提交技术合同登记"):
        services.change_stage(deal, "registration", broker)  # a draft is not enough
    contract.status = "submitted"
    services.change_stage(deal, "registration", broker)
    with pytest.raises(Conflict, match="认定登记"):
        services.change_stage(deal, "performance", broker)  # submitted, not yet registered
    contract.status = "registered"
    services.change_stage(deal, "performance", people["buyer"])
    services.change_stage(deal, "completed", broker)
    assert deal.stage == "completed"
    assert not deal.is_open
    with pytest.raises(Conflict, match="不能再变更"):
        services.change_stage(deal, "terminated", broker, "晚了")


def test_completion_needs_a_registered_contract(deal, people):
    contract = contract_for(deal, "registered")
    deal.stage = "performance"
    contract.status = "cancelled"  # 注销 after registration
    db.session.flush()
    with pytest.raises(Conflict, match="须已完成认定登记"):
        services.change_stage(deal, "completed", people["broker"])
    assert deal.stage == "performance"


def test_a_returned_contract_keeps_the_deal_out_of_registration(deal, people):
    contract_for(deal, "returned")
    deal.stage = "signed"
    db.session.flush()
    with pytest.raises(Conflict):
        services.change_stage(deal, "registration", people["broker"])
    assert [m for m, _ in services.allowed_stages(deal, people["broker"])] == ["negotiation", "terminated"]


def test_skipping_a_stage_is_refused_with_a_chinese_message(deal, people):
    with pytest.raises(Conflict, match="逐级推进"):
        services.change_stage(deal, "signed", people["broker"])
    assert deal.stage == "intent"


def test_unknown_stage_is_a_field_error(deal, people):
    with pytest.raises(ValidationFailed) as refused:
        services.change_stage(deal, "won", people["broker"])
    assert "stage" in refused.value.fields


# ---------------------------------------------------------------------------------------------
# Who, and with what reason


def test_going_back_is_for_brokers_and_admins_with_a_reason(deal, people):
    services.change_stage(deal, "negotiation", people["seller"])
    with pytest.raises(PermissionDenied):
        services.change_stage(deal, "intent", people["seller"], "想重新谈")
    with pytest.raises(ValidationFailed) as refused:
        services.change_stage(deal, "intent", people["broker"], "  ")
    assert "原因" in refused.value.fields["reason"]
    assert deal.stage == "negotiation"
    services.change_stage(deal, "intent", people["broker"], "买方更换了技术负责人，需要重新确认需求")
    assert deal.stage == "intent"


def test_termination_needs_a_reason_and_keeps_it(deal, people):
    with pytest.raises(ValidationFailed) as refused:
        services.change_stage(deal, "terminated", people["buyer"], "")
    assert refused.value.fields == {"reason": "终止项目须填写原因"}
    assert deal.stage == "intent"
    services.change_stage(deal, "terminated", people["buyer"], "预算未获批准")
    assert deal.stage == "terminated"
    assert deal.termination_reason == "预算未获批准"


@pytest.mark.parametrize("who", ["official", "outsider", "other_broker"])
def test_people_outside_the_deal_cannot_move_it(deal, people, who):
    with pytest.raises(PermissionDenied):
        services.change_stage(deal, "negotiation", people[who])
    assert deal.stage == "intent"


def test_a_system_move_skips_the_actor_check_but_not_the_rules(deal, people):
    deal.stage = "signed"
    contract_for(deal, "submitted")
    services.change_stage(deal, "registration", people["official"], system=True)
    assert deal.stage == "registration"
    with pytest.raises(Conflict):
        services.change_stage(deal, "performance", people["official"], system=True)  # still only submitted


# ---------------------------------------------------------------------------------------------
# What a change leaves behind: audit row, timeline event, stage_changed_at, notifications


def test_a_stage_change_is_audited_and_on_the_timeline(deal, people):
    deal.stage_changed_at = utcnow() - timedelta(days=10)
    db.session.flush()
    services.change_stage(deal, "negotiation", people["seller"])
    services.change_stage(deal, "terminated", people["broker"], "双方对许可范围分歧过大")
    db.session.commit()
    rows = [r for r in audit.history(deal) if r.action == "deal_stage"]
    assert [(r.from_state, r.to_state, r.actor_id, r.reason) for r in rows] == [
        ("intent", "negotiation", people["seller"].id, None),
        ("negotiation", "terminated", people["broker"].id, "双方对许可范围分歧过大"),
    ]
    events = db.session.scalars(
        select(DealEvent).where(DealEvent.deal_id == deal.id, DealEvent.kind == "stage").order_by(DealEvent.id)
    ).all()
    assert [(e.from_stage, e.to_stage) for e in events] == [
        (None, "intent"),  # opening the deal
        ("intent", "negotiation"),
        ("negotiation", "terminated"),
    ]
    assert events[-1].body == "双方对许可范围分歧过大"
    assert utcnow() - deal.stage_changed_at < timedelta(minutes=1)


def test_a_refused_change_leaves_no_trace(deal, people):
    before = len(audit.history(deal))
    with pytest.raises(Conflict):
        services.change_stage(deal, "completed", people["broker"])
    assert len(audit.history(deal)) == before
    assert deal.stage == "intent"


def test_the_other_side_and_the_broker_are_notified(deal, people):
    services.change_stage(deal, "negotiation", people["seller"])
    db.session.commit()
    notified = set(db.session.scalars(select(Notification.user_id)))
    assert notified == {people["buyer"].id, people["buyer2"].id, people["broker"].id}
    title = db.session.scalar(select(Notification.title).where(Notification.user_id == people["buyer"].id))
    assert "意向 → 洽谈" in title


# ---------------------------------------------------------------------------------------------
# Opening a deal


def test_the_opening_broker_becomes_lead(deal, people):
    assert [(b.user_id, b.lead) for b in deal.brokers] == [(people["broker"].id, True)]
    assert deal.stage == "intent"
    assert deal.expected_value == Decimal("1200000.00")
    assert deal.commission_rate == Decimal("5")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"expected_value": "-5"}, "expected_value", "负数"),
        ({"expected_value": "abc"}, "expected_value", "无法识别"),
        ({"expected_value": "20000亿"}, "expected_value", "1 万亿"),
        ({"expected_value": 1.5}, "expected_value", "字符串"),
        ({"commission_kind": "rate", "commission_rate": "0"}, "commission_rate", "30%"),
        ({"commission_kind": "rate", "commission_rate": "30.5"}, "commission_rate", "30%"),
        ({"commission_kind": "rate", "commission_rate": "五"}, "commission_rate", "不是数字"),
        ({"commission_kind": "rate", "commission_rate": ""}, "commission_rate", "请填写"),
        ({"commission_kind": "fixed", "commission_amount": "0"}, "commission_amount", "大于 0"),
        (
            {"commission_kind": "fixed", "commission_amount": "5万", "commission_payer": ""},
            "commission_payer",
            "谁支付",
        ),
        ({"commission_kind": "bonus"}, "commission_kind", "佣金方式"),
        ({"title": "x"}, "title", "项目名称"),
    ],
)
def test_bad_terms_are_refused_field_by_field(people, changes, field, words):
    kwargs = {"expected_value": "10万", "commission_kind": "none", "commission_payer": "seller"}
    kwargs |= changes
    title = kwargs.pop("title", "海水淡化膜技术许可")
    with pytest.raises(ValidationFailed) as refused:
        services.open_deal(people["broker"], people["seller_org"], people["buyer_org"], title, **kwargs)
    assert words in refused.value.fields[field]
    db.session.rollback()
    assert services.broker_deals(people["broker"]) == []


def test_rate_of_thirty_percent_and_a_fixed_amount_are_accepted(people):
    deal = services.open_deal(
        people["broker"],
        people["seller_org"],
        people["buyer_org"],
        "边界佣金",
        commission_kind="rate",
        commission_rate="30",
        commission_payer="both",
    )
    assert deal.commission_rate == Decimal("30")
    assert services.commission_text(deal) == "按成交额 30% · 双方各半"


def test_seller_and_buyer_must_differ_and_be_verified(people, make_org):
    with pytest.raises(ValidationFailed) as same:
        services.open_deal(people["broker"], people["seller_org"], people["seller_org"], "同一机构")
    assert same.value.fields["buyer_org_id"] == "卖方和买方不能是同一机构"
    unverified = make_org(org_type="enterprise", verified=False)
    with pytest.raises(ValidationFailed) as refused:
        services.open_deal(people["broker"], people["seller_org"], unverified, "未认证机构")
    assert "尚未通过平台认证" in refused.value.fields["buyer_org_id"]


def test_members_open_deals_only_for_their_own_organisation(people, make_org):
    third = make_org(org_type="enterprise")
    with pytest.raises(ValidationFailed) as refused:
        services.open_deal(people["outsider"], people["seller_org"], third, "替别人开项目")
    assert "本机构" in refused.value.fields["buyer_org_id"]
    deal = services.open_deal(people["buyer"], people["seller_org"], people["buyer_org"], "我方发起的项目")
    assert deal.brokers == []  # no broker yet; one can be added later


def test_officials_cannot_open_deals(people):
    with pytest.raises(PermissionDenied):
        services.open_deal(people["official"], people["seller_org"], people["buyer_org"], "科技局开项目")


def test_opening_from_an_introduction_fixes_the_parties_and_the_lead_broker(people, make_achievement, make_demand):
    from marketplace.matching.models import Introduction

    achievement = make_achievement(owner=people["seller"], title="反渗透海水淡化膜")
    demand = make_demand(owner=people["buyer"], title="园区海水淡化改造")
    intro = Introduction(demand_id=demand.id, achievement_id=achievement.id, broker_id=people["broker"].id)
    db.session.add(intro)
    db.session.commit()
    # The buyer's member opens it, naming other organisations: the introduction decides.
    deal = services.open_deal_from_input(
        people["buyer"], {"introduction_id": str(intro.id), "seller_org_id": "999", "buyer_org_id": "998"}
    )
    assert (deal.seller_org_id, deal.buyer_org_id) == (people["seller_org"].id, people["buyer_org"].id)
    assert deal.title == "反渗透海水淡化膜 × 园区海水淡化改造"
    assert [(b.user_id, b.lead) for b in deal.brokers] == [(people["broker"].id, True)]
    db.session.commit()
    with pytest.raises(ValidationFailed) as again:
        services.open_deal_from_input(people["broker"], {"introduction_id": intro.id})
    assert "已开设项目" in again.value.fields["introduction_id"]


def test_opening_from_an_achievement_or_a_demand_uses_the_actors_organisation(people, make_achievement, make_demand):
    achievement = make_achievement(owner=people["seller"])
    deal = services.open_deal_from_input(people["buyer"], {"achievement_id": achievement.id})
    assert (deal.seller_org_id, deal.buyer_org_id) == (people["seller_org"].id, people["buyer_org"].id)
    demand = make_demand(owner=people["buyer"])
    offer = services.open_deal_from_input(people["seller"], {"demand_id": demand.id, "title": "我校提供方案"})
    assert (offer.seller_org_id, offer.buyer_org_id) == (people["seller_org"].id, people["buyer_org"].id)
    assert offer.demand_id == demand.id


def test_opening_from_a_decided_challenge_makes_the_winner_the_seller(people):
    from marketplace.challenges.models import Challenge, ChallengeApplication

    challenge = Challenge(
        org_id=people["buyer_org"].id,
        title="高盐废水零排放",
        problem="问题",
        indicators="指标",
        bounty=Decimal("2000000"),
        deadline=utcnow() - timedelta(days=3),
        status="decided",
    )
    db.session.add(challenge)
    db.session.flush()
    assert services.prefill(people["broker"], {"challenge_id": challenge.id}).errors == {
        "challenge_id": "该揭榜挂帅尚未产生揭榜成功的单位，不能开设项目"
    }
    won = ChallengeApplication(
        challenge_id=challenge.id, org_id=people["seller_org"].id, proposal="方案", team="团队", schedule="进度"
    )
    db.session.add(won)
    db.session.flush()
    challenge.winner_application_id = won.id
    deal = services.open_deal_from_input(people["broker"], {"challenge_id": challenge.id})
    assert (deal.seller_org_id, deal.buyer_org_id) == (people["seller_org"].id, people["buyer_org"].id)
    assert deal.title == "揭榜挂帅：高盐废水零排放"


# ---------------------------------------------------------------------------------------------
# Terms, brokers, notes, meetings


def test_updating_terms_writes_a_timeline_note(deal, people):
    services.update_terms(
        deal,
        people["seller"],
        {
            "title": deal.title,
            "expected_value": "150万",
            "commission_kind": "fixed",
            "commission_amount": "6万",
            "commission_payer": "buyer",
        },
    )
    assert (deal.expected_value, deal.commission_kind, deal.commission_rate) == (Decimal("1500000.00"), "fixed", None)
    note = services.events_of(deal)[0]
    assert note.kind == "note" and "预计成交额改为 150 万元" in note.body


def test_only_brokers_can_be_added_and_the_lead_stays(deal, people):
    with pytest.raises(ValidationFailed):
        services.add_broker(deal, people["seller"], people["buyer"])
    services.add_broker(deal, people["seller"], people["other_broker"])
    with pytest.raises(ValidationFailed) as twice:
        services.add_broker(deal, people["seller"], people["other_broker"])
    assert "已是本项目的技术经纪人" in twice.value.fields["broker_id"]
    with pytest.raises(Conflict):
        services.remove_broker(deal, people["other_broker"], people["broker"].id)
    services.remove_broker(deal, people["broker"], people["other_broker"].id)
    assert [b.user_id for b in deal.brokers] == [people["broker"].id]


def test_notes_and_meetings_are_checked(deal, people):
    with pytest.raises(ValidationFailed):
        services.add_note(deal, people["buyer"], "   ")
    with pytest.raises(ValidationFailed) as long:
        services.add_note(deal, people["buyer"], "长" * 5001)
    assert "5000" in long.value.fields["body"]
    with pytest.raises(ValidationFailed) as bad:
        services.add_meeting(deal, people["buyer"], "2026-13-01", "10:00", "纪要")
    assert "年-月-日" in bad.value.fields["meeting_date"]
    meeting = services.add_meeting(deal, people["buyer"], "2026-12-01", "14:30", "现场考察")
    assert meeting.meeting_at.strftime("%Y-%m-%d %H:%M") == "2026-12-01 06:30"  # stored as UTC
    with pytest.raises(PermissionDenied):
        services.add_note(deal, people["official"], "科技局意见")
