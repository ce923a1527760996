"""The scheduled work on holds: expiring holds no longer needed, resuming suspended holds whose
date has come, and dealing with holds left on the pickup shelf too long. Each function works
title by title under the titles' row locks, changes only what is due on ``on``, and so changes
nothing when run a second time."""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterator

from sqlalchemy import Select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.models import Hold, HoldStatus, Item, Patron, Title
from app.services import notices
from app.services.rules import effective_rules
from app.services.settings import get_preference

from . import scopes
from .lifecycle import change_status, release_copy
from .queue import LOCK_CHUNK, lock_titles, queue_changed

S = HoldStatus


def _due_by_title(session: Session, stmt: Select) -> Iterator[tuple[dict[int, Title], list[Hold]]]:
    """The holds ``stmt`` selects, a chunk of titles at a time: the titles locked first, then the
    holds read again under the locks (so a hold changed meanwhile is judged as it is now)."""
    title_ids = sorted(set(session.scalars(stmt.with_only_columns(Hold.title_id).order_by(None).distinct())))
    for start in range(0, len(title_ids), LOCK_CHUNK):
        chunk = title_ids[start:start + LOCK_CHUNK]
        titles = lock_titles(session, chunk)
        holds = list(session.scalars(stmt.where(Hold.title_id.in_(chunk))
                                     .options(selectinload(Hold.history))
                                     .execution_options(populate_existing=True)))
        yield titles, holds
        session.flush()


def _tell_cancelled(session: Session, told: list[tuple[Hold, str]]) -> None:
    """Queue the cancellation notices of a chunk of holds once its changes are flushed, without
    autoflushing before each notice's lookup (a flush per hold cost most of the job's time)."""
    session.flush()
    with session.no_autoflush:
        for hold, reason in told:
            notices.hold_cancelled(session, hold, reason)
    told.clear()


def expire_holds(session: Session, on: dt.date) -> int:
    """Expire holds whose "not needed after" date is before ``on`` and that have no copy waiting
    or travelling (a suspended one is resumed first: both steps are recorded). They keep their
    queue key and can be brought back. Returns how many expired."""
    count = 0
    now = clock.now()
    told: list[tuple[Hold, str]] = []
    for titles, holds in _due_by_title(session, scopes.not_needed_any_more(on)):
        for hold in holds:
            reason = f"not needed after {hold.not_needed_after.isoformat()}"
            if hold.status is S.SUSPENDED:
                change_status(hold, S.QUEUED, None, "resumed to expire", at=now)
                hold.suspended_until = None
            if hold.status is S.READY_TO_PULL:
                release_copy(hold)
            change_status(hold, S.EXPIRED, None, reason, at=now)
            hold.finished_at = now
            told.append((hold, reason))
            queue_changed(titles[hold.title_id])
            count += 1
        _tell_cancelled(session, told)
    return count


def resume_due_holds(session: Session, on: dt.date) -> int:
    """Resume suspended holds whose resume date is ``on`` or earlier; each goes back to its
    place. Returns how many resumed."""
    count = 0
    now = clock.now()
    for titles, holds in _due_by_title(session, scopes.due_to_resume(on)):
        for hold in holds:
            change_status(hold, S.QUEUED, None, f"resume date {hold.suspended_until.isoformat()} reached", at=now)
            hold.suspended_until = None
            queue_changed(titles[hold.title_id])
            count += 1
    return count


class PickupDelays:
    """Days a hold waits on the pickup shelf: the rule ``holds_pickup_period`` for the patron's
    category and the copy's item type at the control library, else the preference
    ``ReservesMaxPickUpDelay``. Looked up once per (library, category, item type)."""

    def __init__(self, session: Session):
        self.session = session
        self.default = get_preference(session, "ReservesMaxPickUpDelay")
        self.control = get_preference(session, "ReservesControlBranch")
        self._cache: dict[tuple[str | None, str | None, str | None], int] = {}

    def days(self, hold: Hold) -> int:
        patron: Patron | None = hold.patron
        item: Item | None = hold.allocated_item
        if self.control == "ItemHomeLibrary" and item is not None:
            library = item.home_library_code
        else:
            library = patron.library_code if patron is not None else hold.pickup_library_code
        key = (library, patron.category_code if patron else None, item.item_type_code if item else None)
        if key not in self._cache:
            period = effective_rules(self.session, *key, ["holds_pickup_period"])["holds_pickup_period"]
            self._cache[key] = self.default if period is None else period
        return self._cache[key]

    def deadline(self, hold: Hold, waiting_day: dt.date) -> dt.date:
        """The last day the hold may be picked up when it started waiting on ``waiting_day``."""
        return waiting_day + dt.timedelta(days=self.days(hold))


def pickup_deadline_for(session: Session, hold: Hold, waiting_day: dt.date) -> dt.date:
    """The pickup deadline of a hold that starts waiting on ``waiting_day`` (for the filler)."""
    return PickupDelays(session).deadline(hold, waiting_day)


def handle_long_waiting_holds(session: Session, on: dt.date) -> int:
    """Mark holds waiting past their pickup deadline as long waiting, then do what
    ``LongWaitingHoldsAction`` says: cancel them, suspend them (the copy goes back), or leave them
    for staff. Returns how many holds changed status."""
    action = get_preference(session, "LongWaitingHoldsAction")
    delays = PickupDelays(session)
    count = 0
    now = clock.now()
    told: list[tuple[Hold, str]] = []
    handlers: dict[str, Callable[[Hold], None]] = {
        "cancel": lambda hold: told.append(_cancel_long_waiting(hold, now)),
        "suspend": lambda hold: _suspend_long_waiting(hold, now),
    }
    # Left for staff: holds already marked long waiting need nothing, so they are not read again.
    for titles, holds in _due_by_title(session, scopes.waiting_too_long(on, marked_too=action in handlers)):
        for hold in holds:
            changed = False
            if hold.status is S.PULLED:
                if hold.pickup_deadline is None:
                    if hold.waiting_since is None:
                        continue  # pulled but not yet at the pickup library: not waiting
                    hold.pickup_deadline = delays.deadline(hold, clock.local(hold.waiting_since).date())
                if hold.pickup_deadline >= on:
                    continue
                change_status(hold, S.LONG_WAITING, None,
                              f"waiting past the pickup deadline {hold.pickup_deadline.isoformat()}", at=now)
                changed = True
            if action in handlers:
                handlers[action](hold)
                changed = True
            if changed:
                queue_changed(titles[hold.title_id])
                count += 1
        _tell_cancelled(session, told)
    return count


def _cancel_long_waiting(hold: Hold, now: dt.datetime) -> tuple[Hold, str]:
    """Cancel the hold; returns it with the words of the notice the patron gets."""
    change_status(hold, S.CANCELLED, None, "waited too long on the pickup shelf", at=now)
    hold.cancellation_reason = "long waiting"
    hold.finished_at = now
    return hold, "waited too long on the pickup shelf"


def _suspend_long_waiting(hold: Hold, now: dt.datetime) -> None:
    change_status(hold, S.SUSPENDED, None, "waited too long on the pickup shelf", at=now)
    release_copy(hold)
