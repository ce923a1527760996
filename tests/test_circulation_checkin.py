"""Check-in closes the loan into history, charges the overdue fine, and routes the item: home
when it belongs elsewhere (AutomaticItemReturn, returnbranch), to the hold the holds service
finds, or on along an open transfer. An item not on loan is a clean outcome."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from app import clock
from app.models import AccountLine, DebitType, ItemTransfer, Loan, LoanHistory, Privacy, TransferReason
from app.services import holds_hooks
from app.services.circulation import Code

from .test_circulation_fixtures import MONDAY, Desk, day, desk, end_of, frozen  # noqa: F401


def _transfers(desk: Desk) -> list[ItemTransfer]:
    return list(desk.session.scalars(select(ItemTransfer)))


def test_checking_in_an_item_not_on_loan_is_a_clean_outcome(desk):
    outcome = desk.check_in()
    assert outcome.ok and not outcome.was_on_loan and outcome.blocks == []
    assert outcome.has(Code.NOT_ON_LOAN)


def test_an_unknown_barcode_is_a_block(desk):
    from app.services.circulation import check_in
    outcome = check_in(desk.session, None, "CPL", desk.librarian, barcode="nothing")
    assert not outcome.ok and outcome.has(Code.UNKNOWN_ITEM)


def test_check_in_closes_the_loan_into_history(desk):
    desk.make.category("JU")
    desk.patron.category_code = "JU"
    loan = desk.check_out().loan
    loan_id = loan.id
    with clock.freeze(MONDAY + dt.timedelta(days=3)):
        outcome = desk.check_in()
    assert outcome.was_on_loan and outcome.patron.id == desk.patron.id
    assert desk.session.scalar(select(func.count()).select_from(Loan)) == 0
    history = desk.session.scalar(select(LoanHistory))
    assert history.loan_id == loan_id and history.patron_id == desk.patron.id and not history.anonymized
    assert history.returned_at == MONDAY + dt.timedelta(days=3) and history.return_library_code == "CPL"
    assert (history.patron_category_code, history.item_type_code) == ("JU", "BK")
    assert outcome.fine is None and not outcome.has(Code.OVERDUE_FINE_CHARGED)


def test_history_of_a_patron_who_keeps_none_is_anonymised_at_once(desk):
    desk.patron.privacy = Privacy.NEVER_KEEP
    desk.check_out()
    desk.check_in()
    history = desk.session.scalar(select(LoanHistory))
    assert history.patron_id is None and history.anonymized
    assert history.patron_category_code == "PT"


def test_an_explicit_return_time_backdates_the_return_and_the_fine(desk):
    desk.check_out()
    with clock.freeze(MONDAY + dt.timedelta(days=30)):
        outcome = desk.check_in(returned_at=end_of(day(15)) + dt.timedelta(hours=-10))
    assert outcome.returned_at.date() == day(15)
    assert outcome.fine.amount == Decimal("0.25")


def test_a_late_return_charges_one_overdue_fine(desk):
    desk.check_out()
    with clock.freeze(MONDAY + dt.timedelta(days=21)):  # due day 14: seven days late
        outcome = desk.check_in()
    fine = outcome.fine
    assert fine.debit_type is DebitType.OVERDUE and fine.status == "returned"
    assert fine.amount == Decimal("1.75") and fine.amount_outstanding == Decimal("1.75")
    assert fine.patron_id == desk.patron.id and fine.item_id == desk.item.id
    assert outcome.has(Code.OVERDUE_FINE_CHARGED) and "1.75" in outcome.alerts[0].text
    assert desk.session.scalar(select(func.count()).select_from(AccountLine)) == 1


def test_check_in_sets_the_holding_library_and_sends_the_item_home(desk):
    desk.check_out()
    outcome = desk.check_in(library="FPL")
    assert desk.item.holding_library_code == "FPL"
    assert outcome.transfer_to == "CPL" and outcome.has(Code.TRANSFER_HOME)
    assert "Centerville" in [m for m in outcome.alerts if m.code is Code.TRANSFER_HOME][0].text
    [transfer] = _transfers(desk)
    assert (transfer.from_library_code, transfer.to_library_code, transfer.reason) == ("FPL", "CPL", TransferReason.RETURN_HOME)


def test_without_automatic_return_staff_are_told_where_it_belongs(desk):
    desk.preference("AutomaticItemReturn", "0")
    outcome = desk.check_in(library="FPL")
    assert outcome.has(Code.BELONGS_ELSEWHERE) and outcome.transfer_to is None
    assert _transfers(desk) == []


def test_return_policy_holdingbranch_sends_it_back_to_the_lending_library(desk):
    desk.rule("returnbranch", "holdingbranch", library="CPL")
    desk.make.library("MPL")
    desk.check_out(library="MPL")
    outcome = desk.check_in(library="FPL")
    assert outcome.transfer_to == "MPL"


def test_return_policy_noreturn_lets_the_item_float(desk):
    desk.rule("returnbranch", "noreturn")
    desk.check_out()
    outcome = desk.check_in(library="FPL")
    assert outcome.transfer_to is None and _transfers(desk) == []
    assert desk.item.holding_library_code == "FPL"


def test_checking_in_at_home_sends_nothing(desk):
    desk.check_out()
    outcome = desk.check_in()
    assert outcome.transfer_to is None and _transfers(desk) == []


def test_an_open_transfer_arrives_at_its_destination(desk):
    desk.check_in(library="FPL")
    outcome = desk.check_in(library="CPL")
    assert outcome.has(Code.TRANSFER_ARRIVED)
    [transfer] = _transfers(desk)
    assert transfer.arrived_at == MONDAY


def test_an_item_in_transit_checked_in_elsewhere_is_sent_on(desk):
    desk.make.library("MPL", name="Midway")
    desk.check_in(library="FPL")
    outcome = desk.check_in(library="MPL")
    assert outcome.has(Code.IN_TRANSIT_ELSEWHERE) and outcome.transfer_to == "CPL"
    assert len(_transfers(desk)) == 1


def test_a_lost_item_checked_in_is_found(desk):
    desk.item.lost = 1
    desk.item.lost_on = MONDAY
    outcome = desk.check_in()
    assert outcome.has(Code.LOST_ITEM_FOUND) and desk.item.lost == 0 and desk.item.lost_on is None


def test_the_holds_hook_routes_the_item_to_the_pickup_library(desk, monkeypatch):
    match = holds_hooks.HoldMatch(hold_id=1, patron_id=desk.patron.id, patron_name="Pat Reader",
                                  pickup_library_code="FPL", transfer_to="FPL")
    monkeypatch.setattr("app.services.circulation.checkin.find_hold_for_checked_in_item",
                        lambda session, item, library: match)
    outcome = desk.check_in()
    assert outcome.hold is match and outcome.transfer_to == "FPL"
    assert outcome.has(Code.HOLD_FOUND_TRANSFER) and "Fairview" in outcome.alerts[-1].text
    assert _transfers(desk) == []  # the holds service makes its own transfer


def test_the_holds_hook_finds_nothing_yet(desk):
    assert holds_hooks.find_hold_for_checked_in_item(desk.session, desk.item, "CPL") is None


def test_a_loan_never_reuses_the_id_of_one_in_history(desk):
    first = desk.check_out().loan.id
    desk.check_in()
    second = desk.check_out().loan.id
    assert second != first
    assert desk.check_in().was_on_loan
