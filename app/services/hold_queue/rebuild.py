"""The full rebuild (Koha's build_holds_queue.pl, without its empty moment): every title with
holds to fill is planned into ``hold_queue_staging`` batch by batch, each batch in its own short
transaction that readers never see; then one transaction swaps the plan into the holds, touching
only holds whose allocation differs. A title whose queue changed after it was planned (its
``hold_queue_version`` moved) is skipped at the swap: the per-title update, which uses the same
plan, already made it right. Readers therefore see the old queue or the new one, never an empty
or half-built one."""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldHistory, HoldQueueStaging, Title
from app.models.hold import TRANSITIONS, InvalidHoldTransition
from app.services.holds.queue import LOCK_CHUNK

from . import maintenance
from .costs import CostMatrix, load_matrix
from .filling import Filler
from .planning import FILLABLE, Allocation, differs, free_item_rows, plan_title, planned_state
from .rows import live_hold_rows

BATCH = 1000
Unit = Callable[[], contextlib.AbstractContextManager[Session]]


@dataclass(frozen=True)
class RebuildResult:
    titles: int  # titles planned
    holds: int  # fillable holds planned
    changed: int  # holds whose allocation the swap changed
    skipped_titles: int  # titles changed meanwhile (already right)

    @property
    def total(self) -> int:
        return self.changed


def titles_to_plan(session: Session) -> list[int]:
    return list(session.scalars(select(Hold.title_id).where(Hold.status.in_(FILLABLE))
                                .distinct().order_by(Hold.title_id)))


def stage_titles(session: Session, title_ids: list[int], *, matrix: CostMatrix | None = None,
                 seed: int | str = 0, at: dt.datetime | None = None) -> int:
    """Plan ``title_ids`` into the staging table; the number of staged holds."""
    day = clock.local(at or clock.now()).date()
    versions = dict(session.execute(select(Title.id, Title.hold_queue_version).where(Title.id.in_(title_ids))).all())
    live = live_hold_rows(session, title_ids)
    items = free_item_rows(session, title_ids)
    filler = Filler(session, seed=seed, matrix=matrix)
    rows = []
    for title_id in title_ids:
        for allocation in plan_title(filler, live[title_id], items[title_id], day):
            rows.append({"hold_id": allocation.hold_id, "title_id": title_id, "title_version": versions[title_id],
                         "item_id": allocation.item_id, "source_library_code": allocation.source_library_code,
                         "note": allocation.note, "unfilled_reason": allocation.unfilled_reason})
    if rows:  # Core, every key in every row: one executemany (the ORM's bulk insert splits by missing keys)
        session.execute(insert(HoldQueueStaging.__table__), rows)
    return len(rows)


def swap_staged_plan(session: Session, *, at: dt.datetime | None = None) -> tuple[int, int]:
    """Apply the staged plan in this transaction and empty the staging table; (holds changed,
    titles skipped because their queue changed after planning)."""
    at = at or clock.now()
    session.info[maintenance.BUSY] = True  # the plan is already the per-title result: no re-plan at commit
    S = HoldQueueStaging
    rows = session.execute(
        select(S.hold_id, S.title_id, S.title_version, S.item_id, S.source_library_code, S.note, S.unfilled_reason,
               Hold.status, Hold.allocated_item_id, Hold.unfilled_reason, Title.hold_queue_version)
        .join(Hold, Hold.id == S.hold_id).join(Title, Title.id == S.title_id)).all()
    pending: dict[int, Allocation] = {}
    staged_version: dict[int, int] = {}
    stale: set[int] = set()
    for row in rows:
        allocation = Allocation(row[0], row[3], row[4], row[5], row[6])
        if row[2] != row[10] or row[7] not in FILLABLE:
            stale.add(row[1])
            continue
        if differs(row[7], row[8], row[9], allocation):
            pending[row[0]] = allocation
            staged_version[row[1]] = row[2]
    changed = 0
    if pending:
        versions = _lock_queue_versions(session, staged_version)
        moved: set[int] = set()
        ids = sorted(pending)
        for start in range(0, len(ids), BATCH):
            current = session.execute(select(Hold.id, Hold.title_id, Hold.status, Hold.allocated_item_id,
                                             Hold.source_library_code)
                                      .where(Hold.id.in_(ids[start:start + BATCH]))).all()  # read under the locks
            updates, history = [], []
            for hold_id, title_id, status, allocated_item_id, source_library_code in current:
                if versions.get(title_id) != staged_version[title_id] or status not in FILLABLE:
                    stale.add(title_id)
                    continue
                state = planned_state(status, allocated_item_id, source_library_code, pending[hold_id])
                if state.status is not status:
                    if state.status not in TRANSITIONS[status]:
                        raise InvalidHoldTransition(hold_id, status, state.status)
                    history.append({"hold_id": hold_id, "at": at, "actor_id": None, "from_status": status,
                                    "to_status": state.status, "reason": state.transition_reason})
                updates.append({"b_id": hold_id, "b_status": state.status, "b_item": state.allocated_item_id,
                                "b_source": state.source_library_code, "b_reason": state.unfilled_reason,
                                "b_at": at})
                changed += 1
                if (status, allocated_item_id) != (state.status, state.allocated_item_id):
                    moved.add(title_id)
            _write_states(session, updates, history)
        _queues_changed(session, sorted(moved))
    session.execute(delete(HoldQueueStaging))
    session.flush()
    return changed, len(stale)


