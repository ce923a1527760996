"""``flask carrel privacy purge | resume | anonymise``: the staff privacy page's work from a shell.

A purge runs in batches, each committed on its own: Ctrl-C (or a killed process) stops it
between two batches at worst, and ``flask carrel privacy resume`` carries on where it stopped.
Output names patrons only in the dry run, which is for the person at the terminal."""
from __future__ import annotations

import datetime as dt

import click

from . import carrel


@carrel.group("privacy")
def privacy_group() -> None:
    """Anonymise history and purge inactive patrons."""


def _criteria(inactive_since: dt.datetime, categories: tuple[str, ...], libraries: tuple[str, ...]):
    from app.extensions import db
    from app.services.privacy import InvalidCriteria, PurgeCriteria

    criteria = PurgeCriteria(inactive_since.date(), categories, libraries)
    with db.unit_of_work(write=False) as session:
        try:
            criteria.check(session)
        except InvalidCriteria as error:
            raise click.BadParameter(str(error)) from None
    return criteria


@privacy_group.command("purge")
@click.option("--inactive-since", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Purge patrons not seen (never-seen ones: not enrolled) since this date, YYYY-MM-DD.")
@click.option("--category", "categories", multiple=True, help="Only this patron category (repeatable).")
@click.option("--library", "libraries", multiple=True, help="Only patrons of this home library (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only say who would be purged, and who is kept and why.")
@click.option("--list", "list_selected", is_flag=True, help="With --dry-run, also list who would be purged.")
@click.option("--batch-size", type=click.IntRange(1, 5000), default=200, show_default=True,
              help="Patrons per batch (each batch is one transaction).")
@click.option("--pause", type=click.FloatRange(0, 10), default=0.05, show_default=True,
              help="Seconds between batches, so kiosks and desks get the database in between.")
def purge_command(inactive_since: dt.datetime, categories: tuple[str, ...], libraries: tuple[str, ...],
                  dry_run: bool, list_selected: bool, batch_size: int, pause: float) -> None:
    """Delete inactive patrons and every copy of their personal data (dry run first!)."""
    from app.extensions import db
    from app.services import privacy

    criteria = _criteria(inactive_since, categories, libraries)
    if dry_run:
        with db.unit_of_work(write=False) as session:
            _print_dry_run(session, criteria, list_selected)
        return
    with db.unit_of_work(write=False) as session:  # counting takes a while: not under the write lock
        selected = privacy.count_purgeable(session, criteria)
    with db.unit_of_work() as session:
        run_id = privacy.start_purge(session, criteria, selected=selected, actor_id=None, channel="cli",
                                     batch_size=batch_size).id
    click.echo(f"purge #{run_id}: {selected:,} patrons selected ({criteria.describe()})")
    _drive(run_id, pause)


def _print_dry_run(session, criteria, list_selected: bool) -> None:
    from app.services import privacy

    summary = privacy.dry_run(session, criteria)
    click.echo(f"{summary.would_purge} patrons would be purged")
    click.echo(f"{summary.in_scope} in scope, {summary.recently_active} active since {criteria.inactive_since}, "
               f"{summary.kept} inactive but kept:")
    for reason, count in summary.reasons:
        if count and reason is not privacy.Exclusion.RECENTLY_ACTIVE:
            click.echo(f"  {reason.words}: {count}")
    for label, page_of in (("excluded", privacy.kept_page), ("would purge", privacy.would_purge_page)):
        if label == "would purge" and not list_selected:
            break
        page = 1
        while rows := page_of(session, criteria, page=page, per_page=500):
            for row in rows:
                patron = row.patron
                click.echo(f"{label}: {patron.id} {patron.cardnumber or '-'} {patron.sort_name}: {row.why}")
            page += 1


def _drive(run_id: int, pause: float) -> None:
    from app.extensions import db
    from app.services import privacy

    def progress(run) -> None:
        if run.batches % 10 == 0 or not run.is_running:
            click.echo(f"  {run.purged:,} of {run.selected:,} purged ({run.batches} batches)")

    try:
        run = privacy.drive_purge(db.unit_of_work, run_id, pause=pause, on_batch=progress)
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted: resume with `flask carrel privacy resume {run_id}`") from None
    click.echo(f"{run.purged} patrons purged (purge #{run_id}, {run.status.value})")


@privacy_group.command("resume")
@click.argument("run_id", type=int, required=False)
@click.option("--pause", type=click.FloatRange(0, 10), default=0.05, show_default=True)
def resume_command(run_id: int | None, pause: float) -> None:
    """Carry on an interrupted purge (all of them without RUN_ID)."""
    from app.extensions import db
    from app.services import privacy

    with db.unit_of_work(write=False) as session:
        run_ids = privacy.unfinished_runs(session)
    if run_id is not None:
        if run_id not in run_ids:
            raise click.ClickException(f"purge #{run_id} is not running")
        run_ids = [run_id]
    if not run_ids:
        click.echo("no purge to resume")
    for each in run_ids:
        click.echo(f"resuming purge #{each}")
        _drive(each, pause)


@privacy_group.command("anonymise")
@click.option("--days", type=click.IntRange(0), default=None,
              help="Anonymise history older than this (default: AnonymizeHistoryAfterDays; 0: only never-keep patrons).")
def anonymise_command(days: int | None) -> None:
    """Anonymise loan history and finished holds, respecting each patron's privacy choice."""
    from app.extensions import db
    from app.services import privacy
    from app.services.settings import get_preference

    if days is None:
        with db.unit_of_work(write=False) as session:
            days = get_preference(session, "AnonymizeHistoryAfterDays")
    result, _done = privacy.drive_anonymisation(db.unit_of_work, days, actor_id=None, channel="cli", pause=0.02)
    click.echo(f"anonymised {result.loans} loans and {result.holds} finished holds")
