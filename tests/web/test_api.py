"""The JSON API v1: authentication, CSRF, the error shape, CRUD and the review workflow for both
kinds, permissions, filters and paging, money as strings, and the OpenAPI document's coverage."""

from __future__ import annotations

import re
from typing import Any

import pytest
from itsdangerous import URLSafeTimedSerializer
from werkzeug.routing import Rule

from marketplace.accounts import services as accounts
from marketplace.extensions import db
from tests.conftest import achievement_data, demand_data

API = "/api/v1"


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code:
        assert error["code"] == code
    if field:
        assert field in error["fields"], error
        assert error["fields"][field]
    return error


@pytest.fixture
def owner(make_user):
    return make_user("university")


@pytest.fixture
def admin(make_user):
    return make_user("admin", org=None)


@pytest.fixture
def owner_api(api_client, owner):
    return api_client(owner)


@pytest.fixture
def admin_api(api_client, admin):
    return api_client(admin)


# ---------------------------------------------------------------------------------------------
# Authentication


def test_me_without_credentials_is_401_json_with_challenge(client):
    response = client.get(f"{API}/me")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer kjtb_not-a-real-token", "Bearer ", "bearer x"])
def test_invalid_token_is_401_even_on_public_endpoints(client, header):
    for url in (f"{API}/me", f"{API}/achievements"):
        response = client.get(url, headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")
        assert "WWW-Authenticate" in response.headers


def test_me_with_token(owner_api, owner):
    response = owner_api.get(f"{API}/me")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == owner.id
    assert body["email"] == owner.email
    assert body["role"] == "university"
    assert body["role_label"] == "高校/院所成员"
    assert body["organization"] == {
        "id": owner.organization.id,
        "name": owner.organization.name,
        "type": {"code": "university", "label": "高校"},
        "verified": True,
    }
    assert body["membership_status"] == "active"


def test_me_without_organization(api_client, admin):
    body = api_client(admin).get(f"{API}/me").get_json()
    assert body["organization"] is None
    assert body["role"] == "admin"


def test_me_with_cookie_session(login_as, owner):
    assert login_as(owner).get(f"{API}/me").get_json()["id"] == owner.id


def test_revoked_token_is_refused(owner_api, owner):
    assert owner_api.get(f"{API}/me").status_code == 200
    accounts.revoke_token(accounts.tokens_of(owner)[0], owner)
    db.session.commit()
    response = owner_api.get(f"{API}/me")
    assert_error(response, 401, "unauthorized")
    assert "WWW-Authenticate" in response.headers


def test_disabled_users_token_is_refused(owner_api, owner, admin):
    accounts.set_disabled(owner, True, admin)
    db.session.commit()
    assert_error(owner_api.get(f"{API}/me"), 401, "unauthorized")


def test_a_token_request_does_not_authenticate_the_next_anonymous_one(owner_api, client, make_achievement, owner):
    draft = make_achievement(owner=owner, status="draft")
    assert owner_api.get(f"{API}/achievements/{draft.id}").status_code == 200
    assert_error(client.get(f"{API}/me"), 401)
    assert_error(client.get(f"{API}/achievements/{draft.id}"), 403, "forbidden")


# ---------------------------------------------------------------------------------------------
# CSRF


def test_cookie_session_write_without_csrf_token_is_refused(csrf_enabled, login_as, owner):
    response = login_as(owner).post(f"{API}/achievements", json=achievement_data())
    assert_error(response, 400, "csrf_failed")
    assert owner_api_count(owner) == 0


def test_cookie_session_write_with_csrf_token_is_accepted(app, csrf_enabled, login_as, owner):
    client = login_as(owner)
    with client.session_transaction() as session:
        session["csrf_token"] = "raw-csrf-secret"
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("raw-csrf-secret")
    response = client.post(f"{API}/achievements", json=achievement_data(), headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()


def test_bearer_token_write_needs_no_csrf_token(csrf_enabled, owner_api):
    assert owner_api.post(f"{API}/achievements", json=achievement_data()).status_code == 201


def owner_api_count(user) -> int:
    from marketplace.listings.services import my_listings

    return len(my_listings(user, "achievement"))


# ---------------------------------------------------------------------------------------------
# Bad input and the error shape


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"data": "title=x", "content_type": "application/x-www-form-urlencoded"}, "JSON"),
        ({"data": "{not json", "content_type": "application/json"}, "JSON"),
        ({"json": ["a", "list"]}, "JSON 对象"),
        ({"json": "a string"}, "JSON 对象"),
    ],
)
def test_body_that_is_not_a_json_object_is_400_in_chinese(owner_api, owner, kwargs, fragment):
    error = assert_error(owner_api.post(f"{API}/achievements", **kwargs), 400, "bad_request")
    assert fragment in error["message"]
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    assert owner_api_count(owner) == 0


