"""Processing offline actions exactly: through the circulation services at the offline time,
every conflict decided by time and reported, never a silent drop or a renewal."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AccountLine, CreditType, Hold, HoldStatus, Loan, LoanHistory, OfflineStatus, PatronRestriction
from app.services import activity
from app.services.offline import OfflineOutcome
from app.services.settings import set_preference

from .test_circulation_fixtures import MONDAY, Desk, desk, end_of, frozen  # noqa: F401
from .test_offline_fixtures import at, issue, offline, payment, ret  # noqa: F401

CARD, BARCODE = "23529000000001", "39999000000001"


def test_an_offline_checkout_is_made_at_the_offline_time_with_the_rules_due_date(offline):
    offline.upload(issue(at(15), CARD, BARCODE))
    summary = offline.process()
    assert (summary.applied, summary.failed) == (1, 0)
    loan = offline.desk.loan_of()
    assert loan.patron_id == offline.desk.patron.id and loan.channel == "offline"
    assert loan.issued_at == at(15)
    assert loan.due_at == end_of(MONDAY.date() + dt.timedelta(days=14))  # the default rule: 14 days
    op = offline.operations()[0]
    assert op.status is OfflineStatus.APPLIED and op.outcome == OfflineOutcome.CHECKED_OUT
    assert op.loan_id == loan.id and op.processed_by_id == offline.desk.librarian.id
    assert op.result.startswith("Checked out to Pat Reader (23529000000001) at 2024-03-04 08:15:00, due 2024-03-18.")


def test_unknown_patrons_and_items_fail_with_a_reason_and_stay_listed(offline):
    offline.upload(issue(at(1), "nobody", BARCODE), issue(at(2), CARD, "no-such-item"), ret(at(3), "no-such-item"))
    summary = offline.process()
    assert (summary.applied, summary.failed) == (0, 3)
    assert [(op.status, op.outcome) for op in offline.operations()] == [
        (OfflineStatus.FAILED, "patron_not_found"), (OfflineStatus.FAILED, "item_not_found"),
        (OfflineStatus.FAILED, "item_not_found")]
    assert offline.operations()[0].result == "No patron has card number nobody."
    assert offline.desk.loan_of() is None


def test_a_failed_action_is_applied_once_staff_resolve_it(offline):
    offline.upload(issue(at(1), "23529000009999", BARCODE))
    offline.process()
    offline.desk.make.patron(cardnumber="23529000009999")
    summary = offline.process()  # failed actions are retried
    assert summary.applied == 1 and offline.operations()[0].status is OfflineStatus.APPLIED


def test_a_checkout_of_an_item_lent_earlier_to_someone_else_checks_it_in_first(offline):
    desk = offline.desk
    other = desk.make.patron(cardnumber="23529000000002", surname="Other")
    desk.check_out(other, checked_out_at=at(-600))
    offline.upload(issue(at(30), CARD, BARCODE))
    summary = offline.process()
    assert summary.applied == 1
    history = desk.session.scalar(select(LoanHistory))
    assert history.patron_id == other.id and history.returned_at == at(30)
    assert desk.loan_of().patron_id == desk.patron.id
    assert "Checked in from First" in offline.operations()[0].result


def test_a_checkout_older_than_the_current_loan_to_someone_else_changes_nothing(offline):
    desk = offline.desk
    other = desk.make.patron(cardnumber="23529000000002")
    desk.check_out(other, checked_out_at=at(60))
    offline.upload(issue(at(30), CARD, BARCODE))
    summary = offline.process()
    assert summary.failed == 1
    op = offline.operations()[0]
    assert op.outcome == OfflineOutcome.LENT_LATER and "after this checkout" in op.result
    assert desk.loan_of().patron_id == other.id and desk.loan_of().issued_at == at(60)


def test_a_checkout_at_the_same_moment_as_the_current_loan_does_not_replace_it(offline):
    desk = offline.desk
    other = desk.make.patron(cardnumber="23529000000002")
    desk.check_out(other, checked_out_at=at(30))
    offline.upload(issue(at(30), CARD, BARCODE))
    assert offline.process().failed == 1
    assert desk.loan_of().patron_id == other.id


def test_a_checkout_of_an_item_lent_again_later_changes_nothing(offline):
    desk = offline.desk
    other = desk.make.patron(cardnumber="23529000000002")
    desk.check_out(other, checked_out_at=at(60))
    desk.check_in(returned_at=at(90))
    offline.upload(issue(at(30), CARD, BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert op.status is OfflineStatus.FAILED and op.outcome == OfflineOutcome.LENT_LATER
    assert "lent again" in op.result and desk.loan_of() is None


def test_a_checkout_of_an_item_already_lent_to_the_patron_is_never_a_renewal(offline):
    desk = offline.desk
    loan = desk.check_out(checked_out_at=at(-60)).loan
    due = loan.due_at
    offline.upload(issue(at(30), CARD, BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert op.status is OfflineStatus.FAILED and op.outcome == OfflineOutcome.ALREADY_ON_LOAN_TO_PATRON
    desk.session.refresh(loan)
    assert loan.renewals_count == 0 and loan.due_at == due


def test_blocks_are_gone_past_and_recorded_in_the_result(offline):
    desk = offline.desk
    desk.session.add(PatronRestriction(patron_id=desk.patron.id, comment="Lost items"))
    desk.session.flush()
    desk.session.expire(desk.patron, ["restrictions"])
    offline.upload(issue(at(5), CARD, BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert op.status is OfflineStatus.APPLIED and "Went past: The patron is restricted: Lost items." in op.result


def test_a_return_closes_the_loan_at_the_offline_time_and_prices_the_fine_then(offline):
    desk = offline.desk
    desk.check_out(checked_out_at=MONDAY - dt.timedelta(days=20))  # due 6 days before the offline return
    offline.upload(ret(at(10), BARCODE))
    offline.process()
    history = desk.session.scalar(select(LoanHistory))
    assert history.returned_at == at(10) and desk.loan_of() is None
    fine = desk.session.scalar(select(AccountLine).where(AccountLine.debit_type.is_not(None)))
    assert fine.amount == Decimal("1.50")  # six days at 0.25, counted to the return, not to now
    op = offline.operations()[0]
    assert op.outcome == OfflineOutcome.CHECKED_IN and "fine of 1.50" in op.result


def test_a_return_older_than_the_current_loan_leaves_it_open(offline):
    desk = offline.desk
    desk.check_out(checked_out_at=at(60))
    offline.upload(ret(at(30), BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert op.status is OfflineStatus.FAILED and op.outcome == OfflineOutcome.RETURN_BEFORE_LOAN
    assert "the loan stays open" in op.result and desk.loan_of() is not None


def test_a_return_of_an_item_not_on_loan_fails(offline):
    offline.upload(ret(at(30), BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert (op.status, op.outcome) == (OfflineStatus.FAILED, "not_on_loan")


def test_a_return_traps_holds_like_any_check_in(offline):
    desk = offline.desk
    desk.check_out(checked_out_at=at(-60))
    desk.hold(desk.make.patron(cardnumber="23529000000002", surname="Holder", firstname="Hal"), pickup="FPL")
    offline.upload(ret(at(30), BARCODE))
    offline.process()
    assert "Hold found for Hal Holder: send the item to Fairview." in offline.operations()[0].result


@pytest.mark.parametrize("pickup, status", [("CPL", HoldStatus.PULLED), ("FPL", HoldStatus.IN_TRANSIT)])
def test_a_return_fills_a_waiting_hold_through_the_holds_engine(offline, pickup, status):
    desk = offline.desk
    desk.check_out(checked_out_at=at(-60))
    holder = desk.make.patron(cardnumber="23529000000002", surname="Holder", firstname="Hal")
    offline.session.add(Hold(patron_id=holder.id, title_id=desk.item.title_id, pickup_library_code=pickup,
                             status=HoldStatus.QUEUED, queue_key=1))
    offline.session.flush()
    offline.upload(ret(at(30), BARCODE))
    offline.process()
    op = offline.operations()[0]
    assert (op.status, op.outcome) == (OfflineStatus.APPLIED, "checked_in")
    assert "Hal Holder" in op.result
    hold = offline.session.scalar(select(Hold))
    assert (hold.allocated_item_id, hold.status) == (desk.item.id, status)


def test_a_payment_is_applied_once_with_the_fingerprint_as_its_reference(offline):
    desk = offline.desk
    desk.check_out(checked_out_at=MONDAY - dt.timedelta(days=20))
    desk.check_in(returned_at=at(0))  # a fine of 1.50
    offline.upload(payment(at(20), CARD, "2.00"))
    offline.process()
    op = offline.operations()[0]
    assert op.outcome == OfflineOutcome.PAID and op.result == "Paid 2.00 for Pat Reader (23529000000001), 0.50 left as credit."
    credit = desk.session.scalar(select(AccountLine).where(AccountLine.credit_type == CreditType.PAYMENT))
    assert credit.transaction_ref == f"offline:{op.fingerprint}" and credit.amount == Decimal("-2.00")


def test_a_payment_for_an_unknown_card_fails(offline):
    offline.upload(payment(at(20), "nobody", "2.00"))
    offline.process()
    assert offline.operations()[0].outcome == OfflineOutcome.PATRON_NOT_FOUND


def test_a_browser_checkout_keeps_the_due_date_the_librarian_chose(offline):
    from app.services.offline import enqueue_offline_operations, read_transactions

    good, refused = read_transactions([
        {"id": "t1", "workstation": "browser-1", "action": "issue", "time": at(5).isoformat(), "card": CARD,
         "barcode": BARCODE, "due": "2024-03-25"}])
    assert refused == []
    enqueue_offline_operations(offline.session, [t.record for t in good], library_code="CPL")
    offline.process()
    assert offline.desk.loan_of().due_at == end_of(dt.date(2024, 3, 25))


def test_a_chosen_due_date_before_the_checkout_gives_way_to_the_rules(offline):
    from app.services.offline import enqueue_offline_operations, read_transactions

    good, _ = read_transactions([{"id": "t1", "workstation": "browser-1", "action": "issue", "time": at(5).isoformat(),
                                  "card": CARD, "barcode": BARCODE, "due": "2024-03-01"}])
    enqueue_offline_operations(offline.session, [t.record for t in good])
    offline.process()
    assert offline.desk.loan_of().due_at == end_of(dt.date(2024, 3, 18))
    assert "was before the checkout: the rules' due date was used" in offline.operations()[0].result


def test_one_action_that_breaks_spoils_nothing_else(offline, monkeypatch):
    desk = offline.desk
    second = desk.make.item(barcode="39999000000002")
    desk.check_out(checked_out_at=at(-60))
    desk.check_out(item=second, checked_out_at=at(-60))
    from app.services.offline import processing

    real = processing.check_in

    def breaking(session, item, *args, **kw):
        if item.barcode == BARCODE:
            session.add(Loan(patron_id=1))  # half-written, then a crash
            raise RuntimeError("disk on fire")
        return real(session, item, *args, **kw)

    monkeypatch.setattr(processing, "check_in", breaking)
    offline.upload(ret(at(10), BARCODE), ret(at(11), "39999000000002"))
    summary = offline.process()
    assert (summary.applied, summary.failed) == (1, 1)
    broken, fine = offline.operations()
    assert broken.outcome == OfflineOutcome.ERROR and "RuntimeError" in broken.result
    assert desk.loan_of() is not None and desk.loan_of(second) is None
    assert fine.status is OfflineStatus.APPLIED


def test_nothing_is_left_pending_and_a_checkpoint_follows_every_batch(offline):
    lines = [ret(at(i), f"nothing-{i}") for i in range(5)]
    offline.upload(*lines)
    commits = []
    summary = offline.process(batch_size=2, checkpoint=lambda: commits.append(1))
    assert len(commits) == 3 and summary.failed == 5
    assert {op.status for op in offline.operations()} == {OfflineStatus.FAILED}


def test_applied_actions_are_not_applied_again(offline):
    offline.upload(issue(at(15), CARD, BARCODE))
    offline.process()
    ids = [op.id for op in offline.operations()]
    again = offline.process(ids=ids)
    assert again.results == [] and again.skipped == 1


def test_offline_checkouts_and_returns_count_as_patron_activity(offline):
    activity.default_tracker.forget()
    desk = offline.desk
    set_preference(desk.session, "TrackLastPatronActivityTriggers", "offline", actor_id=None)
    offline.upload(issue(at(15), CARD, BARCODE))
    offline.process()
    desk.session.commit()
    activity.default_tracker.forget()
    desk.session.refresh(desk.patron)
    assert desk.patron.lastseen == at(15)


@pytest.mark.parametrize("batch_size", [1, 200])
def test_one_items_busy_day_ends_the_same_whether_its_actions_share_a_batch_or_not(offline, batch_size):
    desk = offline.desk
    desk.make.patron(cardnumber="23529000000002", surname="Other")
    offline.upload(issue(at(10), CARD, BARCODE), ret(at(20), BARCODE), ret(at(25), BARCODE),
                   issue(at(30), "23529000000002", BARCODE), issue(at(40), CARD, BARCODE), issue(at(45), CARD, BARCODE))
    summary = offline.process(batch_size=batch_size)
    assert [r.outcome for r in summary.results] == [
        "checked_out", "checked_in", "not_on_loan", "checked_out", "checked_out", "already_on_loan_to_patron"]
    assert desk.loan_of().patron_id == desk.patron.id and desk.loan_of().issued_at == at(40)
    history = desk.session.scalars(select(LoanHistory).order_by(LoanHistory.issued_at)).all()
    assert [(h.issued_at, h.returned_at) for h in history] == [(at(10), at(20)), (at(30), at(40))]
    assert [op.status for op in offline.operations()] == [OfflineStatus.APPLIED, OfflineStatus.APPLIED,
                                                          OfflineStatus.FAILED, OfflineStatus.APPLIED,
                                                          OfflineStatus.APPLIED, OfflineStatus.FAILED]


def _spoil_checkouts_of(monkeypatch, barcode: str, spoil) -> None:
    """The offline processor's checkouts of ``barcode`` go through, then ``spoil`` their outcome."""
    from app.services.offline import processing

    real = processing.check_out

    def spoilt(session, patron, item, *args, **kw):
        outcome = real(session, patron, item, *args, **kw)
        if item.barcode == barcode:
            spoil(outcome)
        return outcome

    monkeypatch.setattr(processing, "check_out", spoilt)


