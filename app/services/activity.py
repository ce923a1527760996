"""Last seen: record that a patron was active, at most one write per patron per day.

Every channel reports an activity once it succeeded: ``record_activity(session, patron_id,
"check_out")`` (the triggers are ``ACTIVITY_TRIGGERS``; the library selects some in
``TrackLastPatronActivityTriggers``, none meaning off). The cost of a report is, in order:

1. an in-process check: patrons already recorded today (per database, bounded, thread-safe) are
   skipped without touching the database, so a busy patron costs a set lookup per request;
2. the trigger against the preference (cached per request);
3. after the caller's transaction committed and gave its connection back, a conditional ``UPDATE patrons SET lastseen = :at
   WHERE id = :id AND (lastseen IS NULL OR lastseen < :start_of_that_day)`` in a short
   transaction of its own. The condition is what keeps several web workers, the SIP2 worker
   and other machines (each with its own in-process check) to one write per patron per day:
   the first one writes, the others match no row (PostgreSQL re-checks the condition after
   waiting on the first one's row lock).

Why after the commit, in a transaction of its own, rather than in the caller's transaction:
the action has already succeeded and been committed, so nothing the tracking does (a lock
timeout, a deadlock, a failing database) can fail or roll it back; the patron row is not held
locked for the rest of the caller's unit of work (a kiosk and a web page for one patron do not
queue on each other); a read-only boundary (a SIP2 patron information request) stays
read-only; and an action that rolled back records nothing. Errors are logged and swallowed. The
price is one extra short transaction per patron per day per process, which the in-process check
bounds. A caller without a session (a script) passes an Engine and the write happens at once.

``lastseen`` changes do not touch ``updated_at``: being seen is not an edit of the record."""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.orm import Session, scoped_session

from app import clock
from app.extensions import _write_intent, listen_to_every_session
from app.models import Patron, SystemPreference
from app.services.settings import ACTIVITY_TRIGGERS, definition, get_preference

log = logging.getLogger("carrel.activity")

PREFERENCE = "TrackLastPatronActivityTriggers"
PENDING_KEY = "carrel_pending_activity"  # in Session.info: {patron_id: latest moment}
COMMITTED_KEY = "carrel_committed_activity"  # the same, once committed, until the transaction has ended
DEFAULT_MAX_REMEMBERED = 200_000  # patrons remembered per database per day (a few MB at most)

_patrons = Patron.__table__


@dataclass(frozen=True)
class ActivityStats:
    """What the tracker did since it started (or since ``reset_counters``)."""

    reports: int  # record_activity calls
    skipped_as_recorded_today: int  # answered by the in-process check
    updates: int  # conditional updates run
    writes: int  # rows the updates changed (lastseen writes)
    failures: int  # reports lost to an error (logged)
    seconds: float  # time spent in record_activity and in the after-commit writes


class ActivityTracker:
    """The in-process memory of who was recorded today, per database, and the counters."""

    def __init__(self, max_remembered: int = DEFAULT_MAX_REMEMBERED):
        self.max_remembered = max_remembered
        self._lock = threading.Lock()
        self._day: dt.date | None = None
        self._recorded: weakref.WeakKeyDictionary[Engine, set[int]] = weakref.WeakKeyDictionary()
        self.reset_counters()

    def reset_counters(self) -> None:
        with self._lock:
            self._reports = self._skipped = self._updates = self._writes = self._failures = 0
            self._seconds = 0.0

    def forget(self) -> None:
        """Forget who was recorded (tests reuse patron ids; a new day does this by itself)."""
        with self._lock:
            self._recorded = weakref.WeakKeyDictionary()

    def stats(self) -> ActivityStats:
        with self._lock:
            return ActivityStats(self._reports, self._skipped, self._updates, self._writes, self._failures,
                                 self._seconds)

    def recorded_today(self, engine: Engine, patron_id: int, today: dt.date) -> bool:
        with self._lock:
            self._reports += 1
            if self._day != today:
                self._day, self._recorded = today, weakref.WeakKeyDictionary()
                return False
            seen = self._recorded.get(engine)
            if seen is not None and patron_id in seen:
                self._skipped += 1
                return True
            return False

    def remember(self, engine: Engine, patron_ids: Iterable[int], today: dt.date) -> None:
        with self._lock:
            if self._day != today:
                self._day, self._recorded = today, weakref.WeakKeyDictionary()
            seen = self._recorded.setdefault(engine, set())
            if len(seen) >= self.max_remembered:
                seen.clear()  # worst case: a few conditional updates that match no row
            seen.update(patron_ids)

    def count(self, *, updates: int = 0, writes: int = 0, failures: int = 0, seconds: float = 0.0) -> None:
        with self._lock:
            self._updates += updates
            self._writes += writes
            self._failures += failures
            self._seconds += seconds


default_tracker = ActivityTracker()


def activity_stats() -> ActivityStats:
    return default_tracker.stats()


def start_of_day(moment: dt.datetime) -> dt.datetime:
    """The start, in UTC, of the library-local day ``moment`` falls on."""
    day = clock.local(moment).date()
    return dt.datetime.combine(day, dt.time.min, tzinfo=clock.timezone()).astimezone(dt.timezone.utc)