def test_unknown_json_key_is_named(owner_api):
    error = assert_error(
        owner_api.post(f"{API}/achievements", json=achievement_data(colour="blue")), 422, "validation_failed", "colour"
    )
    assert "colour" in error["message"]


def test_invalid_fields_are_422_with_chinese_reasons(owner_api, owner):
    response = owner_api.post(
        f"{API}/achievements", json=achievement_data(title="", patent_numbers="ZL201720001285.1", maturity="soon")
    )
    error = assert_error(response, 422, "validation_failed")
    assert {"title", "patent_numbers", "maturity"} <= set(error["fields"])
    assert owner_api_count(owner) == 0


@pytest.mark.parametrize("role", ["broker", "official"])
def test_roles_that_cannot_list_get_403(api_client, make_user, role):
    response = api_client(make_user(role)).post(f"{API}/achievements", json=achievement_data())
    assert_error(response, 403, "forbidden")


def test_admin_without_organization_cannot_create(admin_api):
    assert_error(admin_api.post(f"{API}/demands", json=demand_data()), 403)


def test_anonymous_create_is_401(client):
    assert_error(client.post(f"{API}/achievements", json=achievement_data()), 401)


def test_unknown_ids_and_urls_are_json_404(client, owner_api):
    assert_error(client.get(f"{API}/achievements/999999"), 404, "not_found")
    assert_error(owner_api.patch(f"{API}/demands/999999", json={"title": "x"}), 404, "not_found")
    assert_error(owner_api.post(f"{API}/demands/999999/submit"), 404, "not_found")
    assert_error(client.get(f"{API}/nothing-here"), 404)


def test_unsupported_method_is_json_405(owner_api, make_achievement, owner):
    listing = make_achievement(owner=owner)
    assert_error(owner_api.delete(f"{API}/achievements/{listing.id}"), 405)


# ---------------------------------------------------------------------------------------------
# Achievements: create, read, edit, the workflow


