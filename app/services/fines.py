"""The patron account: overdue fines, manual fees, payments and write-offs.

Debits carry a positive ``amount``, credits a negative one (as in Koha); ``amount_outstanding``
is what is still owed on a debit, or still unapplied of a credit, so the balance is the sum of
``amount_outstanding``. A credit is applied to debits oldest first, each application recorded as
an ``AccountOffset``. Amounts are ``Decimal`` rounded to the cent."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session

from app import clock
from app.extensions import flush_if_pending, listen_to_every_session
from app.models import AccountLine, AccountOffset, CreditType, DebitType, Item, Loan, Patron
from app.models.base import ZERO
from app.services.audit import record_audit
from app.services.calendar import LibraryCalendar

CENT = Decimal("0.01")


class FeeRefused(ValueError):
    """A refused account action; ``code`` is stable for pages, the API and SIP2."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def to_money(value: Decimal | str | int | float) -> Decimal:
    """A positive amount rounded to the cent, or FeeRefused("invalid_amount")."""
    try:
        amount = Decimal(str(value).strip()).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise FeeRefused("invalid_amount", "Enter an amount such as 2.50.") from None
    if not amount.is_finite() or amount <= ZERO:
        raise FeeRefused("invalid_amount", "The amount must be more than zero.")
    return amount


def money(value: Decimal | None) -> str:
    return f"{(value or ZERO).quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


# --- reading the account ----------------------------------------------------------------------

def balance(session: Session, patron: Patron | int) -> Decimal:
    """What the patron owes: outstanding debits less unapplied credits.

    Read once per transaction and patron (a checkout needs it for the standing, the summary and
    the new row's renewal check), and forgotten whenever it could change: a flush writing the
    patron's account lines, any bulk statement, the end of the transaction, the end of the
    savepoint it was read in. So it is always what the query would answer."""
    session = _own(session)
    patron_id = patron if isinstance(patron, int) else patron.id
    flush_if_pending(session, AccountLine)  # pending lines count (and the flush forgets whose changed)
    if patron_id not in session.info.get(_BALANCES, {}):
        read_balances(session, [patron_id])
    return session.info[_BALANCES][patron_id][0]


def _own(session: Session) -> Session:
    """The request's own session behind a scoped one: its info and transactions."""
    return session() if isinstance(session, scoped_session) else session


def read_balances(session: Session, patron_ids: Iterable[int]) -> None:
    """Read several patrons' balances in one statement, remembered as ``balance`` remembers
    one (a batch of offline actions reads those of every patron it names up front)."""
    wanted = sorted(set(patron_ids))
    if not wanted:
        return
    session = _own(session)
    flush_if_pending(session, AccountLine)
    known: dict[int, tuple[Decimal, object]] = session.info.setdefault(_BALANCES, {})
    totals = dict(session.execute(select(AccountLine.patron_id, func.sum(AccountLine.amount_outstanding))
                                  .where(AccountLine.patron_id.in_(wanted)).group_by(AccountLine.patron_id)).all())
    savepoint = session.get_nested_transaction()
    for patron_id in wanted:
        known[patron_id] = (Decimal(totals.get(patron_id) or 0).quantize(CENT, rounding=ROUND_HALF_UP), savepoint)


# session.info: patron id -> (balance, the savepoint it was read in or None) for this transaction
_BALANCES = "carrel_fines_balances"


def install() -> None:
    """Forget remembered balances whenever they could change (once per process; called by
    ``create_app``, before any unit of work reads a balance)."""
    listen_to_every_session(("before_flush", _forget_on_flush), ("do_orm_execute", _forget_on_bulk_statement),
                            ("after_transaction_end", _forget_at_transaction_end))


def _forget_on_flush(session: Session, _flush_context, _instances) -> None:
    """Forget the balances of the patrons whose account lines are about to be written."""
    known = session.info.get(_BALANCES)
    if not known:
        return
    for rows in (session.new, session.dirty, session.deleted):
        for row in rows:
            if isinstance(row, AccountLine):
                known.pop(row.patron_id, None)
                known.pop(inspect(row).committed_state.get("patron_id"), None)  # a line moved to another patron


def _forget_on_bulk_statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and state.session.info.get(_BALANCES):
        state.session.info.pop(_BALANCES)  # whatever the table: a cascade or a trigger may reach the account


def _forget_at_transaction_end(session: Session, transaction) -> None:
    known = session.info.get(_BALANCES)
    if not known:
        return
    if transaction.parent is None:
        session.info.pop(_BALANCES)
    elif transaction.nested:  # a savepoint rolled back takes with it what was read inside it
        for patron_id in [p for p, (_value, savepoint) in known.items() if savepoint is transaction]:
            del known[patron_id]


