"""The offline circulation pages: landing, built-in page and its service worker, synchronising
(only the fields offline work needs), uploading transactions and .koc files, the pending
actions (htmx rows) and the desktop tool's patron file."""
from __future__ import annotations

import io
import json
import sqlite3

import pytest
from sqlalchemy import select

from app.models import Loan, OfflineStatus, PatronRestriction, PendingOfflineOperation
from app.services.settings import set_preference

from .conftest import csrf_token_from, login_as
from .test_circulation_fixtures import MONDAY, desk, frozen  # noqa: F401
from .test_offline_fixtures import at, issue, koc_text, offline, payment, ret  # noqa: F401

CARD, BARCODE = "23529000000001", "39999000000001"


@pytest.fixture
def staff(client, desk):
    desk.make.staff("offline_circulation", userid="offline-staff", password="pw-offline", library="CPL")
    set_preference(desk.session, "AllowOfflineCirculation", True, actor_id=None)
    desk.session.commit()
    assert login_as(client, "offline-staff", "pw-offline", staff=True).status_code == 302
    return client


def _token(client) -> str:
    return csrf_token_from(client.get("/staff/").get_data(as_text=True))


def _operations(session):
    session.rollback()
    return list(session.scalars(select(PendingOfflineOperation).order_by(PendingOfflineOperation.id)))


def test_the_nav_and_landing_page_lead_to_everything(staff):
    home = staff.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/offline/"' in home
    page = staff.get("/staff/offline/").get_data(as_text=True)
    for link in ("/staff/offline/page", "/staff/offline/page#synchronise", "/staff/offline/upload",
                 "/staff/offline/pending", "/staff/offline/patron-file"):
        assert f'href="{link}"' in page
    assert "0</strong> waiting" in page


@pytest.mark.parametrize("permissions, shown", [(("circulate", "offline_circulation"), True), (("circulate",), False)])
def test_the_circulation_desk_leads_to_offline_circulation(client, desk, permissions, shown):
    desk.make.staff(*permissions, userid="desk-staff", password="pw-desk", library="CPL")
    desk.session.commit()
    assert login_as(client, "desk-staff", "pw-desk", staff=True).status_code == 302
    page = client.get("/staff/circulation/").get_data(as_text=True)
    assert ('href="/staff/offline/">Offline circulation</a>' in page) is shown


def test_with_the_preference_off_the_pages_say_so(client, desk):
    desk.make.staff("offline_circulation", userid="offline-staff", password="pw-offline")
    desk.session.commit()
    login_as(client, "offline-staff", "pw-offline", staff=True)
    notice = "Offline circulation is turned off (system preference AllowOfflineCirculation)."
    for url in ("/staff/offline/", "/staff/offline/page", "/staff/offline/upload", "/staff/offline/patron-file"):
        response = client.get(url)
        assert response.status_code == 200 and notice in response.get_data(as_text=True), url
    assert client.get("/staff/offline/sync/patrons").status_code == 404
    response = client.post("/staff/offline/transactions", json={"transactions": []},
                           headers={"X-CSRFToken": _token(client)})
    assert response.status_code == 409 and response.json["error"] == notice
    assert client.get("/staff/offline/pending").status_code == 200  # recorded actions are never stranded


def test_the_built_in_page_names_its_urls_and_loads_no_inline_script(staff):
    html = staff.get("/staff/offline/page").get_data(as_text=True)
    assert 'data-sw="/staff/offline/sw.js"' in html and 'data-scope="/staff/offline/"' in html
    assert 'data-sync-patrons="/staff/offline/sync/patrons"' in html and 'data-token="/staff/offline/token"' in html
    assert "<script>" not in html and "/static/offline/offline.js" in html
    assert 'type="date" id="due-date"' in html


def test_the_service_worker_covers_the_page_and_its_files(client, app):
    response = client.get("/staff/offline/sw.js")  # no login needed: a script without data
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/staff/offline/"
    first = response.get_data(as_text=True).splitlines()[0]
    config = json.loads(first.removeprefix("self.CARREL_OFFLINE = ").removesuffix(";")
                        .replace("version:", '"version":').replace("urls:", '"urls":'))
    assert set(config["urls"]) == {"/staff/offline/page", "/static/vendor/htmx-2.0.11.min.js", "/static/carrel.js",
                                   "/static/carrel.css", "/static/offline/store.js", "/static/offline/offline.js",
                                   "/static/offline/offline.css"}
    assert len(config["version"]) == 16


def test_a_fresh_token_can_be_fetched_for_a_late_upload(staff):
    data = staff.get("/staff/offline/token").json
    assert data["user"] == "offline-staff" and data["library"] == "CPL" and data["csrf_token"]


