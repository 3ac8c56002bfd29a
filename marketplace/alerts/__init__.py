"""Saved searches (订阅), their alerts, the notification centre and the e-mail outbox."""
