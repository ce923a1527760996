"""Checkout: every check in Koha's order of concern (who, what, holds, current loan), then the
loan, made under the patron's and the item's row locks so two desks cannot lend one item."""
from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from typing import Collection

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from app import clock
from app.models import Hold, Item, Library, Loan, Patron
from app.services.activity import record_activity
from app.services.audit import record_audit
from app.services.holds_hooks import (
    ALLOCATED_STATUSES,
    WAITING_STATUSES,
    fill_hold_at_checkout,
    hold_in_the_way_of_checkout,
    release_allocation,
)

from .checkin import close_loan
from .checks import (
    Locked,
    check_expiry_warning,
    check_item_status,
    check_loan_limit,
    check_patron_standing,
    library_code_of,
    lock_item,
    lock_row,
    open_loan_for_item,
)
from .due_dates import checkout_due_at, loan_rules
from .outcomes import CheckOutOutcome, Code, Kind, Message
from .renewals import renew_loan

CHECKOUT_RULES = ["maxissueqty", "lost_blocks_checkout", "damaged_blocks_checkout"]


def _hold_patron_name(hold: Hold) -> str:
    return hold.patron.full_name if hold.patron is not None else "another patron"


def _check_holds(session: Session, patron: Patron, item: Item, outcome: CheckOutOutcome) -> tuple[Hold | None, Hold | None]:
    """Returns (the patron's own waiting hold to fill, another patron's allocated hold to release)."""
    hold = hold_in_the_way_of_checkout(session, item, patron.id)
    if hold is None:
        return None, None
    if hold.status in WAITING_STATUSES:
        if hold.patron_id == patron.id:
            return hold, None
        outcome.block(Code.WAITING_FOR_ANOTHER_PATRON, patron_name=_hold_patron_name(hold),
                      library=hold.pickup_library.name)
        return None, None
    allocated = hold.status in ALLOCATED_STATUSES
    if allocated and hold.patron_id == patron.id:
        return None, None
    outcome.confirm(Code.ON_HOLD_FOR_ANOTHER_PATRON, patron_name=_hold_patron_name(hold),
                    library=hold.pickup_library.name)
    return None, hold if allocated else None


def _renew_instead(session: Session, loan: Loan, actor: Patron | None, at: dt.datetime, *, asked: bool,
                   no_block: bool, outcome: CheckOutOutcome) -> CheckOutOutcome:
    if not (asked or no_block):
        outcome.confirm(Code.ALREADY_ON_LOAN_TO_PATRON)
        return outcome
    renewal = renew_loan(session, loan, actor, renewed_at=at, no_block=no_block)
    outcome.messages.extend(renewal.messages)
    outcome.overridden.extend(renewal.overridden)
    if renewal.renewed:
        outcome.loan, outcome.renewed = loan, True
    return outcome


def _agreed_codes(confirmed: Collection[Code | str]) -> set[Code]:
    values = {code.value for code in Code}
    return {Code(c) for c in confirmed if str(c) in values}


