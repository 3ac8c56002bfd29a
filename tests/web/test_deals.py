"""The deal pages as people use them: the broker's pipeline board, 我的项目, everyone's deals for
officials, the deal page per kind of viewer, forms that refuse bad input beside the field and keep
what was typed, files, and opening a deal from an introduction."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from marketplace.core.timeutil import utcnow
from marketplace.deals import services
from marketplace.deals.models import Deal, DealEvent
from marketplace.extensions import db

PDF = b"%PDF-1.4\n%deal\n1 0 obj<<>>endobj\n"
DOCX = b"PK\x03\x04" + b"\x00" * 60


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(name="黄海理工大学", org_type="university")
    buyer = make_org(name="岚山特钢有限公司", org_type="enterprise")
    return {
        "seller_org": seller,
        "buyer_org": buyer,
        "seller": make_user("university", org=seller, name="王老师"),
        "buyer": make_user("enterprise", org=buyer, name="李总工"),
        "broker": make_user("broker", name="孙经纪"),
        "official": make_user("official"),
        "admin": make_user("admin", org=None),
        "outsider": make_user("enterprise"),
    }


def open_deal(people, title="高炉煤气精脱硫技术许可", value="120万", **extra):
    deal = services.open_deal(
        people["broker"], people["seller_org"], people["buyer_org"], title, expected_value=value, **extra
    )
    db.session.commit()
    return deal


def age(deal, days: int) -> None:
    """Make the deal and its whole timeline `days` old."""
    past = utcnow() - timedelta(days=days)
    db.session.execute(update(DealEvent).where(DealEvent.deal_id == deal.id).values(created_at=past))
    deal.created_at = deal.stage_changed_at = past
    db.session.commit()


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def card_stage(html: str, deal_id: int) -> str:
    """The data-stage of the column that holds the deal's card."""
    position = html.index(f'data-testid="deal-card" data-deal-id="{deal_id}"')
    return re.findall(r'data-testid="column" data-stage="(\w+)"', html[:position])[-1]


# ---------------------------------------------------------------------------------------------
# Lists


def test_a_busy_brokers_closed_columns_show_the_newest_and_link_to_all(app, people, login_as):
    done = []
    for i in range(services.CLOSED_SHOWN + 5):
        deal = open_deal(people, f"已完成项目{i:02d}", "10万")
        deal.stage, deal.stage_changed_at = "completed", utcnow() - timedelta(days=100 - i)
        done.append(deal)
    stopped = open_deal(people, "已终止的项目", "999万")
    services.change_stage(stopped, "terminated", people["broker"], "买方取消预算")
    working = open_deal(people, "在办的项目", "50万")
    other = services.open_deal(people["admin"], people["seller_org"], people["buyer_org"], "别人的已完成项目")
    other.stage = "completed"
    db.session.commit()
    client = login_as(people["broker"])

    html = text_of(client.get("/deals"))
    completed = html[html.index('data-stage="completed"') :]
    cards = re.findall(r'data-deal-id="(\d+)"', completed.split('data-testid="terminated"')[0])
    newest = [d.id for d in reversed(done)][: services.CLOSED_SHOWN]
    assert [int(c) for c in cards] == newest  # the newest 20, newest first
    assert "仅显示最近 20 个 · 查看全部 25 个" in completed
    assert "250 万元" in completed  # the column's value counts all 25 (10万 each), not the 20 shown
    assert card_stage(html, working.id) == "intent" and "已终止 1 个项目" in html

    listing = text_of(client.get("/deals?stage=completed"))
    assert "我负责的项目" in listing and 'name="broker"' not in listing
    assert listing.count('href="/deals/') >= 20 and "别人的已完成项目" not in listing
    second = text_of(client.get("/deals?stage=completed&page=2"))
    assert "已完成项目00" in second and "已完成项目24" not in second  # oldest on the second page


