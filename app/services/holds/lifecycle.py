"""A hold's life after placing: cancelling, bringing back, changing the pickup library, and the
one helper every status change goes through (the model's transition table decides; history
records who, when, from, to and why).

Statuses follow DESIGN.md. Two paths go through ``queued`` because the table has no direct move:
cancelling or expiring a suspended hold resumes it first, and both steps are in its history."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldStatus, InvalidHoldTransition, Library, Patron
from app.services import notices
from app.services.audit import record_audit
from app.services.settings import get_preference

from . import refusals as R
from .placing import may_choose_pickup
from .queue import key_is_free, lock_title, next_queue_key, position_of, queue_changed
from .scopes import RETURNABLE_STATUSES, WAITING_STATUSES

S = HoldStatus
CANCELLABLE = frozenset({S.QUEUED, S.READY_TO_PULL, S.PULLED, S.IN_TRANSIT, S.LONG_WAITING, S.SUSPENDED})
# Statuses whose pickup library can still change: no copy is on its way there yet.
PICKUP_CHANGEABLE = frozenset({S.QUEUED, S.READY_TO_PULL, S.SUSPENDED})


def change_status(hold: Hold, to: HoldStatus, actor: Patron | None, reason: str | None,
                  at: dt.datetime | None = None) -> None:
    """Move the hold to ``to`` as the transition table allows, recorded in its history; a move
    the table forbids becomes a WrongStatus refusal (the model's InvalidHoldTransition is its
    cause)."""
    try:
        hold.transition(to, actor_id=actor.id if actor else None, reason=reason, at=at or clock.now())
    except InvalidHoldTransition as error:
        raise R.WrongStatus(f"A {hold.status.value.replace('_', ' ')} hold cannot become "
                            f"{to.value.replace('_', ' ')}.", from_status=hold.status.value,
                            to_status=to.value) from error


def release_copy(hold: Hold) -> None:
    """Forget the copy chosen for the hold (it goes back to the shelf for the next hold)."""
    hold.allocated_item_id = None
    hold.source_library_code = None
    hold.waiting_since = None
    hold.pickup_deadline = None


def check_patron_may_manage(session: Session, channel: str) -> None:
    """OPAC patrons manage their holds only when ``OPACHoldsManagement`` is on."""
    if channel == "opac" and not get_preference(session, "OPACHoldsManagement"):
        raise R.HoldsManagementNotAllowed()


def audit_hold(session: Session, actor: Patron | None, channel: str, action: str, hold: Hold, **info) -> None:
    if channel != "opac" and actor is not None:
        record_audit(session, actor_id=actor.id, channel=channel, module="HOLDS", action=action,
                     object_type="hold", object_id=hold.id, info={"title_id": hold.title_id, **info})


def cancel_hold(session: Session, hold: Hold, actor: Patron | None, *, reason: str | None = None,
                channel: str = "staff") -> Hold:
    """Cancel a live hold. It keeps its queue key, so it can be brought back to its old place.
    OPAC patrons may not cancel a hold whose copy staff already have in hand (Koha's rule for
    found holds); one ready to pull only tops the queue, and its copy goes back to the queue."""
    check_patron_may_manage(session, channel)
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    if channel == "opac" and hold.has_copy_in_hand:
        raise R.HoldFound("A copy is already set aside for this hold: please ask the library to cancel it.")
    if hold.status not in CANCELLABLE:
        raise R.WrongStatus(f"The hold is already {hold.status.value.replace('_', ' ')}.")
    words = reason or ("cancelled by the patron" if channel == "opac" else "cancelled")
    if hold.status is S.SUSPENDED:
        change_status(hold, S.QUEUED, actor, "resumed to be cancelled")
        hold.suspended_until = None
    if hold.status is S.READY_TO_PULL:
        release_copy(hold)  # still on the shelf: free for the next hold, as at expiry
    change_status(hold, S.CANCELLED, actor, words)
    hold.cancellation_reason = reason[:80] if reason else None
    hold.finished_at = clock.now()
    notices.hold_cancelled(session, hold, words, actor)
    queue_changed(title)
    audit_hold(session, actor, channel, "CANCEL", hold)
    session.flush()
    return hold


def bring_back_hold(session: Session, hold: Hold, actor: Patron | None, *, channel: str = "staff") -> int:
    """Put an expired, cancelled or suspended hold back in the queue at its old place (its own
    queue key, which no other hold took). A "not needed after" date already past is cleared, so
    the nightly expiry does not take it out again. Returns its position."""
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    if hold.status not in RETURNABLE_STATUSES | {S.SUSPENDED}:
        raise R.WrongStatus("Only expired, cancelled and suspended holds can be brought back.")
    if hold.queue_key is None or not key_is_free(session, title.id, hold.queue_key, hold.id):
        hold.queue_key = next_queue_key(session, title.id)  # never happens unless keys were edited by hand
    change_status(hold, S.QUEUED, actor, "brought back" if hold.status is not S.SUSPENDED else "resumed")
    hold.suspended_until = None
    hold.finished_at = None
    hold.cancellation_reason = None
    release_copy(hold)
    if hold.not_needed_after is not None and hold.not_needed_after < clock.today():
        hold.not_needed_after = None
    queue_changed(title)
    audit_hold(session, actor, channel, "BRING_BACK", hold)
    session.flush()
    return position_of(session, hold) or 0


def change_pickup(session: Session, hold: Hold, library_code: str, actor: Patron | None, *,
                  channel: str = "staff") -> Hold:
    """Change where the hold will be picked up: only to a pickup location, and only while no copy
    is waiting at or travelling to the old one."""
    check_patron_may_manage(session, channel)
    if not may_choose_pickup(session, channel):
        raise R.PickupChoiceNotAllowed()
    library = session.get(Library, library_code) if library_code else None
    if library is None or not library.is_pickup_location:
        raise R.LibraryNotPickupLocation()
    lock_title(session, hold.title_id)
    session.refresh(hold)
    if hold.status in WAITING_STATUSES or hold.status is S.IN_TRANSIT:
        raise R.HoldFound("A copy is already waiting at, or on its way to, the pickup library.")
    if hold.status not in PICKUP_CHANGEABLE:
        raise R.WrongStatus("The hold is no longer in the queue.")
    if hold.pickup_library_code != library.code:
        previous = hold.pickup_library_code
        hold.pickup_library_code = library.code
        audit_hold(session, actor, channel, "PICKUP", hold, **{"from": previous, "to": library.code})
        session.flush()
    return hold
