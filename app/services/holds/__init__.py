"""The holds engine: placing holds under the rules matrix, a queue that never corrupts, clear
statuses, suspension with auto-resume, expiry and long-waiting holds.

Every function takes the session, plain data and the actor; it flushes, never commits, and
raises a ``HoldRefused`` subclass (with a stable ``code``) when the action is refused.

- ``placing``: place_hold, hold_options (what the place-hold form offers)
- ``policy``: the rules, preferences and standing that decide whether a hold may be placed
- ``queue``: the title lock, queue keys, positions, move_hold, set_lowest_priority
- ``lifecycle``: cancel_hold, bring_back_hold, change_pickup, change_status
- ``suspension``: suspend_hold, suspend_holds, resume_hold, resume_holds
- ``jobs``: expire_holds, resume_due_holds, handle_long_waiting_holds
- ``scopes``: the hold collections pages and jobs share (each returns a select)"""
from __future__ import annotations

from . import refusals, scopes
from .jobs import expire_holds, handle_long_waiting_holds, pickup_deadline_for, resume_due_holds
from .lifecycle import bring_back_hold, cancel_hold, change_pickup, change_status
from .placing import HoldOptions, hold_options, may_choose_pickup, pickup_libraries, place_hold
from .policy import HoldRequest, PlacementPolicy, volume_of
from .queue import (
    DIRECTIONS,
    QueueMove,
    lock_title,
    move_hold,
    position_of,
    positions_for,
    queue_length,
    set_lowest_priority,
)
from .refusals import HoldRefused, QueueChanged
from .suspension import resume_hold, resume_holds, suspend_hold, suspend_holds

__all__ = [
    "DIRECTIONS", "HoldOptions", "QueueMove", "HoldRefused", "HoldRequest", "PlacementPolicy", "QueueChanged",
    "bring_back_hold", "cancel_hold", "change_pickup", "change_status", "expire_holds",
    "handle_long_waiting_holds", "hold_options", "lock_title", "may_choose_pickup", "move_hold",
    "pickup_deadline_for", "pickup_libraries", "place_hold", "position_of", "positions_for", "queue_length",
    "refusals", "resume_due_holds", "resume_hold", "resume_holds", "scopes", "set_lowest_priority",
    "suspend_hold", "suspend_holds", "volume_of",
]