def test_pipeline_board_shows_columns_values_days_and_stale_flags(app, people, login_as):
    fresh = open_deal(people, "新开的项目", "120万")
    talking = open_deal(people, "洽谈中的项目", "80万")
    services.change_stage(talking, "negotiation", people["broker"])
    quiet = open_deal(people, "沉寂的项目", "50万")
    stopped = open_deal(people, "已终止的项目", "999万")
    services.change_stage(stopped, "terminated", people["broker"], "买方取消预算")
    db.session.commit()
    age(quiet, 20)
    other = services.open_deal(people["admin"], people["seller_org"], people["buyer_org"], "别人的项目")
    db.session.commit()

    response = login_as(people["broker"]).get("/deals")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    stages = re.findall(r'data-testid="column" data-stage="(\w+)"', html)
    assert stages == ["intent", "negotiation", "signed", "registration", "performance", "completed"]
    assert card_stage(html, fresh.id) == "intent"
    assert card_stage(html, quiet.id) == "intent"
    assert card_stage(html, talking.id) == "negotiation"
    assert f'data-deal-id="{other.id}"' not in html  # not this broker's deal
    totals = re.findall(r'data-testid="column-total">([^<]+)<', html)
    assert totals[:2] == ["170 万元", "80 万元"]  # 120万 + 50万 in 意向
    assert "在办项目预计成交额" in html and "250 万元" in html  # the terminated 999万 is not counted
    # The stale flag: only the deal without activity for 14 days; it has been in its stage 20 days.
    quiet_card = html[html.index(f'data-deal-id="{quiet.id}"') :][:1200]
    fresh_card = html[html.index(f'data-deal-id="{fresh.id}"') :][:1200]
    assert 'data-testid="stale"' in quiet_card and "20 天" in quiet_card
    assert 'data-testid="stale"' not in fresh_card.split("</article>")[0]
    assert "已终止 1 个项目" in html and "买方取消预算" in html
    assert 'data-testid="stale-count">停滞 1 个' in html and "在办 3 个" in html


def test_the_stale_threshold_is_configurable(app, people, login_as):
    quiet = open_deal(people)
    age(quiet, 20)
    app.config["DEAL_STALE_DAYS"] = 30
    try:
        html = login_as(people["broker"]).get("/deals").get_data(as_text=True)
    finally:
        app.config.pop("DEAL_STALE_DAYS")
    assert f'data-deal-id="{quiet.id}"' in html
    assert 'data-testid="stale"' not in html


def test_parties_see_their_deals_and_outsiders_an_empty_list(people, login_as):
    deal = open_deal(people)
    html = text_of(login_as(people["buyer"]).get("/deals"))
    assert "我的项目" in html and deal.title in html and "120 万元" in html and "意向" in html
    outsider = text_of(login_as(people["outsider"]).get("/deals"))
    assert deal.title not in outsider and "还没有项目" in outsider


def test_officials_see_all_deals_with_filters(people, login_as, make_user):
    first = open_deal(people, "海水淡化膜许可")
    second = open_deal(people, "港口腐蚀监测转让")
    services.change_stage(second, "negotiation", people["broker"])
    db.session.commit()
    client = login_as(people["official"])
    html = text_of(client.get("/deals"))
    assert first.title in html and second.title in html
    filtered = text_of(client.get("/deals?stage=negotiation"))
    assert second.title in filtered and first.title not in filtered
    by_text = text_of(client.get("/deals?q=岚山特钢"))  # the buyer's name finds both
    assert first.title in by_text and second.title in by_text
    nobody = make_user("broker")
    assert "没有符合条件的项目" in text_of(client.get(f"/deals?broker={nobody.id}"))


def test_the_nav_has_a_deals_item_for_participants_only(people, login_as, client):
    assert 'data-testid="nav-deals"' in login_as(people["broker"]).get("/").get_data(as_text=True)
    assert 'data-testid="nav-deals"' in login_as(people["seller"]).get("/").get_data(as_text=True)
    assert 'data-testid="nav-deals"' not in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# The deal page per viewer


