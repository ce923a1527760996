"""Due dates come from the loan period of the rule that governs the loan (CircControl picks the
library) and treat closed days as useDaysMode and the rule's skip_closed_days say."""
from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.models import ClosedDay
from app.services.calendar import LibraryCalendar

from .test_circulation_fixtures import MONDAY, Desk, day, desk, end_of, frozen  # noqa: F401


def _close(desk: Desk, library: str = "CPL", *, weekday: int | None = None, on: dt.date | None = None) -> None:
    desk.session.add(ClosedDay(library_code=library, weekday=weekday, on_date=on))
    desk.session.flush()


def test_the_loan_period_runs_to_the_end_of_the_due_day(desk):
    desk.rule("issuelength", 21)
    assert desk.check_out().due_at == end_of(day(21))


def test_calendar_mode_counts_only_open_days(desk):
    _close(desk, weekday=6)  # closed on Sundays: 10 and 17 March
    assert desk.check_out().due_at == end_of(day(16))  # 14 open days: Wednesday 20 March


def test_datedue_mode_moves_a_due_date_on_a_closed_day_to_the_next_open_day(desk):
    desk.preference("useDaysMode", "Datedue")
    _close(desk, on=day(14))
    _close(desk, on=day(15))
    assert desk.check_out().due_at == end_of(day(16))


def test_datedue_mode_leaves_an_open_due_date_alone(desk):
    desk.preference("useDaysMode", "Datedue")
    _close(desk, weekday=6)
    assert desk.check_out().due_at == end_of(day(14))


def test_days_mode_ignores_the_calendar(desk):
    desk.preference("useDaysMode", "Days")
    _close(desk, on=day(14))
    assert desk.check_out().due_at == end_of(day(14))


def test_the_rule_can_turn_closed_day_skipping_off(desk):
    desk.rule("skip_closed_days", "0")
    _close(desk, on=day(14))
    assert desk.check_out().due_at == end_of(day(14))


def test_closed_days_of_another_library_do_not_count(desk):
    desk.preference("CircControl", "PickupLibrary")
    _close(desk, "FPL", on=day(14))
    desk.preference("useDaysMode", "Datedue")
    assert desk.check_out().due_at == end_of(day(14))


@pytest.mark.parametrize("control,expected_days", [
    ("PickupLibrary", 7),      # the desk's library, CPL
    ("PatronLibrary", 10),     # the patron's home library, FPL
    ("ItemHomeLibrary", 21),   # the item's home library, MPL
])
def test_circcontrol_chooses_whose_loan_period_applies(desk, control, expected_days):
    desk.make.library("MPL")
    desk.patron.library_code = "FPL"
    desk.item.home_library_code = "MPL"
    desk.rule("issuelength", 7, library="CPL")
    desk.rule("issuelength", 10, library="FPL")
    desk.rule("issuelength", 21, library="MPL")
    desk.preference("CircControl", control)
    assert desk.check_out().due_at == end_of(day(expected_days))


def test_loan_period_by_category_and_item_type(desk):
    desk.make.item_type("DVD")
    dvd = desk.make.item(item_type="DVD")
    desk.rule("issuelength", 3, item_type="DVD")
    desk.rule("issuelength", 28, category="PT")
    # category beats item type in the cascade
    assert desk.check_out(item=dvd).due_at == end_of(day(28))
    desk.rule("issuelength", 5, category="PT", item_type="DVD")
    assert desk.check_out(item=desk.make.item(item_type="DVD")).due_at == end_of(day(5))


def test_due_dates_are_end_of_day_in_the_library_time_zone(desk):
    clock.set_timezone("Europe/Paris")
    try:
        outcome = desk.check_out()
        local_due = clock.local(outcome.due_at)
        assert (local_due.date(), local_due.time()) == (day(14), dt.time(23, 59))
        assert outcome.due_at.utcoffset() == dt.timedelta(0)
    finally:
        clock.set_timezone("UTC")


def test_a_library_closed_every_day_still_gets_a_due_date(desk):
    for weekday in range(7):
        _close(desk, weekday=weekday)
    assert desk.check_out().due_at == end_of(day(14))


def test_calendar_helpers(desk):
    _close(desk, weekday=6)
    _close(desk, on=day(1))
    calendar = LibraryCalendar(desk.session, "CPL")
    assert calendar.is_closed(day(6)) and calendar.is_closed(day(1)) and not calendar.is_closed(day(0))
    assert calendar.next_open_day(day(1)) == day(2)
    assert calendar.next_open_day(day(6)) == day(7)
    assert calendar.open_days_between(day(0), day(7)) == 5  # Tuesday and Sunday closed
    assert calendar.add_open_days(day(0), 2) == day(3)
    assert MONDAY.date().weekday() == 0
