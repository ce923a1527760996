"""What one batch of offline actions reads before it applies anything: its patrons, its items,
their open loans and when each item was last lent, in one query each instead of one or two
per action.

The answers stay exact for the whole batch. The processor tells the batch what each applied
action changed (``settle``), and nobody else can change these loans meanwhile: on SQLite the
batch's transaction is the only writer (BEGIN IMMEDIATE); elsewhere the batch's patrons and
items are locked here, patrons first then items, each in id order (the order a checkout takes
them), and every checkout and check-in takes the item's row lock before it touches its loan.

A loan that ended during the batch began no later than the action that ended it, and actions
run in time order, so the last lending time read up front still answers "was the item lent
again after this moment?" for every later action of the batch."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app.models import Item, Loan, LoanHistory, OfflineAction, Patron, PendingOfflineOperation
from app.services.circulation import find_patron


def _key(code: str | None) -> str:
    return (code or "").strip()


class Lookups:
    """The patrons, items, open loans and last lending times a batch of actions names."""

    def __init__(self, session: Session, operations: Sequence[PendingOfflineOperation]):
        self.session = session
        lock = session.get_bind().dialect.name != "sqlite"
        cards = sorted({op.cardnumber for op in operations if op.cardnumber})
        barcodes = sorted({op.barcode for op in operations if op.barcode})
        self.patrons = {p.cardnumber: p for p in self._rows(Patron, Patron.cardnumber.in_(cards), lock)} \
            if cards else {}
        self.items = {i.barcode: i for i in self._rows(Item, Item.barcode.in_(barcodes), lock)} if barcodes else {}
        self._by_username: dict[str, Patron | None] = {}
        item_ids = sorted(i.id for i in self.items.values())
        self.loans: dict[int, Loan] = {}
        self.last_lent: dict[int, dt.datetime] = {}
        if item_ids:
            loans = select(Loan).where(Loan.item_id.in_(item_ids)).options(joinedload(Loan.patron))
            if lock:
                loans = loans.with_for_update(of=Loan).execution_options(populate_existing=True)
            self.loans = {loan.item_id: loan for loan in session.scalars(loans)}
            self.last_lent = dict(session.execute(
                select(LoanHistory.item_id, func.max(LoanHistory.issued_at))
                .where(LoanHistory.item_id.in_(item_ids)).group_by(LoanHistory.item_id)).all())

    def _rows(self, model: type[Patron] | type[Item], where, lock: bool) -> list:
        stmt = select(model).where(where).order_by(model.id)
        if lock:
            stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
        return list(self.session.scalars(stmt))

    def patron(self, card: str | None) -> Patron | None:
        """By card number, else by username (as at the desk)."""
        patron = self.patrons.get(card or "")
        if patron is not None:
            return patron
        if _key(card) not in self._by_username:
            self._by_username[_key(card)] = find_patron(self.session, card)
        return self._by_username[_key(card)]

    def item(self, barcode: str | None) -> Item | None:
        return self.items.get(_key(barcode))

    def open_loan(self, item: Item) -> Loan | None:
        return self.loans.get(item.id)

    def lent_after(self, item: Item, at: dt.datetime) -> dt.datetime | None:
        """When a finished loan of the item began, if one began after ``at``."""
        lent = self.last_lent.get(item.id)
        return lent if lent is not None and lent > at else None

    def settle(self, op: PendingOfflineOperation, new_loan: Loan | None) -> None:
        """An action was applied (its savepoint released): its item's open loan changed."""
        item = self.item(op.barcode)
        if item is None:
            return
        if op.action is OfflineAction.ISSUE and new_loan is not None:
            self.loans[item.id] = new_loan
        elif op.action is OfflineAction.RETURN:
            self.loans.pop(item.id, None)
