"""The single holds report: a library's pull list with title, author, call number, volume,
barcode, location, queue position and destination; mark pulled, in transit, cannot find (copy
missing, another chosen); CSV with formula-safe cells; printable view; what is in transit here
and waiting on the pickup shelf (long waiting first)."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select

from app import clock
from app.models import Hold, HoldStatus, Item, ItemTransfer
from app.services import holds
from app.services.hold_queue import fill_title
from app.services.settings import set_preference

from .conftest import csrf_token_from, login_as

HTMX = {"HX-Request": "true"}


def scene(session, make):
    for code in ("PIK", "AAA"):
        make.library(code)
    set_preference(session, "UseTransportCostMatrix", False, actor_id=None)
    make.staff("holds", library="AAA", userid="report-staff", password="secret")
    title = make.title(title="=HYPERLINK(\"http://evil\")", author="Austen, Jane")
    item = make.item(title, library="AAA", callnumber="823 AUS", enumchron="v.1", shelving_location="FIC")
    spare = make.item(title, library="AAA", callnumber="823 AUS", shelving_location="FIC")
    hold = holds.place_hold(session, make.patron(library="PIK", surname="Bennet"), title, None,
                            channel="staff", pickup_library_code="PIK")
    fill_title(session, title.id)
    session.commit()
    return title, item, spare, hold


def staff_client(client):
    assert login_as(client, "report-staff", "secret", staff=True).status_code == 302
    return csrf_token_from(client.get("/staff/holds/report").get_data(as_text=True))


def test_the_report_lists_the_copy_to_pull_with_where_it_goes(client, session, make):
    title, item, _spare, hold = scene(session, make)
    staff_client(client)
    page = client.get("/staff/holds/report").get_data(as_text=True)  # the staff member's library: AAA
    assert item.barcode in page and "823 AUS" in page and "v.1" in page and "FIC" in page and "Austen, Jane" in page
    assert "(PIK)" in page and "Bennet" in page
    assert "Nothing to pull here" in client.get("/staff/holds/report?library=PIK").get_data(as_text=True)
    assert "Holds report" in client.get("/staff/holds/").get_data(as_text=True)


def test_copies_without_a_shelving_location_are_listed_together(client, session, make):
    title, *_ = scene(session, make)
    other = make.title(title="Persuasion")
    loose = [make.item(t, library="AAA", shelving_location=None) for t in (title, other, other)]
    for t in (title, other, other):
        holds.place_hold(session, make.patron(library="PIK"), t, None, channel="staff", pickup_library_code="PIK")
    fill_title(session, title.id)
    fill_title(session, other.id)
    session.commit()
    staff_client(client)
    response = client.get("/staff/holds/report?library=AAA")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "No shelving location (" in page and "FIC (" in page
    assert sum(item.barcode in page for item in loose) >= 2


def test_the_csv_neutralises_formulas(client, session, make):
    title, item, _spare, hold = scene(session, make)
    staff_client(client)
    response = client.get("/staff/holds/report.csv?library=AAA")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["title"].startswith("'=HYPERLINK") and rows[0]["barcode"] == item.barcode
    assert rows[0]["destination"] == "PIK" and rows[0]["position"] == "1"


def test_mark_pulled_then_in_transit_sends_the_copy(client, session, make):
    title, item, _spare, hold = scene(session, make)
    token = staff_client(client)
    answer = client.post("/staff/holds/report/act", data={"csrf_token": token, "do": f"pulled:{hold.id}",
                                                                 "library": "AAA"}, headers=HTMX)
    assert answer.status_code == 200 and "send it to PIK" in answer.get_data(as_text=True)
    answer = client.post("/staff/holds/report/act", data={"csrf_token": token, "do": f"transit:{hold.id}",
                                                                 "library": "AAA"}, headers=HTMX)
    assert "in transit to PIK" in answer.get_data(as_text=True)
    session.rollback()
    session.expire_all()
    assert session.scalar(select(Hold.status).where(Hold.id == hold.id)) is HoldStatus.IN_TRANSIT
    assert session.scalar(select(ItemTransfer).where(ItemTransfer.item_id == item.id)).to_library_code == "PIK"
    page = client.get("/staff/holds/report?library=PIK").get_data(as_text=True)
    assert "In transit to" in page and item.barcode in page


def test_a_stale_row_action_is_refused_in_the_row(client, session, make):
    title, item, _spare, hold = scene(session, make)
    token = staff_client(client)
    holds.cancel_hold(session, hold, None)
    session.commit()
    answer = client.post("/staff/holds/report/act", data={"csrf_token": token, "do": f"pulled:{hold.id}",
                                                                 "library": "AAA"}, headers=HTMX)
    assert "no longer waiting to be pulled here" in answer.get_data(as_text=True)


def test_cannot_find_marks_the_copy_missing_and_chooses_another(client, session, make):
    title, item, spare, hold = scene(session, make)
    token = staff_client(client)
    answer = client.post("/staff/holds/report/act", data={"csrf_token": token, "do": f"missing:{hold.id}",
                                                                 "library": "AAA"})
    assert answer.status_code == 302
    session.rollback()
    session.expire_all()
    assert session.get(Item, item.id).lost == 4
    refreshed = session.get(Hold, hold.id)
    assert refreshed.status is HoldStatus.READY_TO_PULL and refreshed.allocated_item_id == spare.id
    assert any("not found on the shelf" in (e.reason or "") for e in refreshed.history)


def test_waiting_holds_list_long_waiting_first(client, session, make):
    title, item, _spare, hold = scene(session, make)
    item.holding_library_code = "PIK"
    hold.source_library_code = "PIK"
    hold.transition(HoldStatus.PULLED, actor_id=None)
    hold.waiting_since = clock.now() - dt.timedelta(days=20)
    hold.pickup_deadline = clock.today() - dt.timedelta(days=3)
    session.commit()
    staff_client(client)
    page = client.get("/staff/holds/report?library=PIK").get_data(as_text=True)
    assert "Waiting on the pickup shelf (1)" in page and "long waiting" in page
    printable = client.get("/staff/holds/report/print?library=PIK").get_data(as_text=True)
    assert "Holds to pull" in printable and item.barcode in printable
