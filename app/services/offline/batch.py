"""What one batch of offline actions reads before it applies anything: its patrons and their
balances, its items, their open loans and when each item was last lent, in one query each
instead of one or two per action.

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

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Item, Loan, LoanHistory, OfflineAction, Patron, PendingOfflineOperation
from app.services import fines
from app.services.circulation import Locked


def _key(code: str | None) -> str:
    return (code or "").strip()


class Lookups:
    """The patrons, items, open loans and last lending times a batch of actions names."""

    def __init__(self, session: Session, operations: Sequence[PendingOfflineOperation]):
        self.session = session
        lock = session.get_bind().dialect.name != "sqlite"
        cards = sorted({_key(op.cardnumber) for op in operations} - {""})
        barcodes = sorted({_key(op.barcode) for op in operations} - {""})
        patrons = self._rows(Patron, or_(Patron.cardnumber.in_(cards), Patron.userid.in_(cards)), lock,
                             selectinload(Patron.restrictions)) if cards else []
        # By card number, else by username (as at the desk).
        self.patrons = {p.userid: p for p in patrons if p.userid} | {p.cardnumber: p for p in patrons if p.cardnumber}
        fines.read_balances(session, [p.id for p in patrons])  # each checkout weighs the patron's fines
        self.items = {i.barcode: i for i in self._rows(
            Item, Item.barcode.in_(barcodes), lock, joinedload(Item.title))} if barcodes else {}
        item_ids = sorted(i.id for i in self.items.values())
        self.loans: dict[int, Loan] = {}
        self.last_lent: dict[int, dt.datetime] = {}
        if item_ids:
            loans = (select(Loan).where(Loan.item_id.in_(item_ids)).options(joinedload(Loan.patron))
                     .execution_options(populate_existing=True))
            if lock:
                loans = loans.with_for_update(of=Loan)
            self.loans = {loan.item_id: loan for loan in session.scalars(loans)}
            self.last_lent = dict(session.execute(
                select(LoanHistory.item_id, func.max(LoanHistory.issued_at))
                .where(LoanHistory.item_id.in_(item_ids)).group_by(LoanHistory.item_id)).all())

    def _rows(self, model: type[Patron] | type[Item], where, lock: bool, load) -> list:
        """Read afresh (rows a session kept from an earlier batch may be out of date)."""
        stmt = select(model).where(where).order_by(model.id).options(load).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update(of=model)
        return list(self.session.scalars(stmt).unique())

    def patron(self, card: str | None) -> Patron | None:
        return self.patrons.get(_key(card))

    def item(self, barcode: str | None) -> Item | None:
        return self.items.get(_key(barcode))

    def open_loan(self, item: Item) -> Loan | None:
        return self.loans.get(item.id)

    def locked(self, item: Item) -> Locked:
        """What a checkout or check-in of the item would otherwise lock and read again."""
        return Locked(loan=self.open_loan(item))

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
