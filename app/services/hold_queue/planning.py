"""Planning a title's allocations from scratch: which queued or ready-to-pull hold gets which
copy, given the title's live holds and the copies free of committed holds (on loan, moving,
pulled, waiting). The same plan serves the per-title update and the full rebuild, so they
always agree; applying a plan changes only the holds whose allocation differs."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldStatus, Item
from app.models.hold import LIVE_STATUSES
from app.services.holds.queue import lock_title, queue_changed
from app.services.holds.scopes import QUEUE_ORDER

from .filling import NONE_AVAILABLE, Filler, _holdable, _hold_wants
from .rows import ItemRow, PlannedHold, PlannedItem, busy_item_ids, free_item_rows_of

FILLABLE = (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL)


@dataclass(frozen=True)
class Allocation:
    """What the plan says for one fillable hold: a copy (with the history note), or a reason."""

    hold_id: int
    item_id: int | None
    source_library_code: str | None
    note: str | None
    unfilled_reason: str | None


def plan_title(filler: Filler, live: list[PlannedHold], items: list[PlannedItem], day: dt.date) -> list[Allocation]:
    """The allocation of every fillable hold in ``live`` (queue order) among ``items`` (the
    title's free copies, id order). Pure: reads nothing from the database beyond the filler's
    cached rules."""
    positions = {hold.id: n for n, hold in enumerate(live, start=1)}
    queued = [hold for hold in live if hold.status in FILLABLE
              and (hold.not_needed_after is None or hold.not_needed_after >= day)]
    if not queued:
        return []
    items = list(items)
    chosen: dict[int, tuple[PlannedItem, str]] = {}
    if filler.jump and items:
        for item in list(items):
            where = filler.location(item)
            for hold in queued:
                if positions[hold.id] > filler.top_n:
                    break
                if hold.id in chosen or hold.pickup_library_code != where:
                    continue
                if _hold_wants(hold, item) and filler.allowed(hold, item, where) \
                        and filler.cost(where, where) is not None:
                    front = next(h for h in queued if h.id not in chosen)
                    note = "copy chosen" if hold is front else \
                        f"jumped the queue from position {positions[hold.id]}: copy at the pickup library"
                    chosen[hold.id] = (item, note)
                    items.remove(item)
                    break
    plan: list[Allocation] = []
    for hold in queued:
        if hold.id in chosen:
            item, note = chosen[hold.id]
            plan.append(Allocation(hold.id, item.id, item.holding_library_code, note, None))
            continue
        if not items:
            plan.append(Allocation(hold.id, None, None, None, NONE_AVAILABLE))
            continue
        item, reason = filler.choose(hold, items)
        if item is None:
            plan.append(Allocation(hold.id, None, None, None, reason))
            continue
        items.remove(item)
        plan.append(Allocation(hold.id, item.id, item.holding_library_code, "copy chosen", None))
    return plan


def free_items(session: Session, title_ids: list[int]) -> dict[int, list[Item]]:
    """Per title, its holdable copies not on loan, not moving and not held by a committed hold
    (pulled, in transit, waiting); copies set aside for ready-to-pull holds count as free (the
    plan decides them again)."""
    items = [item for item in session.scalars(select(Item).where(Item.title_id.in_(title_ids)).order_by(Item.id))
             if _holdable(item)]
    return _by_title(title_ids, items, busy_item_ids(session, [item.id for item in items]))


def free_item_rows(session: Session, title_ids: list[int]) -> dict[int, list[ItemRow]]:
    """``free_items`` as plain rows (the full rebuild plans with them and changes no copy)."""
    return _by_title(title_ids, [item for item in free_item_rows_of(session, title_ids) if _holdable(item)], set())


def _by_title(title_ids: list[int], items: list[PlannedItem], busy: set[int]) -> dict[int, list]:
    by_title: dict[int, list] = {title_id: [] for title_id in title_ids}
    for item in items:
        if item.id not in busy:
            by_title[item.title_id].append(item)
    return by_title


@dataclass(frozen=True)
class PlannedState:
    """Where a plan takes a hold: its columns after the plan, and the status change to record
    (``transition_reason`` is None when the status stays)."""

    status: HoldStatus
    allocated_item_id: int | None
    source_library_code: str | None
    unfilled_reason: str | None
    transition_reason: str | None


def planned_state(status: HoldStatus, allocated_item_id: int | None, source_library_code: str | None,
                  allocation: Allocation) -> PlannedState:
    """What ``allocation`` makes of a fillable hold now in this state (pure: the per-title update
    applies it to the hold, the full rebuild's swap writes it set-based)."""
    if allocation.item_id is None:
        if status is HoldStatus.READY_TO_PULL:
            return PlannedState(HoldStatus.QUEUED, None, None, allocation.unfilled_reason,
                                "queue rearranged: no copy now")
        return PlannedState(status, allocated_item_id, source_library_code, allocation.unfilled_reason, None)
    if status is HoldStatus.QUEUED:
        return PlannedState(HoldStatus.READY_TO_PULL, allocation.item_id, allocation.source_library_code, None,
                            allocation.note)
    if allocated_item_id != allocation.item_id:
        return PlannedState(status, allocation.item_id, allocation.source_library_code, None, None)
    return PlannedState(status, allocated_item_id, source_library_code, None, None)


def apply_allocation(hold: Hold, allocation: Allocation, *, actor_id: int | None, at: dt.datetime) -> bool:
    """Bring ``hold`` to what the plan says; True when it was newly given a copy."""
    state = planned_state(hold.status, hold.allocated_item_id, hold.source_library_code, allocation)
    newly = hold.status is HoldStatus.QUEUED and state.status is HoldStatus.READY_TO_PULL
    if state.status is not hold.status:
        hold.transition(state.status, actor_id=actor_id, reason=state.transition_reason, at=at)
    if (hold.allocated_item_id, hold.source_library_code) != (state.allocated_item_id, state.source_library_code):
        hold.allocated_item_id = state.allocated_item_id
        hold.source_library_code = state.source_library_code
    hold.unfilled_reason = state.unfilled_reason
    return newly


def differs(status: HoldStatus, allocated_item_id: int | None, unfilled_reason: str | None,
            allocation: Allocation) -> bool:
    if allocation.item_id is None:
        return status is HoldStatus.READY_TO_PULL or unfilled_reason != allocation.unfilled_reason
    return status is HoldStatus.QUEUED or allocated_item_id != allocation.item_id or unfilled_reason is not None


def fill_title(session: Session, title_id: int, *, filler: Filler | None = None, actor_id: int | None = None,
               at: dt.datetime | None = None, lock: bool = True) -> list[Hold]:
    """Recompute the title's allocations from scratch (under the title's lock) and apply what
    changed: the holds newly given a copy. Holds left unfilled get ``unfilled_reason``; a
    ready-to-pull hold the plan no longer serves goes back to the queue at its place."""
    at = at or clock.now()
    title = lock_title(session, title_id) if lock else None
    filler = filler or Filler(session)
    live = list(session.scalars(select(Hold).where(Hold.title_id == title_id, Hold.status.in_(LIVE_STATUSES))
                                .order_by(*QUEUE_ORDER)))
    if not any(hold.status in FILLABLE for hold in live):
        return []
    items = free_items(session, [title_id])[title_id]
    by_id = {item.id: item for item in items}
    holds = {hold.id: hold for hold in live}
    moved = False
    newly: list[Hold] = []
    for allocation in plan_title(filler, live, items, clock.local(at).date()):
        hold = holds[allocation.hold_id]
        if not differs(hold.status, hold.allocated_item_id, hold.unfilled_reason, allocation):
            continue
        before = (hold.status, hold.allocated_item_id)
        if apply_allocation(hold, allocation, actor_id=actor_id, at=at):
            newly.append(hold)
        if allocation.item_id is not None:
            hold.allocated_item = by_id[allocation.item_id]
        moved = moved or before != (hold.status, hold.allocated_item_id)
    if title is not None and moved:
        queue_changed(title)
    session.flush()
    return newly
