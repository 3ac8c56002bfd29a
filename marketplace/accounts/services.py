"""Organisations, users, memberships, passwords and API tokens. Services flush; the caller
(view, API or CLI) commits once per unit of work."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app, url_for
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .. import search
from ..alerts.models import EmailOutbox
from ..core import audit, policy
from ..core.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.taxonomy import BrokerLevel, MembershipStatus, OrgType, Role
from ..core.timeutil import utcnow
from ..core.validators import optional_value, parse_id, validate_email_address, validate_phone, validate_uscc
from ..extensions import db
from .models import ApiToken, Organization, PasswordResetToken, User

TOKEN_PREFIX = "kjtb_"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # how often a token's last use is written


def taxonomy():
    return current_app.extensions["taxonomy"]


# ---------------------------------------------------------------------------------------------
# Organisations


def find_org(name: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.name == name.strip()))


def get_org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound("机构不存在")
    return org


def clean_org(data: dict[str, Any], existing: Organization | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "请填写机构名称"
    elif len(name) > 200:
        errors["name"] = "机构名称不能超过200个字"
    else:
        other = find_org(name)
        if other is not None and other is not existing:
            errors["name"] = "该机构已在平台注册，请选择“加入已有机构”"
    out["name"] = name
    org_type = OrgType.parse(data.get("org_type"))
    if org_type is None:
        errors["org_type"] = "请选择机构类型"
    out["org_type"] = org_type.value if org_type else None
    uscc = (data.get("uscc") or "").strip()
    if uscc:
        try:
            uscc = validate_uscc(uscc)
        except ValueError as exc:
            errors["uscc"] = str(exc)
        else:
            other = db.session.scalar(select(Organization).where(Organization.uscc == uscc))
            if other is not None and other is not existing:
                errors["uscc"] = f"该统一社会信用代码已被“{other.name}”使用"
    out["uscc"] = uscc or None
    district_raw = (data.get("district") or "").strip()
    if district_raw:
        district = taxonomy().parse_district(district_raw)
        if district is None:
            errors["district"] = "所在区县不在可选范围内"
        out["district"] = district.code if district else None
    else:
        out["district"] = None
    out["contact_phone"] = optional_value(data, "contact_phone", validate_phone, errors)
    out["contact_email"] = optional_value(data, "contact_email", validate_email_address, errors)
    for key, limit in (("address", 300), ("contact_name", 100), ("description", 5000)):
        value = (data.get(key) or "").strip()
        if len(value) > limit:
            errors[key] = f"不能超过{limit}个字"
        out[key] = value or None
    if errors:
        raise ValidationFailed(errors)
    return out


def create_org(data: dict[str, Any], actor: User | None = None, *, verified: bool = False) -> Organization:
    org = Organization(**clean_org(data), verified=verified, verified_at=utcnow() if verified else None)
    db.session.add(org)
    db.session.flush()
    audit.record(actor, "create", org, details={"name": org.name})
    search.enqueue(org)
    return org


def update_org(org: Organization, data: dict[str, Any], actor: User) -> Organization:
    if not policy.can_manage_org(actor, org):
        raise PermissionDenied("只有机构管理员或平台管理员可以修改机构信息")
    cleaned = clean_org({**_org_dict(org), **data}, existing=org)
    changed = {k: v for k, v in cleaned.items() if getattr(org, k) != v}
    if org.verified and not policy.is_admin(actor) and {"name", "uscc", "org_type"} & changed.keys():
        raise PermissionDenied("已认证机构的名称、类型和信用代码需由平台管理员修改")
    for key, value in changed.items():
        setattr(org, key, value)
    if changed:
        audit.record(actor, "update", org, details={"fields": sorted(changed)})
        search.enqueue(org, listings=bool({"name", "org_type"} & changed.keys()))
    return org


# The organisation fields a form or an update may carry.
ORG_FIELDS = (
    "name",
    "org_type",
    "uscc",
    "district",
    "address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "description",
)


def _org_dict(org: Organization) -> dict[str, Any]:
    return {key: getattr(org, key) for key in ORG_FIELDS}


def set_verified(org: Organization, verified: bool, actor: User, reason: str | None = None) -> Organization:
    if not policy.is_admin(actor):
        raise PermissionDenied("只有平台管理员可以认证机构")
    if org.verified == verified:
        raise Conflict("机构已是该认证状态")
    org.verified = verified
    org.verified_at = utcnow() if verified else None
    audit.record(
        actor,
        "verify" if verified else "unverify",
        org,
        from_state="verified" if not verified else "unverified",
        to_state="verified" if verified else "unverified",
        reason=reason,
    )
    search.enqueue(org)
    return org


# ---------------------------------------------------------------------------------------------
# Users


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def password_problem(password: str, email: str = "") -> str | None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        return f"密码至少需要{minimum}位"
    if len(password) > 128:
        return "密码不能超过128位"
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        return "密码需同时包含字母和数字"
    if email and password.lower() == email.lower().split("@")[0]:
        return "密码不能与邮箱用户名相同"
    return None


def hash_password(password: str) -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD")
    return generate_password_hash(password, method=method) if method else generate_password_hash(password)


ORG_ROLE_TYPES = {
    Role.UNIVERSITY.value: {OrgType.UNIVERSITY.value, OrgType.INSTITUTE.value},
    Role.ENTERPRISE.value: {OrgType.ENTERPRISE.value},
    Role.BROKER.value: {
        OrgType.AGENCY.value,
        OrgType.UNIVERSITY.value,
        OrgType.INSTITUTE.value,
        OrgType.ENTERPRISE.value,
        OrgType.OTHER.value,
    },
    Role.FINANCE.value: {OrgType.FINANCE.value},
    Role.OFFICIAL.value: {OrgType.GOVERNMENT.value},
}


def clean_user(data: dict[str, Any], *, require_password: bool = True) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    try:
        out["email"] = validate_email_address(data.get("email") or "")
    except ValueError as exc:
        errors["email"] = str(exc)
    else:
        if find_user(out["email"]) is not None:
            errors["email"] = "该邮箱已注册，请直接登录"
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "请填写姓名"
    elif len(name) > 100:
        errors["name"] = "姓名不能超过100个字"
    out["name"] = name
    role = Role.parse(data.get("role"))
    if role is None:
        errors["role"] = "请选择身份"
    out["role"] = role.value if role else None
    out["phone"] = optional_value(data, "phone", validate_phone, errors)
    password = data.get("password") or ""
    if require_password:
        problem = password_problem(password, out.get("email", ""))
        if problem:
            errors["password"] = problem
        elif "password_confirm" in data and data["password_confirm"] != password:
            errors["password_confirm"] = "两次输入的密码不一致"
    out["password"] = password
    if role == Role.BROKER:
        level = BrokerLevel.parse(data.get("broker_level"))
        if level is None:
            errors["broker_level"] = "请选择技术经纪人证书等级"
        cert = (data.get("broker_cert_no") or "").strip()
        if not cert:
            errors["broker_cert_no"] = "请填写技术经纪人证书编号"
        elif len(cert) > 64:
            errors["broker_cert_no"] = "证书编号过长"
        out["broker_level"] = level.value if level else None
        out["broker_cert_no"] = cert
    if errors:
        raise ValidationFailed(errors)
    return out


def create_user(
    data: dict[str, Any],
    org: Organization | None = None,
    *,
    actor: User | None = None,
    membership: MembershipStatus = MembershipStatus.ACTIVE,
    manager: bool = False,
) -> User:
    cleaned = clean_user(data)
    if org is not None:
        allowed = ORG_ROLE_TYPES.get(cleaned["role"])
        if allowed is not None and org.org_type not in allowed:
            raise ValidationFailed({"role": f"“{Role.label_of(cleaned['role'])}”身份不能加入{org.type_label}类机构"})
    elif cleaned["role"] in (Role.UNIVERSITY.value, Role.ENTERPRISE.value, Role.FINANCE.value):
        raise ValidationFailed({"organization": "高校/院所、企业和金融机构成员需要选择或新建所属机构"})
    user = User(
        email=cleaned["email"],
        name=cleaned["name"],
        phone=cleaned["phone"],
        role=cleaned["role"],
        password_hash=hash_password(cleaned["password"]),
        organization=org,
        membership_status=membership.value if org is not None else None,
        is_org_manager=manager,
        broker_level=cleaned.get("broker_level"),
        broker_cert_no=cleaned.get("broker_cert_no"),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor or user, "create", user, details={"role": user.role, "org": org.name if org else None})
    return user


def register(data: dict[str, Any]) -> User:
    """Self-registration: with a new organisation (the user becomes its manager) or by asking to
    join an existing one (pending until its manager or an admin approves)."""
    role = Role.parse(data.get("role"))
    if role in (Role.ADMIN, Role.OFFICIAL):
        raise ValidationFailed({"role": "管理员和科技管理人员账号由平台开通，不能自行注册"})
    mode = data.get("org_mode") or "new"
    org: Organization | None = None
    errors: dict[str, str] = {}
    if mode == "existing":
        org_id = data.get("org_id")
        org = db.session.get(Organization, pk) if (pk := parse_id(org_id)) else None
        if org is None:
            errors["org_id"] = "请选择要加入的机构"
    elif mode == "new":
        try:
            clean_org(_new_org_data(data))
        except ValidationFailed as exc:
            # Form keys are org_<field>; "org_type" is both the form key and the field name.
            errors.update({key if key.startswith("org_") else f"org_{key}": msg for key, msg in exc.fields.items()})
    elif mode != "none":
        errors["org_mode"] = "请选择机构"
    try:
        clean_user(data)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    if mode == "new":
        org = create_org(_new_org_data(data))
        user = create_user(data, org, membership=MembershipStatus.ACTIVE, manager=True)
    elif mode == "existing":
        user = create_user(data, org, membership=MembershipStatus.PENDING)
        audit.record(
            user,
            "join_request",
            user,
            to_state=MembershipStatus.PENDING.value,
            details={"org_id": org.id, "org": org.name},
        )
    else:
        user = create_user(data, None)
    return user


def _new_org_data(data: dict[str, Any]) -> dict[str, Any]:
    """The new organisation's fields from registration input, where each is prefixed org_
    (org_name, org_type, org_uscc ...); org_mode and org_id are not organisation fields."""
    org_data = {
        key.removeprefix("org_"): value
        for key, value in data.items()
        if key.startswith("org_") and key not in ("org_mode", "org_id")
    }
    if "type" in org_data:
        org_data.setdefault("org_type", org_data.pop("type"))
    return org_data


def decide_membership(member: User, approve: bool, actor: User, reason: str | None = None) -> User:
    if member.organization is None or not policy.can_manage_org(actor, member.organization):
        raise PermissionDenied("只有该机构的管理员或平台管理员可以审批加入申请")
    if member.membership_status != MembershipStatus.PENDING:
        raise Conflict("该申请已处理")
    new = MembershipStatus.ACTIVE if approve else MembershipStatus.REJECTED
    audit.record(
        actor,
        "join_approve" if approve else "join_reject",
        member,
        from_state=member.membership_status,
        to_state=new.value,
        reason=reason,
        details={"org_id": member.organization_id},
    )
    member.membership_status = new.value
    return member


def pending_members(org: Organization) -> list[User]:
    stmt = (
        select(User)
        .where(User.organization_id == org.id, User.membership_status == MembershipStatus.PENDING.value)
        .order_by(User.id)
    )
    return list(db.session.scalars(stmt))


def authenticate(email: str, password: str) -> User:
    user = find_user(email or "")
    # Same message for unknown email and wrong password, so accounts cannot be enumerated.
    if user is None or not check_password_hash(user.password_hash, password or ""):
        raise ServiceError("邮箱或密码错误", {"password": "邮箱或密码错误"})
    if user.is_disabled:
        raise PermissionDenied("该账号已被停用，请联系平台管理员")
    user.last_login_at = utcnow()
    return user


def change_password(user: User, old: str, new: str, confirm: str | None = None) -> None:
    errors: dict[str, str] = {}
    if not check_password_hash(user.password_hash, old or ""):
        errors["old_password"] = "原密码不正确"
    problem = password_problem(new or "", user.email)
    if problem:
        errors["new_password"] = problem
    elif confirm is not None and confirm != new:
        errors["confirm"] = "两次输入的新密码不一致"
    if errors:
        raise ValidationFailed(errors)
    user.password_hash = hash_password(new)
    user.session_version += 1
    invalidate_reset_links(user)
    audit.record(user, "change_password", user)


def reset_password(user: User, actor: User) -> str:
    """Admin reset: a new random password, returned once to show to the admin."""
    if not policy.is_admin(actor):
        raise PermissionDenied("只有平台管理员可以重置密码")
    new = secrets.token_urlsafe(9) + "7a"
    user.password_hash = hash_password(new)
    user.session_version += 1
    invalidate_reset_links(user)
    audit.record(actor, "reset_password", user)
    return new


def set_disabled(user: User, disabled: bool, actor: User, reason: str | None = None) -> User:
    if not policy.is_admin(actor):
        raise PermissionDenied("只有平台管理员可以停用账号")
    if user.id == actor.id:
        raise Conflict("不能停用自己的账号")
    if user.is_disabled == disabled:
        raise Conflict("账号已是该状态")
    user.is_disabled = disabled
    user.session_version += 1
    audit.record(actor, "disable" if disabled else "enable", user, reason=reason)
    return user


def load_user_for_session(user_id: str) -> User | None:
    """Flask-Login's user loader: 'id:version' so a password change ends other sessions."""
    raw_id, _, version = user_id.partition(":")
    if (pk := parse_id(raw_id)) is None:
        return None
    user = db.session.get(User, pk)
    if user is None or str(user.session_version) != version or user.is_disabled:
        return None
    return user


