"""Library calendars: which days a library is closed, the next open day, open days between two
dates. Closed days are single dates or weekly weekdays (``ClosedDay``); a library with none is
open every day. They are read from the policy cache (``app.services.policy_cache``): a due date
or a fine costs no query, and an edit of a closed day is seen by the next unit of work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.extensions import flush_if_pending
from app.models import ClosedDay

from app.services.policy_cache import policy_snapshot

# A calendar that closes every day would send a search on forever; give up after a year.
SEARCH_LIMIT_DAYS = 366


def _closed(session: Session, library_code: str) -> tuple[frozenset[dt.date], frozenset[int]]:
    """The library's closed dates and closed weekdays, parsed once per policy snapshot."""
    flush_if_pending(session, ClosedDay)  # closed days added in this unit of work count
    snapshot = policy_snapshot(session)
    key = ("closed_days", library_code)
    closed = snapshot.memo.get(key)
    if closed is None:
        rows = snapshot.closed_days.get(library_code, ())
        closed = snapshot.memo[key] = (frozenset(on for on, _weekday in rows if on is not None),
                                       frozenset(weekday for _on, weekday in rows if weekday is not None))
    return closed


class LibraryCalendar:
    """One library's closed days, asked many times (due dates walk day by day)."""

    def __init__(self, session: Session, library_code: str | None):
        self.library_code = library_code
        self._dates, self._weekdays = (frozenset(), frozenset()) if library_code is None else _closed(
            session, library_code)

    def is_closed(self, day: dt.date) -> bool:
        return day in self._dates or day.weekday() in self._weekdays

    def next_open_day(self, day: dt.date) -> dt.date:
        """``day`` itself when open, else the first open day after it (``day`` if none within a year)."""
        candidate = day
        for _ in range(SEARCH_LIMIT_DAYS):
            if not self.is_closed(candidate):
                return candidate
            candidate += dt.timedelta(days=1)
        return day

    def add_open_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` open days after ``start``: closed days are not counted (Koha's
        useDaysMode "Calendar"). Falls back to plain days when the library never opens."""
        if days <= 0:
            return self.next_open_day(start)
        if len(self._weekdays) >= 7:
            return start + dt.timedelta(days=days)
        candidate, counted = start, 0
        for _ in range(days + SEARCH_LIMIT_DAYS):
            candidate += dt.timedelta(days=1)
            if not self.is_closed(candidate):
                counted += 1
                if counted == days:
                    return candidate
        return start + dt.timedelta(days=days)

    def open_days_between(self, start: dt.date, end: dt.date) -> int:
        """Open days in (start, end]: the days after ``start`` up to and including ``end``."""
        if end <= start:
            return 0
        total = (end - start).days
        return sum(1 for n in range(1, total + 1) if not self.is_closed(start + dt.timedelta(days=n)))


def is_closed(session: Session, library_code: str, day: dt.date) -> bool:
    return LibraryCalendar(session, library_code).is_closed(day)


def next_open_day(session: Session, library_code: str, day: dt.date) -> dt.date:
    return LibraryCalendar(session, library_code).next_open_day(day)
