"""Scheduled jobs, thin: each is a module-level function with a stable id that opens an app context
and one unit of work, takes the job's database lock, calls a service and commits. Only the worker
(or ``flask carrel serve``) starts the scheduler; ``flask carrel jobs run ID`` runs one by hand.

The lock stops a second worker started by mistake from running the same job at the same time:
PostgreSQL ``pg_try_advisory_xact_lock`` (released at commit; a busy lock skips the run),
MariaDB/MySQL ``GET_LOCK`` (released at the end), SQLite the ``BEGIN IMMEDIATE`` write lock
that ``unit_of_work(write=True)`` takes (a second writer waits for the first)."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Callable, Iterator

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db
from app.models import PurgeRun, PurgeStatus
from app.services import housekeeping, privacy
from app.services.notices import scheduled as scheduled_notices
from app.services.notices import sending as notice_sending
from app.services.settings import get_preference
from app.services.holds import jobs as hold_jobs

log = logging.getLogger("carrel.jobs")


def lock_key(job_id: str) -> int:
    """A stable signed 64-bit key for ``job_id`` (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(session: Session, job_id: str) -> Iterator[bool]:
    """Yields True when this process holds the job's lock for the unit of work, False when
    another process is running the job."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        yield bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(job_id)}))
    elif dialect in ("mysql", "mariadb"):
        name = f"carrel-job-{job_id}"[:64]
        acquired = bool(session.scalar(text("SELECT GET_LOCK(:name, 0)"), {"name": name}))
        try:
            yield acquired
        finally:
            if acquired:
                session.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
    else:
        session.execute(text("SELECT 1"))  # starts the transaction: BEGIN IMMEDIATE on SQLite
        yield True


def run_locked(app: Flask, job_id: str, work: Callable[[Session], int]) -> int | None:
    """Run ``work`` in one unit of work under the job's lock; its count, or None when skipped."""
    with app.app_context(), db.unit_of_work(write=True) as session, job_lock(session, job_id) as acquired:
        if not acquired:
            log.info("job %s is running elsewhere; skipped", job_id)
            return None
        count = work(session)
    log.info("job %s done: %d removed", job_id, count)
    return count


# ---------------------------------------------------------------------------------------------
# The jobs

def purge_expired_api_tokens(app: Flask) -> int | None:
    """Remove API tokens past their expiry."""
    return run_locked(app, "purge-expired-api-tokens",
                      lambda session: housekeeping.purge_expired_api_tokens(session, now=clock.now()))


def purge_stale_login_throttles(app: Flask) -> int | None:
    """Remove failed-login counters whose window and lock have both passed."""
    window = dt.timedelta(seconds=app.config["LOGIN_THROTTLE_SECONDS"])
    return run_locked(app, "purge-stale-login-throttles",
                      lambda session: housekeeping.purge_stale_login_throttles(session, now=clock.now(), window=window))


def expire_holds(app: Flask) -> int | None:
    """Expire holds whose "not needed after" date has passed (they can be brought back)."""
    return run_locked(app, "expire-holds", lambda session: hold_jobs.expire_holds(session, clock.today()))


def resume_suspended_holds(app: Flask) -> int | None:
    """Resume suspended holds whose resume date has come, at their place in the queue."""
    return run_locked(app, "resume-suspended-holds",
                      lambda session: hold_jobs.resume_due_holds(session, clock.today()))


def handle_long_waiting_holds(app: Flask) -> int | None:
    """Mark holds left on the pickup shelf past the pickup delay as long waiting, then cancel,
    suspend or leave them as LongWaitingHoldsAction says."""
    return run_locked(app, "handle-long-waiting-holds",
                      lambda session: hold_jobs.handle_long_waiting_holds(session, clock.today()))


def rebuild_holds_queue(app: Flask) -> int | None:
    """Rebuild every title's holds queue (Koha's build_holds_queue.pl): planned into a staging
    table batch by batch, swapped in with one transaction, so readers never see it empty."""
    from app.services.hold_queue.rebuild import rebuild_hold_queue

    with app.app_context():
        try:
            result = rebuild_hold_queue(_locked_units("rebuild-holds-queue"))
        except _JobBusy:
            log.info("job rebuild-holds-queue is running elsewhere; skipped")
            return None
    log.info("job rebuild-holds-queue done: %d titles, %d holds planned, %d changed, %d titles changed meanwhile",
             result.titles, result.holds, result.changed, result.skipped_titles)
    return result.changed


def queue_scheduled_notices(app: Flask) -> int | None:
    """Queue hold reminders, due-soon and overdue notices (each loan or hold told once)."""
    return run_locked(app, "queue-scheduled-notices",
                      lambda session: scheduled_notices.queue_scheduled_notices(session, clock.today()).total)


def send_notices(app: Flask) -> int | None:
    """Send pending email notices (SMTP, or the outbox in development) with retries and backoff.
    Rows are claimed atomically, so a second run at the same time sends none of them twice."""
    with app.app_context():
        result = notice_sending.send_pending_notices(lambda: db.unit_of_work(write=True), app.config)
    log.info("job send-notices done: %d sent, %d to retry, %d failed", result.sent, result.retrying, result.failed)
    return result.total


def run_queued_imports(app: Flask) -> int | None:
    """Patron imports: record an import whose process died as failed (nothing was written), and
    run uploads no process started. A job is claimed atomically, so none runs twice."""
    from app.services.patron_import.jobs import run_queued_imports as run_imports

    return run_imports(app)


class _JobBusy(Exception):
    """Another process holds the job's lock."""


def _locked_units(job_id: str) -> Callable[[], contextlib.AbstractContextManager[Session]]:
    """Units of work that each take the job's lock: for jobs that commit batch by batch."""

    @contextlib.contextmanager
    def unit() -> Iterator[Session]:
        with db.unit_of_work(write=True) as session, job_lock(session, job_id) as acquired:
            if not acquired:
                raise _JobBusy(job_id)
            yield session

    return unit


def anonymise_history(app: Flask) -> int | None:
    """Anonymise loan history and finished holds older than AnonymizeHistoryAfterDays (never-keep
    patrons' at once), in batches."""
    with app.app_context():
        with db.unit_of_work(write=False) as session:
            days = get_preference(session, "AnonymizeHistoryAfterDays")
        try:
            result, _done = privacy.drive_anonymisation(_locked_units("anonymise-history"), days, actor_id=None,
                                                        channel="job", pause=0.05)
        except _JobBusy:
            log.info("job anonymise-history is running elsewhere; skipped")
            return None
    log.info("job anonymise-history done: %d loans and %d holds anonymised", result.loans, result.holds)
    return result.total


def purge_inactive_patrons(app: Flask) -> int | None:
    """Resume interrupted purges, then purge patrons inactive for PurgeInactivePatronsAfterMonths
    (0: off), in batches."""
    with app.app_context(), db.unit_of_work(write=False) as session:  # the count outside the write lock
        criteria = privacy.scheduled_purge_criteria(session)
        selected = privacy.count_purgeable(session, criteria) if criteria is not None else 0
    if criteria is not None and run_locked(
            app, "purge-inactive-patrons", lambda session: privacy.start_scheduled_purge(session, criteria, selected)) is None:
        return None
    purged = 0
    with app.app_context():
        with db.unit_of_work(write=False) as session:
            done_so_far = dict(session.execute(select(PurgeRun.id, PurgeRun.purged)
                                               .where(PurgeRun.status == PurgeStatus.RUNNING).order_by(PurgeRun.id)).all())
        for run_id, before in done_so_far.items():
            run = privacy.drive_purge(db.unit_of_work, run_id, pause=0.1)
            purged += (run.purged - before) if run is not None else 0
    log.info("job purge-inactive-patrons done: %d patrons purged", purged)
    return purged


@dataclass(frozen=True)
class Job:
    id: str
    function: Callable[[Flask], int | None]
    every: dt.timedelta

    @property
    def description(self) -> str:
        return (self.function.__doc__ or "").strip()


JOBS: dict[str, Job] = {job.id: job for job in (
    Job("purge-expired-api-tokens", purge_expired_api_tokens, dt.timedelta(hours=1)),
    Job("purge-stale-login-throttles", purge_stale_login_throttles, dt.timedelta(minutes=30)),
    Job("anonymise-history", anonymise_history, dt.timedelta(days=1)),
    Job("purge-inactive-patrons", purge_inactive_patrons, dt.timedelta(days=1)),
    Job("expire-holds", expire_holds, dt.timedelta(days=1)),
    Job("resume-suspended-holds", resume_suspended_holds, dt.timedelta(hours=1)),
    Job("handle-long-waiting-holds", handle_long_waiting_holds, dt.timedelta(days=1)),
    Job("rebuild-holds-queue", rebuild_holds_queue, dt.timedelta(hours=1)),
    Job("queue-scheduled-notices", queue_scheduled_notices, dt.timedelta(hours=1)),
    Job("send-notices", send_notices, dt.timedelta(minutes=1)),
    Job("run-queued-imports", run_queued_imports, dt.timedelta(minutes=1)),
)}


def run_job(app: Flask, job_id: str) -> int | None:
    """Run one job now, as the scheduler would. Raises KeyError for an unknown id."""
    return JOBS[job_id].function(app)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """A started BackgroundScheduler with every job; the caller shuts it down (``shutdown()``)."""
    scheduler = BackgroundScheduler(timezone=app.config["TIMEZONE"],
                                    job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300})
    for job in JOBS.values():
        scheduler.add_job(job.function, "interval", seconds=job.every.total_seconds(), args=[app], id=job.id,
                          name=job.description or job.id, max_instances=1, coalesce=True, replace_existing=True)
    scheduler.start()
    log.info("scheduler started with %d jobs", len(JOBS))
    return scheduler
