"""The hold collections pages and jobs share, in one place. Each returns a ``select``: views
paginate them, jobs iterate them.

A title's queue is its live holds ordered by ``(lowest_priority, queue_key)``; the position
people see is the rank in that order (1..n, no gaps)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, and_, func, or_, select

from app.models import Hold, HoldStatus
from app.models.hold import LIVE_STATUSES

QUEUE_ORDER = (Hold.lowest_priority, Hold.queue_key, Hold.id)
# Holds that left the queue but may be brought back to their old place.
RETURNABLE_STATUSES = frozenset({HoldStatus.EXPIRED, HoldStatus.CANCELLED})
# Holds that left the queue for good or until brought back.
ENDED_STATUSES = RETURNABLE_STATUSES | {HoldStatus.FILLED}
# Holds a person may suspend (a copy set aside is first put back).
SUSPENDABLE_STATUSES = frozenset({HoldStatus.QUEUED, HoldStatus.READY_TO_PULL})
# Holds waiting for the patron on the pickup shelf.
WAITING_STATUSES = frozenset({HoldStatus.PULLED, HoldStatus.LONG_WAITING})


def live_for_title(title_id: int) -> Select:
    """The title's queue: its live holds in queue order."""
    return select(Hold).where(Hold.title_id == title_id, Hold.status.in_(LIVE_STATUSES)).order_by(*QUEUE_ORDER)


def queue_keys_for_title(title_id: int) -> Select:
    """(hold id, queue key, lowest priority) of the title's live holds, in queue order: what
    reordering works on, without loading whole holds."""
    return (select(Hold.id, Hold.queue_key, Hold.lowest_priority)
            .where(Hold.title_id == title_id, Hold.status.in_(LIVE_STATUSES)).order_by(*QUEUE_ORDER))


def returnable_for_title(title_id: int) -> Select:
    """Expired and cancelled holds of the title that can be brought back, latest first."""
    return (select(Hold).where(Hold.title_id == title_id, Hold.status.in_(RETURNABLE_STATUSES),
                               Hold.queue_key.is_not(None))
            .order_by(Hold.finished_at.desc(), Hold.id.desc()))


def highest_key_for_title(title_id: int) -> Select:
    """The largest queue key any hold of the title holds, live or not (a new hold takes the
    next one, so a hold that left keeps a key nobody else will take)."""
    return select(func.max(Hold.queue_key)).where(Hold.title_id == title_id)


def positions(title_ids: list[int] | None = None) -> Select:
    """(hold id, title id, position) of live holds, ranked within each title."""
    rank = func.row_number().over(partition_by=Hold.title_id, order_by=QUEUE_ORDER).label("position")
    stmt = select(Hold.id, Hold.title_id, rank).where(Hold.status.in_(LIVE_STATUSES))
    if title_ids is not None:
        stmt = stmt.where(Hold.title_id.in_(title_ids))
    return stmt


def for_patron(patron_id: int, *, live_only: bool = True) -> Select:
    """The patron's holds, oldest first (live ones only unless asked)."""
    stmt = select(Hold).where(Hold.patron_id == patron_id)
    if live_only:
        stmt = stmt.where(Hold.status.in_(LIVE_STATUSES))
    return stmt.order_by(Hold.placed_at, Hold.id)


def ended_for_patron(patron_id: int, since: dt.datetime) -> Select:
    """The patron's holds that ended (filled, expired or cancelled) since ``since``, latest first.
    Anonymised holds have no patron any more, so the patron's privacy choice decides how long
    they stay here."""
    return (select(Hold).where(Hold.patron_id == patron_id, Hold.status.in_(ENDED_STATUSES),
                               Hold.finished_at >= since)
            .order_by(Hold.finished_at.desc(), Hold.id.desc()))


def suspendable_for_patron(patron_id: int) -> Select:
    """The patron's holds that "suspend all" suspends (or re-dates, when already suspended)."""
    return (select(Hold).where(Hold.patron_id == patron_id,
                               Hold.status.in_(SUSPENDABLE_STATUSES | {HoldStatus.SUSPENDED}))
            .order_by(Hold.title_id, Hold.id))


def not_needed_any_more(on: dt.date) -> Select:
    """Holds not yet on a shelf whose "not needed after" date is before ``on``."""
    return (select(Hold).where(Hold.status.in_((HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.SUSPENDED)),
                               Hold.not_needed_after < on)
            .order_by(Hold.title_id, Hold.id))


def due_to_resume(on: dt.date) -> Select:
    """Suspended holds whose resume date has come."""
    return (select(Hold).where(Hold.status == HoldStatus.SUSPENDED, Hold.suspended_until <= on)
            .order_by(Hold.title_id, Hold.id))


def waiting_too_long(on: dt.date, *, marked_too: bool = True) -> Select:
    """Holds on the pickup shelf that may have waited too long by ``on``: pulled ones whose
    pickup deadline has passed (or that have none yet, for the caller to work out), and, with
    ``marked_too``, those already marked long waiting."""
    pulled = and_(Hold.status == HoldStatus.PULLED, or_(Hold.pickup_deadline < on, Hold.pickup_deadline.is_(None)))
    condition = or_(pulled, Hold.status == HoldStatus.LONG_WAITING) if marked_too else pulled
    return select(Hold).where(condition).order_by(Hold.title_id, Hold.id)


def placed_between(patron_id: int, start: dt.datetime, end: dt.datetime) -> Select:
    """How many holds the patron placed in [start, end) that are still live or were filled."""
    return select(func.count(Hold.id)).where(
        Hold.patron_id == patron_id, Hold.placed_at >= start, Hold.placed_at < end,
        Hold.status.in_(LIVE_STATUSES | {HoldStatus.FILLED}))
