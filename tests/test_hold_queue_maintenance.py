"""The holds queue kept per title: with RealTimeHoldsQueue on, each committed change (holds
placed, cancelled, suspended, resumed; copies checked out, in, lost, moved) recomputes the
title's allocations in its own transaction, and after any sequence of such changes a full
rebuild finds nothing to change (Hypothesis). The rebuild swaps its plan in at once and leaves
alone a title changed after it was planned."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db as carrel_db
from app.models import Hold, HoldQueueStaging, HoldStatus, Item, TransportCost
from app.services import holds
from app.services.circulation import check_in, check_out
from app.services.hold_queue.rebuild import rebuild_hold_queue, stage_titles, swap_staged_plan
from app.services.holds import refusals as R
from app.services.settings import set_preference

LIBS = ("PIK", "AAA", "BBB")
PICK = st.integers(min_value=0, max_value=40)
EVENTS = st.one_of(
    st.tuples(st.just("place"), PICK, st.sampled_from(LIBS)),
    st.tuples(st.just("cancel"), PICK),
    st.tuples(st.just("suspend"), PICK),
    st.tuples(st.just("resume"), PICK),
    st.tuples(st.just("check_out"), PICK, PICK),
    st.tuples(st.just("check_in"), PICK, st.sampled_from(LIBS)),
    st.tuples(st.just("lost"), PICK, st.booleans()),
    st.tuples(st.just("move"), PICK, st.sampled_from(LIBS)),
)


def setup_libraries(session, make, *, realtime=True):
    for code in LIBS:
        make.library(code)
    set_preference(session, "RealTimeHoldsQueue", realtime, actor_id=None)
    set_preference(session, "UseTransportCostMatrix", True, actor_id=None)
    costs = {("AAA", "PIK"): 1, ("BBB", "PIK"): 1, ("PIK", "AAA"): 2, ("BBB", "AAA"): 3, ("PIK", "BBB"): 2}
    for source in LIBS:
        for pickup in LIBS:
            if source != pickup:
                session.merge(TransportCost(from_library_code=source, to_library_code=pickup,
                                            cost=Decimal(costs.get((source, pickup), 5)),
                                            blocked=(source, pickup) == ("AAA", "BBB")))
    session.commit()


def place_at_pik(session, make, title) -> Hold:
    """A new PIK patron's hold on ``title``, for pickup at PIK."""
    return holds.place_hold(session, make.patron(library="PIK"), title, None, channel="staff",
                            pickup_library_code="PIK")


def a_hold_at_pik(session, make, *, realtime=True) -> tuple[Item, Hold]:
    """The libraries, one copy at PIK and one hold on its title for pickup there, committed."""
    setup_libraries(session, make, realtime=realtime)
    item = make.item(library="PIK")
    hold = place_at_pik(session, make, item.title)
    session.commit()
    return item, hold


def snapshot(session, title_id):
    session.rollback()
    return {hold.id: (hold.status, hold.allocated_item_id, hold.unfilled_reason) for hold in session.scalars(
        select(Hold).where(Hold.title_id == title_id).order_by(Hold.id).execution_options(populate_existing=True))}


def test_placing_a_hold_fills_it_at_once_when_realtime_is_on(make, session):
    setup_libraries(session, make)
    item = make.item(library="AAA")
    hold = place_at_pik(session, make, item.title)
    session.commit()
    assert hold.status is HoldStatus.READY_TO_PULL and hold.allocated_item_id == item.id
    holds.cancel_hold(session, hold, None)
    second = place_at_pik(session, make, item.title)
    session.commit()
    assert second.status is HoldStatus.READY_TO_PULL and second.allocated_item_id == item.id


def test_checking_out_the_only_copy_sends_the_hold_back_to_the_queue_with_a_reason(make, session):
    item, hold = a_hold_at_pik(session, make)
    assert hold.status is HoldStatus.READY_TO_PULL
    item.holding_library_code = "BBB"  # moved
    item.lost = 1
    session.commit()
    assert hold.status is HoldStatus.QUEUED and hold.unfilled_reason == "no_copy_available"


def test_with_realtime_off_the_rebuild_job_fills_and_swaps_at_once(make, session, app):
    item, hold = a_hold_at_pik(session, make, realtime=False)
    assert hold.status is HoldStatus.QUEUED
    with app.app_context():
        result = rebuild_hold_queue(carrel_db.unit_of_work)
    assert result.changed >= 1
    assert snapshot(session, item.title_id)[hold.id][:2] == (HoldStatus.READY_TO_PULL, item.id)
    assert session.scalar(select(HoldQueueStaging.hold_id).limit(1)) is None  # staging emptied


