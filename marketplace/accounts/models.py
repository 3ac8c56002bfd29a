from __future__ import annotations

import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.taxonomy import BrokerLevel, MembershipStatus, OrgType, Role
from ..core.timeutil import utcnow
from ..extensions import db


class Organization(db.Model):
    __tablename__ = "organizations"
    AUDIT_TYPE = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_type: Mapped[str] = mapped_column(String(20), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    district: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="organization", foreign_keys="User.organization_id")

    @property
    def type_label(self) -> str:
        return OrgType.label_of(self.org_type)

    @property
    def is_research(self) -> bool:
        return self.org_type in (OrgType.UNIVERSITY, OrgType.INSTITUTE)

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    AUDIT_TYPE = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    membership_status: Mapped[str | None] = mapped_column(String(20))
    is_org_manager: Mapped[bool] = mapped_column(Boolean, default=False)
    broker_level: Mapped[str | None] = mapped_column(String(20))
    broker_cert_no: Mapped[str | None] = mapped_column(String(64))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped when the password changes or is reset, so remember-me cookies and sessions die.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    organization: Mapped[Organization | None] = relationship(back_populates="members", foreign_keys=[organization_id])

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return not self.is_disabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return Role.label_of(self.role)

    @property
    def broker_level_label(self) -> str:
        return BrokerLevel.label_of(self.broker_level)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_official(self) -> bool:
        return self.role == Role.OFFICIAL

    @property
    def active_org(self) -> Organization | None:
        """The organisation this user acts for: only once the membership is approved."""
        if self.organization is not None and self.membership_status == MembershipStatus.ACTIVE:
            return self.organization
        return None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    AUDIT_TYPE = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class PasswordResetToken(db.Model):
    """A "忘记密码" link: one use, expiring. Only the SHA-256 of the token is stored, so a copy of
    the database cannot be turned into working links."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    requested_ip: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()

    hash = ApiToken.hash  # the same SHA-256 of the plain token
