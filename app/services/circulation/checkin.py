"""Check-in: close the loan into history, charge the overdue fine, and decide where the item goes
(the hold shelf, its home library, or nowhere)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app import clock
from app.models import AccountLine, Item, ItemTransfer, Library, Loan, LoanHistory, Patron, Privacy, TransferReason
from app.services import fines
from app.services.activity import record_activity
from app.services.holds_hooks import find_hold_for_checked_in_item
from app.services.rules import effective_rules
from app.services.settings import get_preference

from .checks import Locked, library_code_of, lock_item, open_loan_for_item
from .due_dates import control_library, loan_rules
from .outcomes import CheckInOutcome, Code
from .queries import open_transfer


def fine_policy(session: Session, loan: Loan, patron: Patron, item: Item) -> fines.FinePolicy | None:
    """How this loan's overdue days are priced; None when the library charges no fines
    (``finesMode`` off). Rules come from the control library of the library that lent it;
    closed days there are not charged unless ``useDaysMode`` is "Days"."""
    if get_preference(session, "finesMode") == "off":
        return None
    rules = loan_rules(session, patron, item, loan.library_code, ["fine", "overduefinescap", "firstremind"])
    calendar = None if get_preference(session, "useDaysMode") == "Days" else control_library(
        session, patron, item, loan.library_code)
    return fines.FinePolicy(per_day=rules["fine"], cap=rules["overduefinescap"],
                            grace_days=rules["firstremind"], calendar_library=calendar)


def close_loan(session: Session, loan: Loan, library_code: str, actor: Patron | None,
               returned_at: dt.datetime) -> tuple[LoanHistory, AccountLine | None, fines.FineCalculation | None]:
    """End a loan: charge its overdue fine, move it to history (anonymised at once for a
    patron who keeps none), and free the item. Written at the next flush, with the check-in's
    other changes (a checkout flushes it before it lends the item again)."""
    patron: Patron = loan.patron
    item: Item = loan.item
    fine, calculation = None, None
    policy = fine_policy(session, loan, patron, item)
    if policy is not None:
        fine, calculation = fines.charge_overdue_fine(session, loan, returned_at, policy,
                                                      library_code=library_code, actor=actor)
    anonymise = patron.privacy is Privacy.NEVER_KEEP
    history = LoanHistory(
        loan_id=loan.id, patron_id=None if anonymise else patron.id, anonymized=anonymise,
        item_id=item.id, library_code=loan.library_code, return_library_code=library_code,
        issued_at=loan.issued_at, due_at=loan.due_at, returned_at=returned_at,
        renewals_count=loan.renewals_count, onsite_checkout=loan.onsite_checkout, channel=loan.channel,
        patron_category_code=patron.category_code, item_type_code=item.item_type_code,
    )
    session.add(history)
    session.delete(loan)
    return history, fine, calculation


def _library_name(session: Session, code: str) -> str:
    library = session.get(Library, code)
    return library.name if library else code


def _return_target(session: Session, item: Item, lent_from: str | None) -> str | None:
    """Where the return policy (rule ``returnbranch``, looked up by the item's home library and
    type) wants the item: home, back to the library that lent it, or None (it floats)."""
    policy = effective_rules(session, item.home_library_code, None, item.item_type_code, ["returnbranch"])["returnbranch"]
    if policy == "homebranch":
        return item.home_library_code
    if policy == "holdingbranch":
        return lent_from
    return None


def _route(session: Session, item: Item, library_code: str, lent_from: str | None, at: dt.datetime,
           outcome: CheckInOutcome, locked: Locked | None) -> None:
    transfer = None if locked is not None and locked.in_transit is False else open_transfer(session, item)
    if transfer is not None:
        if transfer.to_library_code == library_code:
            transfer.arrived_at = at
            outcome.alert(Code.TRANSFER_ARRIVED, library=_library_name(session, transfer.from_library_code))
        else:
            outcome.transfer_to = transfer.to_library_code
            outcome.alert(Code.IN_TRANSIT_ELSEWHERE, library=_library_name(session, transfer.to_library_code))
            return
    hold = None if locked is not None and locked.title_held is False else \
        find_hold_for_checked_in_item(session, item, library_code)
    if hold is not None:
        outcome.hold = hold
        outcome.transfer_to = hold.transfer_to
        if hold.transfer_to:
            outcome.alert(Code.HOLD_FOUND_TRANSFER, patron_name=hold.patron_name,
                          library=_library_name(session, hold.transfer_to))
        else:
            outcome.alert(Code.HOLD_FOUND, patron_name=hold.patron_name)
        return
    target = _return_target(session, item, lent_from)
    if target is None or target == library_code:
        return
    if get_preference(session, "AutomaticItemReturn"):
        session.add(ItemTransfer(item_id=item.id, from_library_code=library_code, to_library_code=target,
                                 reason=TransferReason.RETURN_HOME, sent_at=at))
        outcome.transfer_to = target
        outcome.alert(Code.TRANSFER_HOME, library=_library_name(session, target))
    else:
        outcome.alert(Code.BELONGS_ELSEWHERE, library=_library_name(session, target))


def check_in(session: Session, item: Item | None, library: Library | str, actor: Patron | None, *,
             returned_at: dt.datetime | None = None, barcode: str | None = None,
             locked: Locked | None = None) -> CheckInOutcome:
    """Check an item in at ``library``: close any loan (fine charged, history written), set the
    holding library, mark a lost item found, then route it: an open transfer, a hold (asked of
    the holds service), or the return policy. An item not on loan is a clean outcome with an
    alert. ``returned_at`` backdates the return (offline, book drop). ``locked``: the caller
    already holds the item's row lock and knows its loan (see ``Locked``)."""
    outcome = CheckInOutcome(item=item, barcode=barcode or (item.barcode if item else None))
    if item is None:
        outcome.block(Code.UNKNOWN_ITEM, barcode=barcode or "")
        return outcome
    at = returned_at or clock.now()
    outcome.returned_at = at
    library_code = library_code_of(library)
    if locked is None:
        item = outcome.item = lock_item(session, item.id)
        loan = open_loan_for_item(session, item, lock=True)
    else:
        loan = locked.loan
    lent_from = item.holding_library_code
    if loan is None:
        outcome.alert(Code.NOT_ON_LOAN)
    else:
        lent_from = loan.library_code
        outcome.patron = loan.patron
        history, fine, calculation = close_loan(session, loan, library_code, actor, at)
        outcome.history, outcome.fine = history, fine
        record_activity(session, outcome.patron.id, "check_in", at)
        if fine is not None and calculation is not None:
            outcome.alert(Code.OVERDUE_FINE_CHARGED, days=calculation.days_late, amount=fines.money(fine.amount))
    if item.is_lost:
        item.lost, item.lost_on = 0, None
        outcome.alert(Code.LOST_ITEM_FOUND)
    if item.withdrawn:
        outcome.alert(Code.ITEM_WITHDRAWN)
    item.holding_library_code = library_code
    item.date_last_seen = clock.local(at).date()
    _route(session, item, library_code, lent_from, at, outcome, locked)
    if locked is None or locked.flush:
        session.flush()
    return outcome
