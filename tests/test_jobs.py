"""Housekeeping jobs remove what has lapsed and nothing else, change nothing when run twice, run
from the command line, and skip while another process holds the job's lock."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from app import clock
from app.extensions import db
from app.jobs import JOBS, lock_key, run_job, start_scheduler
from app.models import ApiClient, ApiToken, LoginThrottle

NOW = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
WINDOW = dt.timedelta(seconds=900)  # LOGIN_THROTTLE_SECONDS in the test app


@pytest.fixture
def tokens(make, session):
    owner = make.staff()
    session.add(ApiClient(client_id="kiosk-app", secret_hash="x", patron_id=owner.id))
    session.flush()
    for name, expires in [("expired-yesterday", NOW - dt.timedelta(days=1)), ("expired-a-second-ago", NOW - dt.timedelta(seconds=1)),
                          ("valid-for-an-hour", NOW + dt.timedelta(hours=1)), ("expires-right-now", NOW)]:
        session.add(ApiToken(token_hash=name, client_id="kiosk-app", expires_at=expires))
    session.commit()


@pytest.fixture
def throttles(session):
    rows = {
        "address:stale": (NOW - 2 * WINDOW, None),
        "account:stale-lock-over": (NOW - 2 * WINDOW, NOW - dt.timedelta(minutes=1)),
        "account:still-counting": (NOW - WINDOW / 2, None),
        "address:old-window-but-locked": (NOW - 2 * WINDOW, NOW + dt.timedelta(minutes=5)),
        "account:window-ends-now": (NOW - WINDOW, None),
    }
    for key, (started, locked_until) in rows.items():
        session.add(LoginThrottle(key=key, failures=3, window_started_at=started, locked_until=locked_until))
    session.commit()


def remaining(session, column) -> set[str]:
    session.expire_all()
    found = set(session.scalars(select(column)))
    session.rollback()
    return found


def test_purging_api_tokens_removes_only_expired_ones_and_is_idempotent(app, session, tokens):
    with clock.freeze(NOW):
        assert run_job(app, "purge-expired-api-tokens") == 2
        assert remaining(session, ApiToken.token_hash) == {"valid-for-an-hour", "expires-right-now"}
        assert run_job(app, "purge-expired-api-tokens") == 0
    assert remaining(session, ApiToken.token_hash) == {"valid-for-an-hour", "expires-right-now"}


def test_purging_login_throttles_keeps_counting_windows_and_live_locks(app, session, throttles):
    with clock.freeze(NOW):
        assert run_job(app, "purge-stale-login-throttles") == 2
        kept = {"account:still-counting", "address:old-window-but-locked", "account:window-ends-now"}
        assert remaining(session, LoginThrottle.key) == kept
        assert run_job(app, "purge-stale-login-throttles") == 0
    assert remaining(session, LoginThrottle.key) == kept


def test_jobs_run_from_the_command_line(runner, session, tokens):
    with clock.freeze(NOW):
        result = runner.invoke(args=["carrel", "jobs", "run", "purge-expired-api-tokens"])
        assert result.exit_code == 0, result.output
        assert "purge-expired-api-tokens: 2 removed" in result.output
        again = runner.invoke(args=["carrel", "jobs", "run", "purge-expired-api-tokens"])
    assert "purge-expired-api-tokens: 0 removed" in again.output


def test_jobs_list_and_unknown_job_ids(runner):
    listing = runner.invoke(args=["carrel", "jobs", "list"])
    assert listing.exit_code == 0
    for job_id in JOBS:
        assert job_id in listing.output
    unknown = runner.invoke(args=["carrel", "jobs", "run", "no-such-job"])
    assert unknown.exit_code == 2 and "no job 'no-such-job'" in unknown.output


def test_a_job_is_skipped_while_another_process_holds_its_lock(app, session, tokens, dialect):
    if dialect != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    with db.engine.connect() as other_worker:
        other_worker.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("purge-expired-api-tokens")})
        with clock.freeze(NOW):
            assert run_job(app, "purge-expired-api-tokens") is None
        assert len(remaining(session, ApiToken.token_hash)) == 4
        other_worker.rollback()
    with clock.freeze(NOW):
        assert run_job(app, "purge-expired-api-tokens") == 2


def test_lock_keys_are_stable_signed_64_bit_numbers():
    assert lock_key("purge-expired-api-tokens") == lock_key("purge-expired-api-tokens")
    assert lock_key("purge-expired-api-tokens") != lock_key("purge-stale-login-throttles")
    assert -(2 ** 63) <= lock_key("x") < 2 ** 63


def test_the_scheduler_runs_every_job_once_at_a_time_and_coalesces(app):
    scheduler = start_scheduler(app)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == set(JOBS)
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce is True
            assert job.args == (app,)
    finally:
        scheduler.shutdown(wait=True)
