"""Purging inactive patrons, in batches: each batch is one short transaction that selects the next
patrons by id (the same expressions as the dry run, evaluated again at that moment, so a patron
who borrowed since the dry run is kept), erases every copy of their personal data and advances
the run's position. A run interrupted between batches (a killed process, a closed browser tab)
stays ``running`` and is resumed from its position by the CLI, the page or the daily job.

What erasing a patron means here (nothing is copied to a "deleted patrons" table):

- loan history and finished holds stay for statistics, anonymised (patron NULL, hold notes
  cleared); account lines stay, anonymised (patron NULL, note cleared; their balance is zero);
- live holds are deleted (their history with them) under the titles' queue locks;
- the notices sent or queued to them (their rendered text names them) are deleted and counted;
- lists the patron owned, list entries, restrictions, extended attributes, permissions, API
  clients and their tokens, the login throttle of the account are deleted;
- pending offline operations naming their card number lose the card number; SIP2 answers kept
  for kiosk retries under it are deleted; patron import uploads finished before the cutoff lose
  their file and report (copies of the imported patrons' data);
- audit entries about them lose the patron's id (``object_id``, ``actor_id``; ``patron_id`` in
  ``info`` once the run finishes), so the log keeps counts of what happened, not who;
- every other reference to the patron (who issued a loan, placed a hold, changed a preference)
  is set NULL by its foreign key when the patron row is deleted.

The run's audit entries record the criteria and counts, never names."""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from typing import Callable, ContextManager

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.models import (
    AccountLine,
    AuditEntry,
    Hold,
    ImportJobStatus,
    LoanHistory,
    LoginThrottle,
    Notice,
    Patron,
    PatronImportJob,
    PatronList,
    PendingOfflineOperation,
    PurgeRun,
    PurgeStatus,
    SipTransaction,
    Title,
)
from app.models.hold import LIVE_STATUSES
from app.services.audit import record_audit
from app.services.settings import get_preference

from .selection import InvalidCriteria, PurgeCriteria, purgeable

log = logging.getLogger("carrel.privacy")

DEFAULT_BATCH_SIZE = 200
MAX_BATCH_SIZE = 5_000
# A batch holds the write lock (SQLite: the whole database) while it runs: ``drive_purge`` sizes
# the next batch so one lasts about this long, whatever the machine's load, so a kiosk waiting
# behind it waits at most about that (never more patrons than the run's batch size, never fewer
# than MIN_BATCH_SIZE: a batch has a fixed cost, its selection and commit, and at size L with 0.1 s
# and 10 the purge ran at a quarter of its speed on a busy box).
TARGET_BATCH_SECONDS = 0.25
MIN_BATCH_SIZE = 50

UnitOfWork = Callable[[], ContextManager[Session]]


def criteria_of(run: PurgeRun) -> PurgeCriteria:
    return PurgeCriteria(run.inactive_since, tuple(run.categories or ()), tuple(run.libraries or ()))


def start_purge(session: Session, criteria: PurgeCriteria, *, selected: int, actor_id: int | None, channel: str,
                batch_size: int = DEFAULT_BATCH_SIZE) -> PurgeRun:
    """Record a new purge run for these criteria (checked first: InvalidCriteria); ``selected``
    is ``count_purgeable`` taken beforehand in a read-only unit of work (progress is shown
    against it). Nothing is deleted yet; ``purge_next_batch`` does the work."""
    criteria.check(session)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size must be between 1 and {MAX_BATCH_SIZE}")
    run = PurgeRun(inactive_since=criteria.inactive_since, categories=list(criteria.categories),
                   libraries=list(criteria.libraries), batch_size=batch_size, channel=channel,
                   started_by_id=actor_id, selected=selected, counts={})
    session.add(run)
    session.flush()
    record_audit(session, actor_id=actor_id, channel=channel, module="PRIVACY", action="PURGE_START",
                 object_type="purge_run", object_id=run.id, info=_run_info(run))
    return run


def _run_info(run: PurgeRun) -> dict:
    return {"inactive_since": run.inactive_since.isoformat(), "categories": list(run.categories or ()),
            "libraries": list(run.libraries or ()), "selected": run.selected, "purged": run.purged,
            "batches": run.batches, **(run.counts or {})}


def lock_run(session: Session, run_id: int) -> PurgeRun | None:
    """The run re-read under its row lock: two processes resuming one run take turns per batch."""
    return session.scalars(select(PurgeRun).where(PurgeRun.id == run_id).with_for_update()
                           .execution_options(populate_existing=True)).one_or_none()


