"""Suspending holds: a suspended hold keeps its place (its queue key) and the filler skips it;
resuming puts it back exactly where it was. An optional resume date (when the preference
``AutoResumeSuspendedHolds`` is on) lets the scheduled job resume it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldStatus, Patron
from app.services.audit import record_audit
from app.services.settings import get_preference

from . import refusals as R
from . import scopes
from .lifecycle import audit_hold, change_status, check_patron_may_manage, release_copy
from .queue import lock_title, lock_titles, queue_changed

S = HoldStatus


def check_may_suspend(session: Session, channel: str, until: dt.date | None) -> None:
    """Patrons suspend in the OPAC when OPACHoldsManagement and SuspendHoldsOpac are on; a resume
    date needs AutoResumeSuspendedHolds and must be after today."""
    check_patron_may_manage(session, channel)
    if channel == "opac" and not get_preference(session, "SuspendHoldsOpac"):
        raise R.SuspensionNotAllowed()
    if until is not None:
        if not get_preference(session, "AutoResumeSuspendedHolds"):
            raise R.SuspendUntilNotAllowed()
        if until <= clock.today():
            raise R.InvalidDate("The resume date must be after today.")


def _suspend(hold: Hold, actor: Patron | None, until: dt.date | None, reason: str, *, staff: bool) -> bool:
    """Suspend one hold already locked; True when its status changed (a suspended hold only gets
    the new date). Copies set aside for a hold that was about to be pulled go back."""
    if hold.status is S.SUSPENDED:
        hold.suspended_until = until
        return False
    if hold.status is S.READY_TO_PULL or (staff and hold.status is S.LONG_WAITING):
        change_status(hold, S.SUSPENDED, actor, reason)
        release_copy(hold)
    elif hold.status is S.QUEUED:
        change_status(hold, S.SUSPENDED, actor, reason)
    elif hold.is_found:
        raise R.HoldFound("A copy is already waiting for this hold or on its way: it cannot be suspended.")
    else:
        raise R.WrongStatus("Only holds still in the queue can be suspended.")
    hold.suspended_until = until
    return True


def suspend_hold(session: Session, hold: Hold, actor: Patron | None, *, until: dt.date | None = None,
                 channel: str = "staff") -> Hold:
    """Suspend one hold, optionally until a date (it resumes that day)."""
    check_may_suspend(session, channel, until)
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    reason = "suspended" + (f" until {until.isoformat()}" if until else "") + (" by the patron" if channel == "opac" else "")
    if _suspend(hold, actor, until, reason, staff=channel != "opac"):
        queue_changed(title)
    audit_hold(session, actor, channel, "SUSPEND", hold, until=until.isoformat() if until else None)
    session.flush()
    return hold


def suspend_holds(session: Session, patron: Patron, actor: Patron | None, *, until: dt.date | None = None,
                  channel: str = "staff") -> list[Hold]:
    """Suspend every hold of the patron still in the queue ("suspend all"); holds already
    suspended take the new resume date; holds with a copy waiting or on its way are left as
    they are. Returns the holds suspended or re-dated."""
    check_may_suspend(session, channel, until)
    title_ids = set(session.scalars(scopes.suspendable_for_patron(patron.id).with_only_columns(Hold.title_id)))
    titles = lock_titles(session, title_ids)
    holds = list(session.scalars(scopes.suspendable_for_patron(patron.id).execution_options(populate_existing=True)))
    reason = "suspended with all the patron's holds" + (f" until {until.isoformat()}" if until else "")
    for hold in holds:
        if _suspend(hold, actor, until, reason, staff=channel != "opac"):
            queue_changed(titles[hold.title_id])
    if holds and channel != "opac" and actor is not None:
        record_audit(session, actor_id=actor.id, channel=channel, module="HOLDS", action="SUSPEND_ALL",
                     object_type="patron", object_id=patron.id,
                     info={"holds": len(holds), "until": until.isoformat() if until else None})
    session.flush()
    return holds


def resume_hold(session: Session, hold: Hold, actor: Patron | None, *, channel: str = "staff",
                reason: str | None = None) -> Hold:
    """Resume a suspended hold: back in the queue at its place."""
    check_patron_may_manage(session, channel)
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    if hold.status is not S.SUSPENDED:
        raise R.WrongStatus("The hold is not suspended.")
    change_status(hold, S.QUEUED, actor, reason or ("resumed by the patron" if channel == "opac" else "resumed"))
    hold.suspended_until = None
    queue_changed(title)
    audit_hold(session, actor, channel, "RESUME", hold)
    session.flush()
    return hold


def resume_holds(session: Session, patron: Patron, actor: Patron | None, *, channel: str = "staff") -> list[Hold]:
    """Resume every suspended hold of the patron."""
    check_patron_may_manage(session, channel)
    stmt = scopes.for_patron(patron.id).where(Hold.status == S.SUSPENDED)
    titles = lock_titles(session, session.scalars(stmt.with_only_columns(Hold.title_id)))
    holds = list(session.scalars(stmt.execution_options(populate_existing=True)))
    for hold in holds:
        change_status(hold, S.QUEUED, actor, "resumed with all the patron's holds")
        hold.suspended_until = None
        queue_changed(titles[hold.title_id])
    session.flush()
    return holds
