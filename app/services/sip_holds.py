"""Holds as a kiosk asks for them (15): which title or copy a request names, which of the
patron's holds it means, and changing a hold's pickup library or "not needed after" date.
Placing and cancelling are the holds engine's own ``place_hold`` and ``cancel_hold``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import case, exists, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, Item, ItemTransfer, ItemType, Loan, Patron, Title
from app.models.hold import FOUND_STATUSES, LIVE_STATUSES
from app.services.holds import change_pickup, refusals
from app.services.holds.lifecycle import audit_hold
from app.services.holds.queue import lock_title
from app.services.holds_hooks import ALLOCATED_STATUSES, WAITING_STATUSES


def find_hold_target(session: Session, item_barcode: str | None, title_ref: str | None
                     ) -> tuple[Title | None, Item | None]:
    """The title (and copy) a hold request names: the copy with barcode AB, else the title
    whose record number is AJ (kiosks that hold titles send the id they were given)."""
    code = (item_barcode or "").strip()
    if code:
        item = session.scalar(select(Item).where(Item.barcode == code))
        return (item.title, item) if item is not None else (None, None)
    ref = (title_ref or "").strip()
    if ref.isdigit():
        return session.get(Title, int(ref)), None
    return None, None


def patron_hold_on(session: Session, patron: Patron, title: Title, item: Item | None = None) -> Hold | None:
    """The patron's live hold on the title: the one on this copy when a copy is named and has
    one, else the oldest."""
    holds = list(session.scalars(select(Hold).where(
        Hold.patron_id == patron.id, Hold.title_id == title.id, Hold.status.in_(LIVE_STATUSES))
        .order_by(Hold.placed_at, Hold.id)))
    if item is not None:
        for hold in holds:
            if hold.item_id == item.id or hold.allocated_item_id == item.id:
                return hold
    return holds[0] if holds else None


def hold_set_aside_for(session: Session, item: Item) -> Hold | None:
    """The hold the copy is set aside for, in one statement: the one it waits on the pickup
    shelf for (pulled or long waiting), else the one it was chosen for (to pull, in transit);
    as the holds hooks' ``waiting_hold_for_item`` then ``allocated_hold_for_item`` answer."""
    return session.scalar(select(Hold).where(
        Hold.allocated_item_id == item.id, Hold.status.in_(WAITING_STATUSES + ALLOCATED_STATUSES))
        .order_by(case((Hold.status.in_(WAITING_STATUSES), 0), else_=1), Hold.id).limit(1))


def copy_available_now(session: Session, title: Title, item: Item | None = None) -> bool:
    """Whether the copy (or a copy of the title) is on a shelf now: holdable, not on loan, not
    travelling, not set aside for a hold."""
    stmt = select(Item.id).where(
        Item.withdrawn.is_(False), Item.lost == 0, Item.not_for_loan == 0,
        Item.item_type.has(ItemType.not_for_loan.is_(False)),
        ~exists().where(Loan.item_id == Item.id),
        ~exists().where(ItemTransfer.item_id == Item.id, ItemTransfer.arrived_at.is_(None),
                        ItemTransfer.cancelled_at.is_(None)),
        ~exists().where(Hold.allocated_item_id == Item.id, Hold.status.in_(FOUND_STATUSES)))
    stmt = stmt.where(Item.id == item.id) if item is not None else stmt.where(Item.title_id == title.id)
    return session.scalar(stmt.limit(1)) is not None


def alter_hold(session: Session, hold: Hold, actor: Patron | None, *, pickup_library_code: str | None = None,
               not_needed_after: dt.date | None = None, channel: str = "sip2") -> Hold:
    """Change the hold's pickup library (the holds engine's ``change_pickup``: a pickup
    location, while no copy is on its way) and its "not needed after" date (after today, while
    the hold is live). Raises the engine's HoldRefused subclasses."""
    if pickup_library_code and pickup_library_code != hold.pickup_library_code:
        change_pickup(session, hold, pickup_library_code, actor, channel=channel)
    if not_needed_after is not None and not_needed_after != hold.not_needed_after:
        if not_needed_after <= clock.today():
            raise refusals.InvalidDate('The "not needed after" date must be after today.')
        lock_title(session, hold.title_id)
        session.refresh(hold)
        if not hold.is_live:
            raise refusals.WrongStatus("The hold is no longer in the queue.")
        previous = hold.not_needed_after
        hold.not_needed_after = not_needed_after
        audit_hold(session, actor, channel, "EXPIRATION", hold,
                   **{"from": previous.isoformat() if previous else None, "to": not_needed_after.isoformat()})
        session.flush()
    return hold