def test_achievement_lifecycle_with_review(owner_api, admin_api, client, owner):
    created = owner_api.post(f"{API}/achievements", json=achievement_data(detail="工艺参数与图纸"))
    assert created.status_code == 201
    body = created.get_json()
    url = created.headers["Location"]
    assert url == f"{API}/achievements/{body['id']}" == body["links"]["self"]
    assert body["status"] == {"code": "draft", "label": "草稿"}
    assert body["organization"]["id"] == owner.organization.id
    assert body["allowed_actions"] == ["submit"]
    assert body["can_edit"] is True
    assert body["detail"] == "工艺参数与图纸"
    assert body["contact"] == {"name": "王老师", "phone": "0633-8888888", "email": None}
    assert body["field"] == {"code": "0303", "name": "自动化与控制", "path": "先进制造 › 自动化与控制"}
    assert body["maturity"] == {"code": "sample", "label": "已有样品"}
    assert body["ip_type"] == {"code": "invention", "label": "发明专利"}
    assert body["transfer_modes"] == [{"code": "transfer", "label": "转让"}, {"code": "license", "label": "许可"}]
    assert body["patent_numbers"] == ["ZL201720001285.X"]
    assert body["keywords"] == ["机器视觉", "尺寸测量"]
    assert body["created_at"].endswith("Z") and body["published_at"] is None

    assert_error(client.get(url), 403, "forbidden")  # a draft is not public

    edited = owner_api.patch(url, json={"title": "机器视觉尺寸测量系统（第二版）", "trl": 6})
    assert edited.status_code == 200
    assert edited.get_json()["title"] == "机器视觉尺寸测量系统（第二版）"
    assert edited.get_json()["trl"] == 6
    assert edited.get_json()["summary"] == body["summary"]  # untouched fields keep their value

    assert owner_api.post(f"{url}/submit").get_json()["status"]["code"] == "pending"
    assert_error(owner_api.patch(url, json={"title": "改"}), 409, "conflict")
    assert_error(owner_api.post(f"{url}/review", json={"decision": "approve"}), 403, "forbidden")

    assert_error(admin_api.post(f"{url}/review", json={"decision": "reject"}), 422, "validation_failed", "reason")
    assert_error(admin_api.post(f"{url}/review", json={"decision": "maybe"}), 422, "validation_failed", "decision")
    rejected = admin_api.post(f"{url}/review", json={"decision": "reject", "reason": "请补充专利证书"})
    assert rejected.status_code == 200
    assert rejected.get_json()["status"]["code"] == "draft"
    assert owner_api.get(url).get_json()["review_reason"] == "请补充专利证书"

    owner_api.post(f"{url}/submit", json={})
    approved = admin_api.post(f"{url}/review", json={"decision": "approve"})
    assert approved.status_code == 200
    assert approved.get_json()["status"] == {"code": "published", "label": "已发布"}
    assert approved.get_json()["published_at"].endswith("Z")
    assert_error(admin_api.post(f"{url}/review", json={"decision": "approve"}), 409, "conflict")

    public = client.get(url).get_json()
    assert public["status"]["code"] == "published"
    assert public["contact"] is None  # hidden from anonymous callers
    assert public["detail"] is None  # confidential part
    assert public["review_reason"] is None
    assert public["allowed_actions"] == [] and public["can_edit"] is False

    assert_error(owner_api.patch(url, json={"title": "改"}), 409, "conflict")
    withdrawn = owner_api.post(f"{url}/withdraw", json={"reason": "重新整理材料"})
    assert withdrawn.get_json()["status"]["code"] == "withdrawn"
    assert_error(owner_api.post(f"{url}/withdraw"), 409, "conflict")
    assert owner_api.patch(url, json={"price": "面议"}).status_code == 200
    assert owner_api.post(f"{url}/close").get_json()["status"]["code"] == "closed"


def test_action_body_rejects_unknown_keys(owner_api, make_achievement, owner):
    listing = make_achievement(owner=owner, status="draft")
    response = owner_api.post(f"{API}/achievements/{listing.id}/submit", json={"note": "x"})
    assert_error(response, 422, "validation_failed", "note")
    assert owner_api.get(f"{API}/achievements/{listing.id}").get_json()["status"]["code"] == "draft"


def test_unverified_organisation_cannot_submit(api_client, make_user, make_org):
    user = make_user("university", org=make_org(verified=False))
    api = api_client(user)
    created = api.post(f"{API}/achievements", json=achievement_data())
    assert created.status_code == 201  # drafting is allowed
    error = assert_error(api.post(f"{created.headers['Location']}/submit"), 409, "conflict")
    assert "认证" in error["message"]