def _lock_queue_versions(session: Session, title_ids) -> dict[int, int]:
    """The titles' queue versions read under their row locks, taken in id order as
    ``lock_titles`` takes them (only the two columns: no Title objects to load)."""
    wanted = sorted(set(title_ids))
    versions: dict[int, int] = {}
    for start in range(0, len(wanted), LOCK_CHUNK):
        versions.update(session.execute(
            select(Title.id, Title.hold_queue_version).where(Title.id.in_(wanted[start:start + LOCK_CHUNK]))
            .order_by(Title.id).with_for_update(key_share=True)).all())
    return versions


def _queues_changed(session: Session, title_ids: list[int]) -> None:
    """``queue_changed`` for many titles, one statement per chunk."""
    for start in range(0, len(title_ids), LOCK_CHUNK):
        chunk = title_ids[start:start + LOCK_CHUNK]
        session.execute(update(Title.__table__).where(Title.__table__.c.id.in_(chunk))
                        .values(hold_queue_version=Title.__table__.c.hold_queue_version + 1))
    changed = set(title_ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Title) and obj.id in changed:
            session.expire(obj)


_UPDATE_HOLD = (update(Hold.__table__).where(Hold.__table__.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), allocated_item_id=bindparam("b_item"),
                        source_library_code=bindparam("b_source"), unfilled_reason=bindparam("b_reason"),
                        updated_at=bindparam("b_at")))


def _write_states(session: Session, updates: list[dict], history: list[dict]) -> None:
    """The swap's writes, set-based: one executemany for the holds, one for their history (the
    rows a transition would record). Hold objects this session already holds are expired."""
    if not updates:
        return
    session.execute(_UPDATE_HOLD, updates)
    if history:
        session.execute(insert(HoldHistory.__table__), history)
    written = {row["b_id"] for row in updates}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Hold) and obj.id in written:
            session.expire(obj)


def rebuild_hold_queue(unit: Unit, *, batch: int = BATCH, seed: int | str = 0,
                       on_batch: Callable[[int, int], None] | None = None) -> RebuildResult:
    """Plan every title with holds to fill into the staging table (one short transaction per
    batch), then swap it in with one transaction. ``unit()`` opens a unit of work that commits."""
    with unit() as session:
        session.execute(delete(HoldQueueStaging))  # what a crashed run left
        title_ids = titles_to_plan(session)
        matrix = load_matrix(session)
    staged = 0
    for start in range(0, len(title_ids), batch):
        with unit() as session:
            staged += stage_titles(session, title_ids[start:start + batch], matrix=matrix, seed=seed)
        if on_batch:
            on_batch(min(start + batch, len(title_ids)), len(title_ids))
    with unit() as session:
        changed, skipped = swap_staged_plan(session)
    return RebuildResult(titles=len(title_ids), holds=staged, changed=changed, skipped_titles=skipped)
