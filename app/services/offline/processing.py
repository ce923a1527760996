"""Applying pending offline actions, exactly.

- **Time order across every source**: actions are applied by the moment they happened (then
  by upload order), whatever file or workstation they came from.
- **Through the circulation services**: a checkout is ``check_out(no_block=True)`` at the
  offline time, with the due date the librarian chose (the browser page) or the rules' due date
  at that time (.koc files carry none); a return is ``check_in(returned_at=...)``, so fines
  are priced at the return time and holds are trapped as at any check-in; a payment is
  ``pay_fees`` with the action's fingerprint as its transaction reference.
- **Conflicts are decided by time, never silently**: a checkout of an item on loan to someone
  else checks it in first only if that loan started earlier; a loan that started later (open,
  or already in history) wins and the checkout fails. A return older than the current loan
  leaves it open. An item already on loan to the same patron is never renewed. Each action
  ends ``applied`` or ``failed`` with a stable ``outcome`` code and a sentence saying why;
  failed actions stay in the queue for staff to retry or delete.
- **An action that fails half-way (or raises) leaves nothing behind** and never spoils the
  others. A batch runs in one savepoint while each of its actions is applied or refused before
  anything is written (the usual case: a savepoint per action would cost two statements
  each); when one fails after writing or raises, the batch is undone and applied again with a
  savepoint per action, so that only that action is undone.
- **Batches**: the boundary may pass ``checkpoint`` (its commit): it is called after every
  ``batch_size`` actions, so a 10,000-line file holds no locks for minutes, keeps the session
  small, and an interrupted run resumes where it stopped (applied actions are no longer
  pending). The service itself never commits. A batch reads up front what its actions would
  otherwise each read (``batch.Lookups``), leaves their writes to one flush at its end, and
  writes its verdicts on the pending rows in one statement."""
from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.models import Loan, OfflineAction, OfflineStatus, Patron, PendingOfflineOperation
from app.services import fines
from app.services.activity import record_activity
from app.services.circulation import check_in, check_out
from app.services.circulation.outcomes import Kind, Outcome

from .batch import Lookups

log = logging.getLogger("carrel.offline")

DEFAULT_BATCH = 200
ID_CHUNK = 500


class OfflineOutcome(enum.StrEnum):
    CHECKED_OUT = "checked_out"
    CHECKED_IN = "checked_in"
    PAID = "paid"
    PATRON_NOT_FOUND = "patron_not_found"
    ITEM_NOT_FOUND = "item_not_found"
    NOT_ON_LOAN = "not_on_loan"
    ALREADY_ON_LOAN_TO_PATRON = "already_on_loan_to_patron"
    LENT_LATER = "lent_later"
    RETURN_BEFORE_LOAN = "return_before_loan"
    CHECKOUT_REFUSED = "checkout_refused"
    PAYMENT_REFUSED = "payment_refused"
    ALREADY_PAID = "already_paid"
    ERROR = "error"


@dataclass(frozen=True)
class Verdict:
    applied: bool
    outcome: OfflineOutcome
    message: str
    loan_id: int | None = None  # a check-in's loan
    loan: Loan | None = field(default=None, compare=False, repr=False)  # a checkout's new loan (its id once flushed)

    @property
    def recorded_loan_id(self) -> int | None:
        return self.loan.id if self.loan is not None else self.loan_id


@dataclass(frozen=True)
class ActionResult:
    """What happened to one action (kept on its row too)."""

    operation_id: int
    status: OfflineStatus
    outcome: str
    message: str
    source: str
    line_number: int | None

    @property
    def where(self) -> str:
        return f"line {self.line_number}" if self.line_number is not None else f"action {self.operation_id}"


@dataclass
class ProcessingSummary:
    results: list[ActionResult] = field(default_factory=list)
    skipped: int = 0  # selected but already applied, or being processed by someone else

    @property
    def applied(self) -> int:
        return sum(1 for r in self.results if r.status is OfflineStatus.APPLIED)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status is OfflineStatus.FAILED)

    @property
    def failures(self) -> list[ActionResult]:
        return [r for r in self.results if r.status is OfflineStatus.FAILED]


