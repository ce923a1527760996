"""Holds on popular titles, in every status of ``HoldStatus``: per title a live queue (queue keys
1..n, found holds with an allocated copy, suspended ones keeping their place), then finished
holds (expired and cancelled keep a key after the live ones, filled ones have none). Every hold
gets the history of the transitions that led to its status, each one allowed by the model's
transition table; holds in transit get an open item transfer."""
from __future__ import annotations

import datetime as dt
import random

from app.models import Hold, HoldHistory, HoldStatus, ItemTransfer
from app.models.hold import TRANSITIONS

from . import words as W
from .state import ALLOCATED, AVAILABLE, HOLDABLE_KINDS, VOLUMES, SeedState
from .writer import BulkWriter, Progress

S = HoldStatus
FOUND_WEIGHTS = {S.READY_TO_PULL: 30, S.PULLED: 35, S.IN_TRANSIT: 20, S.LONG_WAITING: 15}
PAST_WEIGHTS = {S.FILLED: 55, S.EXPIRED: 20, S.CANCELLED: 25}
PATHS = {
    S.QUEUED: (S.QUEUED,),
    S.READY_TO_PULL: (S.QUEUED, S.READY_TO_PULL),
    S.PULLED: (S.QUEUED, S.READY_TO_PULL, S.PULLED),
    S.IN_TRANSIT: (S.QUEUED, S.READY_TO_PULL, S.IN_TRANSIT),
    S.LONG_WAITING: (S.QUEUED, S.READY_TO_PULL, S.PULLED, S.LONG_WAITING),
    S.FILLED: (S.QUEUED, S.READY_TO_PULL, S.PULLED, S.FILLED),
    S.EXPIRED: (S.QUEUED, S.EXPIRED),
    S.SUSPENDED: (S.QUEUED, S.SUSPENDED),
    S.CANCELLED: (S.QUEUED, S.CANCELLED),
}
REASONS = {S.QUEUED: "placed", S.READY_TO_PULL: "copy on the shelf", S.PULLED: "pulled for pickup",
           S.IN_TRANSIT: "sent to the pickup library", S.LONG_WAITING: "waiting past the pickup delay",
           S.FILLED: "checked out to the patron", S.EXPIRED: "not needed after date passed",
           S.SUSPENDED: "suspended by the patron"}
for _status, _path in PATHS.items():  # the seed never writes a history the model would refuse
    assert _path[-1] == _status and all(b in TRANSITIONS[a] for a, b in zip(_path, _path[1:])), _status


def _pick(rng: random.Random, weights: dict[HoldStatus, int], missing: set[HoldStatus]) -> HoldStatus:
    wanted = [s for s in weights if s in missing]
    if wanted:
        return wanted[0]
    return rng.choices(list(weights), list(weights.values()))[0]


class HoldWriter:
    def __init__(self, writer: BulkWriter, state: SeedState):
        self.writer, self.state = writer, state
        self.next_id = 1
        self.codes = [lib.code for lib in state.libraries]

    def write(self, rng: random.Random, events: dict[HoldStatus, dt.datetime] | None = None, **values) -> None:
        """One hold and its history; ``events`` pins the time of some transitions (when a copy
        was pulled, sent, filled...), the others fall in between."""
        state = self.state
        status: HoldStatus = values["status"]
        row = dict(id=self.next_id, patron_id=None, title_id=None, item_id=None, volume=None, item_type_code=None,
                   pickup_library_code=None, status=status, queue_key=None, lowest_priority=False, placed_at=None,
                   not_needed_after=None, suspended_until=None, allocated_item_id=None, source_library_code=None,
                   waiting_since=None, pickup_deadline=None, unfilled_reason=None, finished_at=None,
                   cancellation_reason=None, notes=None, placed_by_id=None, channel="opac", anonymized=False)
        row.update(values)
        if rng.random() < 0.25:
            row["channel"] = "staff"
            row["placed_by_id"] = rng.choice(state.staff_by_library[row["pickup_library_code"]])
        else:
            row["placed_by_id"] = row["patron_id"]
        if row["anonymized"]:
            row["patron_id"] = row["placed_by_id"] = None
        path = PATHS[status]
        times = _path_times(rng, state, path, row["placed_at"], dict(events or {}))
        row["created_at"], row["updated_at"] = row["placed_at"], times[-1]
        self.writer.add(Hold.__table__, row)
        staff = state.staff_by_library[row["source_library_code"] or row["pickup_library_code"]]
        previous = None
        for to, at in zip(path, times):
            if previous is None:
                actor = row["placed_by_id"]
            elif to in (S.PULLED, S.IN_TRANSIT, S.FILLED):
                actor = rng.choice(staff)
            elif to in (S.SUSPENDED, S.CANCELLED):
                actor = row["patron_id"] if row["patron_id"] and rng.random() < 0.6 else rng.choice(staff)
            else:
                actor = None  # the hold filler or the nightly job
            self.writer.add(HoldHistory.__table__, dict(
                hold_id=self.next_id, at=at, actor_id=actor, from_status=previous, to_status=to,
                reason=row["cancellation_reason"] if to == S.CANCELLED else REASONS[to]))
            previous = to
        self.next_id += 1


