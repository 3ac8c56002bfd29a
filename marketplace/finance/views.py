"""Web views of the finance domain (thin: parse, call services, render)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("finance", __name__)
