"""Patron accounts: debits (fines, fees) with their CREATE offsets and, for some, payments or
write-offs applied to them (credit line, CREATE offset, APPLY offset), as Koha records them.

Signs follow Koha: debits positive, credits negative; a credit's CREATE offset is negative and
an APPLY offset is the (negative) amount taken off the debit."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from app.models import AccountLine, AccountOffset

from . import words as W
from .state import SeedState
from .writer import BulkWriter, Progress

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class Ledger:
    def __init__(self, writer: BulkWriter, state: SeedState):
        self.writer, self.state = writer, state
        self.lines, self.offsets = AccountLine.__table__, AccountOffset.__table__

    def _line(self, **values) -> int:
        line_id = self.state.next_account_line_id
        self.state.next_account_line_id += 1
        row = dict(id=line_id, patron_id=None, item_id=None, loan_id=None, library_code=None, debit_type=None,
                   credit_type=None, status=None, amount=None, amount_outstanding=ZERO, description=None,
                   note=None, payment_type=None, actor_id=None, transaction_ref=None)
        row.update(values)
        row["updated_at"] = row["created_at"]
        self.writer.add(self.lines, row)
        return line_id

    def _offset(self, credit_id: int | None, debit_id: int | None, kind: str, amount: Decimal, at: dt.datetime) -> None:
        self.writer.add(self.offsets, dict(credit_id=credit_id, debit_id=debit_id, kind=kind, amount=amount, created_at=at))

    def charge(self, rng: random.Random, *, patron_id: int, debit_type: str, amount: Decimal, at: dt.datetime,
               library: str, description: str, paid: Decimal = ZERO, settle: str = "PAYMENT",
               item_id: int | None = None, loan_id: int | None = None, status: str | None = None,
               actor_id: int | None = None) -> int:
        """A debit, and when ``paid`` > 0 a credit of ``settle`` type applied to it."""
        amount = amount.quantize(CENT)
        paid = min(paid.quantize(CENT), amount)
        debit_id = self._line(patron_id=patron_id, item_id=item_id, loan_id=loan_id, library_code=library,
                              debit_type=debit_type, status=status, amount=amount, amount_outstanding=amount - paid,
                              description=description, actor_id=actor_id, created_at=at)
        self._offset(None, debit_id, "CREATE", amount, at)
        if paid > ZERO:
            when = min(at + dt.timedelta(days=rng.uniform(0.01, 40)), self.state.now)
            payment_type = rng.choice(("CASH", "CASH", "CARD", "SIP00")) if settle == "PAYMENT" else None
            credit_id = self._line(patron_id=patron_id, library_code=library, credit_type=settle, amount=-paid,
                                   description="Payment" if settle == "PAYMENT" else "Written off",
                                   payment_type=payment_type, actor_id=actor_id, created_at=when,
                                   note="Paid at the self-check" if payment_type == "SIP00" else None)
            self._offset(credit_id, None, "CREATE", -paid, when)
            self._offset(credit_id, debit_id, "APPLY", -paid, when)
        return debit_id

    def settle_share(self, rng: random.Random, amount: Decimal) -> tuple[Decimal, str]:
        """How much of a finished fine was paid: most fully, some partly, a few written off."""
        roll = rng.random()
        if roll < 0.55:
            return amount, "PAYMENT"
        if roll < 0.72:
            return (amount * Decimal(rng.choice(("0.25", "0.5", "0.75")))).quantize(CENT), "PAYMENT"
        if roll < 0.78:
            return amount, "WRITEOFF"
        return ZERO, "PAYMENT"


def seed_manual_fees(writer: BulkWriter, state: SeedState, echo) -> None:
    """MANUAL fees and a few new-card charges on random public patrons, about half paid."""
    rng = state.rng("fees")
    ledger = Ledger(writer, state)
    total = max(state.size.patrons // 40, 10)
    progress = Progress(echo, "fees", total, writer.counts)
    libraries = [lib.code for lib in state.libraries]
    for n in range(total):
        patron_id = state.pick_public_patron(rng)
        library = libraries[state.patron_library[patron_id]]
        staff = state.staff_by_library[library]
        at = state.days_ago(rng.random() ** 1.5 * 500)
        if rng.random() < 0.15:
            debit_type, description, amount = "NEW_CARD", "Replacement library card", Decimal("2.00")
        else:
            description, price = rng.choice(W.MANUAL_FEES)
            debit_type, amount = "MANUAL", Decimal(price) * rng.choice((1, 1, 1, 2, 3))
        paid, settle = ledger.settle_share(rng, amount)
        ledger.charge(rng, patron_id=patron_id, debit_type=debit_type, amount=amount, at=at, library=library,
                      description=description, paid=paid, settle=settle, actor_id=rng.choice(staff))
        writer.ready()
        progress.tick(n + 1)
    writer.flush()
    progress.done(writer.counts, ("account_lines", "account_offsets"))
