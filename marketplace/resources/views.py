"""Web views of the resources domain (thin: parse, call services, render)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("resources", __name__)
