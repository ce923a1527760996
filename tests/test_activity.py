"""Last seen: each trigger updates ``lastseen`` only when the library selected it, at most once per
patron per day whatever the number of requests, workers or channels, and never fails the action."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Patron
from app.services import activity
from app.services.activity import ActivityTracker, record_activity
from app.services.settings import set_preference

from .conftest import login_as

DAY = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _fresh_memory():
    activity.default_tracker.forget()  # SQLite hands emptied tables' ids out again
    yield
    activity.default_tracker.forget()


def track(session, *triggers: str) -> None:
    set_preference(session, "TrackLastPatronActivityTriggers", ",".join(triggers), actor_id=None)
    session.commit()


def lastseen_of(session, patron_id: int) -> dt.datetime | None:
    session.rollback()  # see what the requests committed
    return session.scalar(select(Patron.lastseen).where(Patron.id == patron_id))


# --- logins -----------------------------------------------------------------------------------

def test_an_opac_login_updates_last_seen_when_login_is_selected(client, make, session):
    patron = make.patron(userid="reader", password="pw")
    track(session, "login")
    with clock.freeze(DAY):
        assert login_as(client, "reader", "pw").status_code == 302
    assert lastseen_of(session, patron.id) == DAY


def test_a_login_leaves_last_seen_alone_when_login_is_not_selected(client, make, session):
    patron = make.patron(userid="reader", password="pw")
    track(session, "check_out", "connection")
    assert login_as(client, "reader", "pw").status_code == 302
    assert lastseen_of(session, patron.id) is None


def test_tracking_is_off_when_no_trigger_is_selected(client, make, session):
    patron = make.patron(userid="reader", password="pw")
    session.commit()
    assert login_as(client, "reader", "pw").status_code == 302
    assert lastseen_of(session, patron.id) is None


def test_a_staff_login_updates_last_seen(client, make, session):
    staff = make.staff(userid="librarian", password="pw")
    track(session, "login")
    with clock.freeze(DAY):
        assert login_as(client, "librarian", "pw", staff=True).status_code == 302
    assert lastseen_of(session, staff.id) == DAY


def test_a_failed_login_is_not_activity(client, make, session):
    patron = make.patron(userid="reader", password="pw")
    track(session, "login")
    assert login_as(client, "reader", "wrong").status_code == 401
    assert lastseen_of(session, patron.id) is None


# --- once a day -------------------------------------------------------------------------------

def test_many_logins_in_a_day_write_once_and_the_next_day_writes_again(app, make, session):
    patron = make.patron(userid="reader", password="pw")
    track(session, "login")
    activity.default_tracker.reset_counters()
    with clock.freeze(DAY):
        for _ in range(3):
            assert login_as(app.test_client(), "reader", "pw").status_code == 302
    with clock.freeze(DAY + dt.timedelta(hours=5)):
        assert login_as(app.test_client(), "reader", "pw").status_code == 302
    assert lastseen_of(session, patron.id) == DAY
    stats = activity.activity_stats()
    assert (stats.writes, stats.updates, stats.skipped_as_recorded_today) == (1, 1, 3)
    with clock.freeze(DAY + dt.timedelta(days=1)):
        assert login_as(app.test_client(), "reader", "pw").status_code == 302
    assert lastseen_of(session, patron.id) == DAY + dt.timedelta(days=1)
    assert activity.activity_stats().writes == 2


def test_another_worker_that_has_not_seen_the_patron_writes_nothing_the_same_day(app, make, session):
    patron = make.patron()
    track(session, "check_out")
    first, second = ActivityTracker(), ActivityTracker()  # two processes, two memories
    with clock.freeze(DAY):
        record_activity(db.engine, patron.id, "check_out", tracker=first)
    with clock.freeze(DAY + dt.timedelta(hours=2)):
        record_activity(db.engine, patron.id, "check_out", tracker=second)
    assert (first.stats().writes, second.stats().writes, second.stats().updates) == (1, 0, 1)
    assert lastseen_of(session, patron.id) == DAY
    with clock.freeze(DAY + dt.timedelta(hours=3)):
        record_activity(db.engine, patron.id, "check_out", tracker=second)
    assert second.stats().updates == 1  # now it remembers: no query at all


def test_concurrent_workers_write_once_per_patron_per_day(app, make, session):
    patrons = [make.patron(password=None) for _ in range(12)]
    track(session, "connection")
    workers = [ActivityTracker() for _ in range(6)]
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def work(memory: ActivityTracker) -> None:
        try:
            barrier.wait()
            for _round in range(3):
                for patron in patrons:
                    with db.unit_of_work(write=False) as unit:
                        record_activity(unit, patron.id, "connection", tracker=memory)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    with clock.freeze(DAY):
        threads = [threading.Thread(target=work, args=(memory,)) for memory in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sum(memory.stats().writes for memory in workers) == len(patrons)
    assert all(memory.stats().failures == 0 for memory in workers)
    session.rollback()
    assert set(session.scalars(select(Patron.lastseen).where(Patron.id.in_([p.id for p in patrons])))) == {DAY}


# --- what the service guarantees --------------------------------------------------------------

def test_an_action_that_rolls_back_records_nothing(app, make, session):
    patron = make.patron()
    track(session, "check_in")
    with pytest.raises(RuntimeError), db.unit_of_work() as unit:
        record_activity(unit, patron.id, "check_in")
        raise RuntimeError("the check-in failed")
    assert lastseen_of(session, patron.id) is None
    with db.unit_of_work() as unit:
        record_activity(unit, patron.id, "check_in")
    assert lastseen_of(session, patron.id) is not None


def test_the_write_waits_for_the_real_commit_not_a_savepoint(app, make, session):
    patron = make.patron()
    track(session, "renewal")
    with db.unit_of_work() as unit:
        record_activity(unit, patron.id, "renewal")
        with unit.begin_nested():
            pass
        assert PENDING_IN(unit)
    assert lastseen_of(session, patron.id) is not None


def test_the_write_waits_until_the_action_gave_its_connection_back(app, make, session):
    """A request never holds two connections: fifty requests each holding one while waiting
    for a second would empty the pool for good (a connection pool deadlock)."""
    from sqlalchemy import event

    patron = make.patron()
    track(session, "check_out")
    held, most = [0], [0]

    def checkout(*_args) -> None:
        held[0] += 1
        most[0] = max(most[0], held[0])

    def checkin(*_args) -> None:
        held[0] -= 1

    event.listen(db.engine.pool, "checkout", checkout)
    event.listen(db.engine.pool, "checkin", checkin)
    try:
        with db.unit_of_work() as unit:
            unit.get(Patron, patron.id)
            record_activity(unit, patron.id, "check_out")
    finally:
        event.remove(db.engine.pool, "checkout", checkout)
        event.remove(db.engine.pool, "checkin", checkin)
    assert lastseen_of(session, patron.id) is not None
    assert most[0] == 1


def PENDING_IN(unit) -> bool:  # noqa: N802
    return bool(unit.info.get(activity.PENDING_KEY))


def test_a_failing_write_never_fails_the_action(client, make, session, monkeypatch):
    patron = make.patron(userid="reader", password="pw")
    track(session, "login")

    def broken(*_args, **_kw):
        raise RuntimeError("database went away")

    monkeypatch.setattr(activity, "_conditional_updates", broken)
    assert login_as(client, "reader", "pw").status_code == 302
    assert client.get("/account").status_code == 200
    assert lastseen_of(session, patron.id) is None
    assert activity.activity_stats().failures >= 1


def test_an_older_activity_never_moves_last_seen_back(app, make, session):
    patron = make.patron()
    track(session, "offline")
    with clock.freeze(DAY):
        record_activity(db.engine, patron.id, "offline", at=DAY - dt.timedelta(days=3))
        assert lastseen_of(session, patron.id) == DAY - dt.timedelta(days=3)
        record_activity(db.engine, patron.id, "offline", at=DAY - dt.timedelta(days=5))
        assert lastseen_of(session, patron.id) == DAY - dt.timedelta(days=3)
        record_activity(db.engine, patron.id, "offline")
        assert lastseen_of(session, patron.id) == DAY


def test_last_seen_does_not_count_as_an_edit_of_the_patron(app, make, session):
    patron = make.patron()
    track(session, "login")
    before = patron.updated_at
    record_activity(db.engine, patron.id, "login")
    session.rollback()
    assert session.get(Patron, patron.id).updated_at == before


def test_an_unknown_trigger_is_a_programming_error(app, make):
    with pytest.raises(ValueError):
        record_activity(db.engine, 1, "page_view")


def test_the_staff_patron_page_shows_last_seen(client, make, session):
    patron = make.patron(lastseen=DAY)
    make.staff("patrons", userid="desk", password="pw")
    session.commit()
    login_as(client, "desk", "pw", staff=True)
    page = client.get(f"/staff/patrons/{patron.id}").get_data(as_text=True)
    assert "Last seen" in page and clock.local(DAY).strftime("%Y-%m-%d %H:%M") in page
