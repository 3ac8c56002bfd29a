"""Log-in, registration, the "我的" dashboard, password, API tokens and organisation pages.

Views are thin: they parse the request, call `accounts.services`, commit once, or roll back and
re-render the form with the service's field errors (status 422). Refusals not tied to a form
(403, 404, 409) propagate as ServiceErrors, which the app renders as a Chinese error page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from ..core import policy
from ..core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.taxonomy import ListingStatus, MembershipStatus, OrgType, Role
from ..extensions import db, limiter
from ..listings import services as listings
from . import services
from .models import ApiToken, Organization, User

bp = Blueprint("accounts", __name__)

FORM_ERROR = 422  # every form re-rendered with errors answers 422
SELF_SERVICE_ROLES = (Role.UNIVERSITY, Role.ENTERPRISE, Role.BROKER, Role.FINANCE)
ORG_FIELDS = services.ORG_FIELDS
LISTING_KINDS = {"achievements": "achievement", "demands": "demand"}


def _safe_next(target: str | None) -> str | None:
    """A local path to return to after logging in, or None. Protocol-relative URLs ('//host',
    '/\\host') and anything with whitespace or control characters, which browsers strip or
    reinterpret, are refused."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    return target


def _account_key() -> str:
    """The per-account rate-limit key: the e-mail typed into the log-in form."""
    email = (request.form.get("email") or "").strip().lower()
    return f"login-account:{email}" if email else get_remote_address()


def _login_failed(response) -> bool:
    # Only failed attempts count against an account, so its owner is not locked out by success.
    return response.status_code != 302


