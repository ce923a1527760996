"""What one batch of offline actions reads before it applies anything, in one query each
instead of one or more per action: its patrons, their balances and loan counts; its items,
their open loans, which are in transit, and when each was last lent.

What it knows of loans stays exact for the whole batch. The processor tells the batch what each applied
action changed (``settle``), and nobody else can change these loans meanwhile: on SQLite the
batch's transaction is the only writer (BEGIN IMMEDIATE); elsewhere the batch's patrons and
items are locked here, patrons first then items, each in id order (the order a checkout takes
them), and every checkout and check-in takes the item's row lock before it touches its loan.
Transfers are opened for copies on the shelf or being checked in, so an item on loan gets one
only from the batch's own check-in (after which the batch no longer answers for it). A
title's live holds only end through the batch's actions (a checkout fills one, a check-in
traps one and it stays live), so a title without any at the start has none throughout.

Two answers can move under the batch on PostgreSQL, as they could between any action's own
read and the batch's commit: a patron's loan count falls when a desk checks in another of
their items (a check-in locks the item, not the patron), and a patron may place a hold on one
of the titles. Offline checkouts go past the loan limit anyway (at worst a "too many loans"
is recorded as gone past one loan early); a hold placed meanwhile is filled by the holds
queue like any hold placed on a title whose copies are on the shelf.

A loan that ended during the batch began no later than the action that ended it, and actions
run in time order, so the last lending time read up front still answers "was the item lent
again after this moment?" for every later action of the batch."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Hold, Item, ItemTransfer, Loan, LoanHistory, OfflineAction, Patron, PendingOfflineOperation
from app.models.hold import LIVE_STATUSES
from app.services import fines
from app.services.circulation import Locked


def _key(code: str | None) -> str:
    return (code or "").strip()


class Lookups:
    """What a batch of actions names, read up front, and what its applied actions changed."""

    def __init__(self, session: Session, operations: Sequence[PendingOfflineOperation]):
        self.session = session
        self._lock = session.get_bind().dialect.name != "sqlite"
        self.loans: dict[int, Loan] = {}  # item id -> its open loan
        self.last_lent: dict[int, dt.datetime] = {}
        self.in_transit: set[int] = set()  # item ids
        self.held_titles: set[int] = set()
        self.touched: set[int] = set()  # items an applied action checked out or in
        self._read_patrons(sorted({_key(op.cardnumber) for op in operations} - {""}))
        self._read_items(sorted({_key(op.barcode) for op in operations} - {""}))

    def _read_patrons(self, cards: list[str]) -> None:
        patrons = self._rows(Patron, or_(Patron.cardnumber.in_(cards), Patron.userid.in_(cards)),
                             selectinload(Patron.restrictions)) if cards else []
        # By card number, else by username (as at the desk).
        self.patrons = {p.userid: p for p in patrons if p.userid} | {p.cardnumber: p for p in patrons if p.cardnumber}
        patron_ids = sorted({p.id for p in patrons})
        fines.read_balances(self.session, patron_ids)  # each checkout weighs the patron's fines
        self.loan_counts = dict.fromkeys(patron_ids, 0) | dict(self.session.execute(
            select(Loan.patron_id, func.count()).where(Loan.patron_id.in_(patron_ids))
            .group_by(Loan.patron_id)).all()) if patron_ids else {}

    def _read_items(self, barcodes: list[str]) -> None:
        self.items = {i.barcode: i for i in self._rows(
            Item, Item.barcode.in_(barcodes), joinedload(Item.title))} if barcodes else {}
        item_ids = sorted(i.id for i in self.items.values())
        if not item_ids:
            return
        loans = (select(Loan).where(Loan.item_id.in_(item_ids)).options(joinedload(Loan.patron))
                 .execution_options(populate_existing=True))
        if self._lock:
            loans = loans.with_for_update(of=Loan, key_share=True)
        self.loans = {loan.item_id: loan for loan in self.session.scalars(loans)}
        self.last_lent = dict(self.session.execute(
            select(LoanHistory.item_id, func.max(LoanHistory.issued_at))
            .where(LoanHistory.item_id.in_(item_ids)).group_by(LoanHistory.item_id)).all())
        self.in_transit = set(self.session.scalars(select(ItemTransfer.item_id).distinct().where(
            ItemTransfer.item_id.in_(item_ids), ItemTransfer.arrived_at.is_(None),
            ItemTransfer.cancelled_at.is_(None))))
        title_ids = sorted({i.title_id for i in self.items.values()})
        self.held_titles = set(self.session.scalars(select(Hold.title_id).distinct().where(
            Hold.title_id.in_(title_ids), Hold.status.in_(LIVE_STATUSES))))

    def _rows(self, model: type[Patron] | type[Item], where, load) -> list:
        """Read afresh (rows a session kept from an earlier batch may be out of date)."""
        stmt = select(model).where(where).order_by(model.id).options(load).execution_options(populate_existing=True)
        if self._lock:
            stmt = stmt.with_for_update(of=model, key_share=True)
        return list(self.session.scalars(stmt).unique())

    def patron(self, card: str | None) -> Patron | None:
        return self.patrons.get(_key(card))

    def item(self, barcode: str | None) -> Item | None:
        return self.items.get(_key(barcode))

    def open_loan(self, item: Item) -> Loan | None:
        return self.loans.get(item.id)

    def locked(self, item: Item, patron: Patron | None = None) -> Locked:
        """What a checkout (by ``patron``) or check-in of the item would otherwise lock and read
        again. Whether the item is in transit is known until an action of the batch checked it
        out or in (a check-in may send it somewhere). The writes wait for the batch's flush."""
        return Locked(loan=self.open_loan(item),
                      patron_loans=self.loan_counts.get(patron.id) if patron is not None else None,
                      in_transit=None if item.id in self.touched else item.id in self.in_transit,
                      title_held=item.title_id in self.held_titles, flush=False)

    def lent_after(self, item: Item, at: dt.datetime) -> dt.datetime | None:
        """When a finished loan of the item began, if one began after ``at``."""
        lent = self.last_lent.get(item.id)
        return lent if lent is not None and lent > at else None

    def settle(self, op: PendingOfflineOperation, new_loan: Loan | None) -> None:
        """An action was applied (its savepoint released): its item's open loan changed, and so
        did the loan counts of the patrons concerned."""
        item = self.item(op.barcode)
        if item is None or op.action is OfflineAction.PAYMENT:
            return
        self.touched.add(item.id)
        ended = self.loans.pop(item.id, None)  # returned, or checked in before the checkout
        if ended is not None and ended.patron_id in self.loan_counts:
            self.loan_counts[ended.patron_id] -= 1
        if op.action is OfflineAction.ISSUE and new_loan is not None:
            self.loans[item.id] = new_loan
            if new_loan.patron_id in self.loan_counts:
                self.loan_counts[new_loan.patron_id] += 1
