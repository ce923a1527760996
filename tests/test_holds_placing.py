"""Placing holds: title, volume and copy holds; every policy of the rules matrix (holds in total,
per title on the same volume and on different volumes, per day, on-shelf holds, OPAC item
holds, hold policy, pickup policy), the patron's standing, the pickup library, and staff
overrides. Each refusal is typed, with Koha's code where Koha has one."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import clock
from app.models import AuditEntry, HoldStatus, Loan, PatronRestriction
from app.services import fines, holds
from app.services.holds import refusals as R

from .test_holds_fixtures import TODAY, Holds, day, frozen, scene  # noqa: F401


def refused(scene: Holds, refusal: type[R.HoldRefused], **kw) -> R.HoldRefused:
    with pytest.raises(refusal) as caught:
        scene.place(**kw)
    return caught.value


def lend(scene: Holds, item, patron=None) -> None:
    now = clock.now()
    scene.session.add(Loan(patron_id=(patron or scene.make.patron()).id, item_id=item.id, library_code="CPL",
                           issued_at=now, due_at=now + dt.timedelta(days=14)))
    scene.session.flush()


def test_a_title_level_hold_joins_the_end_of_the_queue_with_its_history(scene):
    first = scene.place(scene.make.patron())
    hold = scene.place(pickup_library_code="FPL")
    assert hold.id != first.id
    assert hold.status is HoldStatus.QUEUED and hold.item_id is None and hold.volume is None
    assert hold.pickup_library_code == "FPL" and hold.placed_by_id == scene.librarian.id
    assert scene.positions() == {first.id: 1, hold.id: 2}
    assert [(h.from_status, h.to_status, h.actor_id, h.reason) for h in hold.history] == [
        (None, HoldStatus.QUEUED, scene.librarian.id, "placed")]
    assert scene.title.hold_queue_version == 2


def test_the_pickup_library_defaults_to_the_patrons_home_library(scene):
    assert scene.place().pickup_library_code == "CPL"


def test_an_item_level_hold_and_a_volume_hold(scene):
    scene.rule("holds_per_record_volumes", 3)
    volume_one = scene.make.item(scene.title, enumchron="v.1")
    scene.make.item(scene.title, enumchron="v.2")
    item_hold = scene.place(item=scene.items[0])
    volume_hold = scene.place(volume="v.2")
    assert item_hold.item_id == scene.items[0].id and item_hold.is_item_level
    assert volume_hold.volume == "v.2" and volume_hold.item_id is None
    assert scene.place(item=volume_one).item_id == volume_one.id


def test_only_pickup_locations_can_be_chosen(scene):
    assert refused(scene, R.LibraryNotPickupLocation, pickup_library_code="MPL").code == "libraryNotPickupLocation"
    refused(scene, R.LibraryNotPickupLocation, pickup_library_code="NOWHERE")
    assert [lib.code for lib in holds.pickup_libraries(scene.session)] == ["CPL", "FPL"]


def test_patrons_pick_up_at_home_when_they_may_not_choose(scene):
    scene.preference("OPACAllowUserToChooseBranch", False)
    refused(scene, R.PickupChoiceNotAllowed, pickup_library_code="FPL", channel="opac")
    assert scene.place(channel="opac").pickup_library_code == "CPL"
    assert scene.place(scene.make.patron(), pickup_library_code="FPL").pickup_library_code == "FPL"  # staff choose


# --- holds per title: same volume and different volumes, two separate limits ----------------------

@pytest.fixture
def volumes(scene):
    return [scene.make.item(scene.title, enumchron=f"v.{n}") for n in (1, 2, 3)]


def test_one_hold_per_title_by_default(scene):
    scene.place()
    error = refused(scene, R.TooManyHoldsForThisRecord)
    assert error.code == "tooManyHoldsForThisRecord" and error.overridable


def test_holds_on_different_volumes_are_limited_by_their_own_rule(scene, volumes):
    scene.rule("holds_per_record_volumes", 2)
    scene.place(volume="v.1")
    scene.place(volume="v.2")
    assert refused(scene, R.TooManyVolumesForThisRecord, volume="v.3").code == "tooManyVolumesForThisRecord"


def test_holds_on_the_same_volume_are_limited_by_the_other_rule(scene, volumes):
    scene.rule("holds_per_record_volumes", 3)
    scene.place(volume="v.1")
    refused(scene, R.TooManyHoldsForThisRecord, volume="v.1")
    refused(scene, R.TooManyHoldsForThisRecord, item=volumes[0])  # a copy of v.1 is the same volume
    scene.place(volume="v.2")


def test_equivalent_copies_may_be_held_twice_when_the_same_volume_rule_allows(scene, volumes):
    scene.rule("holds_per_record", 2)
    scene.place(volume="v.1")
    scene.place(item=volumes[0])
    refused(scene, R.TooManyHoldsForThisRecord, volume="v.1")
    refused(scene, R.TooManyVolumesForThisRecord, volume="v.2")  # the different-volumes limit is still 1


def test_a_limit_of_zero_allows_no_holds(scene):
    scene.rule("holds_per_record", 0)
    assert refused(scene, R.NoReservesAllowed).code == "noReservesAllowed"


def test_holds_in_total_are_limited(scene):
    scene.rule("reservesallowed", 2)
    for _ in range(2):
        scene.place(title=scene.make.item().title)
    assert refused(scene, R.TooManyReserves).code == "tooManyReserves"
    scene.rule("reservesallowed", 0)
    refused(scene, R.NoReservesAllowed)


def test_limits_follow_the_cascade_for_the_patrons_category(scene):
    scene.rule("reservesallowed", 1, category="PT")
    scene.place(title=scene.make.item().title)
    refused(scene, R.TooManyReserves)
    scene.place(scene.make.patron(category="ST"), title=scene.make.item().title)
    scene.place(scene.make.patron(category="ST"), title=scene.make.item().title)


def test_holds_per_day_counts_only_todays_placements(scene, frozen):
    scene.rule("holds_per_day", 1)
    with clock.freeze(frozen - dt.timedelta(days=1)):
        scene.place(title=scene.make.item().title)
    scene.place(title=scene.make.item().title)
    assert refused(scene, R.TooManyReservesToday).code == "tooManyReservesToday"


# --- on-shelf holds, OPAC item holds, hold and pickup policies ------------------------------------

def test_on_shelf_holds_allowed(scene):
    scene.rule("onshelfholds", "allowed")
    scene.place()


def test_on_shelf_holds_only_when_all_copies_are_unavailable(scene):
    scene.rule("onshelfholds", "if_all_unavailable")
    lend(scene, scene.items[0])
    assert refused(scene, R.OnShelfHoldsNotAllowed).code == "onShelfHoldsNotAllowed"
    lend(scene, scene.items[1])
    scene.place()


def test_on_shelf_holds_only_when_this_copy_is_unavailable(scene):
    scene.rule("onshelfholds", "if_this_unavailable")
    refused(scene, R.OnShelfHoldsNotAllowed)
    lend(scene, scene.items[0])
    refused(scene, R.OnShelfHoldsNotAllowed, item=scene.items[1])
    assert scene.place(item=scene.items[0]).item_id == scene.items[0].id


def test_on_shelf_title_hold_is_allowed_when_one_copy_is_out(scene):
    scene.rule("onshelfholds", "if_this_unavailable")
    lend(scene, scene.items[1])
    scene.place()


def test_opac_item_holds_no_yes_force(scene):
    scene.rule("opacitemholds", "no")
    assert refused(scene, R.ItemHoldsNotAllowed, item=scene.items[0], channel="opac").code == "itemHoldsNotAllowed"
    scene.rule("opacitemholds", "force")
    assert refused(scene, R.ItemHoldRequired, channel="opac").code == "itemHoldRequired"
    scene.place(item=scene.items[0], channel="opac")
    scene.rule("opacitemholds", "yes")
    scene.place(scene.make.patron(), channel="opac")
    scene.place(scene.make.patron(), item=scene.items[1], channel="opac")


def test_staff_may_choose_a_copy_whatever_the_opac_rule(scene):
    scene.rule("opacitemholds", "no")
    scene.place(item=scene.items[0])


def test_hold_policy_not_allowed_and_from_home_library(scene):
    scene.rule("holdallowed", "not_allowed")
    assert refused(scene, R.NotReservable).code == "notReservable"
    scene.rule("holdallowed", "from_home_library")
    error = refused(scene, R.CannotReserveFromOtherBranches, item=scene.items[1])  # FPL's copy, CPL patron
    assert error.code == "cannotReserveFromOtherBranches"
    scene.place()  # CPL's copy can fill a title-level hold


def test_rules_of_the_items_home_library_with_reserves_control_branch(scene):
    scene.rule("holdallowed", "not_allowed", library="FPL")
    scene.place(item=scene.items[1])  # the patron's library (CPL) decides by default
    scene.preference("ReservesControlBranch", "ItemHomeLibrary")
    refused(scene, R.NotReservable, patron=scene.make.patron(), item=scene.items[1])


def test_pickup_policy_home_and_holding_library(scene):
    scene.rule("hold_fulfillment_policy", "homebranch")
    assert refused(scene, R.PickupNotAllowed, item=scene.items[0], pickup_library_code="FPL").code == "pickupNotAllowed"
    scene.place(pickup_library_code="FPL")  # FPL's own copy can go there
    scene.rule("hold_fulfillment_policy", "holdingbranch")
    scene.items[1].holding_library_code = "CPL"
    refused(scene, R.PickupNotAllowed, patron=scene.make.patron(), pickup_library_code="FPL")


# --- the copy and the patron ----------------------------------------------------------------------

def test_copies_that_cannot_fill_a_hold(scene):
    scene.items[0].withdrawn = True
    scene.items[1].lost = 1
    assert refused(scene, R.NotReservable).code == "notReservable"


def test_damaged_copies_when_the_library_refuses_them(scene):
    scene.items[0].damaged = True
    scene.place(item=scene.items[0])
    scene.preference("AllowHoldsOnDamagedItems", False)
    assert refused(scene, R.Damaged, patron=scene.make.patron(), item=scene.items[0]).code == "damaged"


def test_a_copy_the_patron_has_on_loan(scene):
    lend(scene, scene.items[0], scene.patron)
    scene.preference("AllowHoldsOnPatronsPossessions", False)
    assert refused(scene, R.AlreadyPossession, item=scene.items[0]).code == "alreadypossession"
    scene.place()  # the other copy can fill a title-level hold


def test_a_second_hold_on_the_same_copy(scene):
    scene.rule("holds_per_record", 3)
    scene.place(item=scene.items[0])
    assert refused(scene, R.ItemAlreadyOnHold, item=scene.items[0]).code == "itemAlreadyOnHold"


def test_a_copy_of_another_title_or_an_unknown_volume(scene):
    refused(scene, R.ItemNotOfTitle, item=scene.make.item())
    refused(scene, R.VolumeNotFound, volume="v.9")


@pytest.mark.parametrize("setup, refusal, code", [
    (lambda s: setattr(s.patron, "dateexpiry", TODAY - dt.timedelta(days=1)), R.PatronExpired, "patronExpired"),
    (lambda s: s.session.add(PatronRestriction(patron_id=s.patron.id, comment="x")), R.PatronRestricted, "patronRestricted"),
    (lambda s: setattr(s.patron, "card_lost", True), R.CardLost, "cardLost"),
    (lambda s: setattr(s.patron, "gonenoaddress", True), R.BadAddress, "badAddress"),
    (lambda s: fines.add_manual_fee(s.session, s.patron, "5.01", None, description="x"), R.Debt, "debt"),
])
def test_the_patrons_standing(scene, setup, refusal, code):
    setup(scene)
    scene.session.flush()
    scene.session.expire(scene.patron)
    assert refused(scene, refusal).code == code


def test_owing_up_to_the_limit_is_fine(scene):
    fines.add_manual_fee(scene.session, scene.patron, Decimal("5.00"), None, description="x")
    scene.place()


def test_opac_holds_can_be_switched_off(scene):
    scene.preference("OPACHoldRequests", False)
    assert refused(scene, R.OpacHoldsDisabled, channel="opac").code == "opacHoldsDisabled"
    scene.place()


def test_not_needed_after_must_be_in_the_future_and_has_a_default(scene):
    refused(scene, R.InvalidDate, not_needed_after=TODAY)
    assert scene.place().not_needed_after is None
    scene.preference("DefaultHoldExpirationdatePeriod", 30)
    assert scene.place(scene.make.patron()).not_needed_after == day(30)
    assert scene.place(scene.make.patron(), not_needed_after=day(5)).not_needed_after == day(5)


# --- overrides ------------------------------------------------------------------------------------

def test_staff_override_needs_the_preference_and_is_audited(scene):
    scene.place()
    refused(scene, R.TooManyHoldsForThisRecord, override=True)
    scene.preference("AllowHoldPolicyOverride", True)
    refused(scene, R.TooManyHoldsForThisRecord, override=True, channel="opac")
    hold = scene.place(override=True)
    assert "rules overridden (tooManyHoldsForThisRecord)" in hold.history[0].reason
    audit = scene.session.scalar(select(AuditEntry).where(AuditEntry.action == "OVERRIDE"))
    assert audit.object_id == str(hold.id) and audit.info["codes"] == ["tooManyHoldsForThisRecord"]


def test_an_override_never_sets_aside_what_was_asked(scene):
    scene.preference("AllowHoldPolicyOverride", True)
    refused(scene, R.LibraryNotPickupLocation, pickup_library_code="MPL", override=True)
    refused(scene, R.ItemNotOfTitle, item=scene.make.item(), override=True)


# --- what the form offers -------------------------------------------------------------------------

def test_hold_options_offer_copies_volumes_and_pickups(scene):
    scene.make.item(scene.title, enumchron="v.1")
    lend(scene, scene.items[1])
    options = holds.hold_options(scene.session, scene.patron, scene.title, channel="opac")
    assert options.refusal is None and options.may_choose_pickup and options.item_choice == "yes"
    assert options.volumes == ["v.1"] and [lib.code for lib in options.pickup_libraries] == ["CPL", "FPL"]
    assert [(c.item.barcode, c.available) for c in options.copies][:2] == [("39999000000001", True),
                                                                          ("39999000000002", False)]
    scene.rule("opacitemholds", "force")
    options = holds.hold_options(scene.session, scene.patron, scene.title, channel="opac")
    assert options.item_choice == "force" and options.refusal is None


def test_hold_options_say_why_no_hold_can_be_placed(scene):
    scene.place()
    options = holds.hold_options(scene.session, scene.patron, scene.title, channel="opac")
    assert isinstance(options.refusal, R.TooManyHoldsForThisRecord)


def test_every_refusal_has_its_own_stable_code():
    codes = [refusal.code for refusal in R.ALL_REFUSALS]
    assert len(codes) == len(set(codes))
    for koha in ("tooManyReserves", "tooManyHoldsForThisRecord", "tooManyReservesToday", "notReservable",
                 "cannotReserveFromOtherBranches", "libraryNotPickupLocation", "itemAlreadyOnHold",
                 "alreadypossession", "noReservesAllowed", "damaged"):
        assert koha in R.REFUSALS_BY_CODE
