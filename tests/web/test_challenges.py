"""揭榜挂帅 through the pages: the list with filters and its empty state, the detail page (bounty,
countdown, criteria, statistics, result), forms that keep what was typed and show Chinese errors
beside the field, the admin queue, applying, scoring, deciding, confidentiality and CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.alerts.models import Notification
from marketplace.challenges import services as challenges
from marketplace.challenges.models import ApplicationScore, Challenge, ChallengeApplication
from marketplace.core.timeutil import local_today
from marketplace.extensions import db as _db
from tests.web.access_challenges import application_data, challenge_data, close, publish


def text(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, field: str) -> str:
    match = re.search(rf'data-field-error="{field}">([^<]*)<', page)
    assert match, f"no error shown beside {field}"
    return match.group(1)


def form_of(data: dict) -> dict:
    """challenge_data() as the browser posts it: criteria as parallel lists."""
    form = {k: v for k, v in data.items() if k != "criteria"}
    form["criterion_name"] = [c["name"] for c in data["criteria"]]
    form["criterion_weight"] = [str(c["weight"]) for c in data["criteria"]]
    return form


@pytest.fixture
def admin(make_user):
    return make_user("admin", org=None)


@pytest.fixture
def publisher(make_user):
    return make_user("enterprise", name="李总工")


@pytest.fixture
def univ(make_user):
    return make_user("university", name="王老师")


@pytest.fixture
def challenge(publisher, admin):
    return publish(publisher, admin)


# ---------------------------------------------------------------------------------------------
# List and detail


def test_list_shows_published_challenges_only_and_filters(client, publisher, admin, challenge):
    challenges.create_challenge(publisher, challenge_data(title="还在草稿的榜单"))
    other = publish(publisher, admin, title="港口堆场无人集卡调度算法", field="1003", bounty="50万")
    close(other)
    _db.session.commit()
    page = text(client.get("/challenges"))
    assert challenge.title in page and other.title in page and "还在草稿的榜单" not in page
    assert "200 万元" in page and "征集中" in page and "评审中" in page
    open_only = text(client.get("/challenges?status=open"))
    assert challenge.title in open_only and other.title not in open_only
    by_field = text(client.get("/challenges?field=10"))
    assert other.title in by_field and challenge.title not in by_field
    empty = text(client.get("/challenges?status=decided"))
    assert 'data-testid="empty-state"' in empty and "暂时没有符合条件的榜单" in empty
    older = publish(publisher, admin, title="已截止较早的榜单", field="1003")
    close(older)
    older.deadline -= timedelta(days=3)
    _db.session.commit()
    by_deadline = text(client.get("/challenges"))  # open first, then the most recently closed
    assert by_deadline.index(challenge.title) < by_deadline.index(other.title) < by_deadline.index(older.title)
    by_bounty = text(client.get("/challenges?sort=bounty"))
    assert by_bounty.index(challenge.title) < by_bounty.index(other.title)


def test_detail_page_shows_bounty_deadline_criteria_eligibility_and_stats(client, challenge, univ):
    challenges.apply(univ, challenge, application_data())
    _db.session.commit()
    page = text(client.get(f"/challenges/{challenge.id}"))
    assert 'data-testid="bounty">200 万元<' in page
    assert f"{(local_today() + timedelta(days=30)).isoformat()} 17:00" in page  # Shanghai time
    assert re.search(r'data-testid="countdown">.*还剩 \d+ 天', page, re.S)
    assert "技术方案先进性" in page and "40%" in page
    assert "高校" in page and "科研院所" in page
    assert re.search(r'data-testid="stat-applications">1<', page)
    assert "登录后揭榜" in page
    assert univ.organization.name not in page  # who applied is not public before the result
    assert "采用改性氧化铁" not in page


def test_draft_is_private(client, login_as, publisher, univ):
    draft = challenges.create_challenge(publisher, challenge_data())
    _db.session.commit()
    assert client.get(f"/challenges/{draft.id}").status_code == 403
    assert login_as(univ).get(f"/challenges/{draft.id}").status_code == 403
    assert login_as(publisher).get(f"/challenges/{draft.id}").status_code == 200


# ---------------------------------------------------------------------------------------------
# Publishing


def test_bad_input_is_shown_beside_the_fields_and_kept(login_as, publisher):
    client = login_as(publisher)
    data = challenge_data(
        title="深远海网箱抗台风锚泊系统",
        problem="",
        bounty="0",
        deadline_date=(local_today() - timedelta(days=1)).isoformat(),
        eligible_org_types=[],
        criteria=[{"name": "先进性", "weight": 50}, {"name": "团队", "weight": 30}],
    )
    response = client.post("/challenges/new", data=form_of(data))
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "problem") == "请填写需解决的问题"
    assert "应大于0" in field_error(page, "bounty")
    assert "已过" in field_error(page, "deadline_date")
    assert "之和应为100（当前为80）" in field_error(page, "criteria")
    assert "至少选择一类" in field_error(page, "eligible_org_types")
    assert 'value="深远海网箱抗台风锚泊系统"' in page  # what the user typed is kept
    assert 'value="先进性"' in page and 'value="50"' in page
    assert _db.session.scalar(select(Challenge)) is None


def test_huge_text_is_refused(login_as, publisher):
    response = login_as(publisher).post("/challenges/new", data=form_of(challenge_data(problem="问" * 20001)))
    assert response.status_code == 422
    assert "不能超过20000个字（当前20001个）" in field_error(text(response), "problem")


def test_publish_review_and_approve(login_as, publisher, admin):
    client = login_as(publisher)
    form = form_of(challenge_data(title="转炉煤气回收提质", deadline_time="")) | {"intent": "submit"}
    response = client.post("/challenges/new", data=form)
    assert response.status_code == 302
    challenge = _db.session.scalar(select(Challenge))
    assert challenge.status == "pending" and challenge.deadline.strftime("%H:%M") == "15:59"  # 23:59 Shanghai
    assert "待审核" in text(client.get(response.headers["Location"]))
    admin_client = login_as(admin)
    queue = text(admin_client.get("/admin/challenges"))
    assert "转炉煤气回收提质" in queue
    response = admin_client.post(f"/challenges/{challenge.id}/reject", data={"reason": ""})
    assert response.status_code == 302 and challenge.status == "pending"
    admin_client.post(f"/challenges/{challenge.id}/approve", data={"next": "/admin/challenges"})
    _db.session.refresh(challenge)
    assert challenge.status == "published"
    assert "没有待审核的榜单" in text(admin_client.get("/admin/challenges"))
    note = _db.session.scalar(select(Notification).where(Notification.user_id == publisher.id))
    assert note is not None and "已发布" in note.title


def test_official_publishes_on_behalf_of_the_city(login_as, make_user, admin):
    official = make_user("official", name="科技局 赵科长")
    response = login_as(official).post("/challenges/new", data=form_of(challenge_data()))
    assert response.status_code == 302
    challenge = _db.session.scalar(select(Challenge))
    assert challenge.on_behalf_of_city
    assert "代表市政府发榜" in text(login_as(official).get(f"/challenges/{challenge.id}"))


def test_edit_form_is_prefilled_in_shanghai_time(login_as, publisher):
    challenge = challenges.create_challenge(
        publisher, challenge_data(deadline_date="2030-12-01", deadline_time="00:00")
    )
    _db.session.commit()
    page = text(login_as(publisher).get(f"/challenges/{challenge.id}/edit"))
    assert 'value="2030-12-01"' in page and 'value="00:00"' in page and 'value="2000000"' in page


# ---------------------------------------------------------------------------------------------
# Applying


def test_university_applies_edits_and_a_second_application_is_refused(login_as, challenge, univ, make_user):
    client = login_as(univ)
    page = text(client.get(f"/challenges/{challenge.id}"))
    assert 'data-testid="apply-button"' in page
    bad = client.post(f"/challenges/{challenge.id}/apply", data=application_data(proposal=""))
    assert bad.status_code == 422 and field_error(text(bad), "proposal") == "请填写技术方案"
    assert "负责人张教授" in text(bad)  # the team text typed is kept
    response = client.post(f"/challenges/{challenge.id}/apply", data=application_data())
    assert response.status_code == 302
    application = _db.session.scalar(select(ChallengeApplication))
    colleague = login_as(make_user("university", org=univ.organization))
    second = colleague.post(
        f"/challenges/{challenge.id}/apply", data=application_data(proposal="另一份"), follow_redirects=True
    )
    assert "每个单位限一份申请" in text(second)
    assert _db.session.scalar(select(ChallengeApplication).where(ChallengeApplication.proposal == "另一份")) is None
    assert (
        colleague.get(f"/challenges/{challenge.id}/apply")
        .headers["Location"]
        .endswith(f"/challenges/applications/{application.id}/edit")
    )
    client.post(f"/challenges/applications/{application.id}/edit", data=application_data(budget="150万"))
    _db.session.refresh(application)
    assert str(application.budget) == "1500000.00"


def test_application_after_the_deadline_is_refused(login_as, challenge, univ):
    close(challenge)
    client = login_as(univ)
    page = text(client.get(f"/challenges/{challenge.id}"))
    assert "已截止" in page and 'data-testid="apply-button"' not in page
    response = client.post(f"/challenges/{challenge.id}/apply", data=application_data(), follow_redirects=True)
    assert "揭榜已截止" in text(response)
    assert _db.session.scalar(select(ChallengeApplication)) is None


def test_proposal_is_confidential(login_as, client, challenge, univ, make_user):
    application = challenges.apply(univ, challenge, application_data())
    _db.session.commit()
    url = f"/challenges/applications/{application.id}"
    assert login_as(make_user("university")).get(url).status_code == 403
    assert "login" in client.get(url).headers["Location"]
    assert "采用改性氧化铁" in text(login_as(univ).get(url))


# ---------------------------------------------------------------------------------------------
# Reviewing and the result


def test_score_decide_and_the_public_result(login_as, client, challenge, publisher, univ, make_user):
    application = challenges.apply(univ, challenge, application_data())
    rival_user = make_user("enterprise")
    rival = challenges.apply(rival_user, challenge, application_data(proposal="另一种方案"))
    expert = make_user("university", name="赵专家")
    _db.session.commit()
    owner = login_as(publisher)
    bad = owner.post(f"/challenges/{challenge.id}/reviewers", data={"email": "nobody@example.cn"})
    assert bad.status_code == 422 and "没有邮箱" in field_error(text(bad), "email")
    owner.post(f"/challenges/{challenge.id}/reviewers", data={"email": expert.email})
    early = login_as(expert).post(
        f"/challenges/applications/{application.id}/score", data={"score_0": "90"}, follow_redirects=True
    )
    assert "揭榜截止后才能评分" in text(early) and _db.session.scalar(select(ApplicationScore)) is None
    close(challenge)

    reviewer = login_as(expert)
    bad = reviewer.post(
        f"/challenges/applications/{application.id}/score",
        data={"score_0": "90", "score_1": "120", "score_2": "80", "comment": "方案扎实"},
    )
    assert bad.status_code == 422
    assert "0到100" in field_error(text(bad), "score_1") and "方案扎实" in text(bad)
    reviewer.post(
        f"/challenges/applications/{application.id}/score",
        data={"score_0": "90", "score_1": "80", "score_2": "80", "comment": "方案扎实，中试数据可信"},
    )
    outsider = login_as(make_user("enterprise"))
    assert outsider.post(f"/challenges/applications/{application.id}/score", data={}).status_code == 403

    panel = text(owner.get(f"/challenges/{challenge.id}"))
    assert 'data-testid="decide-panel"' in panel and "84.00" in panel
    owner.post(f"/challenges/applications/{application.id}/shortlist", data={"on": "1"})
    no_reason = owner.post(f"/challenges/{challenge.id}/decide", data={"winner": "none"})
    assert no_reason.status_code == 422
    assert field_error(text(no_reason), "no_winner_reason") == "不设揭榜单位时请说明原因"
    response = owner.post(f"/challenges/{challenge.id}/decide", data={"winner": str(application.id)})
    assert response.status_code == 302

    public = text(client.get(f"/challenges/{challenge.id}"))
    assert 'data-testid="result"' in public and univ.organization.name in public and "已揭晓" in public
    assert "评审平均总分" in public
    mine = text(login_as(univ).get(f"/challenges/applications/{application.id}"))
    assert "揭榜成功" in mine and "方案扎实，中试数据可信" in mine and "赵专家" not in mine
    lost = text(login_as(rival_user).get(f"/challenges/applications/{rival.id}"))
    assert "未入选" in lost
    for user in (univ, rival_user):
        assert _db.session.scalar(select(Notification).where(Notification.user_id == user.id)) is not None


def test_my_challenges_page(login_as, challenge, publisher, univ):
    challenges.apply(univ, challenge, application_data())
    _db.session.commit()
    assert challenge.title in text(login_as(publisher).get("/my/challenges"))
    page = text(login_as(univ).get("/my/challenges"))
    assert 'data-testid="my-applications"' in page and challenge.title in page


def test_posts_need_the_csrf_token(login_as, challenge, univ, csrf_enabled):
    client = login_as(univ)
    page = text(client.get(f"/challenges/{challenge.id}/apply"))
    assert 'name="csrf_token"' in page
    assert client.post(f"/challenges/{challenge.id}/apply", data=application_data()).status_code == 400
    assert _db.session.scalar(select(ChallengeApplication)) is None
