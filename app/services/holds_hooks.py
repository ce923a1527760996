"""Where circulation asks about holds. Small on purpose: the holds service fills these in (the
check-in hook finds and traps holds); circulation only reads the answers.

Which live hold "this item could fill": a hold on the item's title that is queued (suspended
holds are skipped, as the filler skips them), not tied to another copy, not limited to another
item type or volume, and still wanted."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, case, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldStatus, Item, Loan, Patron, Privacy
from app.services.holds.queue import lock_title, queue_changed

WAITING_STATUSES = (HoldStatus.PULLED, HoldStatus.LONG_WAITING)
ALLOCATED_STATUSES = (HoldStatus.READY_TO_PULL, HoldStatus.IN_TRANSIT)


@dataclass(frozen=True)
class HoldMatch:
    """A hold a checked-in item was trapped for: where it must go, and for whom."""

    hold_id: int
    patron_id: int | None
    patron_name: str
    pickup_library_code: str
    transfer_to: str | None  # None when the item is already at the pickup library


def find_hold_for_checked_in_item(session: Session, item: Item, library_code: str) -> HoldMatch | None:
    """The hold a checked-in item should fill, already trapped (status and transfer set), or None:
    at the pickup library the hold is pulled (pickup deadline set); elsewhere it goes in transit
    with a transfer to the pickup library."""
    from app.services.hold_queue.filling import trap_checked_in_item
    trapped = trap_checked_in_item(session, item, library_code)
    if trapped is None:
        return None
    hold, transfer_to = trapped
    patron = hold.patron
    return HoldMatch(hold_id=hold.id, patron_id=patron.id if patron else None,
                     patron_name=patron.full_name if patron else "",
                     pickup_library_code=hold.pickup_library_code, transfer_to=transfer_to)


def _could_fill(title_id, item_id, item_type_code, volume, day, excluding_patron_id, *, checking_in=False):
    """The conditions of ``holds_item_could_fill`` as one SQL expression, of plain values or of
    bound parameters (``volume`` and ``excluding_patron_id`` None: their shape without them).
    ``checking_in``: ready-to-pull holds waiting for another copy count too (check-in trapping
    takes them over with the copy in hand)."""
    waiting_for_a_copy = (Hold.status.in_((HoldStatus.QUEUED, HoldStatus.READY_TO_PULL)) if checking_in else and_(
        Hold.status == HoldStatus.QUEUED, or_(Hold.allocated_item_id.is_(None), Hold.allocated_item_id == item_id)))
    conditions = [
        Hold.title_id == title_id,
        waiting_for_a_copy,
        or_(Hold.item_id.is_(None), Hold.item_id == item_id),
        or_(Hold.item_type_code.is_(None), Hold.item_type_code == item_type_code),
        or_(Hold.not_needed_after.is_(None), Hold.not_needed_after >= day),
        Hold.volume.is_(None) if volume is None else or_(Hold.volume.is_(None), Hold.volume == volume),
    ]
    if excluding_patron_id is not None:
        conditions.append(or_(Hold.patron_id.is_(None), Hold.patron_id != excluding_patron_id))
    return and_(*conditions)


def holds_item_could_fill(item: Item, *, excluding_patron_id: int | None = None, on: dt.date | None = None,
                          ready_to_pull_too: bool = False):
    """Queued holds on the item's title that this copy could fill, in queue order;
    ``ready_to_pull_too``: also those ready to pull with another copy still on its shelf."""
    return select(Hold).where(_could_fill(item.title_id, item.id, item.item_type_code, item.enumchron,
                                          on or clock.today(), excluding_patron_id, checking_in=ready_to_pull_too)
                              ).order_by(Hold.queue_key, Hold.id)


def holds_a_check_in_could_fill(session: Session, item: Item):
    """The holds checking ``item`` in now could be trapped for, in queue order: queued, and
    ready to pull with another copy when check-in takes those over (RealTimeHoldsQueue)."""
    from app.services.hold_queue.filling import check_in_takes_over
    return holds_item_could_fill(item, ready_to_pull_too=check_in_takes_over(session))


# The two questions every checkout (and every loan row shown) asks, built once per shape with
# bound values: building them afresh cost more CPU than running them.

def _bound_could_fill(with_volume: bool):
    return _could_fill(bindparam("title_id"), bindparam("item_id"), bindparam("item_type_code"),
                       bindparam("volume") if with_volume else None, bindparam("day"), bindparam("patron_id"))


@functools.cache
def _in_the_way_statement(with_volume: bool):
    rank = case((Hold.status.in_(WAITING_STATUSES), 0), (Hold.status.in_(ALLOCATED_STATUSES), 1), else_=2)
    on_this_copy = and_(Hold.allocated_item_id == bindparam("item_id"),
                        Hold.status.in_(WAITING_STATUSES + ALLOCATED_STATUSES))
    return (select(Hold).where(or_(on_this_copy, _bound_could_fill(with_volume)))
            .order_by(rank, case((Hold.status == HoldStatus.QUEUED, Hold.queue_key)), Hold.id).limit(1))


@functools.cache
def _blocking_renewal_statement(with_volume: bool):
    return select(Hold.id).where(_bound_could_fill(with_volume)).limit(1)


def _values(item: Item, patron_id: int) -> dict:
    values = {"title_id": item.title_id, "item_id": item.id, "item_type_code": item.item_type_code,
              "day": clock.today(), "patron_id": patron_id}
    if item.enumchron is not None:
        values["volume"] = item.enumchron
    return values


def hold_in_the_way_of_checkout(session: Session, item: Item, patron_id: int) -> Hold | None:
    """The one hold a checkout of ``item`` to this patron must reckon with, in one statement:
    the hold the item waits on the shelf for (anyone's), else the hold it is allocated to
    (anyone's), else the first queued hold of another patron this copy could fill."""
    return session.scalar(_in_the_way_statement(item.enumchron is not None), _values(item, patron_id))


def holds_blocking_renewal(session: Session, loan: Loan) -> bool:
    """True when another patron's live hold could be filled by the loaned item: the renewal
    would keep it from them."""
    item = loan.item
    return session.scalar(_blocking_renewal_statement(item.enumchron is not None),
                          _values(item, loan.patron_id)) is not None


def waiting_hold_for_item(session: Session, item: Item) -> Hold | None:
    """The hold this item sits on the shelf for (pulled or long waiting), if any."""
    return session.scalar(select(Hold).where(Hold.allocated_item_id == item.id,
                                             Hold.status.in_(WAITING_STATUSES)).order_by(Hold.id).limit(1))


def allocated_hold_for_item(session: Session, item: Item) -> Hold | None:
    """A hold this item has been chosen for but is not yet waiting (to pull, or in transit)."""
    return session.scalar(select(Hold).where(Hold.allocated_item_id == item.id,
                                             Hold.status.in_(ALLOCATED_STATUSES)).order_by(Hold.id).limit(1))


def fill_hold_at_checkout(session: Session, hold: Hold, actor: Patron | None, at: dt.datetime) -> None:
    """The hold's patron takes the item it waits with: the hold is filled and leaves the queue
    for good (its queue key freed; the title's queue version bumped under the title's row lock).
    The filled hold stays as history, anonymised at once for a patron who keeps none."""
    title = lock_title(session, hold.title_id)
    hold.transition(HoldStatus.FILLED, actor_id=actor.id if actor else None, reason="checked out", at=at)
    hold.queue_key = None
    hold.finished_at = at
    patron = hold.patron
    if patron is not None and patron.privacy is Privacy.NEVER_KEEP:
        hold.anonymized = True
        hold.patron = None
        if hold.placed_by_id == patron.id:
            hold.placed_by_id = None
        for entry in hold.history:
            if entry.actor_id == patron.id:
                entry.actor_id = None
    queue_changed(title)
    session.flush()


def release_allocation(session: Session, hold: Hold, actor: Patron | None, at: dt.datetime) -> None:
    """Staff lent out a copy chosen for another patron's hold: a hold still waiting to be
    pulled goes back to the queue (its place kept) so the filler can choose another copy. A
    hold in transit is left for the holds service to sort out."""
    if hold.status is not HoldStatus.READY_TO_PULL:
        return
    queue_changed(lock_title(session, hold.title_id))
    hold.transition(HoldStatus.QUEUED, actor_id=actor.id if actor else None,
                    reason="allocated copy checked out to another patron", at=at)
    hold.allocated_item_id = None
    hold.source_library_code = None
    session.flush()
