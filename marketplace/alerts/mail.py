"""Draining the e-mail outbox through the configured SMTP server.

Mail is written to `email_outbox` in the transaction of the event it reports (an alert, an
introduction, a challenge result), so it is never lost and never sent for a change that rolled
back. `send_pending()` sends the rows that are not sent yet:

* one SMTP connection per run (SMTPS with MAIL_USE_SSL, STARTTLS with MAIL_USE_TLS, login when
  MAIL_USERNAME is set);
* one row at a time, claimed with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
  workers running it at once never send the same row twice; the row is marked sent in the same
  transaction that held the claim;
* a refused recipient or message counts a failed attempt on that row and goes on; a connection
  failure counts an attempt on the row in hand and stops the run (the rest wait for the next one);
* after MAIL_MAX_ATTEMPTS failed attempts a row is left alone and shown as failed to admins.

With MAIL_SERVER unset nothing is sent: the outbox accumulates and admins see it at /admin/mail.
"""

from __future__ import annotations

import contextlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import func, select

from ..core.timeutil import utcnow
from ..extensions import db
from .models import EmailOutbox

ERROR_CHARS = 500


@dataclass
class SendReport:
    configured: bool
    sent: int = 0
    failed: int = 0
    stopped: str | None = None  # why the run stopped early (connection trouble)

    def describe(self) -> str:
        if not self.configured:
            return "未配置发信服务器（MAIL_SERVER），邮件仅保存在发件箱中。"
        text = f"已发送 {self.sent} 封，失败 {self.failed} 封。"
        if self.stopped:
            text += f"发信中断：{self.stopped}"
        return text


def configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _pending_stmt():
    return (
        select(EmailOutbox)
        .where(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts < current_app.config["MAIL_MAX_ATTEMPTS"])
        .order_by(EmailOutbox.id)
    )


def pending_count() -> int:
    stmt = select(func.count(EmailOutbox.id)).where(
        EmailOutbox.sent_at.is_(None), EmailOutbox.attempts < current_app.config["MAIL_MAX_ATTEMPTS"]
    )
    return db.session.scalar(stmt) or 0


def counts() -> dict[str, int]:
    """Rows by state: queued (never tried), failed (tried, not sent), sent; and given_up."""
    rows = db.session.execute(
        select(
            func.count(EmailOutbox.id).filter(EmailOutbox.sent_at.is_not(None)),
            func.count(EmailOutbox.id).filter(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts == 0),
            func.count(EmailOutbox.id).filter(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts > 0),
            func.count(EmailOutbox.id).filter(
                EmailOutbox.sent_at.is_(None), EmailOutbox.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
            ),
        )
    ).one()
    return {"sent": rows[0], "queued": rows[1], "failed": rows[2], "given_up": rows[3]}


def message_for(row: EmailOutbox) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = row.to_address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"outbox{row.id}", domain=_domain(config["MAIL_FROM"]))
    message.set_content(row.body)  # UTF-8; Chinese subjects are RFC 2047-encoded by the policy
    return message


def _domain(address: str) -> str:
    tail = address.rsplit("@", 1)[-1].strip(" >")
    return tail or "localhost"


def _connect() -> smtplib.SMTP:
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def _fail(row: EmailOutbox, error: str) -> None:
    row.attempts += 1
    row.last_attempt_at = utcnow()
    row.last_error = error[:ERROR_CHARS]


def send_pending(limit: int = 100) -> SendReport:
    """Send up to `limit` unsent rows. Commits after each row."""
    report = SendReport(configured=configured())
    if not report.configured:
        return report
    smtp: smtplib.SMTP | None = None
    last_id = 0  # each row at most once per run: a refused one waits for the next run
    try:
        for _ in range(limit):
            stmt = _pending_stmt().where(EmailOutbox.id > last_id).limit(1).with_for_update(skip_locked=True)
            row = db.session.scalars(stmt).first()
            if row is None:
                break
            last_id = row.id
            try:
                if smtp is None:
                    smtp = _connect()
                smtp.send_message(message_for(row))
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                _fail(row, f"{type(exc).__name__}: {exc}")
                report.failed += 1
            except (TimeoutError, OSError, smtplib.SMTPException) as exc:
                _fail(row, f"{type(exc).__name__}: {exc}")
                report.failed += 1
                report.stopped = f"{type(exc).__name__}: {exc}"[:200]
                db.session.commit()
                smtp = None  # the connection is gone or unusable
                break
            else:
                row.sent_at = row.last_attempt_at = utcnow()
                report.sent += 1
            db.session.commit()
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
    return report


def retry(row_id: int) -> EmailOutbox | None:
    """Give a failed row another round of attempts (an admin fixed the address or the server)."""
    row = db.session.get(EmailOutbox, row_id)
    if row is None or row.sent_at is not None:
        return None
    row.attempts = 0
    row.last_error = None
    return row