# ---------------------------------------------------------------------------------------------
# "忘记密码": one-time, expiring reset links


class ResetLinkSpent(ServiceError):
    """The link was used, has expired, or a newer request or a password change replaced it."""

    status = 410
    code = "reset_link_spent"


RESET_LINK_UNKNOWN = "重置链接无效，请检查邮件中的链接是否完整，或重新申请"
RESET_LINK_USED = "此重置链接已经使用过。如需再次重置密码，请重新申请。"
RESET_LINK_EXPIRED = "重置链接已过期，或已被更新的申请、密码修改取代。请重新申请。"


def request_password_reset(email: str, requested_ip: str | None = None) -> str | None:
    """Mail a reset link to the account with this e-mail address, if there is an active one.

    An address that is not an e-mail address is a ValidationFailed on `email`; otherwise the
    caller answers the same whether or not a mail was written, so the form cannot be used to
    find out who has an account. The link holds a random token; only its hash is stored. An
    earlier link of the same account stops working. Returns the plain token, or None when no
    mail was written."""
    email = (email or "").strip()
    try:
        validate_email_address(email)
    except ValueError as exc:
        raise ValidationFailed({"email": "请填写邮箱" if not email else str(exc)}) from None
    user = find_user(email) if len(email) <= 200 else None
    if user is None or user.is_disabled:
        return None
    invalidate_reset_links(user)
    plain = secrets.token_urlsafe(32)
    ip = (requested_ip or "")[:45] or None
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"]
    now = utcnow()
    token = PasswordResetToken(
        user_id=user.id,
        token_hash=PasswordResetToken.hash(plain),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
        requested_ip=ip,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(None, "password_reset_request", user, details={"token_id": token.id, "ip": ip})
    site = current_app.config.get("SITE_URL", "").rstrip("/")
    link = site + url_for("accounts.reset_password_with_link", token=plain)
    db.session.add(
        EmailOutbox(
            to_address=user.email,
            subject="科技淘宝：重置密码",
            body=f"{user.name}，您好：\n\n有人（可能是您本人）申请重置科技淘宝账号 {user.email} 的密码。"
            f"请在 {minutes} 分钟内打开下面的链接设置新密码，链接只能使用一次：\n\n{link}\n\n"
            "如果这不是您本人的操作，请忽略本邮件，您的密码不会改变。\n",
        )
    )
    return plain


def reset_link(plain: str) -> PasswordResetToken:
    """The reset token behind a link, if it can still be used; refusals say why, in Chinese."""
    token = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == PasswordResetToken.hash(plain or ""))
    )
    if token is None:
        raise NotFound(RESET_LINK_UNKNOWN)
    if token.used_at is not None:
        raise ResetLinkSpent(RESET_LINK_USED)
    if token.expires_at <= utcnow():
        raise ResetLinkSpent(RESET_LINK_EXPIRED)
    if token.user.is_disabled:
        raise PermissionDenied("该账号已被停用，请联系平台管理员")
    return token


