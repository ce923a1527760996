"""Background imports for the staff page.

The upload stores the file in a ``PatronImportJob`` row (status queued) and returns at once;
``start_in_background`` then runs it in a thread of the web process. The job is claimed with a
conditional update (queued -> running), so a second runner (``run_queued_imports``, for a
scheduler) never runs it twice. The import is one transaction: if the process dies half-way
the database rolls it back, and a running job whose heartbeat is older than ``STALE_AFTER`` is
shown, and recorded by ``run_queued_imports``, as failed with nothing written.

Progress: each process keeps its running jobs' progress in memory (the page asks the same
process in ``make run``); on PostgreSQL and MariaDB it is also written to the job row about once
a second in short transactions of its own. SQLite allows one writer at a time and the import
holds that lock, so there the row gets its progress only at the end."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db
from app.models import ImportJobStatus, Patron, PatronImportJob

from . import ImportFileRefused, ImportOptions, import_patrons
from .parsing import count_lines, open_binary
from .report import render_report
from .welcome import mail_note

log = logging.getLogger("carrel.patron_import")
STALE_AFTER = dt.timedelta(minutes=5)
PROGRESS_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class LiveProgress:
    phase: str
    done: int
    total: int


_live: dict[int, LiveProgress] = {}
_threads: dict[int, threading.Thread] = {}
_lock = threading.Lock()


def live_progress(job_id: int) -> LiveProgress | None:
    with _lock:
        return _live.get(job_id)


def queue_import(session: Session, data: bytes, options: ImportOptions, actor: Patron | None) -> PatronImportJob:
    """A queued job holding the file; the caller commits, then starts it."""
    job = PatronImportJob(file_name=options.file_name[:255], file_size=len(data), file_data=data,
                          options=options.to_json(), actor_id=actor.id if actor else None,
                          total_rows=count_lines(open_binary(data)), status=ImportJobStatus.QUEUED)
    session.add(job)
    session.flush()
    return job


def is_stale(job: PatronImportJob, now: dt.datetime | None = None) -> bool:
    """Running, not in this process, and silent for too long: its process died."""
    if job.status != ImportJobStatus.RUNNING or live_progress(job.id) is not None:
        return False
    beat = job.heartbeat_at or job.started_at or job.created_at
    return beat < (now or clock.now()) - STALE_AFTER


def start_in_background(app: Flask, job_id: int) -> threading.Thread:
    thread = threading.Thread(target=run_import_job, args=(app, job_id), name=f"patron-import-{job_id}", daemon=True)
    with _lock:
        _threads[job_id] = thread
    thread.start()
    return thread


def wait_for(job_id: int, timeout: float = 60) -> None:
    """Wait for a job started in this process (tests, the command line)."""
    with _lock:
        thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


class _Progress:
    def __init__(self, app: Flask, job_id: int):
        self.app, self.job_id = app, job_id
        self.to_database = db.dialect != "sqlite"
        self.last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        with _lock:
            _live[self.job_id] = LiveProgress(phase, done, total)
        now = time.monotonic()
        if self.to_database and now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            try:
                with db.unit_of_work() as session:
                    session.execute(update(PatronImportJob).where(PatronImportJob.id == self.job_id).values(
                        phase=phase, rows_done=done, total_rows=total, heartbeat_at=clock.now()))
            except Exception:  # progress is a courtesy: never fail the import for it
                log.warning("progress of import job %s not recorded", self.job_id, exc_info=True)


def _claim(job_id: int) -> bool:
    with db.unit_of_work() as session:
        claimed = session.execute(update(PatronImportJob).where(
            PatronImportJob.id == job_id, PatronImportJob.status == ImportJobStatus.QUEUED).values(
            status=ImportJobStatus.RUNNING, started_at=clock.now(), heartbeat_at=clock.now(), phase="validating"))
        return bool(claimed.rowcount)


def _finish(job_id: int, **values) -> None:
    with db.unit_of_work() as session:
        session.execute(update(PatronImportJob).where(PatronImportJob.id == job_id).values(
            finished_at=clock.now(), heartbeat_at=clock.now(), file_data=None, **values))


def run_import_job(app: Flask, job_id: int) -> None:
    """Claim a queued job and run it to the end; the outcome, report included, is recorded on
    the job. Welcome emails are sent after the import committed."""
    with app.app_context():
        if not _claim(job_id):
            return
        try:
            _run(app, job_id)
        except Exception as error:  # recorded for the page; the import itself rolled back
            log.exception("import job %s failed", job_id)
            _finish(job_id, status=ImportJobStatus.FAILED, applied=False,
                    error=f"The import stopped on an unexpected error and nothing was written ({type(error).__name__}).")
        finally:
            with _lock:
                _live.pop(job_id, None)
                _threads.pop(job_id, None)


def _run(app: Flask, job_id: int) -> None:
    with db.unit_of_work(write=False) as session:
        job = session.get(PatronImportJob, job_id)
        data, options, actor_id = job.file_data or b"", ImportOptions.from_json(job.options), job.actor_id
    try:
        with db.unit_of_work(write=not options.dry_run) as session:
            actor = session.get(Patron, actor_id) if actor_id else None
            result = import_patrons(session, data, options, actor, progress=_Progress(app, job_id))
            if not result.applied:
                session.rollback()
    except ImportFileRefused as refusal:
        _finish(job_id, status=ImportJobStatus.DONE, applied=False, summary="The file was not imported",
                error=str(refusal), report=f"The file was not imported: {refusal}\n")
        return
    _finish(job_id, status=ImportJobStatus.DONE, applied=result.applied, phase=None, rows_done=result.rows,
            total_rows=result.rows, created=result.created, overwritten=result.overwritten, ignored=result.ignored,
            malformed=result.malformed, summary=result.summary, patron_list_id=result.patron_list_id,
            report=render_report(result, mail_note(result)))


def _record_dead(job_id: int, beat: dt.datetime | None) -> None:
    """Failed, unless the job moved on since it was judged dead (a long SQLite import writes no
    heartbeat; if it finished meanwhile, its own outcome stands)."""
    with db.unit_of_work() as session:
        session.execute(update(PatronImportJob).where(
            PatronImportJob.id == job_id, PatronImportJob.status == ImportJobStatus.RUNNING,
            PatronImportJob.heartbeat_at == beat if beat is not None else PatronImportJob.heartbeat_at.is_(None),
        ).values(status=ImportJobStatus.FAILED, applied=False, finished_at=clock.now(), file_data=None,
                 error="The process running this import stopped; nothing was written. Upload the file again."))


def run_queued_imports(app: Flask) -> int:
    """For a scheduler: record stale running jobs as failed, then run queued ones; how many ran."""
    with app.app_context():
        with db.unit_of_work(write=False) as session:
            running = session.scalars(select(PatronImportJob).where(PatronImportJob.status == ImportJobStatus.RUNNING))
            stale = [(job.id, job.heartbeat_at) for job in running if is_stale(job)]
            queued = list(session.scalars(select(PatronImportJob.id).where(
                PatronImportJob.status == ImportJobStatus.QUEUED).order_by(PatronImportJob.id)))
        for job_id, beat in stale:
            _record_dead(job_id, beat)
    ran = 0
    for job_id in queued:
        with _lock:
            if job_id in _threads:
                continue
        run_import_job(app, job_id)
        ran += 1
    return ran
