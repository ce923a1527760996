"""Renewals: allowed up to the rule's count, refused while another patron's hold could use the
item, when overdue renewals are not allowed, and while the patron is blocked."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app import clock
from app.models import DebitType, HoldStatus, PatronRestriction
from app.services import fines
from app.services.circulation import Code, renew_loan, renewal_refusals

from .test_circulation_fixtures import MONDAY, Desk, day, desk, end_of, frozen  # noqa: F401


def _renew(desk: Desk, at: dt.datetime | None = None):
    return renew_loan(desk.session, desk.loan_of(), desk.librarian, renewed_at=at)


def test_a_renewal_extends_the_loan_from_its_due_date(desk):
    desk.check_out()
    outcome = _renew(desk)
    assert outcome.ok and outcome.due_at == end_of(day(28))
    loan = desk.loan_of()
    assert loan.renewals_count == 1 and loan.last_renewed_at == MONDAY and desk.item.renewals_count == 1
    assert outcome.has(Code.RENEWED)


def test_a_late_renewal_counts_from_today(desk):
    desk.rule("overdue_renewals", "1")
    desk.check_out()
    outcome = _renew(desk, at=MONDAY + dt.timedelta(days=20))
    assert outcome.due_at == end_of(day(34))


def test_renewals_stop_at_the_rules_limit(desk):
    desk.rule("renewalsallowed", 1)
    desk.check_out()
    assert _renew(desk).ok
    refused = _renew(desk)
    assert not refused.ok and refused.blocks[0].code is Code.TOO_MANY_RENEWALS
    assert refused.blocks[0].text == "Renewed 1 times already; the limit is 1."
    assert desk.loan_of().renewals_count == 1


def _queued_hold(desk: Desk) -> None:
    desk.hold(desk.make.patron())


def _restricted(desk: Desk) -> None:
    desk.session.add(PatronRestriction(patron_id=desk.patron.id))
    desk.session.flush()
    desk.session.expire(desk.patron, ["restrictions"])


def _expired(desk: Desk) -> None:
    desk.patron.dateexpiry = day(-1)


def _owes_too_much(desk: Desk) -> None:
    fines.add_manual_fee(desk.session, desk.patron, "9", None, description="Fee")


REFUSALS = [
    ("another patron's hold the item could fill", _queued_hold, Code.ON_HOLD),
    ("restricted patron", _restricted, Code.PATRON_RESTRICTED),
    ("expired patron", _expired, Code.PATRON_EXPIRED),
    ("fines over the limit", _owes_too_much, Code.FINES_OVER_LIMIT),
]


@pytest.mark.parametrize("setup,code", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_renewal_refusals(desk, setup, code):
    desk.check_out()
    due = desk.loan_of().due_at
    setup(desk)
    outcome = _renew(desk)
    assert not outcome.ok and [m.code for m in outcome.blocks] == [code]
    assert desk.loan_of().due_at == due


def test_an_overdue_loan_is_not_renewed_unless_the_rule_allows(desk):
    desk.check_out()
    late = MONDAY + dt.timedelta(days=16)
    refused = _renew(desk, at=late)
    assert refused.blocks[0].code is Code.OVERDUE_NOT_RENEWABLE
    desk.rule("overdue_renewals", "1")
    renewed = _renew(desk, at=late)
    assert renewed.ok
    # the fine run up so far is charged at the renewal
    assert renewed.fine.debit_type is DebitType.OVERDUE and renewed.fine.status == "renewed"
    assert renewed.fine.amount == Decimal("0.50")


def test_the_patrons_own_hold_and_holds_for_other_copies_do_not_refuse(desk):
    desk.check_out()
    desk.hold(desk.patron)
    other_copy = desk.make.item(desk.item.title)
    desk.hold(desk.make.patron(), queue_key=2, item_id=other_copy.id)
    desk.hold(desk.make.patron(), queue_key=3, status=HoldStatus.SUSPENDED)
    assert _renew(desk).ok


def test_only_a_hold_on_the_loaned_volume_or_on_any_volume_refuses(desk):
    desk.item.enumchron = "v. 2"
    desk.check_out()
    desk.hold(desk.make.patron(), volume="v. 1")
    assert not renewal_refusals(desk.session, desk.loan_of()).blocks
    desk.hold(desk.make.patron(), queue_key=2, volume="v. 2")
    assert renewal_refusals(desk.session, desk.loan_of()).has(Code.ON_HOLD)


def test_a_hold_no_longer_needed_does_not_refuse(desk):
    desk.check_out()
    desk.hold(desk.make.patron(), not_needed_after=day(-1))
    assert _renew(desk).ok


def test_refusals_can_be_asked_without_renewing(desk):
    desk.check_out()
    _queued_hold(desk)
    assert renewal_refusals(desk.session, desk.loan_of()).has(Code.ON_HOLD)
    assert desk.loan_of().renewals_count == 0


def test_owing_a_little_does_not_refuse_a_renewal(desk):
    desk.check_out()
    fines.add_manual_fee(desk.session, desk.patron, "1", None, description="Fee")
    assert _renew(desk).ok


def test_an_offline_renewal_goes_past_refusals(desk):
    desk.check_out()
    _queued_hold(desk)
    outcome = renew_loan(desk.session, desk.loan_of(), None, no_block=True)
    assert outcome.ok and [m.code for m in outcome.overridden] == [Code.ON_HOLD]


def test_renewing_twice_in_a_row_keeps_counting_from_the_due_date(desk):
    desk.check_out()
    _renew(desk)
    with clock.freeze(MONDAY + dt.timedelta(days=1)):
        assert _renew(desk).due_at == end_of(day(42))