def test_detail_shown_to_verified_org_users_only(api_client, make_user, make_org, make_achievement):
    listing = make_achievement(detail="保密的工艺参数")
    url = f"{API}/achievements/{listing.id}"
    verified = api_client(make_user("enterprise")).get(url).get_json()
    assert verified["detail"] == "保密的工艺参数"
    assert verified["contact"]["name"] == "王老师"
    unverified_user = make_user("enterprise", org=make_org(org_type="enterprise", verified=False))
    unverified = api_client(unverified_user).get(url).get_json()
    assert unverified["detail"] is None
    assert unverified["contact"] is not None  # any logged-in user sees the contact


# ---------------------------------------------------------------------------------------------
# Demands


def test_demand_lifecycle(api_client, make_user, admin_api, client):
    api = api_client(make_user("enterprise"))
    created = api.post(f"{API}/demands", json=demand_data(valid_until="2099-12-31", district="岚山区"))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    url = created.headers["Location"]
    assert body["kind"] == "demand"
    assert body["demand_type"] == {"code": "tackle", "label": "技术难题攻关"}
    assert body["budget"] == {"kind": "range", "low": "100000.00", "high": "200000.00", "display": "10 万元 – 20 万元"}
    assert body["valid_until"] == "2099-12-31"
    assert body["district"] == {"code": "371103", "name": "岚山区"}

    assert_error(api.patch(url, json={"valid_until": "明年"}), 422, "validation_failed", "valid_until")
    assert api.patch(url, json={"budget": {"kind": "fixed", "low": 150000}}).get_json()["budget"]["low"] == "150000.00"
    assert api.post(f"{url}/submit").get_json()["status"]["code"] == "pending"
    assert admin_api.post(f"{url}/review", json={"decision": "approve"}).get_json()["status"]["code"] == "published"
    assert client.get(url).status_code == 200
    withdrawn = admin_api.post(f"{url}/withdraw", json={"reason": "信息不实"})  # admins may withdraw
    assert withdrawn.get_json()["status"]["code"] == "withdrawn"
    assert_error(client.get(url), 403)


def test_demand_unknown_key_and_missing_type(api_client, make_user):
    api = api_client(make_user("enterprise"))
    error = assert_error(api.post(f"{API}/demands", json=demand_data(price="50万")), 422, "validation_failed", "price")
    assert "price" in error["message"]
    assert_error(api.post(f"{API}/demands", json=demand_data(demand_type=None)), 422, field="demand_type")


# ---------------------------------------------------------------------------------------------
# Permissions, and a refused write changes nothing


def test_non_owner_patch_is_403_and_changes_nothing(api_client, make_user, make_achievement, client):
    listing = make_achievement(status="withdrawn")
    url = f"{API}/achievements/{listing.id}"
    other = api_client(make_user("university"))
    assert_error(other.patch(url, json={"title": "被改掉的标题"}), 403, "forbidden")
    assert_error(other.post(f"{url}/submit"), 403, "forbidden")
    assert_error(other.post(f"{url}/close"), 403, "forbidden")
    db.session.expire_all()
    assert listing.title == "基于机器视觉的尺寸测量系统"


def test_draft_of_another_org_is_403(api_client, make_user, make_demand):
    draft = make_demand(status="draft")
    other = api_client(make_user("enterprise"))
    assert_error(other.get(f"{API}/demands/{draft.id}"), 403, "forbidden")
    assert_error(other.patch(f"{API}/demands/{draft.id}", json={"title": "x"}), 403, "forbidden")


def test_official_sees_drafts_but_not_review_reason_or_actions(api_client, make_user, make_achievement):
    draft = make_achievement(status="draft")
    draft.review_reason = "旧的驳回原因"
    db.session.commit()
    body = api_client(make_user("official")).get(f"{API}/achievements/{draft.id}").get_json()
    assert body["status"]["code"] == "draft"
    assert body["review_reason"] is None
    assert body["allowed_actions"] == []


