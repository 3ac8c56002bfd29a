"""STUB — replaced by the admin web work."""
from flask import Blueprint

bp = Blueprint("admin", __name__)


@bp.get("/")
def index():
    return "admin"


@bp.get("/reviews")
def reviews():
    return "r"


@bp.get("/organizations")
def orgs():
    return "o"


@bp.get("/users")
def users():
    return "u"


@bp.get("/audit")
def audit_log():
    return "a"
