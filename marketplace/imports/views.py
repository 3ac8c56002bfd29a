"""STUB — replaced by the bulk import work."""
from flask import Blueprint

bp = Blueprint("imports", __name__)


@bp.route("/", methods=["GET", "POST"])
def upload():
    return "import"
