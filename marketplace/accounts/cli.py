"""`flask orgs ...` and `flask users ...`: used by people, scripts and tests."""

from __future__ import annotations

import getpass

import click
from flask.cli import AppGroup

from ..core.errors import ServiceError
from ..core.taxonomy import OrgType, Role
from ..extensions import db
from . import services

orgs_cli = AppGroup("orgs", help="管理机构 (organisations)")
users_cli = AppGroup("users", help="管理用户 (users)")


def _fail(exc: ServiceError) -> None:
    db.session.rollback()
    detail = "；".join(f"{key}: {msg}" for key, msg in exc.fields.items())
    raise click.ClickException(f"{exc.message}{'：' + detail if detail else ''}")


@orgs_cli.command("create")
@click.argument("name")
@click.option(
    "--type",
    "org_type",
    required=True,
    type=click.Choice([t.value for t in OrgType]),
    help="university|institute|enterprise|agency|government|other",
)
@click.option("--uscc", help="统一社会信用代码 (18 characters, check character validated)")
@click.option("--district", help="district code or name, e.g. 371102 or 东港区")
@click.option("--verified", is_flag=True, help="mark the organisation verified")
def create_org(name: str, org_type: str, uscc: str | None, district: str | None, verified: bool) -> None:
    """Create an organisation."""
    try:
        org = services.create_org(
            {"name": name, "org_type": org_type, "uscc": uscc, "district": district}, verified=verified
        )
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"created organisation {org.id}: {org.name} ({org.type_label}{'，已认证' if org.verified else ''})")


@orgs_cli.command("verify")
@click.argument("name")
def verify_org(name: str) -> None:
    """Mark an organisation verified (as the system)."""
    org = services.find_org(name)
    if org is None:
        raise click.ClickException(f"机构不存在：{name}")
    if not org.verified:
        from .. import search
        from ..core import audit
        from ..core.timeutil import utcnow

        org.verified, org.verified_at = True, utcnow()
        audit.record(None, "verify", org, from_state="unverified", to_state="verified", reason="CLI")
        search.enqueue(org)
        db.session.commit()
    click.echo(f"verified: {org.name}")


@orgs_cli.command("list")
def list_orgs() -> None:
    """List organisations."""
    from sqlalchemy import select

    from .models import Organization

    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        click.echo(f"{org.id}\t{org.name}\t{org.type_label}\t{'已认证' if org.verified else '未认证'}")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="name of an existing organisation")
@click.option("--password", required=True)
@click.option("--broker-level", type=click.Choice(["junior", "intermediate", "manager"]), default=None)
@click.option("--broker-cert", default=None, help="broker certificate number")
@click.option("--manager", is_flag=True, help="make the user a manager of the organisation")
def create_user(email, name, role, org_name, password, broker_level, broker_cert, manager) -> None:
    """Create a user (membership approved)."""
    org = None
    if org_name:
        org = services.find_org(org_name)
        if org is None:
            raise click.ClickException(f"机构不存在：{org_name}（先用 flask orgs create 创建）")
    data = {"email": email, "name": name, "role": role, "password": password}
    if role == Role.BROKER:
        data |= {"broker_level": broker_level or "junior", "broker_cert_no": broker_cert or "未填写"}
    try:
        user = services.create_user(data, org, manager=manager)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"created user {user.id}: {user.email} ({user.role_label})")


@users_cli.command("create-admin")
@click.option("--email", prompt="管理员邮箱")
@click.option("--name", default="平台管理员")
@click.option("--password", default=None, help="prompted for when omitted")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Create an administrator (asks for the password)."""
    if password is None:
        password = getpass.getpass("密码: ")
        if getpass.getpass("再次输入密码: ") != password:
            raise click.ClickException("两次输入的密码不一致")
    try:
        user = services.create_user({"email": email, "name": name, "role": "admin", "password": password})
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"created admin {user.id}: {user.email}")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="a label for the token")
def create_token(email: str, name: str) -> None:
    """Print a new API token for the user (only the token, on stdout)."""
    user = services.find_user(email)
    if user is None:
        raise click.ClickException(f"用户不存在：{email}")
    if user.is_disabled:
        raise click.ClickException("该账号已停用")
    token = services.create_token(user, name)
    db.session.commit()
    click.echo(token)


@users_cli.command("list")
def list_users() -> None:
    """List users."""
    from sqlalchemy import select

    from .models import User

    for user in db.session.scalars(select(User).order_by(User.id)):
        org = user.organization.name if user.organization else "-"
        click.echo(f"{user.id}\t{user.email}\t{user.role_label}\t{org}\t{'停用' if user.is_disabled else '正常'}")