def purge_next_batch(session: Session, run_id: int, *, limit: int | None = None) -> int:
    """Purge the run's next batch of patrons (the run's batch size, or ``limit`` if smaller);
    returns how many. With none left the run finishes (audit log scrubbed, counts audited) and
    this returns 0, as it does for a run not running."""
    run = lock_run(session, run_id)
    if run is None or not run.is_running:
        return 0
    size = min(limit, run.batch_size) if limit else run.batch_size
    stmt = (purgeable(criteria_of(run)).where(Patron.id > run.last_patron_id)
            .order_by(Patron.id).limit(size))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Patron, skip_locked=True)  # a patron at a kiosk right now is skipped
    ids = list(session.scalars(stmt))
    if not ids:
        _finish(session, run)
        return 0
    counts = erase_patrons(session, ids)
    run.last_patron_id = ids[-1]
    run.purged += counts.pop("patrons")
    run.batches += 1
    run.counts = dict(Counter(run.counts or {}) + counts)
    session.flush()
    return len(ids)


def cancel_purge(session: Session, run_id: int, *, actor_id: int | None, channel: str) -> PurgeRun | None:
    """Stop a running purge (patrons already purged stay purged)."""
    run = lock_run(session, run_id)
    if run is None or not run.is_running:
        return run
    run.status, run.finished_at, run.note = PurgeStatus.CANCELLED, clock.now(), "cancelled"
    _scrub_audit_info(session)
    record_audit(session, actor_id=actor_id, channel=channel, module="PRIVACY", action="PURGE_CANCEL",
                 object_type="purge_run", object_id=run.id, info=_run_info(run))
    session.flush()
    return run


def _finish(session: Session, run: PurgeRun) -> None:
    counts = Counter(run.counts or {})
    counts["audit_entries_scrubbed"] += _scrub_audit_info(session)
    counts["import_files_cleared"] += _clear_old_import_files(session, criteria_of(run).cutoff)
    run.counts = {name: count for name, count in counts.items() if count}
    run.status, run.finished_at = PurgeStatus.FINISHED, clock.now()
    record_audit(session, actor_id=run.started_by_id, channel=run.channel, module="PRIVACY", action="PURGE",
                 object_type="purge_run", object_id=run.id, info=_run_info(run))
    session.flush()


def erase_patrons(session: Session, patron_ids: list[int]) -> Counter:
    """Delete these patrons and every copy of their personal data (see the module docstring).
    The caller has checked they may go. Returns counts by kind (``patrons`` included)."""
    ids = list(patron_ids)
    counts: Counter = Counter()
    cards = list(session.scalars(select(Patron.cardnumber).where(Patron.id.in_(ids), Patron.cardnumber.is_not(None))))

    def run(name: str, statement) -> None:
        rowcount = session.execute(statement).rowcount
        if rowcount and rowcount > 0:
            counts[name] += rowcount

    loans, holds, lines = LoanHistory.__table__, Hold.__table__, AccountLine.__table__
    run("loans_anonymised", update(loans).where(loans.c.patron_id.in_(ids)).values(patron_id=None, anonymized=True))
    live = session.execute(select(holds.c.id, holds.c.title_id)
                           .where(holds.c.patron_id.in_(ids), holds.c.status.in_(LIVE_STATUSES))).all()
    if live:
        titles = sorted({title_id for _id, title_id in live})
        session.execute(select(Title.__table__.c.id).where(Title.__table__.c.id.in_(titles))
                        .order_by(Title.__table__.c.id).with_for_update(key_share=True))  # the queue lock, in id order
        session.execute(update(Title.__table__).where(Title.__table__.c.id.in_(titles))
                        .values(hold_queue_version=Title.__table__.c.hold_queue_version + 1))
        run("live_holds_deleted", delete(holds).where(holds.c.id.in_([hold_id for hold_id, _t in live])))
    run("holds_anonymised", update(holds).where(holds.c.patron_id.in_(ids))
        .values(patron_id=None, anonymized=True, notes=None))
    run("account_lines_anonymised", update(lines).where(lines.c.patron_id.in_(ids)).values(patron_id=None, note=None))
    run("lists_deleted", delete(PatronList.__table__).where(PatronList.__table__.c.owner_id.in_(ids)))
    run("login_throttles_deleted", delete(LoginThrottle.__table__)
        .where(LoginThrottle.__table__.c.key.in_([f"account:{i}" for i in ids])))
    if cards:
        offline = PendingOfflineOperation.__table__
        run("offline_operations_scrubbed", update(offline).where(offline.c.cardnumber.in_(cards)).values(cardnumber=None))
        run("sip_answers_deleted", delete(SipTransaction.__table__).where(SipTransaction.__table__.c.patron_ref.in_(cards)))
    audit = AuditEntry.__table__
    run("audit_entries_scrubbed", update(audit).where(audit.c.object_type == "patron",
                                                      audit.c.object_id.in_([str(i) for i in ids])).values(object_id=None))
    run("notices_deleted", delete(Notice.__table__).where(Notice.__table__.c.patron_id.in_(ids)))
    run("patrons", delete(Patron.__table__).where(Patron.__table__.c.id.in_(ids)))
    session.expire_all()  # the ORM may hold some of those rows
    return counts


