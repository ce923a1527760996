"""``flask carrel privacy purge | resume | anonymise`` and the two daily jobs."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.jobs import JOBS, run_job
from app.models import AccountLine, DebitType, LoanHistory, Patron, Privacy, PurgeRun, PurgeStatus
from app.services.privacy import PurgeCriteria, count_purgeable, purge_next_batch, start_purge
from app.services.settings import set_preference

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone.utc)
LONG_AGO = dt.datetime(2023, 2, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _now():
    with clock.freeze(NOW):
        yield


def _inactive(make, n: int, **kw) -> list[Patron]:
    return [make.patron(password=None, lastseen=LONG_AGO, dateenrolled=dt.date(2020, 1, 1), **kw) for _ in range(n)]


def _count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Patron))


def test_the_dry_run_prints_the_count_and_the_excluded_with_their_reason(runner, make, session):
    _inactive(make, 3)
    owing = _inactive(make, 1, surname="Owing", cardnumber="23529000000777")[0]
    session.add(AccountLine(patron_id=owing.id, amount=Decimal("2"), amount_outstanding=Decimal("2"),
                            debit_type=DebitType.MANUAL))
    session.commit()
    result = runner.invoke(args=["carrel", "privacy", "purge", "--inactive-since", "2025-06-15", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "3 patrons would be purged"
    assert f"excluded: {owing.id} 23529000000777 {owing.sort_name}: owes money" in result.output
    assert "would purge:" not in result.output
    listed = runner.invoke(args=["carrel", "privacy", "purge", "--inactive-since", "2025-06-15", "--dry-run", "--list"])
    assert listed.output.count("would purge:") == 3
    assert _count(session) == 4


def test_the_purge_command_deletes_in_batches_and_reports(runner, make, session):
    make.library("FPL")
    _inactive(make, 5)
    _inactive(make, 2, library="FPL")
    session.commit()
    result = runner.invoke(args=["carrel", "privacy", "purge", "--inactive-since", "2025-06-15", "--library", "CPL",
                                 "--category", "PT", "--batch-size", "2", "--pause", "0"])
    assert result.exit_code == 0, result.output
    assert "5 patrons purged" in result.output
    assert _count(session) == 2
    run = session.scalars(select(PurgeRun)).one()
    assert (run.channel, run.libraries, run.categories, run.batches, run.status) == \
        ("cli", ["CPL"], ["PT"], 3, PurgeStatus.FINISHED)


def test_bad_criteria_are_refused(runner, make, session):
    make.category("PT")
    session.commit()
    future = runner.invoke(args=["carrel", "privacy", "purge", "--inactive-since", "2030-01-01"])
    assert future.exit_code != 0 and "past" in future.output
    unknown = runner.invoke(args=["carrel", "privacy", "purge", "--inactive-since", "2025-01-01", "--category", "ZZ"])
    assert unknown.exit_code != 0 and "Unknown category ZZ" in unknown.output


def test_resume_finishes_an_interrupted_purge(runner, make, session):
    _inactive(make, 5)
    session.commit()
    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(dt.date(2025, 6, 15))
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="cli", batch_size=2).id
    with db.unit_of_work() as unit:
        purge_next_batch(unit, run_id)
    result = runner.invoke(args=["carrel", "privacy", "resume", "--pause", "0"])
    assert result.exit_code == 0, result.output
    assert f"resuming purge #{run_id}" in result.output and "5 patrons purged" in result.output
    assert "no purge to resume" in runner.invoke(args=["carrel", "privacy", "resume"]).output


def test_the_anonymise_command(runner, make, session):
    patron = make.patron(privacy=Privacy.DEFAULT)
    session.add(LoanHistory(loan_id=3, patron_id=patron.id, issued_at=LONG_AGO, due_at=LONG_AGO, returned_at=LONG_AGO))
    session.commit()
    assert "anonymised 0 loans" in runner.invoke(args=["carrel", "privacy", "anonymise"]).output  # preference 0
    assert "anonymised 1 loans" in runner.invoke(args=["carrel", "privacy", "anonymise", "--days", "365"]).output


# --- the jobs -----------------------------------------------------------------------------------

def test_the_privacy_jobs_are_scheduled_daily():
    assert JOBS["anonymise-history"].every == dt.timedelta(days=1)
    assert JOBS["purge-inactive-patrons"].every == dt.timedelta(days=1)


def test_the_purge_job_does_nothing_unless_a_period_is_set(app, make, session):
    _inactive(make, 2)
    session.commit()
    assert run_job(app, "purge-inactive-patrons") == 0
    assert _count(session) == 2


def test_the_purge_job_follows_its_preferences_and_is_idempotent(app, make, session):
    make.library("FPL")
    old = _inactive(make, 2, category="PT")
    _inactive(make, 1, category="J")
    _inactive(make, 1, category="PT", library="FPL")
    make.patron(password=None, lastseen=NOW - dt.timedelta(days=200))  # inactive 6 months, not 12
    for name, value in (("PurgeInactivePatronsAfterMonths", "12"), ("PurgeInactivePatronsCategories", "PT"),
                        ("PurgeInactivePatronsLibraries", "CPL")):
        set_preference(session, name, value, actor_id=None)
    session.commit()
    old_ids = {p.id for p in old}
    assert run_job(app, "purge-inactive-patrons") == 2
    session.rollback()
    assert old_ids.isdisjoint(session.scalars(select(Patron.id)))
    run = session.scalars(select(PurgeRun)).one()
    assert (run.channel, run.inactive_since, run.categories, run.libraries) == ("job", dt.date(2025, 6, 15), ["PT"], ["CPL"])
    assert run_job(app, "purge-inactive-patrons") == 0  # a second run the same day changes nothing
    assert session.scalar(select(func.count()).select_from(PurgeRun)) == 1


def test_the_purge_job_resumes_a_purge_left_running(app, make, session):
    _inactive(make, 3)
    session.commit()
    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(dt.date(2025, 6, 15))
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="staff", batch_size=1).id
    assert run_job(app, "purge-inactive-patrons") == 3
    session.rollback()
    assert session.get(PurgeRun, run_id).status is PurgeStatus.FINISHED


def test_the_anonymise_job(app, make, session):
    patron = make.patron(privacy=Privacy.DEFAULT)
    keeper = make.patron(privacy=Privacy.KEEP_FOREVER)
    for n, owner in enumerate((patron, keeper)):
        session.add(LoanHistory(loan_id=20 + n, patron_id=owner.id, issued_at=LONG_AGO, due_at=LONG_AGO,
                                returned_at=LONG_AGO))
    set_preference(session, "AnonymizeHistoryAfterDays", "90", actor_id=None)
    session.commit()
    keeper_id = keeper.id
    assert run_job(app, "anonymise-history") == 1
    assert run_job(app, "anonymise-history") == 0
    session.rollback()
    assert sorted(session.scalars(select(LoanHistory.patron_id)), key=str) == sorted([None, keeper_id], key=str)