def reset_password_with_link(plain: str, new: str, confirm: str, requested_ip: str | None = None) -> User:
    """Set a new password through a reset link (same rules as registration). The link is spent
    by this call, however many requests race with it; the session version changes, which ends
    every session and remember-me cookie of the account."""
    token = reset_link(plain)
    user = token.user
    problem = password_problem(new or "", user.email)
    if problem:
        raise ValidationFailed({"new_password": problem})
    if confirm != new:
        raise ValidationFailed({"confirm": "两次输入的新密码不一致"})
    now = utcnow()
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == token.id, *_usable(now))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ResetLinkSpent(RESET_LINK_USED)
    db.session.refresh(token)
    user.password_hash = hash_password(new)
    user.session_version += 1
    invalidate_reset_links(user)
    audit.record(user, "password_reset", user, details={"token_id": token.id, "ip": (requested_ip or "")[:45] or None})
    return user


def invalidate_reset_links(user: User) -> None:
    """Every reset link of this user that could still be used stops working now."""
    now = utcnow()
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, *_usable(now))
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def _usable(now) -> tuple:
    """A reset link that can still be used: not used, not expired."""
    return PasswordResetToken.used_at.is_(None), PasswordResetToken.expires_at > now


# ---------------------------------------------------------------------------------------------
# API tokens


def create_token(user: User, name: str = "", actor: User | None = None) -> str:
    """A new token; only its hash is stored, so the plain value is returned this once."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], prefix=plain[:12], token_hash=ApiToken.hash(plain))
    db.session.add(token)
    db.session.flush()
    audit.record(actor or user, "token_create", token, details={"user_id": user.id, "prefix": token.prefix})
    return plain


def user_for_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(plain)))
    if token is None or token.revoked_at is not None or token.user.is_disabled:
        return None
    now = utcnow()
    # The token page shows the minute of last use; writing it on every API call made each read a
    # write (an UPDATE and a commit per request, rows locked by a script's parallel calls).
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return token.user


def revoke_token(token: ApiToken, actor: User) -> None:
    if token.user_id != actor.id and not policy.is_admin(actor):
        raise PermissionDenied()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token_revoke", token, details={"prefix": token.prefix})


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))