def test_a_checkout_refused_after_writing_leaves_nothing_and_spoils_nothing_else(offline, monkeypatch):
    from app.services.circulation.outcomes import Code

    desk = offline.desk
    second = desk.make.item(barcode="39999000000002")

    def refused_late(outcome):  # its loan was written, then the checkout was refused
        outcome.loan = None
        outcome.block(Code.CHECKED_OUT_CONCURRENTLY)

    _spoil_checkouts_of(monkeypatch, BARCODE, refused_late)
    offline.upload(issue(at(1), CARD, "39999000000002"), issue(at(2), CARD, BARCODE), ret(at(3), "39999000000002"))
    summary = offline.process()
    assert [r.outcome for r in summary.results] == ["checked_out", "checkout_refused", "checked_in"]
    assert desk.loan_of() is None and desk.loan_of(second) is None
    history = desk.session.scalars(select(LoanHistory)).all()
    assert [(h.item_id, h.issued_at, h.returned_at) for h in history] == [(second.id, at(1), at(3))]


@pytest.mark.parametrize("batch_size", [1, 200])
def test_the_loan_limit_counts_the_checkouts_and_returns_before_it_in_the_same_batch(offline, batch_size):
    desk = offline.desk
    desk.rule("maxissueqty", 2)
    for n in (2, 3, 4):
        desk.make.item(barcode=f"3999900000000{n}", title=desk.item.title)
    desk.check_out(checked_out_at=at(-60))
    offline.upload(issue(at(1), CARD, "39999000000002"), issue(at(2), CARD, "39999000000003"),
                   ret(at(3), "39999000000002"), ret(at(4), "39999000000003"), issue(at(5), CARD, "39999000000004"))
    summary = offline.process(batch_size=batch_size)
    assert summary.applied == 5
    results = [op.result for op in offline.operations()]
    assert "This is the last loan the patron is allowed (2)." in results[0] and "Went past" not in results[0]
    assert "Went past: The patron has 2 loans; the limit is 2." in results[1]
    assert "This is the last loan the patron is allowed (2)." in results[4] and "Went past" not in results[4]