def test_participants_see_forms_officials_read_only_outsiders_403(people, login_as, client):
    deal = open_deal(people, commission_kind="rate", commission_rate="5", commission_payer="seller")
    for who in ("seller", "buyer", "broker", "admin"):
        html = login_as(people[who]).get(f"/deals/{deal.id}").get_data(as_text=True)
        assert 'data-testid="note-form"' in html, who
        assert 'data-testid="stage-actions"' in html, who
        assert "按成交额 5%（按预计成交额约 6 万元） · 卖方支付" in text_of_html(html)
    official = login_as(people["official"]).get(f"/deals/{deal.id}")
    html = official.get_data(as_text=True)
    assert official.status_code == 200
    assert 'data-testid="read-only"' in html
    assert '<form method="post" action="/deals/' not in html
    assert deal.title in html and "黄海理工大学" in html and "岚山特钢有限公司" in html
    assert login_as(people["outsider"]).get(f"/deals/{deal.id}").status_code == 403
    assert "/login" in client.get(f"/deals/{deal.id}").headers["Location"]


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_participants_card_shows_contacts_and_the_lead_broker(people, login_as):
    deal = open_deal(people)
    html = text_of(login_as(people["buyer"]).get(f"/deals/{deal.id}"))
    assert "王老师" in html and people["seller"].email in html
    assert "孙经纪" in html and "牵头" in html


def test_advancing_a_stage_from_the_page(people, login_as):
    deal = open_deal(people)
    client = login_as(people["seller"])
    response = client.post(f"/deals/{deal.id}/stage", data={"stage": "negotiation"})
    assert response.status_code == 302
    html = text_of(client.get(response.headers["Location"]))
    assert "项目阶段已变更为“洽谈”" in html
    assert 'data-testid="stage">洽谈' in html
    # The contract guard shows as a locked button with its reason, not as a form.
    client.post(f"/deals/{deal.id}/stage", data={"stage": "signed"})
    html = text_of(client.get(f"/deals/{deal.id}"))
    assert 'data-testid="blocked"' in html and "须先提交技术合同登记" in html


def test_a_refused_transition_is_flashed_and_changes_nothing(people, login_as):
    deal = open_deal(people)
    client = login_as(people["broker"])
    response = client.post(f"/deals/{deal.id}/stage", data={"stage": "completed"}, follow_redirects=True)
    assert "逐级推进" in text_of(response)
    assert db.session.get(Deal, deal.id).stage == "intent"


# ---------------------------------------------------------------------------------------------
# Bad input: messages beside the field, input kept


