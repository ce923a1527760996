"""Statuses: every allowed and forbidden transition through the one helper the services use
(history records who, when, from, to and why), and the refusals of cancelling, suspending,
resuming and changing the pickup library of holds in each status, for staff and patrons."""
from __future__ import annotations

import itertools

import pytest

from app.models import Hold, HoldStatus, InvalidHoldTransition
from app.models.hold import TRANSITIONS
from app.services import holds
from app.services.holds import refusals as R

from .test_holds_fixtures import MONDAY, Holds, day, frozen, scene  # noqa: F401

PAIRS = list(itertools.product(HoldStatus, HoldStatus))


@pytest.mark.parametrize("from_status, to_status", PAIRS, ids=[f"{a.value}->{b.value}" for a, b in PAIRS])
def test_every_transition_is_allowed_or_refused_as_the_table_says(scene, from_status, to_status):
    hold = scene.place()
    hold.status = from_status
    before = len(hold.history)
    if to_status in TRANSITIONS[from_status]:
        holds.change_status(hold, to_status, scene.librarian, "because")
        assert hold.status is to_status
        entry = hold.history[-1]
        assert (entry.from_status, entry.to_status, entry.actor_id, entry.reason, entry.at) == (
            from_status, to_status, scene.librarian.id, "because", MONDAY)
    else:
        with pytest.raises(R.WrongStatus) as refused:
            holds.change_status(hold, to_status, scene.librarian, "because")
        assert isinstance(refused.value.__cause__, InvalidHoldTransition)
        assert refused.value.code == "wrongStatus"
        assert hold.status is from_status and len(hold.history) == before


def test_filled_is_terminal():
    assert TRANSITIONS[HoldStatus.FILLED] == frozenset()


def _in(scene: Holds, status: HoldStatus, **kw) -> Hold:
    hold = scene.place(scene.make.patron())
    hold.status = status
    for name, value in kw.items():
        setattr(hold, name, value)
    scene.session.flush()
    return hold


# --- cancelling -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.PULLED,
                                    HoldStatus.IN_TRANSIT, HoldStatus.LONG_WAITING])
def test_staff_cancel_any_live_hold(scene, status):
    hold = _in(scene, status)
    holds.cancel_hold(scene.session, hold, scene.librarian)
    assert hold.status is HoldStatus.CANCELLED and hold.finished_at == MONDAY


def test_cancelling_a_suspended_hold_resumes_it_first_in_its_history(scene):
    hold = scene.place()
    holds.suspend_hold(scene.session, hold, scene.librarian, until=day(10))
    holds.cancel_hold(scene.session, hold, scene.librarian)
    assert [(h.from_status, h.to_status) for h in hold.history][-2:] == [
        (HoldStatus.SUSPENDED, HoldStatus.QUEUED), (HoldStatus.QUEUED, HoldStatus.CANCELLED)]
    assert hold.suspended_until is None


@pytest.mark.parametrize("status", [HoldStatus.FILLED, HoldStatus.CANCELLED, HoldStatus.EXPIRED])
def test_a_finished_hold_cannot_be_cancelled(scene, status):
    with pytest.raises(R.WrongStatus):
        holds.cancel_hold(scene.session, _in(scene, status), scene.librarian)


def test_patrons_cannot_cancel_a_hold_with_a_copy_set_aside(scene):
    hold = _in(scene, HoldStatus.PULLED)
    with pytest.raises(R.HoldFound) as refused:
        holds.cancel_hold(scene.session, hold, hold.patron, channel="opac")
    assert refused.value.code == "holdFound"
    holds.cancel_hold(scene.session, scene.place(), scene.patron, channel="opac")


def test_patrons_may_cancel_a_hold_that_only_tops_the_queue_and_its_copy_is_freed(scene):
    hold = _in(scene, HoldStatus.READY_TO_PULL, allocated_item_id=scene.items[0].id, source_library_code="CPL")
    holds.cancel_hold(scene.session, hold, hold.patron, channel="opac")
    assert hold.status is HoldStatus.CANCELLED and hold.allocated_item_id is None


def test_patrons_manage_holds_only_when_the_library_lets_them(scene):
    hold = scene.place()
    scene.preference("OPACHoldsManagement", False)
    for action in (lambda: holds.cancel_hold(scene.session, hold, scene.patron, channel="opac"),
                   lambda: holds.suspend_hold(scene.session, hold, scene.patron, channel="opac"),
                   lambda: holds.change_pickup(scene.session, hold, "FPL", scene.patron, channel="opac")):
        with pytest.raises(R.HoldsManagementNotAllowed):
            action()
    holds.suspend_hold(scene.session, hold, scene.librarian)  # staff still can


# --- suspending and resuming ----------------------------------------------------------------------

