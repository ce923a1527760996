"""Per-title maintenance: a change that can alter who gets which copy (a hold placed, cancelled,
suspended, resumed, moved or changed; an item checked in or out, lost, withdrawn, moved) marks
its title while the session flushes, and just before the transaction commits every marked
title's allocations are recomputed (``fill_title``) in that same transaction, when Koha's
``RealTimeHoldsQueue`` is on (off by default, as in Koha: the rebuild job then fills holds). Every channel
(pages, API, SIP2, jobs, offline processing) is covered without each service remembering to ask.

``refresh_marked_titles`` may also be called directly by a service that needs the allocations
before its commit."""
from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.extensions import listen_to_every_session
from app.models import Hold, Item, ItemTransfer, Loan
from app.services.settings import get_preference

MARKS = "hold_queue_titles"
BUSY = "hold_queue_refreshing"
ITEM_FIELDS = ("holding_library_code", "home_library_code", "lost", "withdrawn", "damaged",
               "not_for_loan", "item_type_code", "enumchron", "title_id")
HOLD_FIELDS = ("status", "pickup_library_code", "queue_key", "lowest_priority", "item_id", "volume",
               "item_type_code", "not_needed_after", "allocated_item_id", "title_id")


def mark_title(session: Session, title_id: int | None) -> None:
    if title_id is not None:
        session.info.setdefault(MARKS, set()).add(title_id)


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _title_of_item(session: Session, item_id: int | None, item: Item | None) -> int | None:
    if item is not None:
        return item.title_id
    if item_id is None:
        return None
    with session.no_autoflush:
        found = session.get(Item, item_id)
    return found.title_id if found is not None else None


def _note_changes(session: Session, _context, _instances) -> None:
    if session.info.get(BUSY):
        return
    new, deleted = session.new, session.deleted  # each access builds the whole set: once, not per object
    for obj in list(new) + list(session.dirty) + list(deleted):
        is_new = obj in new or obj in deleted
        if isinstance(obj, Hold):
            if is_new or _changed(obj, HOLD_FIELDS):
                mark_title(session, obj.title_id if obj.title_id is not None else getattr(obj.title, "id", None))
                old = inspect(obj).attrs.title_id.history.deleted
                for title_id in old or ():
                    mark_title(session, title_id)
        elif isinstance(obj, Item):
            if is_new or _changed(obj, ITEM_FIELDS):
                mark_title(session, obj.title_id)
        elif isinstance(obj, Loan):
            if is_new or _changed(obj, ("item_id",)):
                mark_title(session, _title_of_item(session, obj.item_id, obj.__dict__.get("item")))
        elif isinstance(obj, ItemTransfer):
            if is_new or _changed(obj, ("arrived_at", "cancelled_at")):
                mark_title(session, _title_of_item(session, obj.item_id, obj.__dict__.get("item")))


def refresh_marked_titles(session: Session) -> int:
    """Recompute the allocations of every title marked so far in this transaction; how many."""
    from .filling import Filler
    from .planning import fill_title

    session.flush()
    marks: set[int] = session.info.pop(MARKS, set())
    if not marks:
        return 0
    session.info[BUSY] = True
    try:
        filler = Filler(session)
        for title_id in sorted(marks):  # id order: two transactions never wait in a circle
            try:
                fill_title(session, title_id, filler=filler)
            except LookupError:  # the title was deleted in this transaction
                continue
        session.flush()
    finally:
        session.info.pop(BUSY, None)
    return len(marks)


def _before_commit(session: Session) -> None:
    if not (session.info.get(MARKS) or session.new or session.dirty or session.deleted):
        return
    session.flush()
    if session.info.get(MARKS) and get_preference(session, "RealTimeHoldsQueue"):
        refresh_marked_titles(session)


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(MARKS, None)
        session.info.pop(BUSY, None)


def install() -> None:
    """Listen to every session (once per process; called by ``create_app``)."""
    listen_to_every_session(("before_flush", _note_changes), ("before_commit", _before_commit),
                            ("after_transaction_end", _forget))
