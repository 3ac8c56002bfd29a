"""成果评价 pages and API as users meet them: the public model, the owner's button and the badge
on the achievement page, the request form, the assign/score/close forms with errors beside the
fields, scores hidden before the close, the public summary (and a hidden badge), the report
download, and the JSON API's field-level 422s, 403, 404 and 409."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.core.timeutil import format_local, local_today
from marketplace.evaluation import services as evaluation
from marketplace.extensions import db
from tests.web.access_evaluation import completed, due, make_expert, make_provider, published, sheet


@pytest.fixture
def setup(make_org, make_user):
    org = make_org(name="日照理工大学", org_type="university")
    owner = make_user("university", org=org)
    provider = make_org(name="日照科技评估中心", org_type="agency")
    make_provider(provider)
    data = {
        "owner": owner,
        "admin": make_user("admin", org=None),
        "assessor": make_user("broker", org=provider),
        "provider": provider,
        "stranger": make_user("enterprise"),
        "experts": [make_expert(f"专家{i}") for i in range(1, 5)],
        "achievement": published(owner, "港口散货智能抑尘系统"),
    }
    db.session.commit()
    return data


def test_model_page_explains_dimensions_weights_levels_and_disclaimer(client):
    page = client.get("/evaluations/model").get_data(as_text=True)
    for text in ("技术成熟度", "创新性", "知识产权", "市场前景", "团队能力", "风险", "20%", "15%", "10%"):
        assert text in page
    assert "分数越高表示风险越低" in page
    assert "<strong>90</strong> 分" in page and "<strong>30</strong> 分" in page
    assert "A 优秀" in page and "D 较弱" in page and "不构成任何形式的认证" in page


def test_owner_sees_request_button_others_do_not(setup, login_as):
    url = f"/achievements/{setup['achievement'].id}"
    assert 'data-testid="request-evaluation"' in login_as(setup["owner"]).get(url).get_data(as_text=True)
    assert 'data-testid="request-evaluation"' not in login_as(setup["stranger"]).get(url).get_data(as_text=True)


def test_request_form_shows_errors_beside_fields_then_creates(setup, login_as):
    client = login_as(setup["owner"])
    form = client.get(f"/evaluations/new?achievement_id={setup['achievement'].id}").get_data(as_text=True)
    assert "日照科技评估中心" in form and "港口散货智能抑尘系统" in form
    response = client.post("/evaluations/new", data={"achievement_id": setup["achievement"].id, "purpose": ""})
    assert response.status_code == 422
    assert 'data-field-error="purpose"' in response.get_data(as_text=True)
    response = client.post(
        "/evaluations/new",
        data={
            "achievement_id": setup["achievement"].id,
            "purpose": "融资参考",
            "provider_org_id": setup["provider"].id,
        },
    )
    assert response.status_code == 302
    request = evaluation.open_request_of(setup["achievement"].id)
    assert request.provider_org_id == setup["provider"].id
    page = client.get(f"/achievements/{setup['achievement'].id}").get_data(as_text=True)
    assert "成果评价待组建专家组" in page  # the open request instead of the button
    again = client.post("/evaluations/new", data={"achievement_id": setup["achievement"].id, "purpose": "再来"})
    assert again.status_code == 422 and "已有进行中的评价申请" in again.get_data(as_text=True)


def test_assign_score_close_through_the_pages(setup, login_as):
    request = evaluation.create_request(
        setup["owner"], setup["achievement"], {"purpose": "x", "provider_org_id": setup["provider"].id}
    )
    db.session.commit()
    assessor = login_as(setup["assessor"])
    page = assessor.get(f"/evaluations/{request.id}").get_data(as_text=True)
    assert 'data-testid="assign-form"' in page and "专家1" in page
    experts = setup["experts"][:3]
    back = assessor.post(f"/evaluations/{request.id}/assign", data={"experts": [experts[0].id], "due_date": due()})
    assert "评审专家组须为 3–7 位专家" in assessor.get(back.headers["Location"]).get_data(as_text=True)
    assessor.post(f"/evaluations/{request.id}/assign", data={"experts": [e.id for e in experts], "due_date": due()})
    db.session.refresh(request)
    assert request.status == "assigned"

    first = login_as(experts[0].user)
    tasks = first.get("/evaluations/tasks").get_data(as_text=True)
    assert "港口散货智能抑尘系统" in tasks and 'data-testid="score-link"' in tasks
    bad = sheet([80, 120, 80, 80, 80, 80])
    response = first.post(f"/evaluations/{request.id}/score", data=bad)
    assert response.status_code == 422
    assert (
        '<div class="invalid-feedback d-block" data-field-error="innovation">评分须在 0–100 之间</div>'
        in response.get_data(as_text=True)
    )
    assert first.post(f"/evaluations/{request.id}/score", data=sheet([91.5] * 6)).status_code == 302
    # The second expert, the owner and the assessor see no score before the close.
    second = login_as(experts[1].user)
    assert "91.5" not in second.get(f"/evaluations/{request.id}/score").get_data(as_text=True)
    for client in (second, login_as(setup["owner"]), assessor):
        page = client.get(f"/evaluations/{request.id}").get_data(as_text=True)
        assert "91.5" not in page and 'data-testid="result"' not in page
    # Revising shows the expert's own values back.
    assert 'value="91.5"' in first.get(f"/evaluations/{request.id}/score").get_data(as_text=True)

    second.post(f"/evaluations/{request.id}/score", data=sheet([70] * 6))
    closing = assessor.post(f"/evaluations/{request.id}/close", data={})
    assert "尚未评分" in assessor.get(closing.headers["Location"]).get_data(as_text=True)
    login_as(experts[2].user).post(f"/evaluations/{request.id}/score", data=sheet([70] * 6))
    assessor.post(f"/evaluations/{request.id}/close", data={})
    db.session.refresh(request)
    assert request.status == "completed" and str(request.overall) == "77.17"
    page = login_as(setup["owner"]).get(f"/evaluations/{request.id}").get_data(as_text=True)
    assert 'data-testid="result"' in page and "77.17" in page and "B 良好" in page


def test_close_with_a_withdrawn_expert_through_the_form(setup, login_as):
    request = evaluation.create_request(setup["owner"], setup["achievement"], {"purpose": "x"})
    evaluation.assign_panel(request, setup["admin"], [e.id for e in setup["experts"]], due())
    for expert in setup["experts"][:3]:
        evaluation.submit_scores(request, expert.user, sheet([60] * 6))
    db.session.commit()
    missing = setup["experts"][3]
    admin = login_as(setup["admin"])
    admin.post(f"/evaluations/{request.id}/close", data={"withdraw": [str(missing.id)], f"reason_{missing.id}": ""})
    db.session.refresh(request)
    assert request.status == "scoring"
    admin.post(f"/evaluations/{request.id}/close", data={"withdraw": [str(missing.id)], f"reason_{missing.id}": "回避"})
    db.session.refresh(request)
    assert request.status == "completed" and request.members[3].withdrawn_reason == "回避"


def test_badge_summary_and_hiding(setup, login_as, client):
    request = completed(
        setup["owner"], setup["admin"], setup["experts"][:3], [[80] * 6, [78] * 6, [77.2] * 6], setup["achievement"]
    )
    db.session.commit()
    day = format_local(request.completed_at, "%Y-%m-%d")
    page = client.get(f"/achievements/{setup['achievement'].id}").get_data(as_text=True)
    assert f"已评价 · B 良好 · 78.40 分 · {day}" in page
    summary = client.get(f"/evaluations/{request.id}/summary").get_data(as_text=True)
    assert "78.40 分" in summary and "B 良好" in summary and "3 位" in summary
    assert 'data-testid="download-report"' not in summary  # anonymous: the summary only
    assert client.get(f"/evaluations/{request.id}/report.pdf").status_code == 302  # to the login
    owner = login_as(setup["owner"])
    pdf = owner.get(f"/evaluations/{request.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert login_as(setup["stranger"]).get(f"/evaluations/{request.id}/report.pdf").status_code == 403

    owner.post(f"/evaluations/{request.id}/badge", data={"hidden": "1"})
    assert "已评价" not in client.get(f"/achievements/{setup['achievement'].id}").get_data(as_text=True)
    assert client.get(f"/evaluations/{request.id}/summary").status_code == 404
    assert owner.get(f"/evaluations/{request.id}/summary").status_code == 200
    assert "评价标识已隐藏" in owner.get(f"/achievements/{setup['achievement'].id}").get_data(as_text=True)
    owner.post(f"/evaluations/{request.id}/badge", data={"hidden": "0"})
    assert "已评价 · B 良好" in client.get(f"/achievements/{setup['achievement'].id}").get_data(as_text=True)


def test_cancel_from_the_page(setup, login_as):
    request = evaluation.create_request(setup["owner"], setup["achievement"], {"purpose": "x"})
    db.session.commit()
    owner = login_as(setup["owner"])
    owner.post(f"/evaluations/{request.id}/cancel", data={"reason": "改期"})
    db.session.refresh(request)
    assert request.status == "cancelled"
    assert "已取消" in owner.get(f"/evaluations/{request.id}").get_data(as_text=True)
    assert 'data-testid="request-evaluation"' in owner.get(f"/achievements/{setup['achievement'].id}").get_data(
        as_text=True
    )


def test_index_lists_and_empty_states(setup, login_as):
    stranger = login_as(setup["stranger"])
    assert 'data-testid="empty-state"' in stranger.get("/evaluations").get_data(as_text=True)
    assert 'data-testid="empty-state"' in stranger.get("/evaluations/tasks").get_data(as_text=True)
    evaluation.create_request(
        setup["owner"], setup["achievement"], {"purpose": "定价", "provider_org_id": setup["provider"].id}
    )
    db.session.commit()
    assert "港口散货智能抑尘系统" in login_as(setup["owner"]).get("/evaluations").get_data(as_text=True)
    assert "港口散货智能抑尘系统" in login_as(setup["assessor"]).get("/evaluations").get_data(as_text=True)
    assert "港口散货智能抑尘系统" in login_as(setup["admin"]).get("/evaluations?view=manage").get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# API


def test_api_full_flow_and_errors(setup, api_client):
    owner, admin = api_client(setup["owner"]), api_client(setup["admin"])
    model = owner.get("/api/v1/evaluations/model").get_json()
    assert [d["code"] for d in model["dimensions"]] == ["maturity", "innovation", "ip", "market", "team", "risk"]

    created = owner.post("/api/v1/evaluations", json={"achievement_id": setup["achievement"].id, "purpose": "定价"})
    assert created.status_code == 201
    rid = created.get_json()["id"]
    assert (
        owner.post("/api/v1/evaluations", json={"achievement_id": setup["achievement"].id, "purpose": "x"}).status_code
        == 409
    )
    assert api_client(setup["stranger"]).get(f"/api/v1/evaluations/{rid}").status_code == 403
    assert owner.get("/api/v1/evaluations/999999").status_code == 404
    assert owner.post(f"/api/v1/evaluations/{rid}/panel", json={"experts": [], "due_date": due()}).status_code == 403

    experts = setup["experts"]
    small = admin.post(f"/api/v1/evaluations/{rid}/panel", json={"experts": [experts[0].id], "due_date": due()})
    assert small.status_code == 422 and "3–7" in small.get_json()["error"]["fields"]["experts"]
    unknown = admin.post(
        f"/api/v1/evaluations/{rid}/panel", json={"experts": [experts[0].id, experts[1].id, 424242], "due_date": due()}
    )
    assert unknown.get_json()["error"]["fields"]["experts"] == "专家编号 424242 不存在"
    past = (local_today() - timedelta(days=1)).isoformat()
    bad_date = admin.post(
        f"/api/v1/evaluations/{rid}/panel", json={"experts": [e.id for e in experts[:3]], "due_date": past}
    )
    assert bad_date.get_json()["error"]["fields"] == {"due_date": "截止日期不能早于今天"}
    ok = admin.post(
        f"/api/v1/evaluations/{rid}/panel", json={"experts": [e.id for e in experts[:3]], "due_date": due()}
    )
    assert ok.status_code == 200 and ok.get_json()["status"]["code"] == "assigned"
    again = admin.post(
        f"/api/v1/evaluations/{rid}/panel", json={"experts": [e.id for e in experts[:3]], "due_date": due()}
    )
    assert again.status_code == 409

    first = api_client(experts[0].user)
    out = first.open("PUT", f"/api/v1/evaluations/{rid}/scores", json=sheet([80, 101, 80, 80, 80, 80]))
    assert out.status_code == 422 and out.get_json()["error"]["fields"] == {"innovation": "评分须在 0–100 之间"}
    assert (
        first.open("PUT", f"/api/v1/evaluations/{rid}/scores", json={**sheet([80] * 6), "extra": 1}).status_code == 422
    )
    assert (
        api_client(experts[3].user).open("PUT", f"/api/v1/evaluations/{rid}/scores", json=sheet([80] * 6)).status_code
        == 403
    )
    mine = first.open("PUT", f"/api/v1/evaluations/{rid}/scores", json=sheet([80, 80, 80, 80, 80, 80.5])).get_json()
    assert mine["my_sheet"]["risk"] == "80.5" and mine["dimensions"] is None and mine["overall"] is None
    second = api_client(experts[1].user).get(f"/api/v1/evaluations/{rid}").get_json()
    assert second["my_sheet"] is None and second["dimensions"] is None  # nothing of the first expert's
    assert admin.post(f"/api/v1/evaluations/{rid}/close", json={}).status_code == 422
    for expert in experts[1:3]:
        api_client(expert.user).open("PUT", f"/api/v1/evaluations/{rid}/scores", json=sheet([70] * 6))
    assert owner.post(f"/api/v1/evaluations/{rid}/close", json={}).status_code == 403
    closed = admin.post(f"/api/v1/evaluations/{rid}/close", json={}).get_json()
    assert closed["status"]["code"] == "completed" and closed["grade"] == {"code": "B", "label": "B 良好"}
    # five dimensions (80 + 70 + 70) / 3 = 73.333…, risk (80.5 + 70 + 70) / 3 = 73.5:
    # 0.85 × 73.333… + 0.15 × 73.5 = 73.3583… → 73.36
    assert closed["overall"] == "73.36"
    assert {d["code"]: d["mean"] for d in closed["dimensions"]}["risk"] == "73.50"
    assert owner.post(f"/api/v1/evaluations/{rid}/cancel", json={}).status_code == 409
    report = owner.get(closed["report_url"])
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert api_client(setup["stranger"]).get(closed["report_url"]).status_code == 403

    listed = {
        role: [i["id"] for i in client.get(f"/api/v1/evaluations?role={role}").get_json()["items"]]
        for role, client in (("mine", owner), ("manage", admin), ("expert", first))
    }
    assert listed == {"mine": [rid], "manage": [rid], "expert": [rid]}
    assert owner.get("/api/v1/evaluations?role=boss").status_code == 422


def test_api_conflict_of_interest_is_a_field_error(setup, api_client, make_user):
    colleague = make_user("university", org=setup["owner"].active_org)
    insider = make_expert("钱同事", user=colleague)
    db.session.commit()
    owner, admin = api_client(setup["owner"]), api_client(setup["admin"])
    rid = owner.post(
        "/api/v1/evaluations", json={"achievement_id": setup["achievement"].id, "purpose": "x"}
    ).get_json()["id"]
    ids = [e.id for e in setup["experts"][:2]] + [insider.id]
    response = admin.post(f"/api/v1/evaluations/{rid}/panel", json={"experts": ids, "due_date": due()})
    assert response.status_code == 422
    assert (
        "钱同事的账号属于成果所属机构（日照理工大学），存在利益冲突"
        in response.get_json()["error"]["fields"]["experts"]
    )


def test_every_evaluation_endpoint_is_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/evaluations/model",
        "/evaluations",
        "/evaluations/{request_id}",
        "/evaluations/{request_id}/panel",
        "/evaluations/{request_id}/scores",
        "/evaluations/{request_id}/close",
        "/evaluations/{request_id}/cancel",
        "/evaluations/{request_id}/report.pdf",
    ):
        assert path in doc["paths"], path
    assert "put" in doc["paths"]["/evaluations/{request_id}/scores"]