def _path_times(rng: random.Random, state: SeedState, path: tuple[HoldStatus, ...], placed: dt.datetime,
                events: dict[HoldStatus, dt.datetime]) -> list[dt.datetime]:
    """A time for every step: pinned ones as given, the last one before the seed's "now" if not
    pinned, the others half-way between their neighbours."""
    events[path[0]] = placed
    if path[-1] not in events:
        events[path[-1]] = max(placed, state.days_ago(rng.uniform(0.05, 2)))
    times: list[dt.datetime] = []
    for i, step in enumerate(path):
        if step in events:
            times.append(max(events[step], times[-1]) if times else events[step])
            continue
        following = next(events[s] for s in path[i + 1:] if s in events)
        times.append(times[-1] + (following - times[-1]) / 2)
    return times


def seed_holds(writer: BulkWriter, state: SeedState, echo) -> None:
    rng = state.rng("holds")
    target = state.size.holds
    out = HoldWriter(writer, state)
    progress = Progress(echo, "holds", target, writer.counts)
    missing = set(HoldStatus)
    used: set[int] = set()
    while out.next_id <= target:
        tid = _pick_title(rng, state, used)
        left = target - out.next_id + 1
        live = min(1 + int(rng.expovariate(1 / 2.2)), 15, left)
        past = min(int(rng.expovariate(1 / 0.9)), left - live)
        _title_holds(rng, state, out, tid, live, past, missing)
        writer.ready()
        progress.tick(out.next_id - 1)
    if missing:
        raise RuntimeError(f"the seed made no hold in status {', '.join(sorted(missing))}: raise the hold count")
    writer.flush()
    progress.done(writer.counts, ("holds", "hold_history", "item_transfers"))


def _pick_title(rng: random.Random, state: SeedState, used: set[int]) -> int:
    for _ in range(10_000):
        tid = rng.randint(state.first_generated_title, state.last_title_id)
        if tid not in used and state.title_kind[tid] in HOLDABLE_KINDS:
            used.add(tid)
            return tid
    raise RuntimeError("not enough titles for the holds asked")


