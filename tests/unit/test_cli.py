"""The commands scripts and operators rely on (`flask --app wsgi orgs|users|listings|demo ...`)."""

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Organization
from marketplace.extensions import db
from marketplace.listings.models import Achievement, Demand


def test_orgs_create_validates_and_creates(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "orgs",
            "create",
            "日照理工大学",
            "--type",
            "university",
            "--uscc",
            "914403001922038216",
            "--district",
            "东港区",
            "--verified",
        ]
    )
    assert result.exit_code == 0, result.output
    org = accounts.find_org("日照理工大学")
    assert (org.org_type, org.district, org.verified) == ("university", "371102", True)

    bad = runner.invoke(args=["orgs", "create", "另一所大学", "--type", "university", "--uscc", "914403001922038217"])
    assert bad.exit_code != 0
    assert "校验位错误" in bad.output
    assert accounts.find_org("另一所大学") is None


def test_users_create_and_token_prints_only_the_token(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["orgs", "create", "岚山精工", "--type", "enterprise", "--verified"])
    result = runner.invoke(
        args=[
            "users",
            "create",
            "li@example.cn",
            "--name",
            "李工",
            "--role",
            "enterprise",
            "--org",
            "岚山精工",
            "--password",
            "Lanshan2026",
        ]
    )
    assert result.exit_code == 0, result.output
    user = accounts.find_user("li@example.cn")
    assert user.active_org.name == "岚山精工"

    token = runner.invoke(args=["users", "token", "li@example.cn"])
    assert token.exit_code == 0
    lines = token.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kjtb_")
    assert accounts.user_for_token(lines[0]).id == user.id
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {lines[0]}"})
    assert response.status_code == 200 and response.get_json()["email"] == "li@example.cn"


def test_users_create_refuses_weak_password_and_unknown_org(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["users", "create", "a@example.cn", "--name", "甲", "--role", "admin", "--password", "short"]
    )
    assert weak.exit_code != 0 and "密码至少需要8位" in weak.output
    no_org = runner.invoke(
        args=[
            "users",
            "create",
            "b@example.cn",
            "--name",
            "乙",
            "--role",
            "university",
            "--org",
            "不存在的大学",
            "--password",
            "Abcdefg123",
        ]
    )
    assert no_org.exit_code != 0 and "机构不存在" in no_org.output
    assert accounts.find_user("a@example.cn") is None and accounts.find_user("b@example.cn") is None


def test_create_admin(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "--email", "root@example.cn", "--password", "Admin2026x"]
    )
    assert result.exit_code == 0, result.output
    assert accounts.find_user("root@example.cn").is_admin


def test_demo_load_is_idempotent(app, tmp_path, monkeypatch):
    """Loads a small demo from the shared data, then a second start adds nothing."""
    import pytest

    from marketplace.demo import data_dir

    if not (data_dir() / "techmarket_51jishu" / "achievements.jsonl").exists():
        pytest.skip("shared/data is not beside the repository")
    runner = app.test_cli_runner()
    args = ["demo", "load", "--if-empty", "--achievements", "30", "--demands", "20", "--papers", "10"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "admin@demo.kjtb.cn" in first.output
    counts = (
        db.session.query(Achievement).count(),
        db.session.query(Demand).count(),
        db.session.query(Organization).count(),
    )
    assert counts[0] == 40 and counts[1] == 21
    assert db.session.query(Achievement).filter_by(status="published").count() >= 35
    second = runner.invoke(args=args)
    assert second.exit_code == 0 and "跳过" in second.output
    again = runner.invoke(args=["demo", "load", "--achievements", "30", "--demands", "20", "--papers", "10"])
    assert "未重复加载" in again.output
    assert (
        db.session.query(Achievement).count(),
        db.session.query(Demand).count(),
        db.session.query(Organization).count(),
    ) == counts