def test_failed_patch_leaves_the_stored_row_unchanged(owner_api, make_achievement, owner):
    listing = make_achievement(owner=owner, status="draft")
    url = f"{API}/achievements/{listing.id}"
    response = owner_api.patch(url, json={"title": "新标题", "maturity": "unknown"})
    assert_error(response, 422, "validation_failed", "maturity")
    body = owner_api.get(url).get_json()
    assert body["title"] == "基于机器视觉的尺寸测量系统"
    assert body["maturity"]["code"] == "sample"


def test_failure_after_the_service_changed_the_row_is_rolled_back(owner_api, make_achievement, owner):
    """The duplicate-patent check runs after the new values are set (and autoflushed): the API
    must roll them back, not leave them in the session for the next request to see."""
    make_achievement(owner=owner, status="draft", patent_numbers="ZL201720001285.X")
    second = make_achievement(owner=owner, status="draft", patent_numbers="CN114081026A", title="第二项成果")
    url = f"{API}/achievements/{second.id}"
    response = owner_api.patch(url, json={"title": "改名后的第二项", "patent_numbers": ["ZL201720001285.X"]})
    assert_error(response, 422, "validation_failed", "patent_numbers")
    body = owner_api.get(url).get_json()
    assert body["title"] == "第二项成果"
    assert body["patent_numbers"] == ["CN114081026A"]


# ---------------------------------------------------------------------------------------------
# Lists: filters, paging, mine=1


@pytest.fixture
def catalogue(make_user, make_achievement):
    owner = make_user("university")
    items = {
        "vision": make_achievement(owner=owner, maturity="lab", price="50万", field="0303", title="机器视觉测量"),
        "battery": make_achievement(
            owner=owner,
            maturity="mass",
            price="300万",
            field="0605",
            title="固态电池",
            transfer_modes=["equity"],
            patent_numbers="CN114081026A",
            keywords="储能",
        ),
        "sensor": make_achievement(
            owner=owner,
            maturity="lab",
            price="面议",
            field="0101",
            title="压力传感器",
            ip_type="trade_secret",
            patent_numbers="",
        ),
        "draft": make_achievement(
            owner=owner, status="draft", title="未发布的成果", patent_numbers="", ip_type="non_patent"
        ),
    }
    return owner, items


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


FILTER_CASES = [
    ("", {"机器视觉测量", "固态电池", "压力传感器"}),
    ("maturity=lab", {"机器视觉测量", "压力传感器"}),
    ("maturity=通过小试", {"机器视觉测量", "压力传感器"}),
    ("field=06", {"固态电池"}),
    ("field=0303", {"机器视觉测量"}),
    ("transfer_mode=equity", {"固态电池"}),
    ("ip_type=trade_secret", {"压力传感器"}),
    ("price_min=1000000", {"固态电池"}),
    ("price_max=100万", {"机器视觉测量"}),
    ("q=储能", {"固态电池"}),
    ("q=传感器", {"压力传感器"}),
    ("q=固态 储能", {"固态电池"}),
]


def test_public_list_filters(client, catalogue):
    # One catalogue for every case: building it per case would be most of the suite's time.
    for query, expected in FILTER_CASES:
        assert set(titles(client.get(f"{API}/achievements?{query}"))) == expected, query


