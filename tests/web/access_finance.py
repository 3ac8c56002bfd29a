"""Access-matrix rows for the finance blueprint (科技金融) and its API endpoints, and the small
builders the finance tests share.

In this world a verified financial institution (its member is not one of the matrix roles, so
institution-only routes are refused to every role) publishes a 科技成果转化贷款 and keeps a draft;
the enterprise applied once (with an uploaded PDF) and has a second, disbursed loan; the official
organises an upcoming roadshow where the enterprise registered and the owner applied to present
its published achievement; the owner follows a technology field."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

from marketplace.accounts import services as accounts
from marketplace.core.taxonomy import MembershipStatus
from marketplace.core.timeutil import format_local, local_today, utcnow
from marketplace.deals.models import TechContract
from marketplace.extensions import db
from marketplace.finance import services as finance
from marketplace.listings.models import Achievement
from tests.web.access_common import (
    API_LOGGED_IN,
    EVERYONE,
    FORBIDDEN,
    LOGGED_IN,
    LOGIN,
    NOT_FOUND,
    OK,
    OWNER_ONLY,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

PDF = b"%PDF-1.4\n%finance test\n"
_seq = count(1)

LOAN = {
    "kind": "transfer_loan",
    "title": "科技成果转化贷款（测试）",
    "description": "面向科技型中小企业的成果转化贷款。",
    "amount_min": "50万",
    "amount_max": "1000万",
    "rate_min": "3.45",
    "rate_max": "4.35",
    "term_min": "6",
    "term_max": "36",
}


def make_institution(name: str | None = None, verified: bool = True):
    """A financial institution and one approved member (its manager)."""
    n = next(_seq)
    org = accounts.create_org({"name": name or f"测试银行科技支行{n}", "org_type": "finance"}, verified=verified)
    user = accounts.create_user(
        {
            "email": f"fin{n}-{id(org)}@example.cn",
            "name": f"信贷经理{n}",
            "role": "finance",
            "password": "Passw0rd2026",
        },
        org,
        membership=MembershipStatus.ACTIVE,
        manager=True,
    )
    db.session.flush()
    return org, user


def make_product(member, **overrides):
    product = finance.create_product(member, {**LOAN, **overrides})
    if overrides.get("status", "published") == "published":
        finance.set_product_status(product, member, "publish")
    db.session.flush()
    return product


def make_contract(seller_org, buyer_org=None, amount: str = "800000"):
    n = next(_seq)
    row = TechContract(
        project_name=f"技术转让合同{n}",
        contract_type="transfer_patent",
        seller_org_id=seller_org.id,
        seller_name=seller_org.name,
        seller_nature="university",
        seller_region="371102",
        buyer_org_id=buyer_org.id if buyer_org else None,
        buyer_name=buyer_org.name if buyer_org else "某公司",
        buyer_nature="enterprise_domestic",
        buyer_region="371102",
        amount=Decimal(amount),
        technology_amount=Decimal(amount),
        signed_on=date(2026, 1, 5),
        status="registered",
    )
    db.session.add(row)
    db.session.flush()
    return row


def local_in(days: float) -> str:
    """A Beijing-time 'YYYY-MM-DD HH:MM' so many days from now."""
    return format_local(utcnow() + timedelta(days=days))


def approve_and_disburse(application, member, amount: str, on: date, rate: str = "3.85"):
    finance.transition(application, "review", member)
    finance.transition(
        application, "approve", member, {"approved_amount": amount, "approved_rate": rate, "approved_term": "24"}
    )
    application.decided_at = datetime.combine(on, time(2, 0))  # 10:00 Beijing time that day
    finance.transition(application, "disburse", member, {"disbursed_amount": amount, "disbursed_on": on.isoformat()})
    return application


def extend_world(users: dict, ids: dict) -> dict:
    enterprise, owner, official = users["enterprise"], users["owner"], users["official"]
    _org, member = make_institution()
    product = make_product(member)
    draft = make_product(member, title="专利质押贷款草稿", kind="patent_pledge", status="draft")
    application = finance.create_application(
        enterprise,
        product,
        {"amount_requested": "300万", "term_months": "12", "purpose": "中试线建设"},
        [("可研报告.pdf", PDF)],
    )
    loan = finance.create_application(
        enterprise, product, {"amount_requested": "200万", "term_months": "12", "purpose": "设备购置"}
    )
    approve_and_disburse(loan, member, "200万", local_today() - timedelta(days=1))
    roadshow = finance.create_roadshow(
        official,
        {
            "title": "测试路演",
            "description": "路演介绍",
            "place": "日照科技馆",
            "capacity": "50",
            "starts_at": local_in(10),
            "registration_deadline": local_in(9),
        },
    )
    finance.register(roadshow, enterprise)
    project = finance.apply_to_present(roadshow, owner, db.session.get(Achievement, ids["published"]))
    follow = finance.follow_field(owner, "03")
    db.session.flush()
    return {
        "fin_product": product.id,
        "fin_draft": draft.id,
        "fin_app": application.id,
        "fin_file": application.attachments[0].id,
        "fin_loan": loan.id,
        "fin_roadshow": roadshow.id,
        "fin_project": project.id,
        "fin_follow": follow.id,
    }


NOBODY = {**dict.fromkeys(ROLES, FORBIDDEN), A: LOGIN}
MISSING = dict.fromkeys(ROLES, NOT_FOUND)
APPLICANTS = {A: LOGIN, O: OK, M: OK, E: OK, B: OK, F: FORBIDDEN, D: FORBIDDEN}
APPLICATION_PARTIES = {**NOBODY, E: OK, D: OK}
ORGANISERS = {**NOBODY, F: OK, D: OK}
OWNERS_OF_LISTINGS = {A: LOGIN, O: OK, M: OK, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
DRAFT_PRODUCT = {**MISSING, D: OK}

CASES: list[tuple] = [
    ("finance.catalogue", "GET", "/finance", EVERYONE),
    ("finance.catalogue", "GET", "/finance?kind=transfer_loan&field=03&amount=300万", EVERYONE),
    ("finance.new_product", "GET", "/finance/products/new", NOBODY),
    ("finance.new_product", "POST", "/finance/products/new", NOBODY),
    ("finance.edit_product", "GET", "/finance/products/{fin_product}/edit", NOBODY),
    ("finance.edit_product", "POST", "/finance/products/{fin_product}/edit", NOBODY),
    ("finance.product_status", "POST", "/finance/products/{fin_product}/status", NOBODY),
    ("finance.product", "GET", "/finance/products/{fin_product}", EVERYONE),
    ("finance.product", "GET", "/finance/products/{fin_draft}", DRAFT_PRODUCT),
    ("finance.product", "GET", "/finance/products/999999", MISSING),
    ("finance.apply", "GET", "/finance/products/{fin_product}/apply", APPLICANTS),
    ("finance.apply", "POST", "/finance/products/{fin_product}/apply", APPLICANTS),
    ("finance.my_applications", "GET", "/finance/applications", {**LOGGED_IN, D: FORBIDDEN}),
    ("finance.workbench", "GET", "/finance/workbench", NOBODY),
    ("finance.application", "GET", "/finance/applications/{fin_app}", APPLICATION_PARTIES),
    ("finance.application", "GET", "/finance/applications/999999", {**MISSING, A: LOGIN}),
    ("finance.transition", "POST", "/finance/applications/{fin_app}/transition", APPLICATION_PARTIES),
    ("finance.attach", "POST", "/finance/applications/{fin_app}/attachments", {**NOBODY, E: OK}),
    ("finance.download", "GET", "/finance/applications/{fin_app}/files/{fin_file}", APPLICATION_PARTIES),
    ("finance.repayment", "POST", "/finance/applications/{fin_loan}/repayments", NOBODY),
    ("finance.follows", "GET", "/finance/follows", LOGGED_IN),
    ("finance.follow", "POST", "/finance/follows", LOGGED_IN),
    ("finance.unfollow", "POST", "/finance/follows/{fin_follow}/delete", OWNER_ONLY),
    ("finance.roadshows", "GET", "/finance/roadshows", EVERYONE),
    ("finance.new_roadshow", "GET", "/finance/roadshows/new", ORGANISERS),
    ("finance.new_roadshow", "POST", "/finance/roadshows/new", ORGANISERS),
    ("finance.roadshow", "GET", "/finance/roadshows/{fin_roadshow}", EVERYONE),
    ("finance.roadshow", "GET", "/finance/roadshows/999999", MISSING),
    ("finance.register", "POST", "/finance/roadshows/{fin_roadshow}/register", LOGGED_IN),
    ("finance.cancel", "POST", "/finance/roadshows/{fin_roadshow}/cancel", LOGGED_IN),
    ("finance.present", "POST", "/finance/roadshows/{fin_roadshow}/present", OWNERS_OF_LISTINGS),
    ("finance.accept", "POST", "/finance/roadshows/{fin_roadshow}/projects/{fin_project}/accept", ORGANISERS),
    ("finance.figures", "GET", "/finance/stats", ORGANISERS),
    ("api.finance_products", "GET", "/api/v1/finance/products", EVERYONE),
    ("api.finance_product_create", "POST", "/api/v1/finance/products", NOBODY),
    ("api.finance_product_detail", "GET", "/api/v1/finance/products/{fin_product}", EVERYONE),
    ("api.finance_product_detail", "GET", "/api/v1/finance/products/{fin_draft}", DRAFT_PRODUCT),
    ("api.finance_product_update", "PATCH", "/api/v1/finance/products/{fin_product}", NOBODY),
    ("api.finance_product_delete", "DELETE", "/api/v1/finance/products/{fin_product}", NOBODY),
    ("api.finance_applications", "GET", "/api/v1/finance/applications", API_LOGGED_IN),
    ("api.finance_application_create", "POST", "/api/v1/finance/applications", APPLICANTS),
    ("api.finance_application_detail", "GET", "/api/v1/finance/applications/{fin_app}", APPLICATION_PARTIES),
    (
        "api.finance_application_transition",
        "POST",
        "/api/v1/finance/applications/{fin_app}/transitions",
        APPLICATION_PARTIES,
    ),
    ("api.finance_application_attach", "POST", "/api/v1/finance/applications/{fin_app}/attachments", {**NOBODY, E: OK}),
    ("api.finance_application_repayment", "POST", "/api/v1/finance/applications/{fin_loan}/repayments", NOBODY),
    ("api.finance_follows", "GET", "/api/v1/finance/follows", API_LOGGED_IN),
    ("api.finance_follow_create", "POST", "/api/v1/finance/follows", API_LOGGED_IN),
    ("api.finance_follow_delete", "DELETE", "/api/v1/finance/follows/{fin_follow}", OWNER_ONLY),
    ("api.finance_roadshows", "GET", "/api/v1/finance/roadshows", EVERYONE),
    ("api.finance_roadshow_create", "POST", "/api/v1/finance/roadshows", ORGANISERS),
    ("api.finance_roadshow_detail", "GET", "/api/v1/finance/roadshows/{fin_roadshow}", EVERYONE),
    ("api.finance_roadshow_register", "POST", "/api/v1/finance/roadshows/{fin_roadshow}/registration", API_LOGGED_IN),
    ("api.finance_roadshow_cancel", "DELETE", "/api/v1/finance/roadshows/{fin_roadshow}/registration", API_LOGGED_IN),
    ("api.finance_roadshow_present", "POST", "/api/v1/finance/roadshows/{fin_roadshow}/projects", OWNERS_OF_LISTINGS),
    (
        "api.finance_roadshow_accept",
        "POST",
        "/api/v1/finance/roadshows/{fin_roadshow}/projects/{fin_project}/accept",
        ORGANISERS,
    ),
    ("api.finance_stats", "GET", "/api/v1/stats/finance", ORGANISERS),
]
