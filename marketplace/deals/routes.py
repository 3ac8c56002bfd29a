"""Imports every route module of the deals blueprint, then hands the blueprint to create_app."""

from . import contract_views, invoice_views, views  # noqa: F401
from .blueprint import bp  # noqa: F401
