"""The notices a clock triggers (Koha's holds_reminder.pl, advance_notices.pl and
overdue_notices.pl in one pass): reminders for holds waiting on the shelf, loans due soon, and
overdue notices at up to three levels by the circulation rules. Every loan or hold is told once
per event (and due date), so running the job again queues nothing new."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app import clock
from app.models import Hold, HoldStatus, Item, Loan, NoticeLoan, Patron
from app.services.rules import effective_rules
from app.services.settings import get_preference

from .events import MAX_DAYS_IN_ADVANCE, OVERDUE_EVENTS
from .preferences import patron_choices
from .queueing import email_of, hold_reminder, loans_notice

OVERDUE_RULES = ["overdue_delay1", "overdue_delay2", "overdue_delay3"]
CHUNK = 500


@dataclass
class ScheduledCount:
    reminders: int = 0
    due_soon: int = 0
    overdue: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.due_soon + self.overdue


def _start_of(day: dt.date) -> dt.datetime:
    """The UTC instant a library-local day starts."""
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.timezone()).astimezone(dt.timezone.utc)


def queue_hold_reminders(session: Session, on: dt.date) -> int:
    """HOLD_REMINDER for holds on the pickup shelf for ``HoldReminderDays`` days or more."""
    days = get_preference(session, "HoldReminderDays")
    if not days:
        return 0
    cutoff = _start_of(on - dt.timedelta(days=days - 1))
    holds = session.scalars(select(Hold).where(
        Hold.status.in_((HoldStatus.PULLED, HoldStatus.LONG_WAITING)), Hold.waiting_since < cutoff,
        Hold.patron_id.is_not(None)).order_by(Hold.id))
    return sum(hold_reminder(session, hold) is not None for hold in holds.all())


def _untold_loans(session: Session, event_names: tuple[str, ...], *conditions):
    told = select(NoticeLoan.id).where(NoticeLoan.loan_id == Loan.id, NoticeLoan.due_at == Loan.due_at,
                                       NoticeLoan.event.in_(event_names))
    return (select(Loan).where(*conditions, ~told.exists())
            .options(selectinload(Loan.item).selectinload(Item.title), selectinload(Loan.patron))
            .order_by(Loan.patron_id, Loan.due_at, Loan.id))


def queue_due_soon(session: Session, on: dt.date) -> int:
    """PREDUE: each patron's loans due within their Advance_Notice days, one notice per patron."""
    loans = session.scalars(_untold_loans(session, ("PREDUE",), Loan.due_at >= _start_of(on),
                                          Loan.due_at < _start_of(on + dt.timedelta(days=MAX_DAYS_IN_ADVANCE + 1))))
    by_patron: dict[int, list[Loan]] = defaultdict(list)
    for loan in loans:
        by_patron[loan.patron_id].append(loan)
    count = 0
    for loans_of_patron in by_patron.values():
        patron: Patron = loans_of_patron[0].patron
        if email_of(patron) is None:
            continue
        choice = patron_choices(session, patron)["Advance_Notice"]
        if not choice.email:
            continue
        days = choice.days_in_advance if choice.days_in_advance is not None else 0
        due = [loan for loan in loans_of_patron if (clock.local(loan.due_at).date() - on).days <= days]
        if due and loans_notice(session, "PREDUE", patron, due) is not None:
            count += 1
    return count


def queue_overdue_notices(session: Session, on: dt.date) -> int:
    """ODUE, ODUE2, ODUE3: each overdue loan reaches the highest level whose delay (rules
    ``overdue_delay1..3`` for the patron's library and category and the item's type) it has
    passed; a level already sent, or a higher one, is not sent again for the same due date.
    One notice per patron and level."""
    loans = session.scalars(_untold_loans(session, OVERDUE_EVENTS[-1:], Loan.due_at < _start_of(on))).all()
    if not loans:
        return 0
    told: dict[tuple[int, dt.datetime], int] = {}
    ids = [loan.id for loan in loans]
    for start in range(0, len(ids), CHUNK):
        for row in session.execute(select(NoticeLoan.loan_id, NoticeLoan.due_at, NoticeLoan.event).where(
                NoticeLoan.loan_id.in_(ids[start:start + CHUNK]), NoticeLoan.event.in_(OVERDUE_EVENTS))):
            key = (row.loan_id, row.due_at)
            told[key] = max(told.get(key, 0), OVERDUE_EVENTS.index(row.event) + 1)
    delays: dict[tuple[str, str, str], list[int | None]] = {}
    groups: dict[tuple[int, int], list[Loan]] = defaultdict(list)
    for loan in loans:
        patron, item = loan.patron, loan.item
        key = (patron.library_code, patron.category_code, item.item_type_code)
        if key not in delays:
            rules = effective_rules(session, *key, OVERDUE_RULES)
            delays[key] = [rules[name] for name in OVERDUE_RULES]
        days_overdue = (on - clock.local(loan.due_at).date()).days
        level = max((n for n, delay in enumerate(delays[key], start=1) if delay is not None and days_overdue >= delay),
                    default=0)
        if level and level > told.get((loan.id, loan.due_at), 0):
            groups[(loan.patron_id, level)].append(loan)
    count = 0
    for (_patron_id, level), group in groups.items():
        if loans_notice(session, OVERDUE_EVENTS[level - 1], group[0].patron, group) is not None:
            count += 1
    return count


def queue_scheduled_notices(session: Session, on: dt.date) -> ScheduledCount:
    """Every clock-triggered notice due on ``on``."""
    result = ScheduledCount()
    result.reminders = queue_hold_reminders(session, on)
    result.due_soon = queue_due_soon(session, on)
    result.overdue = queue_overdue_notices(session, on)
    session.flush()
    return result
