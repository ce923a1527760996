"""A title's hold queue: the lock every change takes, queue keys, positions, and moving a hold.

Invariants (the database enforces the first, the lock the others):

- ``(title_id, queue_key)`` is unique (``uq_holds_title_queue_key``); filled holds have no key.
- A new hold takes the title's highest key + 1, counting holds that left the queue, so an
  expired or cancelled hold keeps a key nobody else takes and can come back to its old place.
- Reordering only permutes the keys the live holds already have, so it never takes a key that
  belongs to a hold that left. Keys are first moved to a negative range (no real key is
  negative) so no intermediate state collides with the unique constraint.
- Every change happens under the title's row lock (``SELECT ... FOR UPDATE`` on PostgreSQL and
  MariaDB; SQLite writers are serialised by ``BEGIN IMMEDIATE``) and bumps
  ``Title.hold_queue_version``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Hold, HoldStatus, Patron, Title
from app.models.hold import LIVE_STATUSES
from app.services.audit import record_audit

from . import scopes
from .refusals import HoldFound, HoldNotInQueue, QueueChanged
from .scopes import WAITING_STATUSES

Direction = Literal["top", "bottom", "up", "down"]
DIRECTIONS: tuple[str, ...] = ("top", "bottom", "up", "down")
LOCK_CHUNK = 500  # titles locked per statement by the jobs


@dataclass(frozen=True)
class QueueMove:
    """Where a move took a hold: positions between the two (inclusive) changed holders."""

    hold_id: int
    from_position: int
    to_position: int

    @property
    def changed(self) -> range:
        return range(min(self.from_position, self.to_position), max(self.from_position, self.to_position) + 1)


@dataclass(frozen=True)
class QueueEntry:
    hold_id: int
    queue_key: int
    lowest_priority: bool


def lock_title(session: Session, title_id: int) -> Title:
    """The title row, re-read under its row lock (FOR NO KEY UPDATE on PostgreSQL, see
    ``circulation.checks.lock_row``): queue changes on one title take turns here. Raises
    LookupError for an unknown title."""
    stmt = (select(Title).where(Title.id == title_id).with_for_update(key_share=True)
            .execution_options(populate_existing=True))
    title = session.scalars(stmt).one_or_none()
    if title is None:
        raise LookupError(f"no title {title_id}")
    return title


def lock_titles(session: Session, title_ids: Iterable[int]) -> dict[int, Title]:
    """Several title rows locked, always in id order (two callers never wait on each other in a
    circle)."""
    wanted = sorted(set(title_ids))
    locked: dict[int, Title] = {}
    for start in range(0, len(wanted), LOCK_CHUNK):
        chunk = wanted[start:start + LOCK_CHUNK]
        stmt = (select(Title).where(Title.id.in_(chunk)).order_by(Title.id).with_for_update(key_share=True)
                .execution_options(populate_existing=True))
        locked.update((title.id, title) for title in session.scalars(stmt))
    return locked


def queue_changed(title: Title) -> None:
    """Record that the title's queue changed (pages holding an older version are stale)."""
    title.hold_queue_version += 1


def next_queue_key(session: Session, title_id: int) -> int:
    """The key a new hold on the title takes: after every key ever given out and still held."""
    return (session.scalar(scopes.highest_key_for_title(title_id)) or 0) + 1


def key_is_free(session: Session, title_id: int, key: int, hold_id: int) -> bool:
    return session.scalar(select(Hold.id).where(Hold.title_id == title_id, Hold.queue_key == key,
                                                Hold.id != hold_id).limit(1)) is None


def queue_entries(session: Session, title_id: int) -> list[QueueEntry]:
    return [QueueEntry(*row) for row in session.execute(scopes.queue_keys_for_title(title_id))]


def position_of(session: Session, hold: Hold) -> int | None:
    """The hold's position in its title's queue (1 = next), or None when it is not live."""
    if hold.status not in LIVE_STATUSES or hold.queue_key is None:
        return None
    same_group_ahead = and_(Hold.lowest_priority.is_(bool(hold.lowest_priority)), Hold.queue_key < hold.queue_key)
    ahead = or_(Hold.lowest_priority.is_(False), same_group_ahead) if hold.lowest_priority else same_group_ahead
    count = session.scalar(select(func.count(Hold.id)).where(
        Hold.title_id == hold.title_id, Hold.status.in_(LIVE_STATUSES), ahead))
    return (count or 0) + 1


