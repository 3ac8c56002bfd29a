"""Web views of the providers domain (thin: parse, call services, render)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("providers", __name__)