def account_lines(patron: Patron):
    """Every line of the patron's account, newest first."""
    return (select(AccountLine).where(AccountLine.patron_id == patron.id)
            .order_by(AccountLine.created_at.desc(), AccountLine.id.desc()))


def outstanding_debits(patron: Patron):
    """Debits still owed, oldest first: the order payments are applied in."""
    return (select(AccountLine)
            .where(AccountLine.patron_id == patron.id, AccountLine.debit_type.is_not(None),
                   AccountLine.amount_outstanding > 0)
            .order_by(AccountLine.created_at, AccountLine.id))


# --- overdue fines ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FinePolicy:
    """The rules that price an overdue loan. ``calendar_library`` set: its closed days are not
    charged; None: every day is."""

    per_day: Decimal
    cap: Decimal | None
    grace_days: int
    calendar_library: str | None


@dataclass(frozen=True)
class FineCalculation:
    days_late: int
    chargeable_days: int
    amount: Decimal


def calculate_overdue_fine(session: Session, due_at: dt.datetime, returned_at: dt.datetime,
                           policy: FinePolicy) -> FineCalculation:
    """Days late are counted in library-local dates. Once the chargeable days pass the grace
    period (``firstremind``) every chargeable day is fined, as in Koha; the total is capped at
    ``overduefinescap`` when that is more than zero."""
    if returned_at <= due_at:
        return FineCalculation(0, 0, ZERO)
    due_day, return_day = clock.local(due_at).date(), clock.local(returned_at).date()
    days_late = max((return_day - due_day).days, 0)
    if policy.calendar_library is None:
        chargeable = days_late
    else:
        chargeable = LibraryCalendar(session, policy.calendar_library).open_days_between(due_day, return_day)
    if chargeable <= policy.grace_days:
        return FineCalculation(days_late, chargeable, ZERO)
    amount = (policy.per_day * chargeable).quantize(CENT, rounding=ROUND_HALF_UP)
    if policy.cap is not None and policy.cap > ZERO and amount > policy.cap:
        amount = policy.cap.quantize(CENT, rounding=ROUND_HALF_UP)
    return FineCalculation(days_late, chargeable, amount)


def charge_overdue_fine(session: Session, loan: Loan, returned_at: dt.datetime, policy: FinePolicy,
                        *, library_code: str | None, actor: Patron | None, status: str = "returned",
                        ) -> tuple[AccountLine | None, FineCalculation]:
    """Charge the loan's overdue fine as one OVERDUE line with ``status`` ("returned" at
    check-in, "renewed" at renewal). An "accruing" line a nightly job may have started for this
    loan is finalised instead of charged twice."""
    calculation = calculate_overdue_fine(session, loan.due_at, returned_at, policy)
    # Only a loan overdue by now can have one (even when returned, backdated, before it fell due).
    accruing = session.scalar(select(AccountLine).where(
        AccountLine.loan_id == loan.id, AccountLine.debit_type == DebitType.OVERDUE,
        AccountLine.status == "accruing")) if loan.due_at < clock.now() else None
    if accruing is not None:
        paid = accruing.amount - accruing.amount_outstanding
        accruing.amount = max(calculation.amount, paid)
        accruing.amount_outstanding = accruing.amount - paid
        accruing.status = status
        session.flush()
        return accruing, calculation
    if calculation.amount <= ZERO:
        return None, calculation
    item: Item = loan.item
    line = AccountLine(
        patron_id=loan.patron_id, item_id=loan.item_id, loan_id=loan.id, library_code=library_code,
        debit_type=DebitType.OVERDUE, status=status, amount=calculation.amount,
        amount_outstanding=calculation.amount, actor_id=actor.id if actor else None,
        description=f"Overdue: {item.title.full_title} ({item.barcode}), due {clock.local(loan.due_at).date().isoformat()}, "
                    f"{calculation.days_late} day(s) late",
    )
    session.add(line)
    session.flush()
    session.add(AccountOffset(debit_id=line.id, kind="CREATE", amount=line.amount))
    session.flush()
    return line, calculation


# --- fees, payments, write-offs ---------------------------------------------------------------

def add_manual_fee(session: Session, patron: Patron, amount: Decimal | str, actor: Patron | None, *,
                   description: str, debit_type: DebitType = DebitType.MANUAL, item: Item | None = None,
                   library_code: str | None = None, note: str | None = None, channel: str = "staff") -> AccountLine:
    """Charge a fee staff typed in (or another service decided on)."""
    value = to_money(amount)
    line = AccountLine(patron_id=patron.id, item_id=item.id if item else None, library_code=library_code,
                       debit_type=debit_type, amount=value, amount_outstanding=value,
                       description=description.strip() or debit_type.value.title(), note=note,
                       actor_id=actor.id if actor else None)
    session.add(line)
    session.flush()
    session.add(AccountOffset(debit_id=line.id, kind="CREATE", amount=value))
    _audit(session, actor, channel, "FEE", patron, line)
    return line


