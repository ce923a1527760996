"""Overdue fines (per day, grace period, cap, closed days, finesMode), manual fees, payments
applied oldest first with offsets, write-offs, and repeated payments paid once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app import clock
from app.extensions import db
from app.models import AccountLine, AccountOffset, ClosedDay, CreditType, DebitType, Patron
from app.services import fines

from .test_circulation_fixtures import MONDAY, Desk, day, desk, end_of, frozen  # noqa: F401


def _late_return(desk: Desk, days_late: int):
    desk.check_out()
    with clock.freeze(end_of(day(14 + days_late)) - dt.timedelta(hours=12)):
        return desk.check_in()


@pytest.mark.parametrize("rules,days_late,expected", [
    ({}, 1, "0.25"),
    ({}, 10, "2.50"),
    ({"fine": "1.00", "overduefinescap": "5"}, 4, "4.00"),
    ({"fine": "1.00", "overduefinescap": "5"}, 5, "5.00"),
    ({"fine": "1.00", "overduefinescap": "5"}, 30, "5.00"),
    ({"fine": "1.00", "overduefinescap": ""}, 30, "30.00"),
    ({"fine": "1.00", "overduefinescap": "0"}, 30, "30.00"),  # Koha: a zero cap is no cap
    ({"fine": "1.00", "firstremind": 3}, 3, None),             # inside the grace period
    ({"fine": "1.00", "firstremind": 3}, 4, "4.00"),           # past it: every day is fined
    ({"fine": "0"}, 10, None),
], ids=["one day", "ten days", "under the cap", "at the cap", "capped", "no cap", "zero cap",
        "within grace", "past grace", "no fine in the rule"])
def test_overdue_fine_by_the_rules(desk, rules, days_late, expected):
    for name, value in rules.items():
        desk.rule(name, value)
    outcome = _late_return(desk, days_late)
    if expected is None:
        assert outcome.fine is None
    else:
        assert outcome.fine.amount == Decimal(expected)


def test_returning_on_the_due_day_costs_nothing(desk):
    assert _late_return(desk, 0).fine is None


def test_closed_days_are_not_charged(desk):
    desk.session.add(ClosedDay(library_code="CPL", weekday=6))  # Sundays
    desk.session.flush()
    desk.rule("skip_closed_days", "0")  # due Monday 18 March, whatever the calendar
    outcome = _late_return(desk, 7)  # back Monday 25 March: the Sunday in between is free
    assert outcome.fine.amount == Decimal("1.50")


def test_in_days_mode_every_day_is_charged(desk):
    desk.preference("useDaysMode", "Days")
    desk.session.add(ClosedDay(library_code="CPL", weekday=6))
    desk.session.flush()
    assert _late_return(desk, 7).fine.amount == Decimal("1.75")


def test_fines_mode_off_charges_nothing(desk):
    desk.preference("finesMode", "off")
    assert _late_return(desk, 7).fine is None


def test_fines_come_from_the_lending_librarys_rules(desk):
    desk.preference("CircControl", "PickupLibrary")
    desk.rule("fine", "2", library="FPL")
    desk.check_out(library="FPL")
    with clock.freeze(MONDAY + dt.timedelta(days=16)):
        outcome = desk.check_in(library="CPL")
    assert outcome.fine.amount == Decimal("4.00")


def test_an_accruing_fine_is_finalised_not_charged_twice(desk):
    loan = desk.check_out().loan
    desk.session.add(AccountLine(patron_id=desk.patron.id, loan_id=loan.id, item_id=desk.item.id,
                                 debit_type=DebitType.OVERDUE, status="accruing", amount=Decimal("0.50"),
                                 amount_outstanding=Decimal("0.50")))
    desk.session.flush()
    with clock.freeze(MONDAY + dt.timedelta(days=18)):
        outcome = desk.check_in()
    lines = list(desk.session.scalars(select(AccountLine)))
    assert len(lines) == 1 and lines[0] is outcome.fine
    assert outcome.fine.status == "returned" and outcome.fine.amount == Decimal("1.00")


def _fees(desk: Desk, *amounts: str) -> list[AccountLine]:
    lines = []
    for n, amount in enumerate(amounts):
        with clock.freeze(MONDAY + dt.timedelta(minutes=n)):
            lines.append(fines.add_manual_fee(desk.session, desk.patron, amount, desk.librarian,
                                              description=f"Fee {n}"))
    return lines


def test_a_manual_fee_is_a_debit(desk):
    [fee] = _fees(desk, "3.5")
    assert fee.debit_type is DebitType.MANUAL and fee.amount == Decimal("3.50") and fee.actor_id == desk.librarian.id
    assert fines.balance(desk.session, desk.patron) == Decimal("3.50")


def test_payments_apply_to_the_oldest_debit_first(desk):
    older, newer = _fees(desk, "2.00", "3.00")
    outcome = fines.pay_fees(desk.session, desk.patron, "2.50", "cash", desk.librarian)
    assert older.amount_outstanding == 0 and newer.amount_outstanding == Decimal("2.50")
    assert [(line.id, amount) for line, amount in outcome.applied] == [(older.id, Decimal("2.00")), (newer.id, Decimal("0.50"))]
    assert outcome.credit.credit_type is CreditType.PAYMENT and outcome.credit.amount == Decimal("-2.50")
    assert outcome.credit.amount_outstanding == 0 and outcome.unapplied == 0
    offsets = desk.session.scalars(select(AccountOffset).where(AccountOffset.kind == "APPLY").order_by(AccountOffset.id)).all()
    assert [(o.debit_id, o.amount) for o in offsets] == [(older.id, Decimal("-2.00")), (newer.id, Decimal("-0.50"))]
    assert fines.balance(desk.session, desk.patron) == Decimal("2.50")


def test_an_overpayment_stays_on_the_account_as_credit(desk):
    _fees(desk, "1.00")
    outcome = fines.pay_fees(desk.session, desk.patron, "1.50", "card", desk.librarian)
    assert outcome.unapplied == Decimal("0.50") and outcome.credit.amount_outstanding == Decimal("-0.50")
    assert fines.balance(desk.session, desk.patron) == Decimal("-0.50")


def test_a_payment_can_target_chosen_fees(desk):
    older, newer = _fees(desk, "2.00", "3.00")
    fines.pay_fees(desk.session, desk.patron, "3.00", "cash", desk.librarian, debit_ids=[newer.id])
    assert older.amount_outstanding == Decimal("2.00") and newer.amount_outstanding == 0


def test_a_repeated_transaction_is_paid_once(desk):
    _fees(desk, "4.00")
    first = fines.pay_fees(desk.session, desk.patron, "1.00", "sip2-00", None, transaction_ref="sip:abc")
    again = fines.pay_fees(desk.session, desk.patron, "1.00", "sip2-00", None, transaction_ref="sip:abc")
    assert again.repeated and again.credit.id == first.credit.id
    assert fines.balance(desk.session, desk.patron) == Decimal("3.00")


@pytest.mark.parametrize("amount", ["0", "-1", "abc", "", "NaN"])
def test_a_payment_must_be_a_positive_amount(desk, amount):
    _fees(desk, "1.00")
    with pytest.raises(fines.FeeRefused) as refusal:
        fines.pay_fees(desk.session, desk.patron, amount, "cash", desk.librarian)
    assert refusal.value.code == "invalid_amount"


def test_write_off_clears_the_chosen_fees(desk):
    older, newer = _fees(desk, "2.00", "3.00")
    outcome = fines.write_off_fees(desk.session, desk.patron, desk.librarian, debit_ids=[older.id])
    assert outcome.credit.credit_type is CreditType.WRITEOFF and outcome.credit.amount == Decimal("-2.00")
    assert older.amount_outstanding == 0 and newer.amount_outstanding == Decimal("3.00")
    fines.write_off_fees(desk.session, desk.patron, desk.librarian)
    assert fines.balance(desk.session, desk.patron) == 0


def test_writing_off_nothing_is_refused(desk):
    with pytest.raises(fines.FeeRefused) as refusal:
        fines.write_off_fees(desk.session, desk.patron, desk.librarian)
    assert refusal.value.code == "nothing_to_write_off"


def test_a_fee_of_another_patron_cannot_be_chosen(desk):
    other = desk.make.patron()
    foreign = fines.add_manual_fee(desk.session, other, "1", None, description="Fee")
    _fees(desk, "1.00")
    with pytest.raises(fines.FeeRefused):
        fines.write_off_fees(desk.session, desk.patron, desk.librarian, debit_ids=[foreign.id])


def test_the_balance_follows_every_change_of_the_account_within_one_unit_of_work(desk):
    _fees(desk, "2.00")
    assert fines.balance(desk.session, desk.patron) == Decimal("2.00")
    fines.pay_fees(desk.session, desk.patron, "0.50", "cash", desk.librarian)
    assert fines.balance(desk.session, desk.patron) == Decimal("1.50")
    desk.session.add(AccountLine(patron_id=desk.patron.id, debit_type=DebitType.MANUAL, amount=Decimal("1"),
                                 amount_outstanding=Decimal("1"), description="Not flushed yet"))
    assert fines.balance(desk.session, desk.patron) == Decimal("2.50")
    desk.session.execute(update(AccountLine).where(AccountLine.patron_id == desk.patron.id).values(amount_outstanding=0))
    assert fines.balance(desk.session, desk.patron) == 0


def test_a_fee_charged_in_a_savepoint_that_rolls_back_is_not_owed(desk):
    _fees(desk, "1.00")
    with pytest.raises(RuntimeError):
        with desk.session.begin_nested():
            fines.add_manual_fee(desk.session, desk.patron, "4.00", desk.librarian, description="Undone")
            assert fines.balance(desk.session, desk.patron) == Decimal("5.00")
            raise RuntimeError("the action failed after charging")
    assert fines.balance(desk.session, desk.patron) == Decimal("1.00")


def test_a_payment_committed_elsewhere_is_seen_by_the_next_transaction(desk):
    _fees(desk, "3.00")
    desk.session.commit()
    assert fines.balance(desk.session, desk.patron) == Decimal("3.00")
    desk.session.commit()
    with db.unit_of_work() as other:
        fines.pay_fees(other, other.get(Patron, desk.patron.id), "3.00", "cash", None)
    assert fines.balance(desk.session, desk.patron) == 0


def test_balances_read_together_follow_each_patrons_own_changes(desk):
    other = desk.make.patron()
    _fees(desk, "2.00")
    moved = fines.add_manual_fee(desk.session, other, "3.00", None, description="Charged to the wrong card")
    fines.read_balances(desk.session, [desk.patron.id, other.id])
    assert (fines.balance(desk.session, desk.patron), fines.balance(desk.session, other)) == (Decimal("2.00"), Decimal("3.00"))
    fines.add_manual_fee(desk.session, desk.patron, "0.50", None, description="Late")
    assert (fines.balance(desk.session, desk.patron), fines.balance(desk.session, other)) == (Decimal("2.50"), Decimal("3.00"))
    moved.patron_id = desk.patron.id  # staff move the line: both balances change
    assert (fines.balance(desk.session, desk.patron), fines.balance(desk.session, other)) == (Decimal("5.50"), 0)