def test_new_deal_form_shows_chinese_errors_and_keeps_input(people, login_as):
    client = login_as(people["broker"])
    response = client.post(
        "/deals/new",
        data={
            "seller_org_id": str(people["seller_org"].id),
            "buyer_org_id": str(people["seller_org"].id),
            "title": "我的草稿项目",
            "expected_value": "一百万",
            "commission_kind": "rate",
            "commission_rate": "45",
            "commission_payer": "seller",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'data-field-error="buyer_org_id">卖方和买方不能是同一机构<', html)
    assert re.search(r'data-field-error="commission_rate">佣金比例须大于 0%，且不超过 30%<', html)
    assert re.search(r'data-field-error="expected_value">金额“一百万”无法识别', html)
    assert 'value="我的草稿项目"' in html and 'value="45"' in html and 'value="一百万"' in html
    assert db.session.scalar(select(Deal.id)) is None


def test_new_deal_form_creates_the_deal(people, login_as):
    client = login_as(people["broker"])
    response = client.post(
        "/deals/new",
        data={
            "seller_org_id": str(people["seller_org"].id),
            "buyer_org_id": str(people["buyer_org"].id),
            "title": "氢冶金直接还原技术开发",
            "expected_value": "1.2亿",
            "commission_kind": "fixed",
            "commission_amount": "30万",
            "commission_payer": "both",
        },
    )
    deal = db.session.scalar(select(Deal))
    assert response.headers["Location"].endswith(f"/deals/{deal.id}")
    html = text_of(client.get(f"/deals/{deal.id}"))
    assert "1.2 亿元" in html and "固定金额 30 万元 · 双方各半" in html and "意向" in html


def test_terms_form_errors_keep_the_input(people, login_as):
    deal = open_deal(people)
    response = login_as(people["buyer"]).post(
        f"/deals/{deal.id}/terms",
        data={"title": deal.title, "expected_value": "-3", "commission_kind": "fixed", "commission_amount": ""},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="expected_value">预计成交额不能为负数<' in html
    assert 'data-field-error="commission_amount">请填写固定佣金金额<' in html
    assert 'value="-3"' in html
    assert 'id="terms-form"' in html and "collapse border-top pt-3 mt-2 show" in html  # opened
    assert db.session.get(Deal, deal.id).expected_value == 1200000


def test_termination_without_reason_and_meeting_with_a_bad_date(people, login_as):
    deal = open_deal(people)
    client = login_as(people["broker"])
    response = client.post(f"/deals/{deal.id}/stage", data={"stage": "terminated", "reason": " "})
    assert response.status_code == 422
    assert 'data-field-error="reason">终止项目须填写原因<' in response.get_data(as_text=True)
    response = client.post(
        f"/deals/{deal.id}/meetings", data={"meeting_date": "明天", "meeting_time": "10:00", "body": "技术交流会"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="meeting_date">请按 年-月-日' in html
    assert "技术交流会</textarea>" in html
    assert db.session.get(Deal, deal.id).stage == "intent"


def test_notes_and_meetings_appear_on_the_timeline_in_beijing_time(people, login_as):
    deal = open_deal(people)
    client = login_as(people["buyer"])
    client.post(f"/deals/{deal.id}/notes", data={"body": "我方希望先做侧线试验"})
    client.post(
        f"/deals/{deal.id}/meetings", data={"meeting_date": "2026-12-01", "meeting_time": "14:30", "body": "现场会"}
    )
    html = text_of(client.get(f"/deals/{deal.id}"))
    assert "我方希望先做侧线试验" in html and "2026-12-01 14:30" in html and "李总工" in html
    kinds = re.findall(r'data-testid="event" data-kind="(\w+)"', html)
    assert kinds == ["meeting", "note", "stage"]  # newest first


def test_post_without_csrf_token_is_refused(people, login_as, csrf_enabled):
    deal = open_deal(people)
    response = login_as(people["buyer"]).post(f"/deals/{deal.id}/notes", data={"body": "无令牌"})
    assert response.status_code == 400
    assert services.events_of(deal)[0].kind == "stage"


# ---------------------------------------------------------------------------------------------
# Files


def test_files_upload_and_download_follow_the_deal_permissions(people, login_as):
    deal = open_deal(people)
    seller = login_as(people["seller"])
    response = seller.post(
        f"/deals/{deal.id}/files",
        data={"file": (io.BytesIO(PDF), "保密协议.pdf"), "body": "已盖章"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    event = db.session.scalar(select(DealEvent).where(DealEvent.kind == "file"))
    url = f"/deals/{deal.id}/files/{event.id}"
    assert url in seller.get(f"/deals/{deal.id}").get_data(as_text=True)
    download = login_as(people["official"]).get(url)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()
    assert login_as(people["outsider"]).get(url).status_code == 403
    assert (
        login_as(people["official"])
        .post(f"/deals/{deal.id}/files", data={"file": (io.BytesIO(PDF), "a.pdf")})
        .status_code
        == 403
    )


def test_unknown_file_types_are_refused_office_documents_accepted(people, login_as):
    deal = open_deal(people)
    client = login_as(people["broker"])
    response = client.post(
        f"/deals/{deal.id}/files",
        data={"file": (io.BytesIO(b"MZ\x90\x00binary"), "报价.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'data-field-error="file">只能上传 PDF、图片' in response.get_data(as_text=True)
    response = client.post(
        f"/deals/{deal.id}/files",
        data={"file": (io.BytesIO(DOCX), "技术方案.docx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    event = db.session.scalar(select(DealEvent).where(DealEvent.kind == "file"))
    assert event.file_name == "技术方案.docx" and event.file_mime.endswith("wordprocessingml.document")


# ---------------------------------------------------------------------------------------------
# Opening from a source


def test_opening_from_an_introduction_prefills_and_fixes_the_parties(people, login_as, make_achievement, make_demand):
    from marketplace.matching.models import Introduction

    achievement = make_achievement(owner=people["seller"], title="改性氧化铁精脱硫吸附剂")
    demand = make_demand(owner=people["buyer"], title="高炉煤气超低排放改造")
    intro = Introduction(demand_id=demand.id, achievement_id=achievement.id, broker_id=people["broker"].id)
    db.session.add(intro)
    db.session.commit()
    client = login_as(people["broker"])
    html = text_of(client.get(f"/deals/new?introduction_id={intro.id}"))
    assert re.search(r'data-testid="fixed-seller_org_id"> <i class="bi bi-building"></i> 黄海理工大学', html)
    assert re.search(r'data-testid="fixed-buyer_org_id"> <i class="bi bi-building"></i> 岚山特钢有限公司', html)
    assert 'value="改性氧化铁精脱硫吸附剂 × 高炉煤气超低排放改造"' in html
    assert 'name="seller_org_id"' not in html  # no picker: the introduction decides
    response = client.post("/deals/new", data={"introduction_id": str(intro.id), "title": "精脱硫许可"})
    deal = db.session.scalar(select(Deal))
    assert response.status_code == 302
    assert (deal.seller_org_id, deal.buyer_org_id, deal.introduction_id) == (
        people["seller_org"].id,
        people["buyer_org"].id,
        intro.id,
    )
    page = text_of(client.get(f"/deals/{deal.id}"))
    assert "经纪人引荐：孙经纪 · " in page and f"经纪人引荐 #{intro.id}" not in page  # named, not numbered
    assert "科技成果：改性氧化铁精脱硫吸附剂" in page and "技术需求：高炉煤气超低排放改造" in page


def test_a_member_opening_from_an_achievement_is_the_buyer(people, login_as, make_achievement):
    achievement = make_achievement(owner=people["seller"])
    html = text_of(login_as(people["buyer"]).get(f"/deals/new?achievement_id={achievement.id}"))
    assert 'data-testid="fixed-buyer_org_id"> <i class="bi bi-building"></i> 岚山特钢有限公司' in html
    assert "来源：科技成果" in html


def test_officials_cannot_open_deals_and_unknown_sources_are_404(people, login_as):
    assert login_as(people["official"]).get("/deals/new").status_code == 403
    assert login_as(people["broker"]).get("/deals/new?introduction_id=999999").status_code == 404


def test_the_deal_page_names_its_sources_by_title(people, login_as, make_achievement, make_demand):
    achievement = make_achievement(owner=people["seller"], title="改性氧化铁精脱硫吸附剂")
    demand = make_demand(owner=people["buyer"], title="高炉煤气超低排放改造")
    deal = open_deal(people, achievement=achievement, demand=demand)
    html = text_of(login_as(people["broker"]).get(f"/deals/{deal.id}"))
    assert f'href="/achievements/{achievement.id}">科技成果：改性氧化铁精脱硫吸附剂</a>' in html
    assert f'href="/demands/{demand.id}">技术需求：高炉煤气超低排放改造</a>' in html