def test_a_title_changed_after_it_was_planned_is_left_to_its_own_update(make, session, app):
    item, hold = a_hold_at_pik(session, make, realtime=False)
    with app.app_context():
        with carrel_db.unit_of_work() as unit:
            stage_titles(unit, [item.title_id])
        with carrel_db.unit_of_work() as unit:  # the queue changes before the swap
            holds.suspend_hold(unit, unit.get(Hold, hold.id), None)
        with carrel_db.unit_of_work() as unit:
            changed, skipped = swap_staged_plan(unit)
    assert (changed, skipped) == (0, 1)
    assert snapshot(session, item.title_id)[hold.id][0] is HoldStatus.SUSPENDED


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(EVENTS, min_size=1, max_size=25))
def test_after_any_events_each_title_equals_a_full_rebuild(make, session, app, events):
    setup_libraries(session, make)
    title = make.title()
    items = [make.item(title, library=library) for library in ("PIK", "AAA", "BBB", "AAA")]
    patrons = [make.patron(library=library) for library in LIBS]
    borrower = make.patron(library="PIK")
    session.commit()
    placed: list[Hold] = []
    for event in events:
        kind = event[0]
        try:
            if kind == "place" or not placed and kind in ("cancel", "suspend", "resume"):
                patron = patrons[event[1] % len(patrons)] if kind == "place" else patrons[0]
                placed.append(holds.place_hold(session, patron, title, None, channel="staff",
                                               pickup_library_code=event[2] if kind == "place" else "PIK",
                                               override=True))
            elif kind in ("cancel", "suspend", "resume"):
                hold = placed[event[1] % len(placed)]
                {"cancel": holds.cancel_hold, "suspend": holds.suspend_hold, "resume": holds.resume_hold}[kind](
                    session, hold, None)
            elif kind == "check_out":
                check_out(session, borrower, items[event[1] % len(items)], "PIK", None, no_block=True,
                          confirmed=("*",), channel="staff")
            elif kind == "check_in":
                check_in(session, items[event[1] % len(items)], event[2], None)
            elif kind == "lost":
                items[event[1] % len(items)].lost = 1 if event[2] else 0
            elif kind == "move":
                items[event[1] % len(items)].holding_library_code = event[2]
            session.commit()
        except R.HoldRefused:
            session.rollback()
    maintained = snapshot(session, title.id)
    with app.app_context():
        result = rebuild_hold_queue(carrel_db.unit_of_work)
    assert result.changed == 0
    assert snapshot(session, title.id) == maintained


def test_the_rebuild_records_each_hold_it_fills_or_sends_back_in_its_history(make, session, app):
    item, first = a_hold_at_pik(session, make, realtime=False)
    with app.app_context():
        rebuild_hold_queue(carrel_db.unit_of_work)
    session.refresh(first)
    assert (first.history[-1].from_status, first.history[-1].to_status, first.history[-1].reason) == (
        HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, "copy chosen")
    item.lost = 1  # nobody noticed until the next rebuild
    session.commit()
    with app.app_context():
        result = rebuild_hold_queue(carrel_db.unit_of_work)
    session.refresh(first)
    assert result.changed == 1
    assert (first.status, first.allocated_item_id, first.unfilled_reason) == (
        HoldStatus.QUEUED, None, "no_copy_available")
    assert (first.history[-1].from_status, first.history[-1].to_status) == (HoldStatus.READY_TO_PULL, HoldStatus.QUEUED)


def test_the_rebuild_passes_over_withdrawn_damaged_lost_and_not_for_loan_copies(make, session, app):
    setup_libraries(session, make, realtime=False)
    make.item_type("REF", not_for_loan=True)
    title = make.title()
    for unusable in ({"withdrawn": True}, {"damaged": True}, {"lost": 1}, {"not_for_loan": 1}, {"item_type": "REF"}):
        make.item(title, library="PIK", **unusable)
    usable = make.item(title, library="AAA")
    first, second = (holds.place_hold(session, make.patron(library="PIK"), title, None, channel="staff",
                                      pickup_library_code="PIK", override=True) for _ in range(2))
    session.commit()
    with app.app_context():
        rebuild_hold_queue(carrel_db.unit_of_work)
    planned = snapshot(session, title.id)
    assert planned[first.id][:2] == (HoldStatus.READY_TO_PULL, usable.id)
    assert planned[second.id] == (HoldStatus.QUEUED, None, "no_copy_available")
