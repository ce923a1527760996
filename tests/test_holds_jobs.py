"""The scheduled hold jobs: expiry of holds no longer needed, resuming suspended holds on their
date, and long-waiting holds (left, cancelled or suspended as the preference says). Each runs
through the scheduler's job function and from ``flask carrel jobs run``, and a second run
changes nothing."""
from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.jobs import JOBS, run_job, start_scheduler
from app.models import Hold, HoldStatus
from app.services import holds
from app.services.holds.jobs import pickup_deadline_for

from .test_holds_fixtures import MONDAY, TODAY, Holds, day, frozen, scene  # noqa: F401


def at_day(n: int):
    return clock.freeze(MONDAY + dt.timedelta(days=n))


def reread(scene: Holds, hold: Hold) -> Hold:
    scene.session.rollback()
    scene.session.expire_all()
    return scene.session.get(Hold, hold.id)


def statuses(scene: Holds, *hold_list: Hold) -> list[HoldStatus]:
    return [reread(scene, h).status for h in hold_list]


def test_the_hold_jobs_are_scheduled_daily_and_resume_hourly(app):
    assert JOBS["expire-holds"].every == dt.timedelta(days=1)
    assert JOBS["handle-long-waiting-holds"].every == dt.timedelta(days=1)
    assert JOBS["resume-suspended-holds"].every <= dt.timedelta(hours=1)
    scheduler = start_scheduler(app)
    try:
        ids = {job.id for job in scheduler.get_jobs()}
        assert {"expire-holds", "resume-suspended-holds", "handle-long-waiting-holds"} <= ids
    finally:
        scheduler.shutdown(wait=True)


def test_holds_no_longer_needed_expire_and_keep_their_place_to_come_back(app, scene):
    patrons = scene.patrons(4)
    due = scene.place(patrons[0], not_needed_after=day(3))
    later = scene.place(patrons[1], not_needed_after=day(10))
    suspended = scene.place(patrons[2], not_needed_after=day(3))
    holds.suspend_hold(scene.session, suspended, scene.librarian)
    waiting = scene.place(patrons[3], not_needed_after=day(3))
    waiting.status = HoldStatus.PULLED
    scene.session.commit()
    with at_day(3):
        assert run_job(app, "expire-holds") == 0  # not needed AFTER day 3: still needed on day 3
    with at_day(4):
        assert run_job(app, "expire-holds") == 2
        assert run_job(app, "expire-holds") == 0
    assert statuses(scene, due, later, suspended, waiting) == [
        HoldStatus.EXPIRED, HoldStatus.QUEUED, HoldStatus.EXPIRED, HoldStatus.PULLED]
    expired = reread(scene, suspended)
    assert [(h.from_status, h.to_status) for h in expired.history][-2:] == [
        (HoldStatus.SUSPENDED, HoldStatus.QUEUED), (HoldStatus.QUEUED, HoldStatus.EXPIRED)]
    assert expired.history[-1].reason == f"not needed after {day(3).isoformat()}" and expired.history[-1].actor_id is None
    assert expired.queue_key is not None


def test_suspended_holds_resume_on_their_date_at_their_place(app, scene):
    first, second, third = (scene.place(p) for p in scene.patrons(3))
    holds.suspend_hold(scene.session, first, scene.librarian, until=day(5))
    holds.suspend_hold(scene.session, third, scene.librarian)  # no date: stays suspended
    scene.session.commit()
    with at_day(4):
        assert run_job(app, "resume-suspended-holds") == 0
    with at_day(5):
        assert run_job(app, "resume-suspended-holds") == 1
        assert run_job(app, "resume-suspended-holds") == 0
    assert statuses(scene, first, second, third) == [HoldStatus.QUEUED, HoldStatus.QUEUED, HoldStatus.SUSPENDED]
    assert reread(scene, first).suspended_until is None
    assert scene.positions()[first.id] == 1


@pytest.fixture
def shelf(scene):
    """A hold pulled on Monday with a deadline a week later, one pulled without a deadline on
    the shelf since Monday, and one still in the queue."""
    on_time, no_deadline, queued = (scene.place(p) for p in scene.patrons(3))
    for hold, item in ((on_time, scene.items[0]), (no_deadline, scene.items[1])):
        hold.status = HoldStatus.PULLED
        hold.allocated_item_id = item.id
        hold.waiting_since = MONDAY
    on_time.pickup_deadline = day(7)
    scene.session.commit()
    return on_time, no_deadline, queued


def test_long_waiting_holds_are_left_for_staff_by_default(app, scene, shelf):
    with at_day(7):
        assert run_job(app, "handle-long-waiting-holds") == 0
    with at_day(8):
        assert run_job(app, "handle-long-waiting-holds") == 2
        assert run_job(app, "handle-long-waiting-holds") == 0
    assert statuses(scene, *shelf) == [HoldStatus.LONG_WAITING, HoldStatus.LONG_WAITING, HoldStatus.QUEUED]
    assert reread(scene, shelf[1]).pickup_deadline == day(7)  # ReservesMaxPickUpDelay (7 days)


def test_long_waiting_holds_cancelled_automatically(app, scene, shelf):
    scene.preference("LongWaitingHoldsAction", "cancel")
    scene.session.commit()
    with at_day(8):
        assert run_job(app, "handle-long-waiting-holds") == 2
        assert run_job(app, "handle-long-waiting-holds") == 0
    cancelled = reread(scene, shelf[0])
    assert cancelled.status is HoldStatus.CANCELLED and cancelled.cancellation_reason == "long waiting"
    assert [h.to_status for h in cancelled.history][-2:] == [HoldStatus.LONG_WAITING, HoldStatus.CANCELLED]


def test_long_waiting_holds_suspended_automatically_give_their_copy_back(app, scene, shelf):
    scene.preference("LongWaitingHoldsAction", "suspend")
    scene.session.commit()
    with at_day(8):
        assert run_job(app, "handle-long-waiting-holds") == 2
        assert run_job(app, "handle-long-waiting-holds") == 0
    suspended = reread(scene, shelf[0])
    assert suspended.status is HoldStatus.SUSPENDED and suspended.allocated_item_id is None
    assert scene.positions()[suspended.id] == 1


def test_holds_already_long_waiting_follow_a_changed_preference(app, scene, shelf):
    with at_day(8):
        run_job(app, "handle-long-waiting-holds")
        scene.preference("LongWaitingHoldsAction", "cancel")
        scene.session.commit()
        assert run_job(app, "handle-long-waiting-holds") == 2
    assert statuses(scene, *shelf[:2]) == [HoldStatus.CANCELLED, HoldStatus.CANCELLED]


def test_the_pickup_period_rule_overrides_the_preference(scene):
    hold = scene.place()
    hold.allocated_item_id = scene.items[0].id
    scene.session.flush()
    assert pickup_deadline_for(scene.session, hold, TODAY) == day(7)
    scene.rule("holds_pickup_period", 3, item_type="BK")
    assert pickup_deadline_for(scene.session, hold, TODAY) == day(3)


@pytest.mark.parametrize("job_id", ["expire-holds", "resume-suspended-holds", "handle-long-waiting-holds"])
def test_each_hold_job_runs_from_the_command_line(runner, scene, job_id):
    scene.place(not_needed_after=day(1))
    scene.session.commit()
    with at_day(2):
        first = runner.invoke(args=["carrel", "jobs", "run", job_id])
        second = runner.invoke(args=["carrel", "jobs", "run", job_id])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert second.output.startswith(f"{job_id}: 0 ")
    if job_id == "expire-holds":
        assert first.output.startswith("expire-holds: 1 ")
