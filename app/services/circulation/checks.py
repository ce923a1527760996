"""The checks a checkout and a renewal share: the patron's standing, the item's statuses, and
the row locks that make one item's checkouts take turns."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from app import clock
from app.models import Item, Library, Loan, Patron
from app.services import fines
from app.services.settings import get_preference

from .outcomes import Code, Outcome

# Koha's NotifyBorrowerDeparture default: warn at checkout this many days before a card expires.
EXPIRY_WARNING_DAYS = 30

Row = TypeVar("Row", Item, Patron)


def library_code_of(library: Library | str) -> str:
    return library if isinstance(library, str) else library.code


def lock_row(session: Session, model: type[Row], row_id: int, *options: ORMOption) -> Row:
    """Re-read a row under its row lock (PostgreSQL, MariaDB): concurrent boundaries touching the
    same patron or item wait here. SQLite writers are already serialised by BEGIN IMMEDIATE.
    ``options`` load what the caller will need with it (only the row is locked).

    On PostgreSQL every lock of this kind (``key_share=True``: FOR NO KEY UPDATE) still makes
    lockers take turns, but lets others insert rows that refer to the locked one: a foreign key
    check only takes a key-share lock. With FOR UPDATE a check-in holding an item would wait,
    when it writes the loan's history, on the patron a checkout (or an offline batch) had
    locked while waiting for that same item: a deadlock."""
    stmt = (select(model).where(model.id == row_id).options(*options).with_for_update(of=model, key_share=True)
            .execution_options(populate_existing=True))
    return session.scalars(stmt).unique().one()


def lock_item(session: Session, item_id: int) -> Item:
    """The item under its row lock, with its title (every answer to a scan names it)."""
    return lock_row(session, Item, item_id, joinedload(Item.title))


@dataclass(frozen=True)
class Locked:
    """Handed to a checkout or check-in by a caller that already holds the rows it would lock,
    read since they were locked: the patron (with its restrictions loaded) and the item (with its
    title) under their row locks, and ``loan``, the item's open loan as it stands (None: none).
    The service then uses them as they are instead of locking and reading them again. An
    offline batch does this: it locks every patron and item it names up front and keeps track
    of each item's loan as its actions apply (on SQLite the batch is the only writer).

    The caller may also pass what it counted for many rows at once: ``patron_loans``, the
    patron's open loans; ``in_transit``, whether the item has a transfer under way; and
    ``title_held``, whether any live hold waits on the item's title (False: known to have none,
    so no hold can stand in the way of the checkout or be trapped by the check-in). None means
    "not known": the service asks.

    ``flush=False`` leaves the service's writes to the caller's next flush, so that a batch's
    rows go to the database together (a new loan has no id until then)."""

    loan: Loan | None
    patron_loans: int | None = None
    in_transit: bool | None = None
    title_held: bool | None = None
    flush: bool = True


def open_loan_for_item(session: Session, item: Item, *, lock: bool = False) -> Loan | None:
    """The item's loan, if any, with its patron (``lock``: the loan row locked, not the patron)."""
    stmt = select(Loan).where(Loan.item_id == item.id).options(joinedload(Loan.patron))
    if lock:
        stmt = stmt.with_for_update(of=Loan, key_share=True).execution_options(populate_existing=True)
    return session.scalar(stmt)


def loan_count(session: Session, patron: Patron) -> int:
    return session.scalar(select(func.count()).select_from(Loan).where(Loan.patron_id == patron.id)) or 0


def check_patron_standing(session: Session, patron: Patron, outcome: Outcome, on: dt.date) -> None:
    """Blocks for an expired card, a restriction, a lost card, no valid address, or fines over
    ``noissuescharge``; a confirmation when the patron owes anything under that limit."""
    if patron.is_expired(on):
        outcome.block(Code.PATRON_EXPIRED, expired_on=patron.dateexpiry.isoformat())
    restrictions = patron.active_restrictions(on)
    if restrictions:
        first = restrictions[0]
        outcome.block(Code.PATRON_RESTRICTED,
                      until=f" until {first.expiration.isoformat()}" if first.expiration else "",
                      reason=first.comment or first.restriction_type.value)
    if patron.card_lost:
        outcome.block(Code.PATRON_CARD_LOST)
    if patron.gonenoaddress:
        outcome.block(Code.PATRON_GONE_NO_ADDRESS)
    owed = fines.balance(session, patron)
    limit = get_preference(session, "noissuescharge")
    if owed > limit:
        outcome.block(Code.FINES_OVER_LIMIT, balance=fines.money(owed), limit=fines.money(limit))
    elif owed > 0:
        outcome.confirm(Code.PATRON_OWES_FINES, balance=fines.money(owed))


def check_loan_limit(session: Session, patron: Patron, rules: dict[str, Any], outcome: Outcome,
                     count: int | None = None) -> None:
    """Block at ``maxissueqty`` open loans (all item types counted; ``count`` when the caller
    knows it); alert on the last one."""
    limit = rules["maxissueqty"]
    if limit is None:
        return
    count = loan_count(session, patron) if count is None else count
    if count >= limit:
        outcome.block(Code.TOO_MANY_LOANS, count=count, limit=limit)
    elif count + 1 == limit:
        outcome.alert(Code.LAST_LOAN_ALLOWED, limit=limit)


def check_expiry_warning(patron: Patron, outcome: Outcome, on: dt.date) -> None:
    if patron.dateexpiry is not None and on <= patron.dateexpiry <= on + dt.timedelta(days=EXPIRY_WARNING_DAYS):
        outcome.alert(Code.PATRON_EXPIRES_SOON, expires_on=patron.dateexpiry.isoformat())


def check_item_status(item: Item, rules: dict[str, Any], outcome: Outcome) -> None:
    """Withdrawn and not-for-loan items are refused; lost and damaged ones as the rules say
    (allowed: an alert, and a lost item is found by being checked out)."""
    if item.withdrawn:
        outcome.block(Code.ITEM_WITHDRAWN)
    if item.is_lost:
        if rules["lost_blocks_checkout"]:
            outcome.block(Code.ITEM_LOST)
        else:
            outcome.alert(Code.LOST_ITEM_FOUND)
    if item.is_not_for_loan:
        outcome.block(Code.ITEM_NOT_FOR_LOAN)
    if item.damaged:
        if rules["damaged_blocks_checkout"]:
            outcome.block(Code.ITEM_DAMAGED)
        else:
            outcome.alert(Code.ITEM_DAMAGED)


def patron_standing(session: Session, patron: Patron, on: dt.date | None = None) -> Outcome:
    """The patron's standing as the desk shows it before anything is scanned: what would block
    or need confirming at checkout, and what staff should know."""
    day = on or clock.today()
    outcome = Outcome()
    check_patron_standing(session, patron, outcome, day)
    check_expiry_warning(patron, outcome, day)
    return outcome
