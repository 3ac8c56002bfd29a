"""`flask listings ...`"""

import click
from flask.cli import AppGroup

from ..extensions import db
from . import services

listings_cli = AppGroup("listings", help="科技成果与技术需求 (listings)")


@listings_cli.command("expire")
def expire() -> None:
    """Mark published demands past their date as expired."""
    count = services.expire_due_demands()
    db.session.commit()
    click.echo(f"expired {count} demand(s)")
