"""The queue invariant under random sequences of place, cancel, suspend, resume, reorder, pin
and bring back (Hypothesis): positions always run 1..n, keys are never shared, suspending and
resuming never move anyone, a move puts the hold where asked and leaves the others' order alone,
and a hold that comes back disturbs nobody's order."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.models import Hold
from app.services import holds
from app.services.holds import refusals as R

PICK = st.integers(min_value=0, max_value=40)
OPERATIONS = st.one_of(
    st.tuples(st.just("place")),
    st.tuples(st.just("cancel"), PICK),
    st.tuples(st.just("suspend"), PICK),
    st.tuples(st.just("resume"), PICK),
    st.tuples(st.just("bring_back"), PICK),
    st.tuples(st.just("pin"), PICK, st.booleans()),
    st.tuples(st.just("move"), PICK, st.one_of(st.sampled_from(["top", "bottom", "up", "down"]),
                                               st.integers(min_value=-2, max_value=30))),
)


def queue(session, title_id: int) -> list[int]:
    return list(session.scalars(holds.scopes.live_for_title(title_id).with_only_columns(Hold.id)))


def without(order: list[int], hold_id: int) -> list[int]:
    return [h for h in order if h != hold_id]


def expected_after_move(order: list[int], pinned: set[int], hold_id: int, to) -> list[int]:
    index = order.index(hold_id)
    normal = sum(1 for h in order if h not in pinned)
    low, high = (normal, len(order) - 1) if hold_id in pinned else (0, normal - 1)
    wanted = {"top": low, "bottom": high, "up": index - 1, "down": index + 1}.get(to, to - 1 if isinstance(to, int) else 0)
    target = max(low, min(high, wanted))
    rest = without(order, hold_id)
    rest.insert(target, hold_id)
    return rest


def check_invariants(session, title_id: int) -> None:
    positions = holds.positions_for(session, [title_id])
    assert sorted(positions.values()) == list(range(1, len(positions) + 1))
    keys = [k for k in session.scalars(select(Hold.queue_key).where(Hold.title_id == title_id)) if k is not None]
    assert len(keys) == len(set(keys)) and all(k > 0 for k in keys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=30))
def test_the_queue_stays_whole_under_any_sequence_of_changes(make, session, operations):
    make.library("CPL")
    title = make.item().title
    placed: list[Hold] = []
    pinned: set[int] = set()
    try:
        for operation in operations:
            before = queue(session, title.id)
            kind = operation[0]
            if kind == "place" or not placed:
                hold = holds.place_hold(session, make.patron(), title, None, channel="staff")
                placed.append(hold)
                after = queue(session, title.id)
                normal = [h for h in before if h not in pinned]
                assert after == normal + [hold.id] + [h for h in before if h in pinned]
                check_invariants(session, title.id)
                continue
            hold = placed[operation[1] % len(placed)]
            try:
                if kind == "cancel":
                    holds.cancel_hold(session, hold, None)
                    assert queue(session, title.id) == without(before, hold.id)
                elif kind in ("suspend", "resume"):
                    (holds.suspend_hold if kind == "suspend" else holds.resume_hold)(session, hold, None)
                    assert queue(session, title.id) == before
                elif kind == "move":
                    holds.move_hold(session, hold, operation[2], None, expected_position=before.index(hold.id) + 1
                                    if hold.id in before else None)
                    assert queue(session, title.id) == expected_after_move(before, pinned, hold.id, operation[2])
                elif kind == "pin":
                    holds.set_lowest_priority(session, hold, operation[2], None)
                    (pinned.add if operation[2] else pinned.discard)(hold.id)
                    after = queue(session, title.id)
                    assert without(after, hold.id) == without(before, hold.id)
                    assert [h for h in after if h not in pinned] + [h for h in after if h in pinned] == after
                elif kind == "bring_back":
                    holds.bring_back_hold(session, hold, None)
                    after = queue(session, title.id)
                    assert without(after, hold.id) == without(before, hold.id) and hold.id in after
            except (R.WrongStatus, R.HoldNotInQueue):
                assert queue(session, title.id) == before
            check_invariants(session, title.id)
    finally:
        session.rollback()