def positions_for(session: Session, title_ids: Iterable[int]) -> dict[int, int]:
    """Hold id -> position for every live hold on these titles."""
    ids = sorted(set(title_ids))
    if not ids:
        return {}
    return {hold_id: position for hold_id, _title_id, position in session.execute(scopes.positions(ids))}


def queue_length(session: Session, title_id: int) -> int:
    return session.scalar(select(func.count(Hold.id)).where(
        Hold.title_id == title_id, Hold.status.in_(LIVE_STATUSES))) or 0


def _rekey(session: Session, assignments: dict[int, int]) -> None:
    """Give each hold its new key in two steps: first every key of the holds concerned to its
    negative (free, and distinct), then the new ones, so no row ever meets another's key."""
    if not assignments:
        return
    session.flush()
    table = Hold.__table__
    ids = list(assignments)
    session.execute(update(table).where(table.c.id.in_(ids)).values(queue_key=-table.c.queue_key))
    # One statement run for each hold (compiled once, cached), not a CASE of hundreds of keys
    # that would be compiled anew for every move.
    session.execute(update(table).where(table.c.id == bindparam("hold_id")).values(queue_key=bindparam("new_key")),
                    [{"hold_id": hold_id, "new_key": key} for hold_id, key in assignments.items()])
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Hold) and obj.id in assignments:
            set_committed_value(obj, "queue_key", assignments[obj.id])


def _target_index(to: Direction | int, index: int, low: int, high: int) -> int:
    if isinstance(to, int) and not isinstance(to, bool):
        wanted = to - 1
    elif to == "top":
        wanted = low
    elif to == "bottom":
        wanted = high
    elif to == "up":
        wanted = index - 1
    elif to == "down":
        wanted = index + 1
    else:
        raise ValueError(f"unknown move {to!r}")
    return max(low, min(high, wanted))


def move_hold(session: Session, hold: Hold, to: Direction | int, actor: Patron | None, *,
              expected_position: int | None = None, channel: str = "staff") -> QueueMove:
    """Move a live hold to the top, the bottom, one up, one down or to a position (clamped to
    the queue; holds pinned to the bottom stay among themselves). ``expected_position`` is where
    the page showed it: if the hold is elsewhere now, QueueChanged and nothing moves. Returns
    where it was and where it is now."""
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    if hold.status not in LIVE_STATUSES or hold.queue_key is None:
        raise HoldNotInQueue()
    if hold.status in WAITING_STATUSES or hold.status is HoldStatus.IN_TRANSIT:
        raise HoldFound("A copy is already set aside for this hold: it has left the queue order.")
    entries = queue_entries(session, title.id)
    ids = [entry.hold_id for entry in entries]
    index = ids.index(hold.id)
    if expected_position is not None and expected_position != index + 1:
        raise QueueChanged(current_position=index + 1)
    normal = sum(1 for entry in entries if not entry.lowest_priority)
    low, high = (normal, len(entries) - 1) if hold.lowest_priority else (0, normal - 1)
    target = _target_index(to, index, low, high)
    if target == index:
        return QueueMove(hold.id, index + 1, index + 1)
    reordered = ids[:index] + ids[index + 1:]
    reordered.insert(target, hold.id)
    first, last = min(index, target), max(index, target)
    _rekey(session, {reordered[i]: entries[i].queue_key for i in range(first, last + 1)})
    queue_changed(title)
    if channel == "staff":
        record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="HOLDS",
                     action="MOVE", object_type="hold", object_id=hold.id,
                     info={"title_id": title.id, "from": index + 1, "to": target + 1})
    session.flush()
    return QueueMove(hold.id, index + 1, target + 1)


def set_lowest_priority(session: Session, hold: Hold, value: bool, actor: Patron | None) -> int | None:
    """Pin a live hold to the bottom of its queue (Koha's lowestPriority) or unpin it; its key
    is kept, only the order changes. Returns its new position."""
    title = lock_title(session, hold.title_id)
    session.refresh(hold)
    if hold.status not in LIVE_STATUSES:
        raise HoldNotInQueue()
    if hold.lowest_priority != value:
        hold.lowest_priority = value
        queue_changed(title)
        record_audit(session, actor_id=actor.id if actor else None, channel="staff", module="HOLDS",
                     action="LOWEST_PRIORITY" if value else "NORMAL_PRIORITY", object_type="hold", object_id=hold.id)
        session.flush()
    return position_of(session, hold)
