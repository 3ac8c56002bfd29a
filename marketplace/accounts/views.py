"""STUB — replaced by the accounts web work."""
from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    return "login"


@bp.post("/logout")
def logout():
    return "logout"


@bp.route("/register", methods=["GET", "POST"])
def register():
    return "register"


@bp.get("/me")
def dashboard():
    return "me"


@bp.route("/me/password", methods=["GET", "POST"])
def password():
    return "pw"


@bp.route("/me/tokens", methods=["GET", "POST"])
def tokens():
    return "tokens"


@bp.route("/me/organization", methods=["GET", "POST"])
def org_manage():
    return "org"


@bp.get("/orgs/<int:org_id>")
def org(org_id):
    return "org"
