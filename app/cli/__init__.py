"""``flask carrel ...`` commands. Each area registers its commands in its own module."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

carrel = AppGroup("carrel", help="Carrel library system commands.")


def register_cli(app: Flask) -> None:
    from . import database, offline, patrons, privacy, seed, serve  # noqa: F401  (modules add their commands to the group)

    if "carrel" not in app.cli.commands:
        app.cli.add_command(carrel)


def echo_summary(line: str) -> None:
    click.echo(line)
