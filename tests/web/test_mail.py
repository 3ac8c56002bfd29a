"""The e-mail outbox drained through a real SMTP conversation with a small in-process server; the
admins' outbox page; bulk-imported publications raise alerts like reviewed ones."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from marketplace import search
from marketplace.alerts import mail, services
from marketplace.alerts.models import EmailOutbox, Notification
from marketplace.extensions import db as _db
from marketplace.listings import importer


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    drop_after: int | None = None  # close the connection after this many accepted messages


class _Handler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        box: Mailbox = self.server.mailbox  # type: ignore[attr-defined]
        self.reply("220 test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-test\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip().strip("<>")
                if address in box.refuse:
                    self.reply("550 No such user")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                box.messages.append(email.message_from_bytes(data, policy=email.policy.default))
                box.envelopes.append((sender, recipients))
                self.reply("250 Queued")
                if box.drop_after is not None and len(box.messages) >= box.drop_after:
                    return  # the server goes away mid-session
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")


@pytest.fixture
def smtp(app) -> Iterator[Mailbox]:
    box = Mailbox()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.mailbox = box  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.server_address[1])
    try:
        yield box
    finally:
        app.config.update(saved)
        server.shutdown()
        server.server_close()


def queue(*addresses: str, subject: str = "订阅“氢冶金”有新科技成果") -> list[EmailOutbox]:
    rows = [EmailOutbox(to_address=a, subject=subject, body=f"您好，{a}：\n有新的科技成果。") for a in addresses]
    _db.session.add_all(rows)
    _db.session.commit()
    return rows


def test_unsent_mail_goes_out_once_with_readable_chinese(db, smtp):
    queue("a@example.cn", "b@example.cn")
    report = mail.send_pending()
    assert (report.sent, report.failed, report.stopped) == (2, 0, None)
    assert [m["To"] for m in smtp.messages] == ["a@example.cn", "b@example.cn"]
    assert smtp.messages[0]["Subject"] == "订阅“氢冶金”有新科技成果"
    assert "有新的科技成果" in smtp.messages[0].get_content()
    assert "科技淘宝" in smtp.messages[0]["From"]
    assert all(row.sent_at is not None for row in _db.session.scalars(select(EmailOutbox)))
    again = mail.send_pending()
    assert again.sent == 0 and len(smtp.messages) == 2  # nothing twice


def test_a_refused_recipient_fails_alone_and_is_given_up_after_the_limit(app, db, smtp):
    smtp.refuse.add("nobody@example.cn")
    bad, good = queue("nobody@example.cn", "ok@example.cn")
    report = mail.send_pending()
    assert (report.sent, report.failed) == (1, 1)
    _db.session.refresh(bad)
    assert bad.sent_at is None and bad.attempts == 1 and "550" in bad.last_error
    for _ in range(app.config["MAIL_MAX_ATTEMPTS"] + 2):
        mail.send_pending()
    _db.session.refresh(bad)
    assert bad.attempts == app.config["MAIL_MAX_ATTEMPTS"]  # no endless retries
    assert mail.pending_count() == 0
    assert mail.counts()["given_up"] == 1
    assert mail.retry(bad.id) is bad and mail.pending_count() == 1  # an admin may try again


def test_a_server_that_goes_away_stops_the_run_and_loses_nothing(db, smtp):
    smtp.drop_after = 1
    queue("a@example.cn", "b@example.cn", "c@example.cn")
    report = mail.send_pending()
    assert report.sent == 1 and report.stopped
    rows = list(_db.session.scalars(select(EmailOutbox).order_by(EmailOutbox.id)))
    assert rows[0].sent_at is not None
    assert rows[1].sent_at is None and rows[1].attempts == 1
    assert rows[2].sent_at is None and rows[2].attempts == 0  # waits for the next run
    smtp.drop_after = None
    assert mail.send_pending().sent == 2
    assert sorted(m["To"] for m in smtp.messages) == ["a@example.cn", "b@example.cn", "c@example.cn"]


def test_an_unreachable_server_counts_one_attempt(app, db):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1)  # nothing listens on port 1
    try:
        queue("a@example.cn")
        report = mail.send_pending()
    finally:
        app.config.update(MAIL_SERVER=None, MAIL_PORT=25)
    assert report.sent == 0 and report.stopped
    assert _db.session.scalar(select(EmailOutbox.attempts)) == 1


def test_without_mail_server_the_outbox_accumulates(app, db):
    assert not app.config.get("MAIL_SERVER")
    queue("a@example.cn")
    report = mail.send_pending()
    assert not report.configured and "MAIL_SERVER" in report.describe()
    assert mail.pending_count() == 1


def test_cli_send(app, db, smtp):
    queue("a@example.cn")
    result = app.test_cli_runner().invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert "已发送 1 封" in result.output and len(smtp.messages) == 1


def test_cli_send_without_server_says_so_and_fails(app, db):
    queue("a@example.cn")
    result = app.test_cli_runner().invoke(args=["alerts", "send"])
    assert result.exit_code == 1 and "MAIL_SERVER" in result.output


def test_admins_see_the_outbox_and_its_state(db, admin_client, smtp):
    smtp.refuse.add("nobody@example.cn")
    queue("nobody@example.cn", "ok@example.cn")
    page = admin_client.get("/admin/mail").get_data(as_text=True)
    assert "nobody@example.cn" in page and "待发送" in page and "立即发送" in page
    response = admin_client.post("/admin/mail/send", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "已发送 1 封，失败 1 封" in page
    failed = admin_client.get("/admin/mail?state=failed").get_data(as_text=True)
    assert "nobody@example.cn" in failed and "550" in failed and "ok@example.cn" not in failed
    row = _db.session.scalar(select(EmailOutbox).where(EmailOutbox.to_address == "nobody@example.cn"))
    admin_client.post(f"/admin/mail/{row.id}/retry", follow_redirects=True)
    _db.session.refresh(row)
    assert row.attempts == 0 and row.last_error is None


def test_the_outbox_page_without_server_explains(db, admin_client):
    queue("a@example.cn")
    page = admin_client.get("/admin/mail").get_data(as_text=True)
    assert "未配置发信服务器" in page and "a@example.cn" in page and "立即发送" not in page
    response = admin_client.post("/admin/mail/send", follow_redirects=True)
    assert "无法发送" in response.get_data(as_text=True)


def test_notify_writes_one_notification_and_mail_per_user(db, make_user):
    alice, bob = make_user("enterprise"), make_user("university")
    assert services.notify([alice, bob, alice], "新的引荐", "经纪人向您引荐了一项成果", "/demands/1") == 2
    _db.session.commit()
    assert _db.session.scalar(select(func.count(Notification.id))) == 2
    mails = list(_db.session.scalars(select(EmailOutbox)))
    assert {m.to_address for m in mails} == {alice.email, bob.email}
    assert "/demands/1" in mails[0].body


def test_bulk_imported_publications_alert_subscribers(db, index, make_user, make_achievement, login_as):
    """An operator's direct publish (bulk import) skips the review queue but not the alerts."""
    from werkzeug.datastructures import MultiDict

    subscriber = make_user("enterprise")
    services.save_search(subscriber, MultiDict({"q": "氢冶金"}))
    listing = make_achievement(status="draft", title="氢冶金直接还原工艺")
    importer.publish_imported(listing)
    _db.session.commit()
    search.catch_up(index)
    assert services.run_pending() == 1
    note = _db.session.scalar(select(Notification).where(Notification.user_id == subscriber.id))
    assert note is not None and "氢冶金直接还原工艺" in note.title