def test_suspending_a_hold_about_to_be_pulled_puts_its_copy_back(scene):
    hold = _in(scene, HoldStatus.READY_TO_PULL, allocated_item_id=scene.items[0].id, source_library_code="CPL")
    holds.suspend_hold(scene.session, hold, scene.librarian)
    assert hold.status is HoldStatus.SUSPENDED and hold.allocated_item_id is None


@pytest.mark.parametrize("status", [HoldStatus.PULLED, HoldStatus.IN_TRANSIT])
def test_a_hold_waiting_or_travelling_cannot_be_suspended(scene, status):
    with pytest.raises(R.HoldFound):
        holds.suspend_hold(scene.session, _in(scene, status), scene.librarian)


def test_staff_may_suspend_a_long_waiting_hold_patrons_may_not(scene):
    hold = _in(scene, HoldStatus.LONG_WAITING, allocated_item_id=scene.items[0].id)
    with pytest.raises(R.HoldFound):
        holds.suspend_hold(scene.session, hold, hold.patron, channel="opac")
    holds.suspend_hold(scene.session, hold, scene.librarian)
    assert hold.status is HoldStatus.SUSPENDED and hold.allocated_item_id is None


def test_resume_dates_need_the_preference_and_a_future_day(scene):
    hold = scene.place()
    with pytest.raises(R.InvalidDate):
        holds.suspend_hold(scene.session, hold, scene.librarian, until=day(0))
    scene.preference("AutoResumeSuspendedHolds", False)
    with pytest.raises(R.SuspendUntilNotAllowed) as refused:
        holds.suspend_hold(scene.session, hold, scene.librarian, until=day(3))
    assert refused.value.code == "suspendUntilNotAllowed"
    holds.suspend_hold(scene.session, hold, scene.librarian)
    assert hold.suspended_until is None


def test_patrons_suspend_only_when_suspend_holds_opac_is_on(scene):
    scene.preference("SuspendHoldsOpac", False)
    with pytest.raises(R.SuspensionNotAllowed):
        holds.suspend_hold(scene.session, scene.place(), scene.patron, channel="opac")


def test_resuming_a_hold_that_is_not_suspended_is_refused(scene):
    with pytest.raises(R.WrongStatus):
        holds.resume_hold(scene.session, scene.place(), scene.librarian)


def test_suspend_all_suspends_every_hold_in_the_queue_and_redates_suspended_ones(scene):
    titles = [scene.make.item().title for _ in range(4)]
    queued = scene.place(title=titles[0])
    already = scene.place(title=titles[1])
    holds.suspend_hold(scene.session, already, scene.librarian, until=day(3))
    waiting = scene.place(title=titles[2])
    waiting.status = HoldStatus.PULLED
    ready = scene.place(title=titles[3])
    ready.status = HoldStatus.READY_TO_PULL
    changed = holds.suspend_holds(scene.session, scene.patron, scene.patron, until=day(20), channel="opac")
    assert {h.id for h in changed} == {queued.id, already.id, ready.id}
    for hold in (queued, already, ready):
        assert hold.status is HoldStatus.SUSPENDED and hold.suspended_until == day(20)
    assert waiting.status is HoldStatus.PULLED
    assert [h.id for h in holds.resume_holds(scene.session, scene.patron, scene.librarian)] == [
        queued.id, already.id, ready.id]
    assert queued.status is HoldStatus.QUEUED and queued.suspended_until is None


# --- pickup library -------------------------------------------------------------------------------

def test_changing_the_pickup_library(scene):
    hold = scene.place()
    holds.change_pickup(scene.session, hold, "FPL", scene.patron, channel="opac")
    assert hold.pickup_library_code == "FPL"
    with pytest.raises(R.LibraryNotPickupLocation):
        holds.change_pickup(scene.session, hold, "MPL", scene.librarian)
    scene.preference("OPACAllowUserToChooseBranch", False)
    with pytest.raises(R.PickupChoiceNotAllowed):
        holds.change_pickup(scene.session, hold, "CPL", scene.patron, channel="opac")
    holds.change_pickup(scene.session, hold, "CPL", scene.librarian)


@pytest.mark.parametrize("status", [HoldStatus.PULLED, HoldStatus.IN_TRANSIT, HoldStatus.LONG_WAITING])
def test_the_pickup_library_of_a_hold_with_a_copy_on_its_way_stays(scene, status):
    with pytest.raises(R.HoldFound):
        holds.change_pickup(scene.session, _in(scene, status), "FPL", scene.librarian)


def test_the_pickup_library_of_a_finished_hold_stays(scene):
    with pytest.raises(R.WrongStatus):
        holds.change_pickup(scene.session, _in(scene, HoldStatus.CANCELLED), "FPL", scene.librarian)
