"""Web views of the evaluation domain (thin: parse, call services, render)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("evaluation", __name__)
