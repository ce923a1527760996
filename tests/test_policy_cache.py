"""The policy cache: preferences and circulation rules are read from a per-process copy, yet an
edit (on the admin page, through the services, in another process) is seen by the very next
request or SIP2 transaction, and an edit that rolls back is never seen."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, event
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db, make_engine
from app.models import ALL, AccountLine, ClosedDay, DebitType, Item, Patron
from app.services import policy_cache
from app.services.calendar import LibraryCalendar
from app.services.circulation import check_out
from app.services.rules import delete_rule_row, effective_rule, set_rule
from app.services.settings import get_preference, set_preference

from .conftest import csrf_token_from, login_as
from .test_sip2_circulation import checkout, loans
from .test_sip2_fixtures import (  # noqa: F401  (fixtures)
    connect,
    kiosk,
    limits,
    listener,
    pysip2,
    sip_library,
)


def _read_preference(name: str):
    with db.unit_of_work(write=False) as session:
        return get_preference(session, name)


def _read_rule(name: str, library: str = "CPL", category: str = "PT", item_type: str = "BK"):
    with db.unit_of_work(write=False) as session:
        return effective_rule(session, name, library, category, item_type)


def test_a_preference_saved_on_the_admin_page_applies_to_the_next_kiosk_checkout(app, make, session, client, kiosk,
                                                                                 sip_library):
    make.staff(userid="admin", password="admin-pass", library="CPL")
    session.add(AccountLine(patron_id=sip_library.patron.id, debit_type=DebitType.MANUAL, amount=Decimal("3"),
                            amount_outstanding=Decimal("3"), description="Lost card"))
    session.commit()
    first = kiosk.ask(checkout(sip_library.items[0].barcode))  # owes 3.00, the limit is 5.00: lent
    assert first.ok == "1"

    assert login_as(client, "admin", "admin-pass", staff=True).status_code == 302
    token = csrf_token_from(client.get("/staff/admin/preferences").get_data(as_text=True))
    saved = client.post("/staff/admin/preferences/noissuescharge", data={"value": "1", "csrf_token": token})
    assert saved.status_code == 302

    second = kiosk.ask(checkout(sip_library.items[1].barcode))
    assert second.ok == "0" and any("3.00" in line for line in second.screen_message)
    assert [loan.item_id for loan in loans(session)] == [sip_library.items[0].id]


def test_a_rule_changed_between_two_checkouts_gives_the_second_its_loan_period(app, make, session):
    patron = make.patron()
    first, second = make.item(), make.item()
    session.commit()
    at = dt.datetime(2026, 3, 2, 10, tzinfo=dt.timezone.utc)
    with db.unit_of_work() as uow:
        lent = check_out(uow, uow.get(Patron, patron.id), uow.get(Item, first.id), "CPL", None,
                         checked_out_at=at).loan
        assert clock.local(lent.due_at).date() == dt.date(2026, 3, 16)
    with db.unit_of_work() as uow:
        set_rule(uow, "CPL", ALL, ALL, "issuelength", "7")
    with db.unit_of_work() as uow:
        lent = check_out(uow, uow.get(Patron, patron.id), uow.get(Item, second.id), "CPL", None,
                         checked_out_at=at).loan
        assert clock.local(lent.due_at).date() == dt.date(2026, 3, 9)


def test_an_edit_committed_by_another_process_is_seen_by_the_next_unit_of_work(app, make, session):
    make.category("PT")
    make.item_type("BK")
    make.library("CPL")
    session.commit()
    assert _read_preference("ReservesMaxPickUpDelay") == 7  # this process now holds a copy
    assert _read_rule("renewalsallowed") == 2

    other_process = make_engine(app.config["DATABASE_URL"])  # its own engine, pool and (empty) cache
    try:
        with other_process.connect() as connection:
            with Session(bind=connection) as other:
                set_preference(other, "ReservesMaxPickUpDelay", "3", actor_id=None)
                set_rule(other, "CPL", ALL, ALL, "renewalsallowed", "5")
                other.commit()
    finally:
        other_process.dispose()

    assert _read_preference("ReservesMaxPickUpDelay") == 3
    assert _read_rule("renewalsallowed") == 5


def test_an_edit_is_seen_in_its_own_transaction_and_never_after_it_rolls_back(app, make, session):
    make.library("CPL")
    session.commit()
    assert _read_preference("AutomaticItemReturn") is True
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as uow:
            set_preference(uow, "AutomaticItemReturn", "no", actor_id=None)
            set_rule(uow, ALL, ALL, ALL, "fine", "1.50")
            assert get_preference(uow, "AutomaticItemReturn") is False
            assert effective_rule(uow, "fine", "CPL", "PT", "BK") == Decimal("1.50")
            raise RuntimeError("the request failed after the edit")
    assert _read_preference("AutomaticItemReturn") is True
    assert _read_rule("fine") == Decimal("0.25")


def test_a_deleted_rule_row_stops_applying_at_once(app, make, session):
    make.library("CPL")
    make.category("PT")
    make.item_type("BK")
    session.commit()
    with db.unit_of_work() as uow:
        set_rule(uow, "CPL", "PT", ALL, "maxissueqty", "3")
    assert _read_rule("maxissueqty") == 3
    with db.unit_of_work() as uow:
        assert delete_rule_row(uow, "CPL", "PT", ALL) == 1
    assert _read_rule("maxissueqty") is None


def test_a_unit_of_work_reads_the_cached_policy_with_one_statement(app, make, session):
    make.library("CPL")
    session.commit()
    with db.unit_of_work() as uow:
        set_rule(uow, "CPL", ALL, ALL, "issuelength", "21")
        set_preference(uow, "CircControl", "PickupLibrary", actor_id=None)
    _read_preference("CircControl")  # the process copy is made here
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.unit_of_work(write=False) as uow:
            assert get_preference(uow, "CircControl") == "PickupLibrary"
            assert get_preference(uow, "useDaysMode") == "Calendar"
            assert effective_rule(uow, "issuelength", "CPL", "PT", "BK") == 21
            assert effective_rule(uow, "renewalsallowed", "FPL", "PT", "BK") == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1 and "policy_generation" in reads[0]


def test_the_first_edit_of_a_new_database_creates_the_generation(app, make, session):
    make.library("CPL")
    session.commit()
    policy_cache.forget_process_copies()
    assert _read_preference("LibraryName") == "Carrel Library"
    with db.unit_of_work() as uow:
        set_preference(uow, "LibraryName", "Riverside", actor_id=None)
    assert _read_preference("LibraryName") == "Riverside"


def _closed_on(day: dt.date, library: str = "CPL") -> bool:
    with db.unit_of_work(write=False) as uow:
        return LibraryCalendar(uow, library).is_closed(day)


def test_a_closed_day_added_or_removed_anywhere_applies_to_the_next_unit_of_work(app, make, session):
    make.library("CPL")
    session.commit()
    christmas = dt.date(2026, 12, 25)
    assert not _closed_on(christmas)  # this process now holds a copy
    with db.unit_of_work() as uow:
        uow.add(ClosedDay(library_code="CPL", on_date=christmas, description="Christmas"))
    assert _closed_on(christmas)

    other_process = make_engine(app.config["DATABASE_URL"])
    try:
        with other_process.connect() as connection:
            with Session(bind=connection) as other:
                other.add(ClosedDay(library_code="CPL", weekday=christmas.weekday() - 1))  # Thursdays too
                other.execute(delete(ClosedDay).where(ClosedDay.on_date == christmas))
                other.commit()
    finally:
        other_process.dispose()
    assert _closed_on(christmas - dt.timedelta(days=1)) and not _closed_on(christmas)


def test_a_closed_day_added_in_a_transaction_that_rolls_back_never_applies(app, make, session):
    make.library("CPL")
    session.commit()
    day = dt.date(2026, 5, 1)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as uow:
            uow.add(ClosedDay(library_code="CPL", on_date=day))
            assert LibraryCalendar(uow, "CPL").is_closed(day)  # its own edit, before it is flushed
            raise RuntimeError("the request failed after the edit")
    assert not _closed_on(day)


def test_a_due_date_across_closed_days_reads_no_calendar_from_the_database(app, make, session):
    make.library("CPL")
    make.category("PT")
    make.item_type("BK")
    patron, item = make.patron(), make.item()
    session.add(ClosedDay(library_code="CPL", weekday=6))
    session.commit()
    _closed_on(dt.date(2026, 3, 1))  # the process copy is made here
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.unit_of_work() as uow:
            lent = check_out(uow, uow.get(Patron, patron.id), uow.get(Item, item.id), "CPL", None,
                             checked_out_at=dt.datetime(2026, 3, 2, 10, tzinfo=dt.timezone.utc)).loan
            assert clock.local(lent.due_at).date() == dt.date(2026, 3, 18)  # 14 open days: two Sundays skipped
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert not [s for s in statements if "closed_days" in s]
