"""STUB — replaced by the listings web work."""
from flask import Blueprint

bp = Blueprint("listings", __name__)


@bp.get("/achievements")
def achievements():
    return "a"


@bp.get("/demands")
def demands():
    return "d"


@bp.get("/achievements/<int:listing_id>")
def achievement_detail(listing_id):
    return "a"


@bp.get("/demands/<int:listing_id>")
def demand_detail(listing_id):
    return "d"


@bp.get("/my/listings")
def mine():
    return "m"


@bp.route("/<any(achievements,demands):kinds>/new", methods=["GET", "POST"])
def new(kinds):
    return "n"