def test_synchronised_patrons_carry_only_what_offline_work_needs(staff, desk):
    desk.patron.address, desk.patron.email, desk.patron.phone = "1 High St", "pat@example.org", "555"
    desk.session.add(PatronRestriction(patron_id=desk.patron.id, comment="Private reason"))
    desk.session.commit()
    page = staff.get("/staff/offline/sync/patrons").json
    assert page["finished"] and page["after"] is None
    pat = next(r for r in page["rows"] if r["card"] == CARD)
    assert set(pat) == {"card", "surname", "firstname", "category", "category_name", "library", "expiry", "blocks",
                        "fines"}
    assert pat["blocks"] == ["Restricted (manual)"] and pat["fines"] == "0.00"
    assert "Private reason" not in json.dumps(page) and "High St" not in json.dumps(page)


def test_synchronising_pages_by_id_covers_everyone_once(staff, desk):
    for n in range(5):
        desk.make.patron(cardnumber=f"2352900000010{n}")
    desk.session.commit()
    cards, after = [], 0
    while after is not None:
        page = staff.get(f"/staff/offline/sync/patrons?after={after}&limit=2").json
        cards += [r["card"] for r in page["rows"]]
        after = page["after"]
    totals = staff.get("/staff/offline/sync/totals").json["totals"]
    assert len(cards) == len(set(cards)) == totals["patrons"]


def test_synchronised_items_and_loans(staff, desk):
    desk.check_out()
    desk.session.commit()
    items = staff.get("/staff/offline/sync/items").json["rows"]
    item = next(r for r in items if r["barcode"] == BARCODE)
    assert item["title"] == "The Left Hand of Darkness" and item["library"] == "CPL" and item["status"] == []
    loans = staff.get("/staff/offline/sync/loans").json["rows"]
    assert loans == [{"barcode": BARCODE, "card": CARD, "issued": MONDAY.isoformat(), "due": "2024-03-18"}]
    assert staff.get("/staff/offline/sync/nothing").status_code == 404


def _transactions(client, items, token=None):
    return client.post("/staff/offline/transactions", json={"transactions": items},
                       headers={"X-CSRFToken": token or _token(client)})


def test_uploaded_transactions_are_queued_once_and_refusals_explained(staff, desk):
    items = [
        {"id": "t1", "workstation": "browser-abc", "action": "issue", "time": "2024-03-04T08:10:00.000Z",
         "card": CARD, "barcode": BARCODE, "due": "2024-03-20"},
        {"id": "t2", "workstation": "browser-abc", "action": "return", "time": "2024-03-04T08:20:00.000Z",
         "barcode": BARCODE},
        {"id": "t3", "workstation": "browser-abc", "action": "issue", "time": "2024-03-04T08:30:00.000Z",
         "barcode": BARCODE},
    ]
    first = _transactions(staff, items).json
    assert (first["queued"], first["duplicates"], first["refused"]) == (2, 0, 1)
    assert {r["id"]: r["status"] for r in first["results"]} == {"t1": "queued", "t2": "queued", "t3": "refused"}
    again = _transactions(staff, items[:2]).json  # the answer was lost: the page sends them again
    assert (again["queued"], again["duplicates"]) == (0, 2)
    ops = _operations(desk.session)
    assert len(ops) == 2 and ops[0].library_code == "CPL" and ops[0].staff_userid == "offline-staff"
    assert ops[0].due_at.date().isoformat() == "2024-03-20"


def test_an_upload_without_the_csrf_token_is_refused(staff, desk):
    response = staff.post("/staff/offline/transactions", json={"transactions": []})
    assert response.status_code == 400 and _operations(desk.session) == []


