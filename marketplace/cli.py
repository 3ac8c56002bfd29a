"""Registers every domain's command group on the app (`flask --app wsgi --help`)."""

from flask import Flask


def register(app: Flask) -> None:
    from .accounts.cli import orgs_cli, users_cli
    from .alerts.cli import alerts_cli
    from .demo import demo_cli
    from .listings.cli import listings_cli
    from .matching.cli import matching_cli
    from .search_cli import search_cli
    from .stats.cli import stats_cli
    from .trading.cli import trading_cli

    for group in (orgs_cli, users_cli, listings_cli, demo_cli, search_cli, alerts_cli):
        app.cli.add_command(group)
    app.cli.add_command(matching_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(trading_cli)

    from .backup.cli import backup_cli

    app.cli.add_command(backup_cli)
