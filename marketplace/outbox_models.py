"""Tables of the search bridge (`marketplace/search.py`): the outbox and the admins' domain words.

Kept apart from `search.py` so that importing the models (migrations, every command) never
imports the search library."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .core.timeutil import utcnow
from .extensions import db


class SearchOutbox(db.Model):
    """One row per change to a searchable row, written in the same transaction as the change.

    The indexer reads rows after the index's last applied id and recomputes each document from
    the database, so a row says only *what* changed, never how. On SQLite the id is AUTOINCREMENT:
    ids must never be reused after old rows are pruned, or an index would skip them."""

    __tablename__ = "search_outbox"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)  # the primary key index is the index on id
    kind: Mapped[str] = mapped_column(String(20))  # achievement | demand | organization | org_listings
    object_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<SearchOutbox {self.id} {self.kind}:{self.object_id}>"


class SearchWord(db.Model):
    """A domain term added by an administrator (`flask search add-word`), given to the segmenter
    as a user word on every node; takes effect for documents after a reindex."""

    __tablename__ = "search_words"

    word: Mapped[str] = mapped_column(String(50), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
