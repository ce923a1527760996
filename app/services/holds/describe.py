"""Words for a hold's state, the same on every page (OPAC, staff, slips): the status in a
sentence, and the date that matters (when it resumes, until when it waits, when it is no
longer needed)."""
from __future__ import annotations

import datetime as dt

from app.models import Hold, HoldStatus

S = HoldStatus
LABELS: dict[HoldStatus, str] = {
    S.QUEUED: "In the queue",
    S.READY_TO_PULL: "A copy is being pulled",
    S.PULLED: "Pulled",
    S.IN_TRANSIT: "In transit",
    S.LONG_WAITING: "Waiting too long",
    S.FILLED: "Filled",
    S.EXPIRED: "Expired",
    S.SUSPENDED: "Suspended",
    S.CANCELLED: "Cancelled",
}
BADGES: dict[HoldStatus, str] = {
    S.PULLED: "badge-ok", S.LONG_WAITING: "badge-danger", S.CANCELLED: "badge-danger", S.EXPIRED: "badge-danger",
    S.SUSPENDED: "badge-suspended",
}


def status_label(hold: Hold) -> str:
    return LABELS[hold.status]


def badge_class(hold: Hold) -> str:
    return BADGES.get(hold.status, "")


def status_text(hold: Hold) -> str:
    """The status as a sentence a patron or a librarian reads."""
    status = hold.status
    if status is S.SUSPENDED:
        return f"Suspended until {hold.suspended_until.isoformat()}" if hold.suspended_until else "Suspended"
    if status is S.PULLED:
        if hold.is_waiting:
            return (f"Waiting for pickup until {hold.pickup_deadline.isoformat()}" if hold.pickup_deadline
                    else "Waiting for pickup")
        return "Pulled, to be sent to the pickup library"
    if status is S.IN_TRANSIT:
        return f"On its way to {hold.pickup_library.name}" if hold.pickup_library else "In transit"
    if status is S.LONG_WAITING:
        return (f"Waiting for pickup; the last pickup day was {hold.pickup_deadline.isoformat()}"
                if hold.pickup_deadline else "Waiting for pickup, past the pickup date")
    return LABELS[status]


def expiry_date(hold: Hold) -> dt.date | None:
    """The date that ends the hold: the pickup deadline once waiting, else "not needed after"."""
    if hold.status in (S.PULLED, S.LONG_WAITING) and hold.pickup_deadline is not None:
        return hold.pickup_deadline
    return hold.not_needed_after


def end_reason(hold: Hold) -> str | None:
    """Why the hold left the queue: the reason recorded with its last move to its present status."""
    for entry in reversed(hold.history):
        if entry.to_status is hold.status:
            return entry.reason
    return hold.cancellation_reason


def ended_text(hold: Hold) -> str:
    """How a finished hold ended, in a sentence a patron reads (staff-only words made plain)."""
    status, reason = hold.status, end_reason(hold)
    if status is S.FILLED:
        return "Filled: you checked it out"
    if status is S.EXPIRED:
        return (f"Expired: not needed after {hold.not_needed_after.isoformat()}" if hold.not_needed_after
                else "Expired")
    if reason in (None, "", "cancelled"):
        return "Cancelled by the library"
    if reason == "cancelled by the patron":
        return "Cancelled by you"
    return f"Cancelled: {reason}"
