"""Backups: `flask backup create DIR` and `flask backup restore DIR` (see `services`)."""