def _me() -> User:
    return current_user._get_current_object()  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Log-in, log-out, registration


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_login_failed,
)
def login():
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or url_for(".dashboard"))
    values = {"email": request.form.get("email", ""), "remember": bool(request.form.get("remember"))}
    if request.method == "GET":
        return render_template("accounts/login.html", values=values, errors={}, next=next_url, alert=None)

    errors: dict[str, str] = {}
    if not values["email"].strip():
        errors["email"] = "请填写邮箱"
    if not request.form.get("password"):
        errors["password"] = "请填写密码"
    alert, status = None, FORM_ERROR
    if not errors:
        try:
            user = services.authenticate(values["email"], request.form["password"])
        except PermissionDenied as exc:  # a disabled account
            db.session.rollback()
            alert, status = exc.message, exc.status
        except ServiceError as exc:
            db.session.rollback()
            errors = exc.fields or {"password": exc.message}
        else:
            db.session.commit()  # last_login_at
            login_user(user, remember=values["remember"])
            flash(f"欢迎回来，{user.name}", "success")
            return redirect(next_url or url_for(".dashboard"))
    return render_template("accounts/login.html", values=values, errors=errors, next=next_url, alert=alert), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        logout_user()
        flash("已退出登录", "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_ADDRESS"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        flash("您已登录。如需注册新账号，请先退出登录。", "info")
        return redirect(url_for(".dashboard"))
    values: dict[str, Any] = {
        "role": request.args.get("role", Role.UNIVERSITY.value),
        "org_mode": "new",
        "broker_level": "",
        "org_type": "",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = {key: value for key, value in request.form.items() if key != "csrf_token"}
        try:
            user = services.register(data)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
            values = {key: value for key, value in data.items() if "password" not in key}
        else:
            db.session.commit()
            login_user(user)
            flash(_welcome(user), "success")
            return redirect(url_for(".dashboard"))
    return render_template(
        "accounts/register.html",
        values=values,
        errors=errors,
        role_choices=[(role.value, role.label) for role in SELF_SERVICE_ROLES],
        org_choices=_org_choices(),
    ), (FORM_ERROR if errors else 200)


# ---------------------------------------------------------------------------------------------
# 忘记密码: a one-time, expiring link by e-mail


def _reset_email_key() -> str:
    """The per-address-typed rate-limit key of the reset form (whether or not it has an account)."""
    email = (request.form.get("email") or "").strip().lower()[:200]
    return f"password-reset:{email}" if email else get_remote_address()


def _private(response):
    """The reset pages carry the token in their URL: keep it out of caches and of Referer headers
    to other sites. (Same-origin requests keep theirs: over HTTPS the CSRF check wants it.)"""
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_EMAIL"], methods=["POST"], key_func=_reset_email_key
)
def forgot_password():
    email = (request.form.get("email") or "").strip()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.request_password_reset(email, get_remote_address())
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            # The same answer whether or not the address has an account.
            return redirect(url_for(".forgot_password", sent=1))
    return render_template(
        "accounts/forgot_password.html",
        values={"email": email},
        errors=errors,
        sent=request.method == "GET" and request.args.get("sent") == "1",
        minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
    ), (FORM_ERROR if errors else 200)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password_with_link(token: str):
    errors: dict[str, str] = {}
    if request.method == "GET":
        try:
            services.reset_link(token)
        except ServiceError as exc:
            db.session.rollback()
            return _private((render_template("accounts/reset_invalid.html", message=exc.message), exc.status))
    else:  # the service checks the link itself (and spends it)
        try:
            services.reset_password_with_link(
                token,
                request.form.get("new_password", ""),
                request.form.get("confirm", ""),
                get_remote_address(),
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        except ServiceError as exc:  # unknown, used, expired, or spent by a request racing this one
            db.session.rollback()
            return _private((render_template("accounts/reset_invalid.html", message=exc.message), exc.status))
        else:
            db.session.commit()
            if current_user.is_authenticated:
                logout_user()
            flash("密码已重置，请用新密码登录。此前在各设备上的登录（包括“记住我”）均已失效。", "success")
            return redirect(url_for(".login"))
    page = render_template("accounts/reset_password.html", token=token, errors=errors)
    return _private((page, FORM_ERROR if errors else 200))


def _welcome(user: User) -> str:
    org = user.organization
    if org is not None and user.is_org_manager:
        return f"注册成功！您已创建机构“{org.name}”并成为其管理员。机构等待平台认证后可发布信息，在此之前可以先起草。"
    if org is not None and user.membership_status == MembershipStatus.PENDING:
        return f"注册成功！加入“{org.name}”的申请已提交，等待机构管理员审批，审批通过后即可以该机构身份发布信息。"
    return "注册成功！欢迎使用科技淘宝。"


def _org_choices() -> list[tuple[int, str]]:
    stmt = select(Organization).order_by(Organization.verified.desc(), Organization.name)
    return [
        (org.id, f"{org.name}（{org.type_label}{'' if org.verified else '，未认证'}）")
        for org in db.session.scalars(stmt)
    ]


# ---------------------------------------------------------------------------------------------
# 我的: dashboard, password, API tokens


@bp.get("/me")
@login_required
def dashboard():
    user = _me()
    org = user.active_org
    context: dict[str, Any] = {"user": user, "org": user.organization, "active_org": org}
    if org is not None and user.role in policy.LISTING_ROLES:
        context["listing_counts"] = {
            kind: _status_counts(listings.model_for(kind), org.id) for kind in ("achievement", "demand")
        }
    if org is not None and policy.can_manage_org(user, org):
        context["pending_members"] = services.pending_members(org)
    if user.is_admin:
        context["admin_counts"] = _admin_counts()
    return render_template("accounts/dashboard.html", statuses=list(ListingStatus), **context)


def _status_counts(model, org_id: int) -> dict[str, int]:
    stmt = select(model.status, func.count()).where(model.org_id == org_id).group_by(model.status)
    counts = {status: count for status, count in db.session.execute(stmt)}
    counts["total"] = sum(counts.values())
    return counts


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _admin_counts() -> dict[str, int]:
    return {
        "pending_listings": _count(listings.review_queue("achievement")) + _count(listings.review_queue("demand")),
        "unverified_orgs": _count(select(Organization.id).where(Organization.verified.is_(False))),
        "pending_members": _count(select(User.id).where(User.membership_status == MembershipStatus.PENDING.value)),
        "users": _count(select(User.id)),
    }


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
def password():
    errors: dict[str, str] = {}
    if request.method == "POST":
        user = _me()
        try:
            services.change_password(
                user,
                request.form.get("old_password", ""),
                request.form.get("new_password", ""),
                request.form.get("confirm", ""),
            )
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            # The session version changed, which ends every other session and remember-me
            # cookie; log this browser in again so its owner stays signed in.
            cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(user, remember=cookie in request.cookies)
            flash("密码已修改。其他设备上的登录已失效，需要用新密码重新登录。", "success")
            return redirect(url_for(".dashboard"))
    return render_template("accounts/password.html", errors=errors), (FORM_ERROR if errors else 200)


@bp.route("/me/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    user = _me()
    errors: dict[str, str] = {}
    new_token = None
    name = ""
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()
        if len(name) > 100:
            errors["name"] = "名称不能超过100个字"
        else:
            new_token = services.create_token(user, name or "未命名令牌")
            db.session.commit()
            name = ""
    response = current_app.make_response(
        (
            render_template(
                "accounts/tokens.html",
                tokens=services.tokens_of(user),
                new_token=new_token,
                errors=errors,
                values={"name": name},
            ),
            FORM_ERROR if errors else 200,
        )
    )
    if new_token:
        response.headers["Cache-Control"] = "no-store"  # the plain token is shown this once
    return response


@bp.post("/me/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("令牌不存在")
    services.revoke_token(token, _me())
    db.session.commit()
    flash(f"令牌 {token.prefix}… 已吊销，使用它的程序将无法再访问 API", "success")
    return redirect(url_for(".tokens"))


# ---------------------------------------------------------------------------------------------
# My organisation: details, members, join requests


def _my_org(user: User) -> Organization | None:
    """The user's own organisation; an admin may name any one with ?org_id=."""
    org_id = request.args.get("org_id", type=int)
    if org_id is not None and user.is_admin:
        return services.get_org(org_id)
    return user.organization


def _org_page_args(org: Organization, user: User) -> dict[str, int]:
    return {"org_id": org.id} if user.is_admin and user.organization_id != org.id else {}


@bp.route("/me/organization", methods=["GET", "POST"])
@login_required
def org_manage():
    user = _me()
    org = _my_org(user)
    if org is None:
        return render_template("accounts/org_manage.html", org=None, user=user)
    can_manage = policy.can_manage_org(user, org)
    errors: dict[str, str] = {}
    submitted: dict[str, str] = {}
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("只有机构管理员或平台管理员可以修改机构信息")
        submitted = {key: request.form[key] for key in ORG_FIELDS if key in request.form}
        try:
            services.update_org(org, submitted, user)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields
        else:
            db.session.commit()
            flash("机构信息已保存", "success")
            return redirect(url_for(".org_manage", **_org_page_args(org, user)))
    values = {key: getattr(org, key) for key in ORG_FIELDS} | submitted
    members = sorted(
        org.members, key=lambda m: (m.membership_status != MembershipStatus.PENDING, not m.is_org_manager, m.id)
    )
    return render_template(
        "accounts/org_manage.html",
        org=org,
        user=user,
        can_manage=can_manage,
        members=members,
        values=values,
        errors=errors,
        page_args=_org_page_args(org, user),
        # Only an admin changes the identity of a verified organisation.
        identity_locked=org.verified and not user.is_admin,
        pending=[m for m in members if m.membership_status == MembershipStatus.PENDING],
    ), (FORM_ERROR if errors else 200)


@bp.post("/me/organization/members/<int:user_id>/decide")
@login_required
def decide_member(user_id: int):
    member = services.get_user(user_id)
    actor = _me()
    if member.organization is None or not policy.can_manage_org(actor, member.organization):
        raise PermissionDenied("只有该机构的管理员或平台管理员可以审批加入申请")
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        raise ServiceError("请选择批准或拒绝")
    reason = (request.form.get("reason") or "").strip()[:1000] or None
    services.decide_membership(member, decision == "approve", actor, reason)
    db.session.commit()
    if decision == "approve":
        flash(f"已批准 {member.name} 加入“{member.organization.name}”", "success")
    else:
        flash(f"已拒绝 {member.name} 的加入申请", "info")
    return redirect(url_for(".org_manage", **_org_page_args(member.organization, actor)))


# ---------------------------------------------------------------------------------------------
# Public organisation pages


@bp.get("/orgs")
def orgs():
    org_type = OrgType.parse(request.args.get("type"))
    district = current_app.extensions["taxonomy"].district(request.args.get("district"))
    q = (request.args.get("q") or "").strip()[:50]
    stmt = select(Organization).where(Organization.verified.is_(True))
    if org_type is not None:
        stmt = stmt.where(Organization.org_type == org_type.value)
    if district is not None:
        stmt = stmt.where(Organization.district == district.code)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Organization.name.ilike(f"%{escaped}%", escape="\\"))
    page = listings.paginate(stmt.order_by(Organization.name, Organization.id), request.args.get("page", 1, type=int))
    ids = [org.id for org in page.items]
    args = {"type": org_type.value if org_type else "", "district": district.code if district else "", "q": q}
    return render_template(
        "accounts/orgs.html",
        page=page,
        args={k: v for k, v in args.items() if v},
        filters=args,
        published=_published_counts(ids),
    )


def _published_counts(org_ids: list[int]) -> dict[str, dict[int, int]]:
    counts: dict[str, dict[int, int]] = {}
    for kind in ("achievement", "demand"):
        model = listings.model_for(kind)
        stmt = (
            select(model.org_id, func.count())
            .where(model.org_id.in_(org_ids), model.status == ListingStatus.PUBLISHED.value)
            .group_by(model.org_id)
        )
        counts[kind] = dict(db.session.execute(stmt).all()) if org_ids else {}
    return counts


@bp.get("/orgs/<int:org_id>")
def org(org_id: int):
    organization = services.get_org(org_id)
    tab = request.args.get("tab") if request.args.get("tab") in LISTING_KINDS else "achievements"
    query = {
        kinds: listings.listing_query(kind, listings.ListingFilter(org_id=organization.id))
        for kinds, kind in LISTING_KINDS.items()
    }
    page = listings.paginate(query[tab], request.args.get("page", 1, type=int))
    totals = {kinds: (page.total if kinds == tab else _count(stmt)) for kinds, stmt in query.items()}
    return render_template(
        "accounts/org.html",
        org=organization,
        tab=tab,
        page=page,
        totals=totals,
        show_contact=policy.can_view_contact(current_user),
    )
