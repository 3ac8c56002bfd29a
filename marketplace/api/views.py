"""Placeholder; the API endpoints are written in their own modules."""