@pytest.mark.parametrize("batch_size", [1, 200])
def test_a_transfer_opened_by_a_return_is_seen_by_the_items_next_return_in_the_same_batch(offline, batch_size):
    desk = offline.desk
    desk.check_out(checked_out_at=at(-60))
    holder = desk.make.patron(cardnumber="23529000000002", surname="Holder", firstname="Hal")
    desk.hold(holder, pickup="FPL")
    offline.upload(ret(at(10), BARCODE), issue(at(20), CARD, BARCODE), ret(at(30), BARCODE))
    summary = offline.process(batch_size=batch_size)
    assert [r.outcome for r in summary.results] == ["checked_in", "checked_out", "checked_in"]
    results = [op.result for op in offline.operations()]
    assert "send the item to Fairview" in results[0]
    assert "The item is in transit to Fairview: send it on." in results[2]


@pytest.mark.parametrize("batch_size", [1, 200])
def test_a_copy_trapped_by_a_return_fills_the_hold_when_its_patron_checks_it_out_in_the_same_batch(offline, batch_size):
    desk = offline.desk
    desk.check_out(checked_out_at=at(-60))
    hold = desk.hold(desk.make.patron(cardnumber="23529000000002", surname="Holder", firstname="Hal"))
    offline.upload(ret(at(10), BARCODE), issue(at(20), "23529000000002", BARCODE))
    summary = offline.process(batch_size=batch_size)
    assert [r.outcome for r in summary.results] == ["checked_in", "checked_out"]
    assert offline.operations()[1].result.endswith("This checkout fills the patron's hold.")
    offline.session.refresh(hold)
    assert hold.status is HoldStatus.FILLED


def test_a_write_refused_by_the_database_when_the_batch_flushes_fails_only_its_own_action(offline, monkeypatch):
    desk = offline.desk
    second = desk.make.item(barcode="39999000000002")

    def unwritable(outcome):  # refused by the database only when the rows are written
        outcome.loan.library_code = None

    _spoil_checkouts_of(monkeypatch, BARCODE, unwritable)
    offline.upload(issue(at(1), CARD, BARCODE), issue(at(2), CARD, "39999000000002"))
    summary = offline.process()
    assert [r.outcome for r in summary.results] == ["error", "checked_out"]
    assert desk.loan_of() is None
    assert desk.loan_of(second).issued_at == at(2) and offline.operations()[1].loan_id == desk.loan_of(second).id
