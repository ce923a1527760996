"""Checkout: every block refuses and changes nothing; every confirmation waits for staff and then
goes through; alerts inform; holds waiting for the patron are filled; offline checkouts keep
their own times."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, HoldStatus, Loan, PatronRestriction
from app.services import fines
from app.services.circulation import Code, Kind

from .test_circulation_fixtures import MONDAY, Desk, day, desk, end_of, frozen  # noqa: F401


def _other_loan(desk: Desk) -> None:
    desk.rule("maxissueqty", 1)
    desk.check_out(item=desk.make.item())


def _waiting_for_someone_else(desk: Desk) -> None:
    desk.hold(desk.make.patron(), status=HoldStatus.PULLED, allocated=desk.item)


def _restricted(desk: Desk) -> None:
    desk.session.add(PatronRestriction(patron_id=desk.patron.id, comment="Damaged a book", expiration=day(10)))
    desk.session.flush()
    desk.session.expire(desk.patron, ["restrictions"])


def _attr(obj_name: str, **values) -> Callable[[Desk], None]:
    def setup(desk: Desk) -> None:
        for key, value in values.items():
            setattr(getattr(desk, obj_name), key, value)
        desk.session.flush()
    return setup


BLOCKS: list[tuple[str, Callable[[Desk], None], Code]] = [
    ("expired card", _attr("patron", dateexpiry=day(-1)), Code.PATRON_EXPIRED),
    ("restricted patron", _restricted, Code.PATRON_RESTRICTED),
    ("lost card", _attr("patron", card_lost=True), Code.PATRON_CARD_LOST),
    ("gone, no address", _attr("patron", gonenoaddress=True), Code.PATRON_GONE_NO_ADDRESS),
    ("fines over noissuescharge", lambda d: fines.add_manual_fee(d.session, d.patron, "5.01", None, description="Fee"),
     Code.FINES_OVER_LIMIT),
    ("loan limit reached", _other_loan, Code.TOO_MANY_LOANS),
    ("withdrawn item", _attr("item", withdrawn=True), Code.ITEM_WITHDRAWN),
    ("lost item", _attr("item", lost=1), Code.ITEM_LOST),
    ("item not for loan", _attr("item", not_for_loan=1), Code.ITEM_NOT_FOR_LOAN),
    ("damaged item where the rule refuses", lambda d: (d.rule("damaged_blocks_checkout", "1"), _attr("item", damaged=True)(d)),
     Code.ITEM_DAMAGED),
    ("waiting on the hold shelf for another patron", _waiting_for_someone_else, Code.WAITING_FOR_ANOTHER_PATRON),
]


@pytest.mark.parametrize("setup,code", [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_each_block_refuses_the_checkout_and_changes_nothing(desk, setup, code):
    setup(desk)
    outcome = desk.check_out(confirmed=[c.value for c in Code])
    assert not outcome.ok
    assert code in [m.code for m in outcome.blocks]
    assert desk.loan_of() is None
    assert outcome.blocks[0].text  # a human message for the desk and the SIP2 screen


def test_unknown_patron_and_unknown_barcode_are_blocks(desk):
    from app.services.circulation import check_out
    outcome = check_out(desk.session, None, None, "CPL", desk.librarian, barcode="nope", card="0000")
    assert [m.code for m in outcome.blocks] == [Code.UNKNOWN_PATRON, Code.UNKNOWN_ITEM]
    assert outcome.blocks[1].text == "No item has barcode 'nope'."


def test_item_type_not_for_loan_is_refused(desk):
    desk.item.item_type.not_for_loan = True
    assert desk.check_out().has(Code.ITEM_NOT_FOR_LOAN)


def _on_loan_to_someone_else(desk: Desk) -> None:
    desk.check_out(patron=desk.make.patron(surname="Other"))


def _queued_hold_for_someone_else(desk: Desk) -> None:
    desk.hold(desk.make.patron(surname="Holder"))


def _allocated_for_someone_else(desk: Desk) -> None:
    desk.hold(desk.make.patron(surname="Holder"), status=HoldStatus.READY_TO_PULL, allocated=desk.item)


def _owes_a_little(desk: Desk) -> None:
    fines.add_manual_fee(desk.session, desk.patron, "2.00", None, description="Lost card")


CONFIRMATIONS: list[tuple[str, Callable[[Desk], None], Code]] = [
    ("on loan to another patron", _on_loan_to_someone_else, Code.ON_LOAN_TO_ANOTHER_PATRON),
    ("queued hold of another patron the item could fill", _queued_hold_for_someone_else, Code.ON_HOLD_FOR_ANOTHER_PATRON),
    ("copy allocated to another patron's hold", _allocated_for_someone_else, Code.ON_HOLD_FOR_ANOTHER_PATRON),
    ("patron owes less than the limit", _owes_a_little, Code.PATRON_OWES_FINES),
]


@pytest.mark.parametrize("setup,code", [c[1:] for c in CONFIRMATIONS], ids=[c[0] for c in CONFIRMATIONS])
def test_each_confirmation_waits_for_staff_then_goes_through(desk, setup, code):
    setup(desk)
    first = desk.check_out()
    assert first.needs_confirmation and not first.blocks
    assert [m.code for m in first.confirmations] == [code]
    assert first.confirmations[0].kind is Kind.CONFIRM
    assert (desk.loan_of() is None) or desk.loan_of().patron_id != desk.patron.id

    second = desk.check_out(confirmed=[code.value])
    assert second.ok and desk.loan_of().patron_id == desk.patron.id
    assert [m.code for m in second.overridden] == [code]
    audit = desk.session.scalar(select(AuditEntry).where(AuditEntry.action == "OVERRIDE"))
    assert audit.info["codes"] == [code.value] and audit.actor_id == desk.librarian.id


def test_overriding_a_loan_to_someone_else_checks_it_in_first(desk):
    other = desk.make.patron(surname="Other", firstname="Olga")
    desk.check_out(patron=other)
    outcome = desk.check_out(confirmed=[Code.ON_LOAN_TO_ANOTHER_PATRON])
    assert outcome.ok
    assert outcome.has(Code.PREVIOUS_LOAN_CHECKED_IN)
    assert "Olga Other" in outcome.alerts[-1].text
    assert desk.session.scalar(select(func.count()).select_from(Loan)) == 1


def test_overriding_an_allocated_copy_sends_the_other_hold_back_to_the_queue(desk):
    hold = desk.hold(desk.make.patron(), status=HoldStatus.READY_TO_PULL, allocated=desk.item)
    assert desk.check_out(confirmed=[Code.ON_HOLD_FOR_ANOTHER_PATRON]).ok
    assert hold.status is HoldStatus.QUEUED and hold.allocated_item_id is None


def test_an_unrelated_confirmation_code_does_not_confirm(desk):
    _owes_a_little(desk)
    assert not desk.check_out(confirmed=[Code.ON_LOAN_TO_ANOTHER_PATRON, "nonsense"]).ok


def test_blocks_win_over_confirmations(desk):
    _owes_a_little(desk)
    desk.item.withdrawn = True
    outcome = desk.check_out(confirmed=[Code.PATRON_OWES_FINES])
    assert not outcome.ok and not outcome.needs_confirmation
    assert outcome.has(Code.ITEM_WITHDRAWN)


def test_already_on_loan_to_the_same_patron_renews_only_when_asked(desk):
    desk.check_out()
    again = desk.check_out()
    assert again.needs_confirmation and again.confirmations[0].code is Code.ALREADY_ON_LOAN_TO_PATRON
    assert desk.loan_of().renewals_count == 0
    renewed = desk.check_out(renew=True)
    assert renewed.ok and renewed.renewed and renewed.has(Code.RENEWED)
    assert desk.loan_of().renewals_count == 1


def test_renewal_refused_at_checkout_is_a_block(desk):
    desk.rule("renewalsallowed", 0)
    desk.check_out()
    outcome = desk.check_out(confirmed=[Code.ALREADY_ON_LOAN_TO_PATRON])
    assert not outcome.ok and outcome.has(Code.TOO_MANY_RENEWALS)


def test_a_successful_checkout_makes_the_loan_and_updates_the_item(desk):
    desk.item.holding_library_code = "FPL"
    outcome = desk.check_out()
    assert outcome.ok and outcome.blocks == [] and outcome.confirmations == []
    loan = outcome.loan
    assert loan.patron_id == desk.patron.id and loan.library_code == "CPL"
    assert loan.issued_at == MONDAY and loan.issuer_id == desk.librarian.id and loan.channel == "desk"
    assert outcome.due_at == end_of(day(14))
    assert desk.item.holding_library_code == "CPL"
    assert desk.item.checkouts_count == 1 and desk.item.date_last_borrowed == day(0)


def test_the_patrons_own_waiting_hold_is_filled_by_the_checkout(desk):
    hold = desk.hold(desk.patron, status=HoldStatus.PULLED, allocated=desk.item)
    outcome = desk.check_out()
    assert outcome.ok and outcome.has(Code.HOLD_FILLED)
    assert hold.status is HoldStatus.FILLED and hold.queue_key is None and hold.finished_at == MONDAY
    assert hold.history[-1].to_status is HoldStatus.FILLED


def test_the_patrons_own_queued_hold_does_not_ask_for_confirmation(desk):
    desk.hold(desk.patron)
    assert desk.check_out().ok


def test_a_copy_waiting_for_another_patron_is_refused_even_with_others_queued_behind(desk):
    desk.hold(desk.make.patron(surname="Queued"), queue_key=1)
    desk.hold(desk.make.patron(surname="Waiting"), status=HoldStatus.PULLED, allocated=desk.item, queue_key=2)
    outcome = desk.check_out(confirmed=[Code.ON_HOLD_FOR_ANOTHER_PATRON])
    assert not outcome.ok and outcome.codes == [Code.WAITING_FOR_ANOTHER_PATRON]
    assert "Waiting" in outcome.blocks[0].text


def test_the_patrons_own_hold_on_the_copy_asks_nothing_about_holds_queued_behind(desk):
    waiting = desk.hold(desk.patron, status=HoldStatus.PULLED, allocated=desk.item, queue_key=2)
    desk.hold(desk.make.patron(surname="Queued"), queue_key=1)
    outcome = desk.check_out()
    assert outcome.ok and outcome.codes == [Code.HOLD_FILLED] and waiting.status is HoldStatus.FILLED

    other_copy = desk.make.item(desk.item.title)
    desk.hold(desk.patron, status=HoldStatus.READY_TO_PULL, allocated=other_copy, queue_key=3)
    assert desk.check_out(item=other_copy).ok


def test_a_copy_allocated_to_another_patron_names_that_patron_not_the_queue(desk):
    desk.hold(desk.make.patron(surname="Queued"), queue_key=1)
    desk.hold(desk.make.patron(surname="Allocated"), status=HoldStatus.READY_TO_PULL, allocated=desk.item, queue_key=2)
    outcome = desk.check_out()
    assert outcome.needs_confirmation and [m.code for m in outcome.confirmations] == [Code.ON_HOLD_FOR_ANOTHER_PATRON]
    assert "Allocated" in outcome.confirmations[0].text


def test_the_confirmation_names_the_first_patron_in_the_queue(desk):
    desk.hold(desk.make.patron(surname="Second"), queue_key=5)
    desk.hold(desk.make.patron(surname="First"), queue_key=2)
    outcome = desk.check_out()
    assert [m.code for m in outcome.confirmations] == [Code.ON_HOLD_FOR_ANOTHER_PATRON]
    assert "First" in outcome.confirmations[0].text


def test_a_hold_limited_to_another_item_type_or_copy_asks_nothing(desk):
    other_copy = desk.make.item(desk.item.title)
    desk.hold(desk.make.patron(), item=other_copy, item_id=other_copy.id)
    desk.hold(desk.make.patron(), queue_key=2, item_type_code=desk.make.item_type("DVD").code)
    assert desk.check_out().ok


def test_a_volume_asks_only_about_holds_on_that_volume_or_on_any(desk):
    desk.item.enumchron = "v. 2"
    desk.hold(desk.make.patron(surname="Other volume"), volume="v. 1")
    assert not desk.check_out().needs_confirmation
    desk.check_in()
    desk.hold(desk.make.patron(surname="Any volume"), queue_key=2)
    outcome = desk.check_out()
    assert outcome.needs_confirmation and "Any volume" in outcome.confirmations[0].text


def test_a_suspended_hold_of_another_patron_asks_nothing(desk):
    desk.hold(desk.make.patron(), status=HoldStatus.SUSPENDED)
    assert desk.check_out().ok


ALERTS = [
    ("last loan allowed", lambda d: d.rule("maxissueqty", 1), Code.LAST_LOAN_ALLOWED),
    ("card expires soon", _attr("patron", dateexpiry=day(20)), Code.PATRON_EXPIRES_SOON),
    ("damaged item allowed by the rule", _attr("item", damaged=True), Code.ITEM_DAMAGED),
    ("lost item allowed by the rule", lambda d: (d.rule("lost_blocks_checkout", "0"), _attr("item", lost=1)(d)),
     Code.LOST_ITEM_FOUND),
]


@pytest.mark.parametrize("setup,code", [a[1:] for a in ALERTS], ids=[a[0] for a in ALERTS])
def test_alerts_inform_without_stopping_the_checkout(desk, setup, code):
    setup(desk)
    outcome = desk.check_out()
    assert outcome.ok
    assert code in [m.code for m in outcome.alerts]


def test_a_lost_item_checked_out_is_found(desk):
    desk.rule("lost_blocks_checkout", "0")
    desk.item.lost = 2
    desk.check_out()
    assert desk.item.lost == 0 and desk.item.lost_on is None


def test_offline_checkout_goes_past_blocks_and_keeps_its_times(desk):
    desk.patron.dateexpiry = day(-1)
    other = desk.make.patron()
    desk.check_out(patron=other)
    when = MONDAY - dt.timedelta(hours=3)
    due = end_of(day(7))
    outcome = desk.check_out(no_block=True, checked_out_at=when, due_at=due, channel="offline")
    assert outcome.ok
    assert {m.code for m in outcome.overridden} == {Code.PATRON_EXPIRED, Code.ON_LOAN_TO_ANOTHER_PATRON}
    loan = desk.loan_of()
    assert loan.patron_id == desk.patron.id and loan.issued_at == when and loan.due_at == due
    assert loan.channel == "offline"


def test_offline_checkout_of_an_unknown_item_is_still_refused(desk):
    from app.services.circulation import check_out
    outcome = check_out(desk.session, desk.patron, None, "CPL", None, no_block=True, barcode="gone")
    assert not outcome.ok and outcome.has(Code.UNKNOWN_ITEM)


def test_offline_checkout_of_an_item_the_patron_has_renews_it(desk):
    desk.check_out()
    outcome = desk.check_out(no_block=True, checked_out_at=MONDAY + dt.timedelta(days=20))
    assert outcome.ok and outcome.renewed


def test_fines_exactly_at_the_limit_only_ask_for_confirmation(desk):
    fines.add_manual_fee(desk.session, desk.patron, Decimal("5.00"), None, description="Fee")
    outcome = desk.check_out()
    assert outcome.needs_confirmation and outcome.confirmations[0].code is Code.PATRON_OWES_FINES