def _when(moment: dt.datetime) -> str:
    return clock.local(moment).strftime("%Y-%m-%d %H:%M:%S")


def _day(moment: dt.datetime) -> str:
    return clock.local(moment).date().isoformat()


def _failed(outcome: OfflineOutcome, message: str) -> Verdict:
    return Verdict(False, outcome, message)


def _notes(outcome: Outcome) -> str:
    parts = [m.text for m in outcome.messages if m.kind is Kind.ALERT]
    if outcome.overridden:
        parts.append("Went past: " + " ".join(m.text for m in outcome.overridden))
    return (" " + " ".join(parts)) if parts else ""


def _patron_label(patron: Patron) -> str:
    return f"{patron.full_name} ({patron.cardnumber or patron.userid})"


def _issue(session: Session, op: PendingOfflineOperation, actor: Patron | None, found: Lookups) -> Verdict:
    patron = found.patron(op.cardnumber)
    if patron is None:
        return _failed(OfflineOutcome.PATRON_NOT_FOUND, f"No patron has card number {op.cardnumber}.")
    item = found.item(op.barcode)
    if item is None:
        return _failed(OfflineOutcome.ITEM_NOT_FOUND, f"No item has barcode {op.barcode}.")
    at = op.occurred_at
    current = found.open_loan(item)
    if current is not None and current.patron_id == patron.id:
        return _failed(OfflineOutcome.ALREADY_ON_LOAN_TO_PATRON,
                       f"Already on loan to this patron since {_when(current.issued_at)}: "
                       "an offline checkout never renews, nothing changed.")
    if current is not None and current.issued_at >= at:
        return _failed(OfflineOutcome.LENT_LATER,
                       f"On loan to {_patron_label(current.patron)} since {_when(current.issued_at)}, "
                       f"after this checkout ({_when(at)}): nothing changed.")
    later = found.lent_after(item, at)
    if later is not None:
        return _failed(OfflineOutcome.LENT_LATER,
                       f"The item was lent again at {_when(later)}, after this checkout ({_when(at)}), "
                       "so it must have come back already: nothing changed.")
    due_at, note = op.due_at, ""
    if due_at is not None and due_at < at:
        due_at, note = None, f" The due date chosen offline ({_day(op.due_at)}) was before the checkout: the rules' due date was used."
    outcome = check_out(session, patron, item, op.library_code or item.holding_library_code, actor,
                        no_block=True, checked_out_at=at, due_at=due_at, channel="offline",
                        barcode=op.barcode, card=op.cardnumber, locked=found.locked(item, patron))
    if not outcome.ok:
        return _failed(OfflineOutcome.CHECKOUT_REFUSED, " ".join(m.text for m in outcome.blocks) or "Refused.")
    record_activity(session, patron.id, "offline", at)
    return Verdict(True, OfflineOutcome.CHECKED_OUT,
                   f"Checked out to {_patron_label(patron)} at {_when(at)}, due {_day(outcome.loan.due_at)}."
                   + note + _notes(outcome), loan=outcome.loan)


def _return(session: Session, op: PendingOfflineOperation, actor: Patron | None, found: Lookups) -> Verdict:
    item = found.item(op.barcode)
    if item is None:
        return _failed(OfflineOutcome.ITEM_NOT_FOUND, f"No item has barcode {op.barcode}.")
    at = op.occurred_at
    loan = found.open_loan(item)
    if loan is None:
        return _failed(OfflineOutcome.NOT_ON_LOAN, "The item is not on loan: nothing to check in.")
    if at < loan.issued_at:
        return _failed(OfflineOutcome.RETURN_BEFORE_LOAN,
                       f"The current loan to {_patron_label(loan.patron)} began at {_when(loan.issued_at)}, after "
                       f"this return ({_when(at)}): the loan stays open.")
    loan_id, patron = loan.id, loan.patron
    outcome = check_in(session, item, op.library_code or loan.library_code, actor, returned_at=at, barcode=op.barcode,
                       locked=found.locked(item))
    record_activity(session, patron.id, "offline", at)
    return Verdict(True, OfflineOutcome.CHECKED_IN,
                   f"Checked in from {_patron_label(patron)} at {_when(at)}." + _notes(outcome), loan_id=loan_id)


