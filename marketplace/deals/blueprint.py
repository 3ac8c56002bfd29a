"""The `deals` blueprint. Its routes live in views.py (deals, timeline, pipeline),
contract_views.py (contracts, registration, payments) and invoice_views.py (invoices and PDF
documents); routes.py imports all three."""

from flask import Blueprint

bp = Blueprint("deals", __name__)
