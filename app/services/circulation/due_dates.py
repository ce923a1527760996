"""Whose rules apply (Koha's CircControl) and when a loan falls due.

Loans are daily: due at 23:59 library-local time on the due date. Closed days are those of the
control library. With the rule ``skip_closed_days`` on, the preference ``useDaysMode`` decides
how: "Calendar" counts only open days in the loan period (Koha's default), "Datedue" counts
every day and moves a due date that lands on a closed day to the next open day, "Days" ignores
the calendar altogether."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from sqlalchemy.orm import Session

from app import clock
from app.models import Item, Patron
from app.services.calendar import LibraryCalendar
from app.services.rules import effective_rules
from app.services.settings import get_preference

DUE_TIME = dt.time(23, 59)


def control_library(session: Session, patron: Patron, item: Item, library_code: str) -> str:
    """The library whose rules govern a loan, by the CircControl preference."""
    policy = get_preference(session, "CircControl")
    if policy == "PatronLibrary":
        return patron.library_code
    if policy == "ItemHomeLibrary":
        return item.home_library_code
    return library_code


def loan_rules(session: Session, patron: Patron, item: Item, library_code: str,
               names: Iterable[str] | None = None) -> dict[str, Any]:
    """The effective rules for this patron borrowing this item at this library."""
    return effective_rules(session, control_library(session, patron, item, library_code),
                           patron.category_code, item.item_type_code, names)


def end_of_day(day: dt.date) -> dt.datetime:
    """23:59 library-local on ``day``, as an aware UTC timestamp."""
    return dt.datetime.combine(day, DUE_TIME, tzinfo=clock.timezone()).astimezone(dt.timezone.utc)


def due_date_after(session: Session, start: dt.datetime, days: int, calendar_library: str,
                   skip_closed_days: bool) -> dt.datetime:
    """The due timestamp ``days`` after ``start`` (see the module docstring for closed days)."""
    start_day = clock.local(start).date()
    mode = get_preference(session, "useDaysMode")
    if not skip_closed_days or mode == "Days":
        return end_of_day(start_day + dt.timedelta(days=days))
    calendar = LibraryCalendar(session, calendar_library)
    if mode == "Calendar":
        return end_of_day(calendar.add_open_days(start_day, days))
    return end_of_day(calendar.next_open_day(start_day + dt.timedelta(days=days)))


def checkout_due_at(session: Session, patron: Patron, item: Item, library_code: str,
                    checked_out_at: dt.datetime) -> dt.datetime:
    """When a loan made now falls due: the rule's loan period from the checkout day."""
    rules = loan_rules(session, patron, item, library_code, ["issuelength", "skip_closed_days"])
    return due_date_after(session, checked_out_at, rules["issuelength"],
                          control_library(session, patron, item, library_code), rules["skip_closed_days"])