def check_out(session: Session, patron: Patron | None, item: Item | None, library: Library | str,
              actor: Patron | None, *, confirmed: Collection[Code | str] = (), renew: bool = False,
              checked_out_at: dt.datetime | None = None, due_at: dt.datetime | None = None,
              no_block: bool = False, channel: str = "desk", barcode: str | None = None,
              card: str | None = None, locked: Locked | None = None) -> CheckOutOutcome:
    """Lend ``item`` to ``patron`` at ``library``, or say why not.

    Blocks refuse. Confirmations refuse until their codes are in ``confirmed`` (staff agreed):
    an item on loan to someone else is then checked in first. An item already on loan to this
    patron is renewed when ``renew`` is set or its confirmation agreed. ``no_block`` (offline,
    store-and-forward) goes past every block and confirmation, recording them in
    ``overridden``; ``checked_out_at`` and ``due_at`` then carry the original time and due
    date. Unknown patron or item (passed as None) are blocks even then. ``locked``: the caller
    already holds the patron's and item's row locks and knows the item's loan (see ``Locked``)."""
    outcome = CheckOutOutcome(patron=patron, item=item, barcode=barcode or (item.barcode if item else None))
    if patron is None:
        outcome.block(Code.UNKNOWN_PATRON, card=card or "")
    if item is None:
        outcome.block(Code.UNKNOWN_ITEM, barcode=barcode or "")
    if patron is None or item is None:
        return outcome
    at = checked_out_at or clock.now()
    on = clock.local(at).date()
    library_code = library_code_of(library)
    agreed = _agreed_codes(confirmed)
    if locked is None:
        patron = outcome.patron = lock_row(session, Patron, patron.id, joinedload(Patron.restrictions))
        item = outcome.item = lock_item(session, item.id)
        current = open_loan_for_item(session, item, lock=True)
    else:
        current = locked.loan
    if current is not None and current.patron_id == patron.id:
        return _renew_instead(session, current, actor, at, asked=renew or Code.ALREADY_ON_LOAN_TO_PATRON in agreed,
                              no_block=no_block, outcome=outcome)

    rules = loan_rules(session, patron, item, library_code, CHECKOUT_RULES)
    check_patron_standing(session, patron, outcome, on)
    check_loan_limit(session, patron, rules, outcome, locked.patron_loans if locked else None)
    check_item_status(item, rules, outcome)
    own_waiting_hold, other_allocated_hold = (None, None) if locked is not None and locked.title_held is False \
        else _check_holds(session, patron, item, outcome)
    if current is not None:
        outcome.confirm(Code.ON_LOAN_TO_ANOTHER_PATRON, patron_name=current.patron.full_name,
                        due=clock.local(current.due_at).date().isoformat())
    check_expiry_warning(patron, outcome, on)
    if not no_block and (outcome.blocks or any(m.code not in agreed for m in outcome.confirmations)):
        return outcome
    overridden = outcome.set_aside()
    if overridden:
        record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="CIRCULATION",
                     action="OVERRIDE", object_type="item", object_id=item.id,
                     info={"patron_id": patron.id, "codes": [m.code.value for m in overridden]})

    done: list[Message] = []
    # Without the caller's locks, a concurrent checkout of the item can still win the race to
    # the loan's unique item: a savepoint turns that into a clean refusal. With them it cannot.
    try:
        with session.begin_nested() if locked is None else nullcontext():
            if current is not None:
                previous = current.patron.full_name
                close_loan(session, current, library_code, actor, at)
                done.append(Message(Code.PREVIOUS_LOAN_CHECKED_IN, Kind.ALERT, {"patron_name": previous}))
            if own_waiting_hold is not None:
                fill_hold_at_checkout(session, own_waiting_hold, actor, at)
                done.append(Message(Code.HOLD_FILLED, Kind.ALERT))
            if other_allocated_hold is not None:
                release_allocation(session, other_allocated_hold, actor, at)
            loan = _lend(session, patron, item, library_code, actor, at, due_at, channel,
                         flush=locked is None or locked.flush)
    except IntegrityError:
        if locked is not None:
            raise
        outcome.block(Code.CHECKED_OUT_CONCURRENTLY)
        return outcome
    outcome.messages.extend(done)
    outcome.loan = loan
    record_activity(session, patron.id, "check_out", at)  # written after the caller's commit
    return outcome


def _lend(session: Session, patron: Patron, item: Item, library_code: str, actor: Patron | None,
          at: dt.datetime, due_at: dt.datetime | None, channel: str, *, flush: bool) -> Loan:
    if any(isinstance(row, Loan) and row.item_id == item.id for row in session.deleted):
        session.flush()  # the item's last loan is gone before the new one takes the item (a flush inserts first)
    loan = Loan(patron_id=patron.id, item_id=item.id, library_code=library_code,
                issued_at=at, due_at=due_at or checkout_due_at(session, patron, item, library_code, at),
                channel=channel, issuer_id=actor.id if actor else None)
    session.add(loan)
    if item.is_lost:
        item.lost, item.lost_on = 0, None
    day = clock.local(at).date()
    item.holding_library_code = library_code
    item.date_last_borrowed = item.date_last_seen = day
    item.checkouts_count += 1
    if flush:
        session.flush()
    return loan
