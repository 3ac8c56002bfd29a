"""忘记密码: a reset link by e-mail, one use, expiring; the same answer for every address typed in;
a reset ends every old session and remember-me cookie; a newer request or a password change
retires older links. Rate limits on the request form: tests/web/test_rate_limits.py."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts import services as accounts
from marketplace.accounts.models import PasswordResetToken
from marketplace.alerts.models import EmailOutbox
from marketplace.core.audit import AuditLog
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from tests.conftest import PASSWORD
from tests.web.test_accounts import field_error, is_logged_in, post_login, text

NEW_PASSWORD = "Neues-Passw0rt"
LINK = re.compile(r"https?://\S+/password/reset/([A-Za-z0-9_-]+)")


def ask_for_link(client, email: str):
    return client.post("/password/forgot", data={"email": email})


def reset_mails(email: str | None = None) -> list[EmailOutbox]:
    stmt = select(EmailOutbox).where(EmailOutbox.subject.contains("重置密码")).order_by(EmailOutbox.id)
    if email:
        stmt = stmt.where(EmailOutbox.to_address == email)
    return list(db.session.scalars(stmt))


def link_token(mail: EmailOutbox) -> str:
    return LINK.search(mail.body).group(1)


def set_password(client, token: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    confirm = password if confirm is None else confirm
    return client.post(f"/password/reset/{token}", data={"new_password": password, "confirm": confirm})


@pytest.fixture
def person(make_user):
    return make_user("university", email="wang@example.cn", name="王老师")


def test_the_login_page_leads_to_the_form(client):
    login_page = text(client.get("/login"))
    assert 'data-testid="forgot-password"' in login_page and 'href="/password/forgot"' in login_page
    form = client.get("/password/forgot")
    assert form.status_code == 200 and "发送重置邮件" in text(form) and "30 分钟" in text(form)


def test_a_request_mails_a_link_and_stores_only_its_hash(client, person, app):
    response = ask_for_link(client, " Wang@Example.cn ")
    assert response.status_code == 302 and response.headers["Location"] == "/password/forgot?sent=1"
    assert "我们已向它发送了一封重置密码的邮件" in text(client.get(response.headers["Location"]))

    [mail] = reset_mails()
    assert mail.to_address == "wang@example.cn" and "王老师" in mail.body and "30 分钟" in mail.body
    assert app.config["SITE_URL"] + "/password/reset/" in mail.body
    token = link_token(mail)
    assert len(token) >= 40  # secrets.token_urlsafe(32)
    row = db.session.scalars(select(PasswordResetToken)).one()
    assert row.user_id == person.id and row.used_at is None and row.requested_ip == "127.0.0.1"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "password_reset_request")).one()
    assert audit.object_id == person.id and audit.actor_id is None


def test_unknown_and_disabled_addresses_get_the_same_answer_and_no_mail(client, make_user, person):
    gone = make_user("university", email="gone@example.cn")
    accounts.set_disabled(gone, True, make_user("admin", org=None))
    db.session.commit()
    answers = []
    for email in ("wang@example.cn", "nobody@example.cn", "gone@example.cn"):
        response = ask_for_link(client, email)
        page = client.get(response.headers["Location"])
        answers.append((response.status_code, response.headers["Location"], page.status_code, _without_token(page)))
    assert answers[0] == answers[1] == answers[2]
    assert [m.to_address for m in reset_mails()] == ["wang@example.cn"]


def _without_token(response) -> str:
    return re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "", text(response))


def test_a_malformed_address_is_told_beside_the_field(client):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 422 and field_error(text(response), "email") == "邮箱格式不正确"
    assert field_error(text(ask_for_link(client, "")), "email") == "请填写邮箱"


def test_the_link_sets_a_new_password_once(app, client, person):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    form = client.get(f"/password/reset/{token}")
    assert form.status_code == 200 and "设置新密码" in text(form)
    # The token in the address never travels to another site in a Referer; the page is not cached.
    assert form.headers["Referrer-Policy"] == "same-origin" and form.headers["Cache-Control"] == "no-store"

    # The same rules as registration, told beside the field; the link stays usable meanwhile.
    weak = set_password(client, token, "abcdefgh")
    assert weak.status_code == 422 and field_error(text(weak), "new_password") == "密码需同时包含字母和数字"
    mismatch = set_password(client, token, NEW_PASSWORD, "Other-Passw0rd")
    assert mismatch.status_code == 422 and field_error(text(mismatch), "confirm") == "两次输入的新密码不一致"

    done = set_password(client, token)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert "密码已重置" in text(client.get("/login"))
    fresh = app.test_client()
    assert post_login(fresh, person.email, PASSWORD).status_code == 422
    assert post_login(fresh, person.email, NEW_PASSWORD).status_code == 302
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "password_reset")) == 1

    # One use: the link is spent, on GET and on POST.
    again = client.get(f"/password/reset/{token}")
    assert again.status_code == 410 and "已经使用过" in text(again)
    replay = set_password(client, token, "Third-Passw0rd")
    assert replay.status_code == 410
    assert post_login(app.test_client(), person.email, NEW_PASSWORD).status_code == 302


def test_an_expired_link_is_refused_and_changes_nothing(app, client, person):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    row = db.session.scalars(select(PasswordResetToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 410 and "已过期" in text(page) and "重新申请" in text(page)
    assert set_password(client, token).status_code == 410
    assert post_login(app.test_client(), person.email, PASSWORD).status_code == 302


def test_the_expiry_is_configurable(app, client, person):
    app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] = 5
    try:
        ask_for_link(client, person.email)
    finally:
        app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] = 30
    row = db.session.scalars(select(PasswordResetToken)).one()
    assert row.expires_at - row.created_at == timedelta(minutes=5) and "5 分钟" in reset_mails()[0].body


def test_a_wrong_token_is_refused(client, person):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    for wrong in ("not-a-token", token[:-1], token.upper() if token.upper() != token else token.lower()):
        page = client.get(f"/password/reset/{wrong}")
        assert page.status_code == 404 and "重置链接无效" in text(page)
        assert set_password(client, wrong).status_code == 404


def test_the_reset_ends_old_sessions_and_remember_me_cookies(app, person, login_as):
    old_session = login_as(person)
    remembered = app.test_client()
    post_login(remembered, person.email, remember="1")
    remembered.delete_cookie("session")  # a browser reopened later: only the remember-me cookie
    assert is_logged_in(old_session) and is_logged_in(remembered)
    version = person.session_version

    client = app.test_client()
    ask_for_link(client, person.email)
    set_password(client, link_token(reset_mails()[0]))

    db.session.refresh(person)
    assert person.session_version == version + 1
    assert not is_logged_in(old_session)
    assert not is_logged_in(remembered)


def test_using_a_link_while_logged_in_logs_that_browser_out(person, login_as):
    client = login_as(person)
    ask_for_link(client, person.email)
    assert set_password(client, link_token(reset_mails()[0])).status_code == 302
    assert not is_logged_in(client)


def test_a_newer_request_retires_the_older_link(client, person):
    ask_for_link(client, person.email)
    ask_for_link(client, person.email)
    older, newer = (link_token(mail) for mail in reset_mails())
    page = client.get(f"/password/reset/{older}")
    assert page.status_code == 410 and "已被更新的申请" in text(page)
    assert client.get(f"/password/reset/{newer}").status_code == 200


def test_a_password_change_retires_open_links(client, person, login_as):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    login_as(person).post(
        "/me/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert client.get(f"/password/reset/{token}").status_code == 410
    assert set_password(client, token, "Third-Passw0rd").status_code == 410


def test_an_admin_reset_retires_open_links(client, person, make_user):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    accounts.reset_password(person, make_user("admin", org=None))
    db.session.commit()
    assert client.get(f"/password/reset/{token}").status_code == 410


def test_a_link_of_an_account_disabled_since_is_refused(client, person, make_user):
    ask_for_link(client, person.email)
    token = link_token(reset_mails()[0])
    accounts.set_disabled(person, True, make_user("admin", org=None))
    db.session.commit()
    page = client.get(f"/password/reset/{token}")
    assert page.status_code == 403 and "已被停用" in text(page)


def test_the_forms_need_the_csrf_token(client, person, csrf_enabled):
    assert client.post("/password/forgot", data={"email": person.email}).status_code == 400
    assert reset_mails() == []
    page = text(client.get("/password/forgot"))
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/password/forgot", data={"email": person.email, "csrf_token": csrf}).status_code == 302
    token = link_token(reset_mails()[0])
    assert set_password(client, token).status_code == 400
    assert client.get(f"/password/reset/{token}").status_code == 200  # still usable


def test_the_admin_mail_outbox_does_not_show_a_live_reset_link(client, person, make_user, login_as):
    ask_for_link(client, person.email)
    [mail] = reset_mails()
    token = link_token(mail)
    page = text(login_as(make_user("admin", org=None)).get("/admin/mail"))
    assert "科技淘宝：重置密码" in page and "王老师" in page  # the mail is listed, its text readable
    assert token not in page and "/password/reset/••••••（重置链接已隐藏）" in page
    assert set_password(client, token).status_code == 302  # and the link itself still works
