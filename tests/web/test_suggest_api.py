"""POST /api/v1/suggest: keywords and a field while a listing is written."""

from __future__ import annotations

import re

import pytest

from tests.web.test_api import assert_documented, assert_error

API = "/api/v1/suggest"
TEXT = (
    "本项目采用机器视觉原理，开发一套通用的尺寸测量系统，可进行距离、宽度、角度、圆半径测量。"
    "系统由工业相机、光源和图像处理软件组成，尺寸测量精度达到0.01毫米，适用于汽车零部件的在线检测。"
)


@pytest.fixture
def member_api(api_client, make_user):
    return api_client(make_user("university"))


def test_suggests_keywords_and_a_field(member_api, app):
    response = member_api.post(API, json={"text": TEXT, "title": "基于机器视觉的尺寸测量系统"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["kind"] == "achievement"
    assert "机器视觉" in body["keywords"]
    assert len(body["keywords"]) <= 8
    taxonomy = app.extensions["taxonomy"]
    field = body["field"]
    assert taxonomy.field(field["code"]).name == field["name"]
    assert field["path"] == taxonomy.field_path(field["code"])
    assert len(body["fields"]) == 3
    assert body["fields"][0]["code"] == field["code"][:2]
    assert body["fields"][0]["code"] in ("01", "03")  # 电子信息 or 先进制造
    scores = [f["score"] for f in body["fields"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1


def test_existing_keywords_are_not_suggested_again(member_api):
    body = member_api.post(API, json={"text": TEXT, "keywords": ["机器视觉"]}).get_json()
    assert "机器视觉" not in body["keywords"]


def test_demand_text(member_api):
    text = "现有LED灯采用串联电阻限流，电能浪费且亮度不稳定。现寻求一种LED恒流驱动技术，保证LED恒流供电、亮度不变。"
    body = member_api.post(API, json={"text": text, "kind": "demand"}).get_json()
    assert body["kind"] == "demand"
    assert "LED" in body["keywords"]  # as written, not the folded form


def test_too_little_text_gives_keywords_but_no_field(member_api):
    body = member_api.post(API, json={"text": "氢冶金"}).get_json()
    assert body["field"] is None and body["fields"] == []


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        ({"text": ""}, "text", "请提供"),
        ({"text": "   \n"}, "text", "请提供"),
        ({}, "text", "请提供"),
        ({"text": 12}, "text", "请提供"),
        ({"text": "字" * 20_001}, "text", "20,000"),
        ({"text": TEXT, "kind": "patent"}, "kind", "achievement"),
        ({"text": TEXT, "keywords": "机器视觉"}, "keywords", "数组"),
        ({"text": TEXT, "extra": 1}, "extra", "不支持"),
    ],
)
def test_bad_input_is_422_with_a_chinese_reason(member_api, payload, field, fragment):
    error = assert_error(member_api.post(API, json=payload), 422, "validation_failed", field)
    assert fragment in error["fields"][field]
    assert re.search(r"[\u4e00-\u9fff]", error["fields"][field])


def test_longest_allowed_text_is_accepted(member_api):
    assert member_api.post(API, json={"text": ("机器视觉尺寸测量。" * 2500)[:20_000]}).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "text=abc", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"json": ["a", "list"]},
    ],
)
def test_non_json_body_is_422_naming_text(member_api, kwargs):
    error = assert_error(member_api.post(API, **kwargs), 422, "validation_failed", "text")
    assert "JSON" in error["fields"]["text"]


def test_anonymous_is_401(client):
    assert_error(client.post(API, json={"text": TEXT}), 401, "unauthorized")


def test_cookie_session_needs_csrf(csrf_enabled, login_as, make_user):
    response = login_as(make_user("enterprise")).post(API, json={"text": TEXT})
    assert_error(response, 400, "csrf_failed")


def test_responses_match_the_document(member_api, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert_documented(spec, "post", "/suggest", member_api.post(API, json={"text": TEXT}))
    assert_documented(spec, "post", "/suggest", member_api.post(API, json={"text": "氢冶金"}))
    assert_documented(spec, "post", "/suggest", member_api.post(API, json={"text": ""}))
    assert_documented(spec, "post", "/suggest", client.post(API, json={"text": TEXT}))
