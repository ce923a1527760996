"""Database commands: migrate to the newest schema."""
from __future__ import annotations

import click

from . import carrel


@carrel.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    click.echo("database is up to date")