def test_list_sorting_and_paging(client, catalogue):
    assert titles(client.get(f"{API}/achievements?sort=price_desc")) == ["固态电池", "机器视觉测量", "压力传感器"]
    page = client.get(f"{API}/achievements?sort=price_asc&per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 3, 2)
    assert [item["title"] for item in page["items"]] == ["压力传感器"]
    beyond = client.get(f"{API}/achievements?page=9").get_json()
    assert beyond["items"] == [] and beyond["total"] == 3


def test_mine_lists_every_status_of_the_callers_organisation(
    api_client, catalogue, make_achievement, client, make_user
):
    owner, _ = catalogue
    make_achievement(title="别家的成果")
    api = api_client(owner)
    mine = titles(api.get(f"{API}/achievements?mine=1"))
    assert set(mine) == {"机器视觉测量", "固态电池", "压力传感器", "未发布的成果"}
    assert titles(api.get(f"{API}/achievements?mine=1&status=draft")) == ["未发布的成果"]
    assert_error(client.get(f"{API}/achievements?mine=1"), 401)
    assert_error(api_client(make_user("broker")).get(f"{API}/achievements?mine=1"), 403)
    assert_error(client.get(f"{API}/achievements?status=draft"), 422, field="status")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("per_page=-5", "per_page"),
        ("sort=bogus", "sort"),
        ("maturity=unknown", "maturity"),
        ("ip_type=x", "ip_type"),
        ("transfer_mode=gift", "transfer_mode"),
        ("field=9999", "field"),
        ("district=火星", "district"),
        ("price_min=abc", "price_min"),
        ("price_min=200万&price_max=100万", "price_max"),
        ("mine=maybe", "mine"),
        ("demand_type=tackle", "demand_type"),  # a demand filter on achievements
        ("colour=blue", "colour"),
    ],
)
def test_bad_filter_values_are_422_with_the_field(client, query, field):
    assert_error(client.get(f"{API}/achievements?{query}"), 422, "validation_failed", field)


def test_demand_list_filters(client, make_demand):
    make_demand(title="恒流驱动", budget="10-20万", demand_type="tackle")
    make_demand(title="咨询服务", budget="面议", demand_type="consult")
    make_demand(title="草稿需求", status="draft")
    assert set(titles(client.get(f"{API}/demands"))) == {"恒流驱动", "咨询服务"}
    assert titles(client.get(f"{API}/demands?demand_type=consult")) == ["咨询服务"]
    assert titles(client.get(f"{API}/demands?budget_min=150000")) == ["恒流驱动"]
    assert_error(client.get(f"{API}/demands?maturity=lab"), 422, field="maturity")
    assert_error(client.get(f"{API}/demands?budget_max=很多"), 422, field="budget_max")


# ---------------------------------------------------------------------------------------------
# Money is Decimal yuan as strings


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ("12.5万", {"kind": "fixed", "low": "125000.00", "high": None, "display": "12.5 万元"}),
        ("8800.5", {"kind": "fixed", "low": "8800.50", "high": None, "display": "8,800.50 元"}),
        (
            {"kind": "range", "low": "1000000", "high": 2000000},
            {"kind": "range", "low": "1000000.00", "high": "2000000.00", "display": "100 万元 – 200 万元"},
        ),
        ({"kind": "negotiable"}, {"kind": "negotiable", "low": None, "high": None, "display": "面议"}),
    ],
)
def test_amounts_are_decimal_strings(owner_api, price, expected):
    response = owner_api.post(f"{API}/achievements", json=achievement_data(price=price))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["price"] == expected
    assert not re.search(r'"(low|high)":\s*\d', response.get_data(as_text=True))  # never a JSON number


def test_bad_price_is_422(owner_api):
    assert_error(owner_api.post(f"{API}/achievements", json=achievement_data(price="很贵")), 422, field="price")


# ---------------------------------------------------------------------------------------------
# The OpenAPI document


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def openapi_path(rule: Rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(API))


