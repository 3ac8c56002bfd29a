"""The home page: a search box, live counts, the newest listings and a next step per role."""

from flask import Blueprint, render_template

from ..extensions import db
from ..listings import services as listings

bp = Blueprint("main", __name__)
LATEST = 6


@bp.get("/")
def index():
    newest = listings.ListingFilter(sort="newest")
    return render_template(
        "main/index.html",
        counts=listings.counts(),
        achievements=db.session.scalars(listings.listing_query("achievement", newest).limit(LATEST)).unique().all(),
        demands=db.session.scalars(listings.listing_query("demand", newest).limit(LATEST)).unique().all(),
    )
