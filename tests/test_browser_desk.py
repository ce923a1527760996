"""In real Chromium, against the app served by werkzeug on 127.0.0.1 (the ``live_server``
fixture: ``make_server`` on port 0 in a thread, shut down at the end of the session): a librarian
checks two items out at the desk, checks one in, and the rows change without a page reload."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser

CARD = "23529000000042"
FIRST, SECOND, THIRD = "39999000000101", "39999000000102", "39999000000103"


@pytest.fixture
def scene(make, session):
    make.library("CPL", name="Centerville")
    make.staff("superlibrarian", userid="deskstaff", password="desk-pass", surname="Desk", firstname="Dana")
    make.patron(cardnumber=CARD, surname="Reader", firstname="Pat")
    other = make.patron(surname="Other", firstname="Olga")
    make.item(make.title(title="The Dispossessed"), barcode=FIRST)
    make.item(make.title(title="A Wizard of Earthsea"), barcode=SECOND)
    third = make.item(make.title(title="The Lathe of Heaven"), barcode=THIRD)
    session.commit()
    return other, third


def _log_in(page) -> None:
    log_in(page, "deskstaff", "desk-pass", staff=True)


def _scan(page, selector: str, code: str) -> None:
    page.fill(selector, code)
    page.press(selector, "Enter")


def _open_patron_at_the_desk(page) -> None:
    page.goto("/staff/circulation/")
    page.evaluate("window.deskMarker = 'no reload'")
    _scan(page, "#card", CARD)
    page.wait_for_selector("#checkout-form")
    page.wait_for_url("**/staff/circulation/?patron_id=*")


def test_check_out_two_items_then_check_one_in_without_a_reload(page, scene):
    _log_in(page)
    _open_patron_at_the_desk(page)
    assert "Reader, Pat" in page.locator(".patron-panel h2").inner_text()

    _scan(page, "#barcode", FIRST)
    page.wait_for_selector(f'tr.loan[data-barcode="{FIRST}"]')
    expect(page.locator("#barcode")).to_be_focused()
    _scan(page, "#barcode", SECOND)
    page.wait_for_selector(f'tr.loan[data-barcode="{SECOND}"]')
    assert page.locator("#loan-count").inner_text() == "2"
    rows = page.locator("#loan-rows tr")
    assert rows.count() == 2 and SECOND in rows.nth(0).inner_text()  # newest scan on top
    assert "Due" in page.locator("table.loans thead").inner_text()
    screenshot(page, "desk-two-loans")

    page.locator(f'tr[data-barcode="{FIRST}"] button', has_text="Check in").click()
    page.wait_for_selector(f'tr.returned[data-barcode="{FIRST}"]')
    assert "Checked in" in page.locator(f'tr[data-barcode="{FIRST}"]').inner_text()
    expect(page.locator("#loan-count")).to_have_text("1")
    assert page.locator(f'tr.loan[data-barcode="{SECOND}"]').count() == 1
    assert page.evaluate("window.deskMarker") == "no reload"
    screenshot(page, "desk-after-check-in")

    page.goto("/staff/circulation/checkin")
    page.evaluate("window.checkinMarker = 'no reload'")
    _scan(page, "#barcode", SECOND)
    page.wait_for_selector(f'#checkin-rows tr[data-barcode="{SECOND}"]')
    assert "Checked in" in page.locator(f'#checkin-rows tr[data-barcode="{SECOND}"]').inner_text()
    _scan(page, "#barcode", FIRST)
    page.wait_for_selector(f'#checkin-rows tr[data-barcode="{FIRST}"]')
    assert "The item was not on loan." in page.locator(f'#checkin-rows tr[data-barcode="{FIRST}"]').inner_text()
    assert page.evaluate("window.checkinMarker") == "no reload"
    screenshot(page, "check-in-page")


def test_override_and_renew_from_the_rows(page, scene, session):
    from app.extensions import db
    from app.models import Item, Patron
    from app.services.circulation import check_out

    other, third = scene
    with db.unit_of_work() as s:
        check_out(s, s.get(Patron, other.id), s.get(Item, third.id), "CPL", None)
    _log_in(page)
    _open_patron_at_the_desk(page)

    _scan(page, "#barcode", THIRD)
    refused = page.locator(f'tr.refused[data-barcode="{THIRD}"]')
    refused.wait_for()
    assert "on loan to Olga Other" in refused.inner_text()
    screenshot(page, "desk-needs-confirmation")
    refused.locator("button", has_text="Check out anyway").click()
    page.wait_for_selector(f'tr.loan[data-barcode="{THIRD}"]')
    assert "Checked in from Olga Other first." in page.locator(f'tr.loan[data-barcode="{THIRD}"]').inner_text()
    assert page.locator("tr.refused").count() == 0

    page.locator(f'tr.loan[data-barcode="{THIRD}"] button', has_text="Renew").click()
    page.wait_for_selector(f'tr.loan[data-barcode="{THIRD}"] li[data-code="renewed"]')
    assert page.locator(f'tr.loan[data-barcode="{THIRD}"] td').nth(4).inner_text() == "1"
    assert page.evaluate("window.deskMarker") == "no reload"
    screenshot(page, "desk-override-and-renew")


def test_patron_page_takes_a_fee_and_a_payment_in_place(page, scene):
    _log_in(page)
    page.goto("/staff/patrons")
    _scan(page, "#q", CARD)
    page.wait_for_url("**/staff/patrons/*")
    page.evaluate("window.patronMarker = 'no reload'")
    account = page.locator("#account")
    account.locator("input[name=amount]").nth(1).fill("3.00")
    account.locator("input[name=description]").fill("Replacement card")
    account.locator("button", has_text="Add fee").click()
    expect(page.locator("#balance")).to_have_text("3.00")
    page.locator("#account input[name=amount]").nth(0).fill("1.25")
    page.locator("#account button", has_text="Pay").click()
    expect(page.locator("#balance")).to_have_text("1.75")
    assert "Payment of 1.25 taken." in page.locator("#account").inner_text()
    assert "1.75" in page.locator("#patron-summary").inner_text()
    assert page.evaluate("window.patronMarker") == "no reload"
    screenshot(page, "patron-page-account")
