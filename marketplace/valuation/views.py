"""Web views of the valuation domain (thin: parse, call services, render)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("valuation", __name__)