def record_activity(target: Session | scoped_session | Engine, patron_id: int | None, trigger: str,
                    at: dt.datetime | None = None, *, tracker: ActivityTracker | None = None) -> None:
    """Note that the patron was active (``trigger``, at ``at`` or now), if the library tracks
    that trigger and nobody recorded the patron today. With a Session the write happens after
    that session commits; with an Engine at once. Never raises for a database problem."""
    if trigger not in ACTIVITY_TRIGGERS:
        raise ValueError(f"unknown activity trigger {trigger!r}")  # a caller's typo: tests find it
    if patron_id is None:
        return
    memory = tracker or default_tracker
    started = time.perf_counter()
    try:
        if isinstance(target, scoped_session):
            target = target()  # the request's (or thread's) session
        moment = at or clock.now()
        engine = _engine_of(target)
        if memory.recorded_today(engine, patron_id, clock.today()):
            return
        if trigger not in _enabled_triggers(target):
            return
        if isinstance(target, Session):
            pending: dict[int, tuple[dt.datetime, ActivityTracker]] = target.info.setdefault(PENDING_KEY, {})
            previous = pending.get(patron_id)
            if previous is None or previous[0] < moment:
                pending[patron_id] = (moment, memory)
        else:
            _write(target, {patron_id: (moment, memory)})
    except Exception:
        memory.count(failures=1)
        log.warning("last seen not recorded for a %s activity", trigger, exc_info=True)
    finally:
        memory.count(seconds=time.perf_counter() - started)


def _engine_of(target: Session | Engine | Connection) -> Engine:
    bind = target.get_bind() if isinstance(target, Session) else target
    return bind.engine if isinstance(bind, Connection) else bind


def _enabled_triggers(target: Session | Engine) -> frozenset[str]:
    if isinstance(target, Session):
        with target.no_autoflush:  # the caller's pending changes are flushed at its commit, not here
            return get_preference(target, PREFERENCE)
    with target.connect() as conn:
        raw = conn.scalar(select(SystemPreference.value).where(SystemPreference.name == PREFERENCE))
    pref = definition(PREFERENCE)
    try:
        return pref.default if raw is None else pref.parse(raw)
    except ValueError:
        return pref.default


def install() -> None:
    """Write pending activity after each commit (once per process; called by ``create_app``)."""
    listen_to_every_session(("after_commit", _after_commit), ("after_transaction_end", _after_transaction_end))


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(PENDING_KEY):
        return  # a savepoint released: the real commit is still to come
    session.info[COMMITTED_KEY] = session.info.pop(PENDING_KEY)


def _after_transaction_end(session: Session, transaction) -> None:
    """The transaction is over and its connection back in the pool (``after_commit`` still holds
    it): the write takes a connection of its own, so a request never holds two at once. Many
    requests each holding one while waiting for a second would empty the pool for good."""
    if transaction.parent is not None:
        return
    session.info.pop(PENDING_KEY, None)  # rolled back or closed without a commit: nothing happened
    committed = session.info.pop(COMMITTED_KEY, None)
    if not committed:
        return
    started = time.perf_counter()
    try:
        _write(session.get_bind(), committed)
    except Exception:
        for memory in {memory for _moment, memory in committed.values()}:
            memory.count(failures=1)
        log.warning("last seen not recorded for %d patron(s)", len(committed), exc_info=True)
    finally:
        for memory in {memory for _moment, memory in committed.values()}:
            memory.count(seconds=time.perf_counter() - started)


def _write(bind: Engine | Connection, pending: dict[int, tuple[dt.datetime, ActivityTracker]]) -> None:
    """The conditional updates, in one short transaction of their own."""
    token = _write_intent.set(True)  # SQLite: BEGIN IMMEDIATE, queue behind other writers
    try:
        if isinstance(bind, Connection):  # a session bound to a connection: stay inside its transaction
            with bind.begin_nested() if bind.in_transaction() else bind.begin():
                written = _conditional_updates(bind, pending)
        else:
            with bind.connect() as conn, conn.begin():
                written = _conditional_updates(conn, pending)
    finally:
        _write_intent.reset(token)
    today = clock.today()
    engine = _engine_of(bind)
    for memory in {memory for _moment, memory in pending.values()}:
        mine = [(pid, moment) for pid, (moment, owner) in pending.items() if owner is memory]
        memory.remember(engine, [pid for pid, moment in mine if clock.local(moment).date() == today], today)
        memory.count(updates=len(mine), writes=sum(written[pid] for pid, _moment in mine))


def _conditional_updates(conn: Connection, pending: dict[int, tuple[dt.datetime, ActivityTracker]]) -> dict[int, int]:
    written = {}
    for patron_id, (moment, _memory) in pending.items():
        result = conn.execute(
            update(_patrons)
            .where(_patrons.c.id == patron_id,
                   or_(_patrons.c.lastseen.is_(None), _patrons.c.lastseen < start_of_day(moment)))
            .values(lastseen=moment, updated_at=_patrons.c.updated_at)
        )
        written[patron_id] = max(result.rowcount, 0)
    return written