def _payment(session: Session, op: PendingOfflineOperation, actor: Patron | None, found: Lookups) -> Verdict:
    patron = found.patron(op.cardnumber)
    if patron is None:
        return _failed(OfflineOutcome.PATRON_NOT_FOUND, f"No patron has card number {op.cardnumber}.")
    try:
        paid = fines.pay_fees(session, patron, op.amount if op.amount is not None else "", "cash", actor,
                              library_code=op.library_code, transaction_ref=f"offline:{op.fingerprint}",
                              note=f"Offline payment at {_when(op.occurred_at)} ({op.source})", channel="offline")
    except fines.FeeRefused as refused:
        return _failed(OfflineOutcome.PAYMENT_REFUSED, str(refused))
    if paid.repeated:
        return _failed(OfflineOutcome.ALREADY_PAID, "This payment was recorded before: nothing paid twice.")
    left = f", {fines.money(paid.unapplied)} left as credit" if paid.unapplied > 0 else ""
    return Verdict(True, OfflineOutcome.PAID, f"Paid {fines.money(op.amount)} for {_patron_label(patron)}{left}.")


APPLY: dict[OfflineAction, Callable[[Session, PendingOfflineOperation, Patron | None, Lookups], Verdict]] = {
    OfflineAction.ISSUE: _issue, OfflineAction.RETURN: _return, OfflineAction.PAYMENT: _payment,
}


def _verdict(session: Session, op: PendingOfflineOperation, actor: Patron | None, found: Lookups) -> Verdict:
    """Apply one action in a savepoint: applied, or failed with nothing changed."""
    try:
        with session.begin_nested():
            verdict = APPLY[op.action](session, op, actor, found)
            if not verdict.applied:
                raise _Undo(verdict)
    except _Undo as undo:
        return undo.verdict
    except Exception as error:  # one broken action must not stop the run; the log has the trace
        log.exception("offline action %s could not be applied", op.id)
        return _failed(OfflineOutcome.ERROR, f"Unexpected error ({type(error).__name__}): nothing changed.")
    found.settle(op, verdict.loan)
    return verdict


def _row_values(verdict: Verdict, actor: Patron | None) -> dict:
    return {"status": OfflineStatus.APPLIED if verdict.applied else OfflineStatus.FAILED,
            "outcome": verdict.outcome.value, "result": verdict.message, "loan_id": verdict.recorded_loan_id,
            "processed_at": clock.now(), "processed_by_id": actor.id if actor is not None else None}


def _result(op: PendingOfflineOperation) -> ActionResult:
    return ActionResult(op.id, op.status, op.outcome, op.result, op.source, op.line_number)


_OPERATIONS = PendingOfflineOperation.__table__
_RECORD_VERDICT = (update(_OPERATIONS).where(_OPERATIONS.c.id == bindparam("op_id"))
                   .values({key: bindparam(f"new_{key}", type_=_OPERATIONS.c[key].type)
                            for key in ("status", "outcome", "result", "loan_id", "processed_at", "processed_by_id")}))


def _record_verdicts(session: Session, done: list[tuple[PendingOfflineOperation, dict]]) -> None:
    """The batch's verdicts on their rows in one statement; the loaded rows show them too."""
    if not done:
        return
    for op, values in done:
        for key, value in values.items():
            set_committed_value(op, key, value)
    session.execute(_RECORD_VERDICT, [{"op_id": op.id, **{f"new_{key}": value for key, value in values.items()}}
                                      for op, values in done])