def _scrub_audit_info(session: Session) -> int:
    """Drop ``patron_id`` from audit ``info`` where that patron no longer exists. One pass at the
    end of a run (the JSON is not indexed, so not once per batch)."""
    audit = AuditEntry.__table__
    named = audit.c.info["patron_id"].as_integer()
    rows = session.execute(select(audit.c.id, audit.c.info)
                           .where(named.is_not(None), ~exists().where(Patron.__table__.c.id == named))).all()
    for entry_id, info in rows:
        session.execute(update(audit).where(audit.c.id == entry_id)
                        .values(info={k: v for k, v in info.items() if k != "patron_id"}))
    return len(rows)


def _clear_old_import_files(session: Session, before: dt.datetime) -> int:
    """Patron import uploads finished before the cutoff are copies of personal data (purged
    patrons' among them): their file and report go, the job's counts stay."""
    jobs = PatronImportJob.__table__
    return session.execute(update(jobs).where(
        jobs.c.status.in_([ImportJobStatus.DONE, ImportJobStatus.FAILED]), jobs.c.created_at < before,
        or_(jobs.c.file_data.is_not(None), jobs.c.report.is_not(None))).values(file_data=None, report=None)).rowcount


def drive_purge(units: UnitOfWork, run_id: int, *, seconds: float | None = None, pause: float = 0.0,
                on_batch: Callable[[PurgeRun], None] | None = None,
                batch_seconds: float | None = TARGET_BATCH_SECONDS) -> PurgeRun | None:
    """Run batches of ``run_id``, each in its own unit of work from ``units``, until the run is
    over or ``seconds`` have passed; ``pause`` between batches lets other writers in (SQLite
    serialises writers). Each batch is sized from the last one's duration to last about
    ``batch_seconds`` (None: always the run's batch size). Returns the run as the last batch
    left it."""
    deadline = None if seconds is None else time.monotonic() + seconds
    limit: int | None = None
    while True:
        began = time.monotonic()
        with units() as session:
            done = purge_next_batch(session, run_id, limit=limit)
            run = session.get(PurgeRun, run_id)
        if batch_seconds and done and run is not None:
            limit = next_batch_size(limit or run.batch_size, time.monotonic() - began, batch_seconds, run.batch_size)
        if on_batch is not None and run is not None:
            on_batch(run)
        if run is None or not run.is_running or (deadline is not None and time.monotonic() >= deadline):
            return run
        if pause:
            time.sleep(pause)


def next_batch_size(size: int, took: float, target: float, largest: int) -> int:
    """The size that would have taken ``target`` seconds, moving at most by half or double."""
    wanted = size * target / max(took, 1e-3)
    return max(min(MIN_BATCH_SIZE, largest), min(largest, int(max(size / 2, min(size * 2, wanted)))))


def unfinished_runs(session: Session) -> list[int]:
    return list(session.scalars(select(PurgeRun.id).where(PurgeRun.status == PurgeStatus.RUNNING).order_by(PurgeRun.id)))


def months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, 28))


def scheduled_purge_criteria(session: Session) -> PurgeCriteria | None:
    """The daily job's purge: patrons inactive for ``PurgeInactivePatronsAfterMonths`` (0: off) in
    ``PurgeInactivePatronsCategories`` / ``PurgeInactivePatronsLibraries``; None when there is
    nothing to start (off, a purge still running, or the job already started one today)."""
    months = get_preference(session, "PurgeInactivePatronsAfterMonths")
    if not months or unfinished_runs(session):
        return None
    today = clock.today()
    start_of_today = dt.datetime.combine(today, dt.time.min, tzinfo=clock.timezone())
    if session.scalar(select(PurgeRun.id).where(PurgeRun.channel == "job", PurgeRun.created_at >= start_of_today).limit(1)):
        return None
    codes = lambda name: tuple(c.strip() for c in get_preference(session, name).split(",") if c.strip())  # noqa: E731
    criteria = PurgeCriteria(months_before(today, months), codes("PurgeInactivePatronsCategories"),
                             codes("PurgeInactivePatronsLibraries"))
    try:
        criteria.check(session)
    except InvalidCriteria as error:
        log.warning("scheduled purge not started: %s", error)
        return None
    return criteria


def start_scheduled_purge(session: Session, criteria: PurgeCriteria, selected: int) -> int:
    """Start the daily job's purge (criteria and count found beforehand, read-only), unless
    another process started one meanwhile; returns the runs started (0 or 1)."""
    if scheduled_purge_criteria(session) != criteria:
        return 0
    start_purge(session, criteria, selected=selected, actor_id=None, channel="job")
    return 1