def test_every_api_endpoint_is_documented(app, spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": API}]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(API + "/")]
    assert len(rules) >= 18
    for rule in rules:
        path = openapi_path(rule)
        assert path in spec["paths"], f"{rule.rule} ({rule.endpoint}) is missing from openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = spec["paths"][path].get(method.lower())
            assert operation, f"{method} {rule.rule} is missing from openapi.json"
            assert operation["responses"], f"{method} {rule.rule} documents no responses"
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    served = {(openapi_path(r), m.lower()) for r in rules for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == served  # and nothing is documented that is not served


def test_every_reference_in_the_document_resolves(spec):
    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(spec, node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


def resolve(spec: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = spec
    for part in pointer.removeprefix("#/").split("/"):
        node = node[part]
    return node


_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def problems(value: Any, schema: dict[str, Any], spec: dict[str, Any], where: str = "$") -> list[str]:
    """A small JSON Schema check: $ref, oneOf, type, enum, pattern, required, properties (and no
    undocumented keys), items. Enough to hold responses to what the document promises."""
    if "$ref" in schema:
        return problems(value, resolve(spec, schema["$ref"]), spec, where)
    if "oneOf" in schema:
        if any(not problems(value, option, spec, where) for option in schema["oneOf"]):
            return []
        return [f"{where}: {value!r} matches none of oneOf"]
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_is_type(value, t) for t in types):
            return [f"{where}: {value!r} is not of type {types}"]
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        found += [f"{where}: required {key!r} missing" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                found += problems(item, properties[key], spec, f"{where}.{key}")
            elif isinstance(extra, dict):
                found += problems(item, extra, spec, f"{where}.{key}")
            elif properties:
                found.append(f"{where}: {key!r} is not documented")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(item, schema["items"], spec, f"{where}[{index}]")
    return found


def assert_documented(spec: dict[str, Any], method: str, path: str, response) -> None:
    operation = spec["paths"][path][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method.upper()} {path} does not document status {response.status_code}"
    if "$ref" in documented:
        documented = resolve(spec, documented["$ref"])
    schema = documented["content"]["application/json"]["schema"]
    assert problems(response.get_json(), schema, spec) == []


def test_responses_match_the_documented_schemas(spec, owner_api, admin_api, client, make_achievement, make_demand):
    published = make_achievement(detail="细节", team="张教授团队")
    demand = make_demand(valid_until="2099-01-01")
    assert_documented(spec, "get", "/me", owner_api.get(f"{API}/me"))
    assert_documented(spec, "get", "/me", admin_api.get(f"{API}/me"))
    assert_documented(spec, "get", "/me", client.get(f"{API}/me"))
    assert_documented(spec, "get", "/achievements", client.get(f"{API}/achievements"))
    assert_documented(spec, "get", "/achievements", owner_api.get(f"{API}/achievements?mine=1"))
    assert_documented(spec, "get", "/achievements", client.get(f"{API}/achievements?page=abc"))
    assert_documented(spec, "get", "/achievements/{listing_id}", owner_api.get(f"{API}/achievements/{published.id}"))
    assert_documented(spec, "get", "/achievements/{listing_id}", client.get(f"{API}/achievements/{published.id}"))
    assert_documented(spec, "get", "/achievements/{listing_id}", client.get(f"{API}/achievements/999999"))
    created = owner_api.post(f"{API}/achievements", json=achievement_data(price={"kind": "range", "low": 1, "high": 2}))
    assert_documented(spec, "post", "/achievements", created)
    assert_documented(spec, "post", "/achievements", owner_api.post(f"{API}/achievements", json={"x": 1}))
    assert_documented(spec, "post", "/achievements", owner_api.post(f"{API}/achievements", json=[1]))
    item = f"{API}/achievements/{created.get_json()['id']}"
    assert_documented(spec, "patch", "/achievements/{listing_id}", owner_api.patch(item, json={"district": "莒县"}))
    assert_documented(spec, "post", "/achievements/{listing_id}/submit", owner_api.post(f"{item}/submit"))
    assert_documented(spec, "post", "/achievements/{listing_id}/review", admin_api.post(f"{item}/review", json={}))
    assert_documented(
        spec, "post", "/demands/{listing_id}/withdraw", admin_api.post(f"{API}/demands/{demand.id}/withdraw")
    )
    assert_documented(spec, "get", "/demands", client.get(f"{API}/demands"))
    assert_documented(spec, "get", "/demands/{listing_id}", admin_api.get(f"{API}/demands/{demand.id}"))
    created_demand = owner_api.post(f"{API}/demands", json=demand_data())  # a university may post demands too
    assert_documented(spec, "post", "/demands", created_demand)
