"""The queue of a title: positions 1..n with no gaps, moves to the top, bottom, up, down or a
position, a stale page refused, holds pinned to the bottom, suspension keeping the place,
cancelled and expired holds brought back to their old place, filled holds leaving for good, and
the database refusing two holds with one key."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.models import AuditEntry, Hold, HoldStatus
from app.services import holds
from app.services.holds import refusals as R
from app.services.holds_hooks import fill_hold_at_checkout

from .test_holds_fixtures import MONDAY, Holds, day, frozen, scene  # noqa: F401


@pytest.fixture
def five(scene) -> list[Hold]:
    return [scene.place(patron) for patron in scene.patrons(5)]


def ids(hold_list: list[Hold], *order: int) -> list[int]:
    return [hold_list[n].id for n in order]


def move(scene: Holds, hold: Hold, to, expected=None) -> int:
    return holds.move_hold(scene.session, hold, to, scene.librarian, expected_position=expected).to_position


def test_positions_run_from_one_without_gaps(scene, five):
    assert scene.positions() == {hold.id: n for n, hold in enumerate(five, start=1)}
    holds.cancel_hold(scene.session, five[1], scene.librarian)
    assert sorted(scene.positions().values()) == [1, 2, 3, 4]
    assert holds.position_of(scene.session, five[2]) == 2
    assert holds.position_of(scene.session, five[1]) is None


@pytest.mark.parametrize("to, expected", [
    ("top", [3, 0, 1, 2, 4]),
    ("bottom", [0, 1, 2, 4, 3]),
    ("up", [0, 1, 3, 2, 4]),
    ("down", [0, 1, 2, 4, 3]),
    (2, [0, 3, 1, 2, 4]),
    (99, [0, 1, 2, 4, 3]),
    (-3, [3, 0, 1, 2, 4]),
])
def test_moving_a_hold(scene, five, to, expected):
    new_position = move(scene, five[3], to, expected=4)
    assert scene.queue() == ids(five, *expected)
    assert new_position == expected.index(3) + 1
    assert sorted(scene.positions().values()) == [1, 2, 3, 4, 5]


def test_a_move_says_which_positions_changed(scene, five):
    moved = holds.move_hold(scene.session, five[4], 2, scene.librarian)
    assert (moved.hold_id, moved.from_position, moved.to_position) == (five[4].id, 5, 2)
    assert list(moved.changed) == [2, 3, 4, 5]


def test_a_move_keeps_the_keys_the_queue_already_had(scene, five):
    before = sorted(scene.keys().values())
    move(scene, five[4], "top")
    move(scene, five[0], "bottom")
    assert sorted(scene.keys().values()) == before


def test_moving_up_at_the_top_or_down_at_the_bottom_changes_nothing(scene, five):
    version = scene.title.hold_queue_version
    assert move(scene, five[0], "up") == 1
    assert move(scene, five[4], "down") == 5
    assert scene.queue() == ids(five, 0, 1, 2, 3, 4) and scene.title.hold_queue_version == version


def test_a_stale_page_gets_queue_changed_and_nothing_moves(scene, five):
    move(scene, five[4], "top")
    with pytest.raises(R.QueueChanged) as stale:
        move(scene, five[2], "top", expected=3)  # the page still shows it third; it is fourth now
    assert stale.value.code == "queueChanged" and stale.value.details["current_position"] == 4
    assert scene.queue() == ids(five, 4, 0, 1, 2, 3)


def test_every_move_bumps_the_queue_version_and_is_audited(scene, five):
    version = scene.title.hold_queue_version
    move(scene, five[2], "top")
    assert scene.title.hold_queue_version == version + 1
    audit = scene.session.scalar(select(AuditEntry).where(AuditEntry.action == "MOVE"))
    assert audit.info == {"title_id": scene.title.id, "from": 3, "to": 1}


def test_holds_pinned_to_the_bottom_stay_below_the_others(scene, five):
    holds.set_lowest_priority(scene.session, five[0], True, scene.librarian)
    assert scene.queue() == ids(five, 1, 2, 3, 4, 0)
    assert move(scene, five[0], "top") == 5  # it stays among the pinned
    move(scene, five[4], "bottom")
    assert scene.queue() == ids(five, 1, 2, 3, 4, 0)
    new = scene.place(scene.make.patron())
    assert scene.queue()[-2:] == [new.id, five[0].id]
    assert holds.set_lowest_priority(scene.session, five[0], False, scene.librarian) == 1


def test_a_hold_with_a_copy_set_aside_cannot_be_moved(scene, five):
    five[0].status = HoldStatus.PULLED
    with pytest.raises(R.HoldFound):
        move(scene, five[0], "bottom")
    holds.cancel_hold(scene.session, five[1], scene.librarian)
    with pytest.raises(R.HoldNotInQueue):
        move(scene, five[1], "top")


def test_suspension_keeps_the_place_and_resuming_returns_to_it(scene, five):
    holds.suspend_hold(scene.session, five[1], scene.librarian)
    assert scene.positions()[five[1].id] == 2
    move(scene, five[4], "top")
    move(scene, five[3], 3)
    holds.resume_hold(scene.session, five[1], scene.librarian)
    assert scene.queue() == ids(five, 4, 0, 3, 1, 2)  # moved only by the moves around it


def test_a_cancelled_hold_is_brought_back_at_its_old_place(scene, five):
    key = five[2].queue_key
    holds.cancel_hold(scene.session, five[2], scene.librarian, reason="patron asked")
    assert five[2].queue_key == key and five[2].cancellation_reason == "patron asked"
    scene.place(scene.make.patron())
    assert holds.bring_back_hold(scene.session, five[2], scene.librarian) == 3
    assert five[2].queue_key == key and five[2].status is HoldStatus.QUEUED and five[2].finished_at is None
    assert [h.to_status for h in five[2].history] == [HoldStatus.QUEUED, HoldStatus.CANCELLED, HoldStatus.QUEUED]


def test_an_expired_hold_is_brought_back_without_its_past_date(scene, five, frozen):
    five[1].not_needed_after = day(1)
    scene.session.flush()
    with clock.freeze(frozen + dt.timedelta(days=2)):
        assert holds.expire_holds(scene.session, day(2)) == 1
        assert holds.bring_back_hold(scene.session, five[1], scene.librarian) == 2
    assert five[1].not_needed_after is None


def test_new_holds_never_take_the_key_of_a_hold_that_left(scene, five):
    holds.cancel_hold(scene.session, five[4], scene.librarian)
    new = scene.place(scene.make.patron())
    assert new.queue_key == five[4].queue_key + 1
    assert holds.bring_back_hold(scene.session, five[4], scene.librarian) == 5


def test_a_filled_hold_leaves_the_queue_for_good(scene, five):
    five[0].status = HoldStatus.PULLED
    fill_hold_at_checkout(scene.session, five[0], scene.librarian, MONDAY)
    assert five[0].queue_key is None and five[0].status is HoldStatus.FILLED
    assert scene.positions() == {five[n].id: n for n in range(1, 5)}
    with pytest.raises(R.WrongStatus):
        holds.bring_back_hold(scene.session, five[0], scene.librarian)


def test_a_filled_hold_of_a_patron_who_keeps_no_history_is_anonymised(scene):
    from app.models import Privacy

    scene.patron.privacy = Privacy.NEVER_KEEP
    hold = holds.place_hold(scene.session, scene.patron, scene.title, scene.patron, channel="opac")
    hold.status = HoldStatus.PULLED
    fill_hold_at_checkout(scene.session, hold, scene.librarian, MONDAY)
    assert hold.anonymized and hold.patron_id is None and hold.placed_by_id is None
    assert all(entry.actor_id != scene.patron.id for entry in hold.history)


def test_the_database_refuses_two_holds_with_one_key_on_a_title(scene, five):
    scene.session.add(Hold(patron_id=scene.patron.id, title_id=scene.title.id, pickup_library_code="CPL",
                           queue_key=five[0].queue_key))
    with pytest.raises(IntegrityError):
        scene.session.flush()
    scene.session.rollback()


def test_positions_for_many_titles_at_once(scene, five):
    other = scene.make.item().title
    elsewhere = scene.place(title=other)
    found = holds.positions_for(scene.session, [scene.title.id, other.id])
    assert found[elsewhere.id] == 1 and found[five[4].id] == 5
    assert holds.queue_length(scene.session, scene.title.id) == 5