def _title_holds(rng: random.Random, state: SeedState, out: HoldWriter, tid: int, live: int, past: int,
                 missing: set[HoldStatus]) -> None:
    first, count = state.title_first_item[tid], state.title_item_count[tid]
    items = range(first, first + count)
    available = [i for i in items if state.item_state[i] == AVAILABLE]
    patrons: set[int] = set()
    while len(patrons) < live + past:
        patrons.add(state.pick_public_patron(rng))
    order = sorted(patrons)
    rng.shuffle(order)
    placed = state.days_ago(rng.uniform(2, 120))
    key = 0
    for pos in range(live):
        patron_id = order[pos]
        pickup = out.codes[state.patron_library[patron_id]]
        key += 1
        placed = min(placed + dt.timedelta(hours=rng.uniform(0.5, 72)), state.days_ago(0.05))
        values = dict(patron_id=patron_id, title_id=tid, pickup_library_code=pickup, queue_key=key, placed_at=placed)
        if state.title_kind[tid] == VOLUMES and rng.random() < 0.5:
            wanted_item = rng.choice(items)
            values["volume"] = f"v.{wanted_item - first + 1}"
        elif rng.random() < 0.04:
            wanted_item = values["item_id"] = rng.choice(items)
        else:
            wanted_item = None
        candidates = [i for i in available if wanted_item in (None, i)]
        found_wanted = bool(missing & FOUND_WEIGHTS.keys())
        if candidates and (found_wanted or (pos < 3 and rng.random() < 0.6)):
            item_id = candidates[0]
            available.remove(item_id)
            state.item_state[item_id] = ALLOCATED
            values.update(_found(rng, state, out, _pick(rng, FOUND_WEIGHTS, missing), item_id, pickup, placed))
        elif pos > 0 and (S.SUSPENDED in missing or rng.random() < 0.12):
            values["status"] = S.SUSPENDED
            if rng.random() < 0.5:
                values["suspended_until"] = state.today + dt.timedelta(days=rng.randint(3, 90))
        else:
            values["status"] = S.QUEUED
            if rng.random() < 0.15:
                values["not_needed_after"] = state.today + dt.timedelta(days=rng.randint(10, 200))
        missing.discard(values["status"])
        out.write(rng, **values)
    for pos in range(live, live + past):
        patron_id = order[pos]
        status = _pick(rng, PAST_WEIGHTS, missing)
        missing.discard(status)
        values = dict(patron_id=patron_id, title_id=tid, pickup_library_code=out.codes[state.patron_library[patron_id]],
                      status=status, placed_at=state.days_ago(rng.uniform(30, 700)))
        if status == S.FILLED:
            item_id = rng.choice(items)
            waiting = values["placed_at"] + dt.timedelta(days=rng.uniform(1, 20))
            finished = waiting + dt.timedelta(days=rng.uniform(0.1, 6))
            values.update(allocated_item_id=item_id, source_library_code=out.codes[state.item_library[item_id]],
                          waiting_since=waiting, pickup_deadline=_local_date(state, waiting) + dt.timedelta(days=7),
                          finished_at=finished, anonymized=finished < state.days_ago(180) and rng.random() < 0.3,
                          events={S.PULLED: waiting, S.FILLED: finished})
        else:
            key += 1
            values["queue_key"] = key
            if status == S.EXPIRED:
                last_day = _local_date(state, values["placed_at"]) + dt.timedelta(days=rng.randint(20, 25))
                values.update(not_needed_after=last_day, finished_at=state.end_of_day(last_day))
            else:
                values.update(finished_at=values["placed_at"] + dt.timedelta(days=rng.uniform(0.5, 25)),
                              cancellation_reason=rng.choice(W.CANCELLATION_REASONS))
            values["events"] = {status: values["finished_at"]}
        out.write(rng, **values)


def _local_date(state: SeedState, moment: dt.datetime) -> dt.date:
    return moment.astimezone(state.zone).date()


def _found(rng: random.Random, state: SeedState, out: HoldWriter, status: HoldStatus, item_id: int,
           pickup: str, placed: dt.datetime) -> dict:
    """Status, allocation, source and pickup details of a hold that has a copy (found after
    ``placed``; a hold placed too recently to be long waiting is only pulled)."""
    here = out.codes[state.item_library[item_id]]
    delay = 7
    if status == S.LONG_WAITING and placed > state.days_ago(delay + 3):
        status = S.PULLED

    def after_placing(moment: dt.datetime) -> dt.datetime:
        return moment if moment > placed else placed + (state.now - placed) * rng.uniform(0.3, 0.9)

    values: dict = dict(status=status, allocated_item_id=item_id, source_library_code=here)
    if status == S.READY_TO_PULL:
        return values
    if status == S.IN_TRANSIT:
        if pickup == here:
            others = [c for c in out.codes if c != here]
            pickup = values["pickup_library_code"] = rng.choice(others)
        values["pickup_library_code"] = pickup
        sent = after_placing(state.days_ago(rng.uniform(0.1, 3)))
        out.writer.add(ItemTransfer.__table__, dict(
            item_id=item_id, from_library_code=here, to_library_code=pickup, reason="hold", sent_at=sent,
            arrived_at=None, cancelled_at=None, created_at=sent, updated_at=sent))
        values["events"] = {S.IN_TRANSIT: sent}
        return values
    # pulled (ready for pickup) or long waiting: on the pickup shelf where the copy is
    if status == S.PULLED:
        waiting = after_placing(state.days_ago(rng.uniform(0.1, delay - 1)))
    else:
        waiting = max(placed + dt.timedelta(hours=2), state.days_ago(rng.uniform(delay + 2, delay + 20)))
    deadline = _local_date(state, waiting) + dt.timedelta(days=delay)
    values.update(pickup_library_code=here, waiting_since=waiting, pickup_deadline=deadline,
                  events={S.PULLED: waiting})
    if status == S.LONG_WAITING:  # the nightly job noticed the day after the deadline
        values["events"][S.LONG_WAITING] = state.end_of_day(deadline) + dt.timedelta(hours=rng.uniform(1, 5))
    return values