def test_a_koc_file_is_queued_with_malformed_lines_reported(staff, desk):
    text = koc_text(issue(at(1), CARD, BARCODE), "2024-03-04 08-02-00 000\tborrow\tx", ret(at(3), BARCODE))
    response = staff.post("/staff/offline/upload", data={
        "koc": (io.BytesIO(text.encode()), "monday.koc"), "mode": "queue", "csrf_token": _token(staff)},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "0 applied, 1 failed, 0 duplicates ignored" in html
    assert "line 3" in html and "unknown action &#39;borrow&#39;" in html
    assert [op.status for op in _operations(desk.session)] == [OfflineStatus.PENDING] * 2
    assert desk.session.scalar(select(Loan)) is None


def test_a_koc_file_applied_directly_and_uploaded_again(staff, desk):
    text = koc_text(issue(at(1), CARD, BARCODE), issue(at(2), CARD, "no-such-item"))

    def send(name):
        return staff.post("/staff/offline/upload", data={
            "koc": (io.BytesIO(text.encode()), name), "mode": "apply", "csrf_token": _token(staff)},
            content_type="multipart/form-data").get_data(as_text=True)

    html = send("monday.koc")
    assert "1 applied, 1 failed, 0 duplicates ignored" in html and "No item has barcode no-such-item." in html
    assert "line 3" in html
    assert "0 applied, 0 failed, 2 duplicates ignored" in send("monday-again.koc")
    desk.session.rollback()
    assert len(desk.session.scalars(select(Loan)).all()) == 1


def test_the_upload_form_asks_for_a_file(staff):
    response = staff.post("/staff/offline/upload", data={"mode": "queue", "csrf_token": _token(staff)})
    assert response.status_code == 400 and "Choose a .koc file." in response.get_data(as_text=True)


def test_pending_actions_list_patron_item_and_title(staff, offline):
    offline.upload(issue(at(1), CARD, BARCODE), payment(at(2), "nobody", "1.50"))
    offline.session.commit()
    html = staff.get("/staff/offline/pending").get_data(as_text=True)
    assert "Pat Reader" in html and "The Left Hand of Darkness" in html and "unknown card" in html
    assert "desk1.koc (kocDesktop 2.4.0), line 2" in html and "1.50" in html
    assert 'id="check-all"' in html and "/static/offline/pending.js" in html


def test_processing_selected_rows_swaps_them_in_place_with_their_outcome(staff, offline):
    offline.upload(issue(at(1), CARD, BARCODE), ret(at(2), "no-such-item"), ret(at(3), BARCODE))
    offline.session.commit()
    first, second, third = [op.id for op in offline.operations()]
    response = staff.post("/staff/offline/pending/process", data={"operation": [str(first), str(second)]},
                          headers={"X-CSRFToken": _token(staff), "HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "1 applied, 1 failed." in html
    assert f'<tr id="op-{first}" class="op-applied" hx-swap-oob="true">' in html
    assert f'<tr id="op-{second}" class="op-failed" hx-swap-oob="true">' in html
    assert f'id="op-{third}"' not in html
    assert "No item has barcode no-such-item." in html and 'id="pending-counts"' in html
    statuses = {op.id: op.status for op in _operations(offline.session)}
    assert statuses == {first: OfflineStatus.APPLIED, second: OfflineStatus.FAILED, third: OfflineStatus.PENDING}


def test_deleting_selected_rows_removes_them_but_never_an_applied_one(staff, offline):
    offline.upload(issue(at(1), CARD, BARCODE), ret(at(2), "no-such-item"))
    offline.process()
    offline.session.commit()
    applied, failed = [op.id for op in offline.operations()]
    response = staff.post("/staff/offline/pending/delete", data={"operation": [str(applied), str(failed)]},
                          headers={"X-CSRFToken": _token(staff), "HX-Request": "true"})
    assert "1 deleted." in response.get_data(as_text=True)
    assert f'<tr id="op-{failed}" hx-swap-oob="delete">' in response.get_data(as_text=True)
    assert [op.id for op in _operations(offline.session)] == [applied]


def test_without_javascript_process_all_posts_and_comes_back(staff, offline):
    offline.upload(issue(at(1), CARD, BARCODE), ret(at(2), BARCODE))
    offline.session.commit()
    response = staff.post("/staff/offline/pending/process", data={"all": "1", "csrf_token": _token(staff)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/offline/pending")
    assert "2 applied, 0 failed." in staff.get("/staff/offline/pending").get_data(as_text=True)
    applied = staff.get("/staff/offline/pending?view=applied").get_data(as_text=True)
    assert "Checked out to Pat Reader" in applied and "Checked in from Pat Reader" in applied


def test_nothing_chosen_is_said(staff):
    response = staff.post("/staff/offline/pending/process", headers={"X-CSRFToken": _token(staff), "HX-Request": "true"})
    assert "Choose the actions to process." in response.get_data(as_text=True)


def test_the_patron_file_has_what_the_desktop_tool_reads_and_no_personal_data(staff, desk, tmp_path):
    desk.patron.address, desk.patron.phone = "1 High St", "555-0100"
    desk.check_out()
    desk.session.commit()
    response = staff.get("/staff/offline/patron-file")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=borrowers.db"
    path = tmp_path / "borrowers.db"
    path.write_bytes(response.get_data())
    response.close()  # the file is built for this download and removed once it is sent
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT cardnumber, surname, firstname, address, city, phone, dateofbirth, total_fines"
                         " FROM borrowers WHERE cardnumber = ?", (CARD,)).fetchone()
        assert row == (CARD, "Reader", "Pat", None, None, None, None, 0.0)
        issues = db.execute("SELECT borrowernumber, date_due, title, barcode FROM issues").fetchall()
        assert issues == [(desk.patron.id, "2024-03-18 23:59", "The Left Hand of Darkness", BARCODE)]
