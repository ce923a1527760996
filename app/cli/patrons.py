"""``flask carrel patrons import FILE``: Koha's patron CSV, with the staff page's options."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from . import carrel

patrons_group = AppGroup("patrons", help="Patron records.")
carrel.add_command(patrons_group)


def _defaults(values: tuple[str, ...]) -> dict[str, str]:
    defaults = {}
    for item in values:
        column, equals, value = item.partition("=")
        if not equals or not column.strip():
            raise click.BadParameter(f"{item!r} is not COLUMN=VALUE", param_hint="--default")
        defaults[column.strip()] = value
    return defaults


class _Bar:
    """A progress bar on stderr: validating, then writing."""

    def __init__(self) -> None:
        self.bar = None
        self.phase = None
        self.done = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done = phase, 0
            self.bar = click.progressbar(length=max(total, 1), label=phase.capitalize(), file=sys.stderr,
                                         show_pos=True).__enter__()
        if self.bar is not None and done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@patrons_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--match", default="cardnumber", show_default=True,
              help="Field to match existing patrons on: cardnumber, userid or a unique attribute type code.")
@click.option("--overwrite", is_flag=True, help="Overwrite matching patrons (otherwise they are ignored).")
@click.option("--preserve-attributes", is_flag=True,
              help="On overwrite, replace only the attribute types the row names (otherwise all of them).")
@click.option("--overwrite-passwords", is_flag=True, help="On overwrite, also replace passwords (never for staff).")
@click.option("--preserve-field", "preserve_fields", multiple=True, metavar="COLUMN",
              help="On overwrite, keep the existing value of this column (repeatable).")
@click.option("--update-expiration", is_flag=True,
              help="On overwrite, renew the expiry date by the category's enrolment period from the current one.")
@click.option("--expiration-from-today", is_flag=True, help="With --update-expiration: renew from today.")
@click.option("--default", "defaults", multiple=True, metavar="COLUMN=VALUE",
              help="Value for a column where a row leaves it empty (repeatable).")
@click.option("--patron-list", metavar="NAME", help="Create a patron list of the patrons created.")
@click.option("--welcome-email", is_flag=True, help="Queue the welcome email (WELCOME notice) to new patrons.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows when some are bad (default: all or nothing).")
def import_command(file: str, match: str, overwrite: bool, preserve_attributes: bool, overwrite_passwords: bool,
                   defaults: tuple[str, ...], patron_list: str | None, welcome_email: bool, dry_run: bool,
                   skip_bad_rows: bool, preserve_fields: tuple[str, ...], update_expiration: bool,
                   expiration_from_today: bool) -> None:
    """Import patrons from Koha's patron CSV FILE. Ends with `N created, N overwritten, N ignored,
    N malformed` and a `line N: reason` line per bad row; exits 1 when bad rows stopped the file."""
    from pathlib import Path

    from app.extensions import db
    from app.services.patron_import import ImportFileRefused, ImportOptions, import_patrons
    from app.services.patron_import.report import describe_options, outcome_line
    from app.services.patron_import.welcome import mail_note

    options = ImportOptions(match=match, overwrite=overwrite, preserve_attributes=preserve_attributes,
                            defaults=_defaults(defaults), patron_list=patron_list, welcome_email=welcome_email,
                            dry_run=dry_run, skip_bad_rows=skip_bad_rows, overwrite_passwords=overwrite_passwords,
                            preserve_fields=preserve_fields,
                            update_expiry=("now" if expiration_from_today else "dateexpiry") if update_expiration else None,
                            file_name=Path(file).name)
    if expiration_from_today and not update_expiration:
        raise click.UsageError("--expiration-from-today goes with --update-expiration")
    bar = _Bar()
    try:
        with db.unit_of_work(write=not dry_run) as session:
            result = import_patrons(session, file, options, None, progress=bar, channel="cli")
            if not result.applied:
                session.rollback()
    except ImportFileRefused as error:
        bar.close()
        raise click.ClickException(str(error)) from None
    bar.close()
    for line in describe_options(result):
        click.echo(line)
    for bad in result.bad_rows:
        click.echo(str(bad))
    if result.patron_list_name:
        click.echo(f"Patron list created: {result.patron_list_name}")
    note = mail_note(result)
    if note:
        click.echo(note)
    click.echo(outcome_line(result))
    click.echo(result.summary)
    if result.bad_rows and not (skip_bad_rows and not dry_run):
        sys.exit(1)
