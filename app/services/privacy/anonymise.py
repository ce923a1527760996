"""Anonymising history: loan history and finished holds lose their patron (``patron_id`` NULL,
``anonymized`` set) and keep what statistics need (dates, libraries, item, patron category and
item type on loans).

Each patron's choice (``Patron.privacy``) is respected:

- keep forever: never anonymised by the retention period;
- default: anonymised once older than ``AnonymizeHistoryAfterDays``;
- never keep: loans anonymised at return (``close_loan``), filled holds when filled
  (``fill_hold_at_checkout``); cancelled and expired holds, which staff may still bring back,
  here whatever their age (the daily job); all history at once when a patron switches to it.

An anonymised hold also loses the patron's own traces: who placed it and the history entries
the patron made (cancelling it in the OPAC), not those staff made.

Work is done in bounded batches (ids first, then one UPDATE by id), so the first run over years
of history never holds the write lock long enough to delay a kiosk."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable, ContextManager

from sqlalchemy import Select, and_, case, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldHistory, HoldStatus, LoanHistory, Patron, Privacy
from app.services.audit import record_audit

FINISHED_HOLD_STATUSES = (HoldStatus.FILLED, HoldStatus.CANCELLED, HoldStatus.EXPIRED)
DEFAULT_BATCH = 2_000

_loans = LoanHistory.__table__
_holds = Hold.__table__
_history = HoldHistory.__table__


@dataclass
class AnonymisationResult:
    loans: int = 0
    holds: int = 0

    @property
    def total(self) -> int:
        return self.loans + self.holds

    def add(self, other: "AnonymisationResult") -> None:
        self.loans += other.loans
        self.holds += other.holds


def _privacy_is(value: Privacy) -> Select:
    return select(Patron.id).where(Patron.privacy == value)


def loans_to_anonymise(before: dt.datetime | None) -> Select:
    """Loan history naming a patron who keeps none (any age), or older than ``before`` for a
    patron with the default choice. ``before`` None: only the never-keep patrons' rows."""
    never = LoanHistory.patron_id.in_(_privacy_is(Privacy.NEVER_KEEP))
    condition = never if before is None else or_(
        never, and_(LoanHistory.returned_at < before, LoanHistory.patron_id.not_in(_privacy_is(Privacy.KEEP_FOREVER))))
    return select(LoanHistory.id).where(LoanHistory.patron_id.is_not(None), condition)


def holds_to_anonymise(before: dt.datetime | None) -> Select:
    """Finished holds, chosen as ``loans_to_anonymise`` chooses loans (by when they finished)."""
    never = Hold.patron_id.in_(_privacy_is(Privacy.NEVER_KEEP))
    condition = never if before is None else or_(
        never, and_(Hold.finished_at < before, Hold.patron_id.not_in(_privacy_is(Privacy.KEEP_FOREVER))))
    return select(Hold.id).where(Hold.patron_id.is_not(None), Hold.status.in_(FINISHED_HOLD_STATUSES), condition)


def anonymise_history_batch(session: Session, older_than_days: int | None, *,
                            batch_size: int = DEFAULT_BATCH, now: dt.datetime | None = None) -> AnonymisationResult:
    """Anonymise up to ``batch_size`` loans and as many finished holds that are due. ``older_than_days``
    None or 0 (the library keeps history): only never-keep patrons' rows. Returns what it did;
    call again until it returns nothing."""
    before = None if not older_than_days else (now or clock.now()) - dt.timedelta(days=older_than_days)
    loan_ids = session.scalars(loans_to_anonymise(before).order_by(LoanHistory.id).limit(batch_size)).all()
    hold_ids = session.scalars(holds_to_anonymise(before).order_by(Hold.id).limit(batch_size)).all()
    result = AnonymisationResult()
    if loan_ids:
        result.loans = session.execute(
            update(_loans).where(_loans.c.id.in_(loan_ids)).values(patron_id=None, anonymized=True)).rowcount
    if hold_ids:
        result.holds = anonymise_holds(session, _holds.c.id.in_(hold_ids))
    return result


def anonymise_holds(session: Session, which) -> int:
    """Holds matching ``which`` lose their patron, their notes, and the patron's own traces in
    them (placed by, and history entries, made by the patron themselves in the OPAC or at a
    kiosk); returns how many holds."""
    own_actions = and_(_history.c.hold_id.in_(select(_holds.c.id).where(which)),
                       _history.c.actor_id == select(_holds.c.patron_id).where(_holds.c.id == _history.c.hold_id)
                       .scalar_subquery())
    session.execute(update(_history).where(own_actions).values(actor_id=None))
    # placed_by first: MariaDB evaluates SET left to right, with the new values
    return session.execute(update(_holds).where(which).ordered_values(
        (_holds.c.placed_by_id, case((_holds.c.placed_by_id == _holds.c.patron_id, None), else_=_holds.c.placed_by_id)),
        (_holds.c.patron_id, None), (_holds.c.anonymized, True), (_holds.c.notes, None),
    )).rowcount


def audit_anonymisation(session: Session, result: AnonymisationResult, *, older_than_days: int | None,
                        actor_id: int | None, channel: str) -> None:
    """One audit entry for a whole anonymisation run: counts, never who."""
    record_audit(session, actor_id=actor_id, channel=channel, module="PRIVACY", action="ANONYMISE",
                 info={"loans": result.loans, "holds": result.holds, "older_than_days": older_than_days or 0})


def anonymise_patron_history(session: Session, patron: Patron) -> AnonymisationResult:
    """Anonymise all of one patron's loan history and finished holds (a switch to never keep)."""
    result = AnonymisationResult()
    result.loans = session.execute(update(_loans).where(_loans.c.patron_id == patron.id)
                                   .values(patron_id=None, anonymized=True)).rowcount
    result.holds = anonymise_holds(session, and_(_holds.c.patron_id == patron.id,
                                                 _holds.c.status.in_(FINISHED_HOLD_STATUSES)))
    return result


def set_privacy(session: Session, patron: Patron, privacy: Privacy | str, *, actor_id: int | None,
                channel: str) -> AnonymisationResult:
    """Record the patron's choice. Choosing never keep anonymises their history now, as Koha does."""
    choice = Privacy(privacy)
    result = AnonymisationResult()
    if patron.privacy is choice:
        return result
    patron.privacy = choice
    session.flush()
    if choice is Privacy.NEVER_KEEP:
        result = anonymise_patron_history(session, patron)
    record_audit(session, actor_id=actor_id, channel=channel, module="PATRONS", action="PRIVACY",
                 object_type="patron", object_id=patron.id, info={"privacy": choice.value, "anonymised": result.total})
    return result


def drive_anonymisation(units: Callable[[], ContextManager[Session]], older_than_days: int | None, *,
                        actor_id: int | None, channel: str, seconds: float | None = None, pause: float = 0.0,
                        batch_size: int = DEFAULT_BATCH) -> tuple[AnonymisationResult, bool]:
    """Anonymise everything due, one unit of work per batch, for at most ``seconds``; then one
    audit entry with the counts. Returns the counts and whether nothing is left to do."""
    deadline = None if seconds is None else time.monotonic() + seconds
    total, done = AnonymisationResult(), False
    while True:
        with units() as session:
            step = anonymise_history_batch(session, older_than_days, batch_size=batch_size)
        total.add(step)
        if step.loans < batch_size and step.holds < batch_size:
            done = True
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        if pause:
            time.sleep(pause)
    if total.total:
        with units() as session:
            audit_anonymisation(session, total, older_than_days=older_than_days, actor_id=actor_id, channel=channel)
    return total, done