class _Undo(Exception):
    """Roll a failed action's savepoint back (a refused checkout may have written an audit row)."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict


def ordered_operation_ids(session: Session, ids: Iterable[int] | None = None, *,
                          include_failed: bool = True) -> list[int]:
    """The actions still to apply, by the moment they happened, then upload order."""
    statuses = [OfflineStatus.PENDING, OfflineStatus.FAILED] if include_failed else [OfflineStatus.PENDING]
    base = select(PendingOfflineOperation.id, PendingOfflineOperation.occurred_at).where(
        PendingOfflineOperation.status.in_(statuses))
    if ids is None:
        rows = list(session.execute(base))
    else:
        wanted = sorted(set(ids))
        rows = []
        for start in range(0, len(wanted), ID_CHUNK):
            rows.extend(session.execute(base.where(PendingOfflineOperation.id.in_(wanted[start:start + ID_CHUNK]))))
    return [row.id for row in sorted(rows, key=lambda r: (r.occurred_at, r.id))]


def _locked_batch(session: Session, ids: Sequence[int]) -> list[PendingOfflineOperation]:
    """The batch's actions still not applied, locked (others processing them are skipped)."""
    stmt = (select(PendingOfflineOperation)
            .where(PendingOfflineOperation.id.in_(ids), PendingOfflineOperation.status != OfflineStatus.APPLIED)
            .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    return sorted(session.scalars(stmt), key=lambda op: (op.occurred_at, op.id))


def process_offline_operations(session: Session, actor: Patron | None, *, ids: Iterable[int] | None = None,
                               include_failed: bool = True, batch_size: int = DEFAULT_BATCH,
                               checkpoint: Callable[[], None] | None = None) -> ProcessingSummary:
    """Apply the chosen actions (every pending and failed one when ``ids`` is None) in time
    order, each applied or failed as if in its own savepoint. ``actor`` is the staff member
    processing them (the uploader when None). ``checkpoint`` is called after each batch (the
    boundary's commit)."""
    summary = ProcessingSummary()
    ordered = ordered_operation_ids(session, ids, include_failed=include_failed)
    if ids is not None:
        summary.skipped = len(set(ids)) - len(ordered)
    uploaders: dict[int, Patron | None] = {}
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start:start + batch_size]
        operations = _locked_batch(session, batch)
        summary.skipped += len(batch) - len(operations)
        actors = [actor or _uploader(session, op, uploaders) for op in operations]
        done = _apply_batch(session, operations, actors)
        _record_verdicts(session, done)
        summary.results.extend(_result(op) for op, _values in done)
        session.flush()
        if checkpoint is not None:
            checkpoint()
    return summary


# Failures the handlers decide before calling any service: nothing was written.
_REFUSED_BEFORE_WRITING = frozenset({
    OfflineOutcome.PATRON_NOT_FOUND, OfflineOutcome.ITEM_NOT_FOUND, OfflineOutcome.NOT_ON_LOAN,
    OfflineOutcome.ALREADY_ON_LOAN_TO_PATRON, OfflineOutcome.LENT_LATER, OfflineOutcome.RETURN_BEFORE_LOAN,
})


class _OneByOne(Exception):
    """An action failed after writing, or raised: the batch goes again, a savepoint per action."""


def _apply_batch(session: Session, operations: Sequence[PendingOfflineOperation],
                 actors: Sequence[Patron | None]) -> list[tuple[PendingOfflineOperation, dict]]:
    """The verdicts of a batch's actions, applied in order, as if each had its own savepoint."""
    try:
        with session.begin_nested():
            found, verdicts = Lookups(session, operations), []
            for op, by in zip(operations, actors):
                try:
                    verdict = APPLY[op.action](session, op, by, found)
                except Exception as error:
                    raise _OneByOne from error  # logged when it happens again, in its own savepoint
                if not verdict.applied and verdict.outcome not in _REFUSED_BEFORE_WRITING:
                    raise _OneByOne
                if verdict.applied:
                    found.settle(op, verdict.loan)
                verdicts.append(verdict)
            try:
                session.flush()  # what the actions left for the batch's flush, written together
            except Exception as error:
                raise _OneByOne from error
        return [(op, _row_values(verdict, by)) for op, verdict, by in zip(operations, verdicts, actors)]
    except _OneByOne:
        found = Lookups(session, operations)
        return [(op, _row_values(_verdict(session, op, by, found), by)) for op, by in zip(operations, actors)]


def _uploader(session: Session, op: PendingOfflineOperation, cache: dict[int, Patron | None]) -> Patron | None:
    if op.uploaded_by_id is None:
        return None
    if op.uploaded_by_id not in cache:
        cache[op.uploaded_by_id] = session.get(Patron, op.uploaded_by_id)
    return cache[op.uploaded_by_id]
