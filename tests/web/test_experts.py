"""科技人才库 pages and API: the public list with search and filters, contact privacy on the page
and in the API, forms with errors beside the fields, deactivation, and achievement teams."""

from __future__ import annotations

import pytest

from marketplace.extensions import db
from marketplace.resources import services

EXPERT = {
    "name": "王海明",
    "title": "教授",
    "field_codes": ["0701"],
    "expertise": "反渗透海水淡化膜材料",
    "achievements_text": "海水淡化关键装备",
    "phone": "13812345678",
    "email": "wanghm@example.cn",
    "available_consulting": True,
}


@pytest.fixture
def manager(make_user):
    return make_user("university", manager=True)


@pytest.fixture
def expert(manager):
    item = services.create_expert(manager, EXPERT)
    db.session.commit()
    return item


def test_the_public_list_searches_and_filters(client, index, manager, expert):
    services.create_expert(
        manager,
        {
            **EXPERT,
            "name": "李青",
            "field_codes": ["0302"],
            "expertise": "工业机器人视觉",
            "achievements_text": "",
            "available_consulting": False,
        },
    )
    db.session.commit()
    page = client.get("/experts").get_data(as_text=True)
    assert "王海明" in page and "李青" in page
    found = client.get("/experts?q=海水淡化").get_data(as_text=True)
    assert "王海明" in found and "李青" not in found
    by_field = client.get("/experts?field=03").get_data(as_text=True)
    assert "李青" in by_field and "王海明" not in by_field
    consulting = client.get("/experts?consulting=1").get_data(as_text=True)
    assert "王海明" in consulting and "李青" not in consulting
    empty = client.get("/experts?q=量子计算机").get_data(as_text=True)
    assert 'data-testid="empty-state"' in empty


def test_contact_is_hidden_from_strangers_on_the_page_and_in_the_api(
    client, login_as, api_client, make_user, manager, expert
):
    anonymous = client.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "13812345678" not in anonymous and "登录并经授权后可见" in anonymous
    stranger = make_user("enterprise")
    page = login_as(stranger).get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "13812345678" not in page and "登录并经授权后可见" in page
    colleague_page = login_as(manager).get(f"/experts/{expert.id}").get_data(as_text=True)
    assert "13812345678" in colleague_page and "wanghm@example.cn" in colleague_page
    public = client.get(f"/api/v1/experts/{expert.id}").get_json()
    assert "phone" not in public and "email" not in public and public["name"] == "王海明"
    listed = client.get("/api/v1/experts").get_json()["items"][0]
    assert "phone" not in listed
    assert "phone" not in api_client(stranger).get(f"/api/v1/experts/{expert.id}").get_json()
    official = api_client(make_user("official")).get(f"/api/v1/experts/{expert.id}").get_json()
    assert official["phone"] == "13812345678" and official["email"] == "wanghm@example.cn"


def test_a_user_creates_their_own_profile_with_errors_beside_the_fields(login_as, make_user):
    user = make_user("university", name="张三")
    client = login_as(user)
    form = client.get("/experts/new?self=1").get_data(as_text=True)
    assert "创建我的专家档案" in form and "张三" in form
    response = client.post("/experts/new", data={"self": "1", "name": "张三", "expertise": "", "phone": "123"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'data-field-error="field_codes"' in html and "请至少选择一个技术领域" in html
    assert "电话号码格式不正确" in html and "请填写研究方向/专长" in html
    response = client.post(
        "/experts/new",
        data={
            "self": "1",
            "name": "张三",
            "expertise": "港口自动化",
            "field_codes": ["1003"],
            "available_evaluation": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    mine = services.own_expert(user)
    assert mine is not None and mine.user_id == user.id and mine.available_evaluation
    # a second visit goes to the existing profile
    assert client.get("/experts/new?self=1").headers["Location"].endswith(f"/experts/{mine.id}/edit")


def test_deactivation_hides_the_expert(client, login_as, manager, expert):
    owner = login_as(manager)
    response = owner.post(f"/experts/{expert.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert client.get(f"/experts/{expert.id}").status_code == 404
    assert "王海明" not in client.get("/experts").get_data(as_text=True)
    assert "该专家已停用" in owner.get(f"/experts/{expert.id}").get_data(as_text=True)
    assert client.get(f"/api/v1/experts/{expert.id}").status_code == 404


def test_api_create_and_update_with_field_errors(api_client, make_user, manager, expert):
    api = api_client(manager)
    bad = api.post("/api/v1/experts", json={"name": "", "field_codes": ["xx"], "expertise": "x", "color": 1})
    assert bad.status_code == 422 and "color" in bad.get_json()["error"]["fields"]
    bad = api.post("/api/v1/experts", json={"name": "", "field_codes": ["xx"], "expertise": "x"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"name", "field_codes"}
    created = api.post("/api/v1/experts", json={**EXPERT, "name": "刘洋"})
    assert created.status_code == 201 and created.get_json()["organization"]["id"] == manager.organization_id
    patched = api.patch(f"/api/v1/experts/{expert.id}", json={"title": "研究员", "active": False})
    assert (
        patched.status_code == 200 and patched.get_json()["title"] == "研究员" and patched.get_json()["active"] is False
    )
    other = api_client(make_user("university", manager=True))
    assert other.patch(f"/api/v1/experts/{created.get_json()['id']}", json={"title": "x"}).status_code == 403


def test_the_owner_manages_the_team_shown_on_the_achievement_page(
    client, login_as, api_client, make_user, make_achievement, manager, expert
):
    achievement = make_achievement(owner=manager)
    owner = login_as(manager)
    detail = owner.get(f"/achievements/{achievement.id}").get_data(as_text=True)
    assert "管理团队成员" in detail
    assert "管理团队成员" not in client.get(f"/achievements/{achievement.id}").get_data(as_text=True)
    missing = owner.post(f"/achievements/{achievement.id}/team", data={"expert_id": ""})
    assert missing.status_code == 422 and "请选择人才库中已启用的专家" in missing.get_data(as_text=True)
    added = owner.post(f"/achievements/{achievement.id}/team", data={"expert_id": expert.id, "team_role": "负责人"})
    assert added.status_code == 302
    public = client.get(f"/achievements/{achievement.id}").get_data(as_text=True)
    assert 'data-testid="team-member"' in public and "王海明" in public and "负责人" in public
    assert achievement.title in client.get(f"/experts/{expert.id}").get_data(as_text=True)
    team = client.get(f"/api/v1/achievements/{achievement.id}/team").get_json()
    assert [m["expert"]["name"] for m in team["items"]] == ["王海明"] and "phone" not in team["items"][0]["expert"]
    stranger = api_client(make_user("university"))
    assert stranger.delete(f"/api/v1/achievements/{achievement.id}/team/{expert.id}").status_code == 403
    removed = api_client(manager).delete(f"/api/v1/achievements/{achievement.id}/team/{expert.id}")
    assert removed.status_code == 200 and removed.get_json()["items"] == []
