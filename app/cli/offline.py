"""Offline circulation commands: upload a .koc file, process the pending actions, write the
desktop tool's patron file. Each prints a summary line ``N applied, N failed, N duplicates
ignored`` and every failed or malformed line as ``line N: reason``. They work whatever
AllowOfflineCirculation says (it governs the staff pages): recorded actions must always be
processable by whoever runs the server."""
from __future__ import annotations

from pathlib import Path

import click

from . import carrel


@carrel.group("offline")
def offline_group() -> None:
    """Offline circulation: .koc files, pending actions, the desktop tool's patron file."""


def _staff(session, login: str | None):
    from sqlalchemy import select

    from app.models import Patron

    if not login:
        return None
    patron = session.scalar(select(Patron).where(Patron.userid == login))
    if patron is None or not patron.has_permission("offline_circulation"):
        raise click.ClickException(f"no staff member {login!r} with the offline_circulation permission")
    return patron


def _library(session, code: str | None) -> str | None:
    from app.models import Library

    if code and session.get(Library, code) is None:
        raise click.ClickException(f"no library with code {code!r}")
    return code


@offline_group.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", "mode", flag_value="queue", default=True, help="Add the actions to the pending queue (default).")
@click.option("--apply", "mode", flag_value="apply", help="Apply the file's actions now (still recorded with outcomes).")
@click.option("--library", "library_code", help="Library code where the actions happened (default: per item).")
@click.option("--staff", "staff_login", help="Username of the staff member uploading (recorded as the actor).")
def upload_command(file: Path, mode: str, library_code: str | None, staff_login: str | None) -> None:
    """Read a .koc FILE from a desktop offline tool; queue its actions or apply them."""
    from app.extensions import db
    from app.services.offline import upload_koc

    with db.unit_of_work() as session:
        staff = _staff(session, staff_login)
        upload = upload_koc(session, file.read_bytes(), file.name, apply=mode == "apply", uploaded_by=staff,
                            library_code=_library(session, library_code), checkpoint=session.commit)
    for warning in upload.koc.warnings:
        click.echo(f"warning: {warning}")
    if mode == "queue":
        click.echo(f"{upload.added} added to the pending queue")
    click.echo(upload.summary_line)
    for number, reason in upload.problem_lines():
        click.echo(f"line {number}: {reason}")


@offline_group.command("process")
@click.option("--retry-failed", is_flag=True, help="Also retry actions that failed before.")
@click.option("--staff", "staff_login", help="Username of the staff member processing (default: each uploader).")
def process_command(retry_failed: bool, staff_login: str | None) -> None:
    """Apply every pending action, in the order they happened (a commit per batch)."""
    from app.extensions import db
    from app.services.offline import process_offline_operations

    with db.unit_of_work() as session:
        summary = process_offline_operations(session, _staff(session, staff_login), include_failed=retry_failed,
                                             checkpoint=session.commit)
    click.echo(f"{summary.applied} applied, {summary.failed} failed, 0 duplicates ignored")
    for result in summary.failures:
        click.echo(f"{result.where}: {result.message} [{result.source}]")


@offline_group.command("patron-file")
@click.argument("out", required=False, default="borrowers.db", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def patron_file_command(out: Path, force: bool) -> None:
    """Write the desktop tool's patron file (default borrowers.db): card numbers, names,
    categories, expiry, blocks, fines and loans; no addresses, birth dates or passwords."""
    from app.extensions import db
    from app.services.offline import PatronFileExists, write_patron_file

    with db.unit_of_work(write=False) as session:
        try:
            summary = write_patron_file(session, out, overwrite=force)
        except PatronFileExists as exists:
            raise click.ClickException(str(exists)) from None
    click.echo(f"wrote {summary.path}: {summary.patrons} patrons, {summary.loans} loans")