def _audit(session: Session, actor: Patron | None, channel: str, action: str, patron: Patron, line: AccountLine) -> None:
    session.flush()
    record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="FINES", action=action,
                 object_type="account_line", object_id=line.id,
                 info={"patron_id": patron.id, "amount": money(abs(line.amount))})


@dataclass
class CreditOutcome:
    """A payment or write-off: the credit line, what it paid off, and what is left unapplied."""

    credit: AccountLine
    applied: list[tuple[AccountLine, Decimal]] = field(default_factory=list)
    unapplied: Decimal = ZERO
    repeated: bool = False  # the transaction reference had been seen: nothing new was done


def _lock_patron(session: Session, patron: Patron) -> None:
    """One account change at a time per patron (a row lock where the database has them)."""
    session.execute(select(Patron.id).where(Patron.id == patron.id).with_for_update(key_share=True))


def _locked_debits(session: Session, patron: Patron, debit_ids: Iterable[int] | None) -> list[AccountLine]:
    stmt = outstanding_debits(patron).with_for_update(key_share=True)
    debits = list(session.scalars(stmt.execution_options(populate_existing=True)))
    if debit_ids is None:
        return debits
    wanted = set(debit_ids)
    chosen = [d for d in debits if d.id in wanted]
    if len(chosen) != len(wanted):
        raise FeeRefused("unknown_debit", "A chosen fee is not owed by this patron.")
    return chosen


def _apply_credit(session: Session, credit: AccountLine, debits: list[AccountLine],
                  available: Decimal) -> CreditOutcome:
    outcome = CreditOutcome(credit=credit)
    for debit in debits:
        if available <= ZERO:
            break
        part = min(available, debit.amount_outstanding)
        debit.amount_outstanding -= part
        available -= part
        outcome.applied.append((debit, part))
        session.add(AccountOffset(credit_id=credit.id, debit_id=debit.id, kind="APPLY", amount=-part))
    credit.amount_outstanding = -available
    outcome.unapplied = available
    session.flush()
    return outcome


def pay_fees(session: Session, patron: Patron, amount: Decimal | str, payment_type: str,
             actor: Patron | None, *, library_code: str | None = None, note: str | None = None,
             transaction_ref: str | None = None, debit_ids: Iterable[int] | None = None,
             channel: str = "staff") -> CreditOutcome:
    """Record a payment and apply it to the outstanding debits oldest first (or to the chosen
    ones); anything left over stays on the account as credit. A repeated ``transaction_ref``
    (a SIP2 fee-paid resent, an offline file uploaded twice) pays nothing twice."""
    value = to_money(amount)
    if transaction_ref:
        earlier = session.scalar(select(AccountLine).where(AccountLine.transaction_ref == transaction_ref))
        if earlier is not None:
            return CreditOutcome(credit=earlier, unapplied=-earlier.amount_outstanding, repeated=True)
    _lock_patron(session, patron)
    debits = _locked_debits(session, patron, debit_ids)
    credit = AccountLine(patron_id=patron.id, library_code=library_code, credit_type=CreditType.PAYMENT,
                         amount=-value, amount_outstanding=-value, payment_type=(payment_type or "cash")[:32],
                         description="Payment", note=note, transaction_ref=transaction_ref,
                         actor_id=actor.id if actor else None)
    session.add(credit)
    session.flush()
    session.add(AccountOffset(credit_id=credit.id, kind="CREATE", amount=-value))
    _audit(session, actor, channel, "PAYMENT", patron, credit)
    return _apply_credit(session, credit, debits, value)


def write_off_fees(session: Session, patron: Patron, actor: Patron | None, *,
                   debit_ids: Iterable[int] | None = None, library_code: str | None = None,
                   note: str | None = None, channel: str = "staff") -> CreditOutcome:
    """Write off the chosen debits in full (every outstanding debit when none are chosen)."""
    _lock_patron(session, patron)
    debits = _locked_debits(session, patron, debit_ids)
    total = sum((d.amount_outstanding for d in debits), ZERO)
    if total <= ZERO:
        raise FeeRefused("nothing_to_write_off", "Nothing is owed to write off.")
    credit = AccountLine(patron_id=patron.id, library_code=library_code, credit_type=CreditType.WRITEOFF,
                         amount=-total, amount_outstanding=-total, description="Write-off", note=note,
                         actor_id=actor.id if actor else None)
    session.add(credit)
    session.flush()
    session.add(AccountOffset(credit_id=credit.id, kind="CREATE", amount=-total))
    _audit(session, actor, channel, "WRITEOFF", patron, credit)
    return _apply_credit(session, credit, debits, total)
