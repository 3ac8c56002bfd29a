from flask import Blueprint, render_template

from ..listings import services as listings

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    latest_achievements = listings.paginate(listings.listing_query("achievement", listings.ListingFilter()), 1, 6).items
    latest_demands = listings.paginate(listings.listing_query("demand", listings.ListingFilter()), 1, 6).items
    return render_template("main/index.html", counts=listings.counts(),
                           achievements=latest_achievements, demands=latest_demands)
