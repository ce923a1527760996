"""In real Chromium: synchronise, lose the network, reload the offline page (served by its
service worker), check out two items and check one in, come back, upload, and process the
actions from the pending list; and the transactions survive a browser restart."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Loan, LoanHistory, OfflineStatus, PendingOfflineOperation
from app.services.settings import set_preference

from .browser import CHROMIUM, CHROMIUM_ARGS, log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser

DUE = (dt.date.today() + dt.timedelta(days=21)).isoformat()


@pytest.fixture
def library(make, session):
    make.library("CPL", name="Centerville")
    make.staff("superlibrarian", userid="admin", password="admin", surname="Admin", firstname="Demo", library="CPL")
    make.patron(cardnumber="23529000000001", surname="Reader", firstname="Pat")
    make.patron(cardnumber="23529000000002", surname="Readwell", firstname="Patricia")
    items = [make.item(make.title(title=title), barcode=f"3999900000000{n}")
             for n, title in enumerate(("The Dispossessed", "Kindred", "Parable of the Sower"), start=1)]
    set_preference(session, "AllowOfflineCirculation", True, actor_id=None)
    session.commit()
    return items


def _log_in(page) -> None:
    log_in(page, "admin", "admin", staff=True)


def _open_offline_page(page, tab: str = "") -> None:
    page.goto("/staff/offline/page" + tab)
    expect(page.locator("#offline-app")).to_have_attribute("data-ready", "true")
    expect(page.locator("#offline-ready")).to_have_text("Ready to work offline", timeout=15000)


def _check_out(page, barcode: str) -> None:
    page.fill("#checkout-barcode", barcode)
    page.fill("#due-date", DUE)
    page.click("#checkout-form button[type=submit]")
    expect(page.locator("#checkout-message")).to_contain_text(f"Checked out {barcode}")


def _check_in(page, barcode: str) -> None:
    page.fill("#checkin-barcode", barcode)
    page.click("#checkin-form button[type=submit]")
    expect(page.locator("#checkin-message")).to_have_text(f"Checked in {barcode}.")


def test_a_day_offline_from_synchronising_to_processed_loans(chromium, live_server, library, session):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _log_in(page)
        _open_offline_page(page, "#synchronise")
        expect(page.locator("#synced-patrons")).to_have_text("never")
        page.click("#sync-download")
        expect(page.locator("#sync-message")).to_contain_text("Records downloaded", timeout=20000)
        expect(page.locator("#synced-patrons")).not_to_have_text("never")
        expect(page.locator("#count-items")).to_have_text("3")
        screenshot(page, "offline-synchronised")

        context.set_offline(True)
        page.reload()  # from the service worker's cache: the server is out of reach
        expect(page.locator("#connection")).to_have_text("Offline")
        expect(page.locator("#offline-app")).to_have_attribute("data-ready", "true")
        page.click(".offline-tabs a[href='#checkout']")
        expect(page.locator("#data-age")).to_contain_text("patrons added since are not here")

        page.fill("#patron-query", "23529000000099")  # a card issued after the sync
        page.click("#patron-form button[type=submit]")
        expect(page.locator("#patron-message")).to_contain_text("Patrons added since then are not in it.")
        page.fill("#patron-query", "rea")  # a partial name: a list of matches
        page.click("#patron-form button[type=submit]")
        matches = page.locator("#patron-matches button")
        expect(matches).to_have_count(2)
        page.click("#patron-matches button:has-text('Pat Reader')")
        expect(page.locator("#patron-name")).to_have_text("Pat Reader")
        _check_out(page, "39999000000001")
        _check_out(page, "39999000000002")
        expect(page.locator("#checkouts tbody tr")).to_have_count(2)
        expect(page.locator("#checkouts tbody tr").first).to_contain_text("Kindred")
        screenshot(page, "offline-checkout")

        page.click(".offline-tabs a[href='#checkin']")
        _check_in(page, "39999000000001")
        expect(page.locator("#checkins tbody tr").first).to_contain_text("The Dispossessed")
        screenshot(page, "offline-checkin")
        page.reload()  # still offline: the transactions are kept in IndexedDB
        expect(page.locator("#waiting-count")).to_have_text("3 transaction(s) waiting to upload")

        context.set_offline(False)
        page.click(".offline-tabs a[href='#synchronise']")
        expect(page.locator("#connection")).to_have_text("Online")
        page.click("#upload-transactions")
        expect(page.locator("#upload-message")).to_have_text(
            "3 transaction(s) uploaded to the pending offline actions.")
        expect(page.locator("#upload-summary")).to_have_text("0 waiting to upload, 3 uploaded, 0 refused.")
        expect(page.locator("#transactions tbody tr")).to_have_count(3)
        screenshot(page, "offline-uploaded")

        page.goto("/staff/offline/pending")
        rows = page.locator("#pending-rows tr")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text("Pat Reader")
        expect(rows.nth(0)).to_contain_text("The Dispossessed")
        screenshot(page, "offline-pending")
        page.click("#check-all")
        page.click("button:has-text('Process selected')")
        expect(page.locator("#pending-status")).to_contain_text("3 applied, 0 failed.")
        expect(page.locator("#pending-rows tr.op-applied")).to_have_count(3)
        expect(page.locator("#pending-counts")).to_contain_text("0 waiting, 0 failed, 3 applied.")
        expect(page.locator("button[name=all]")).to_have_text("Process all 0")
        expect(page.locator("#check-all")).to_be_hidden()  # nothing left to choose
        screenshot(page, "offline-processed")
    finally:
        context.close()

    session.rollback()
    loan = session.scalar(select(Loan))
    assert loan.item.barcode == "39999000000002" and loan.patron.cardnumber == "23529000000001"
    assert loan.channel == "offline" and loan.due_at.date().isoformat() == DUE
    history = session.scalar(select(LoanHistory))
    assert history.item_id == library[0].id and history.returned_at > history.issued_at
    ops = session.scalars(select(PendingOfflineOperation)).all()
    assert {op.status for op in ops} == {OfflineStatus.APPLIED} and {op.source for op in ops} == {"browser"}


def test_transactions_survive_a_browser_restart_and_the_page_opens_offline(chromium, live_server, library, tmp_path):
    profile = tmp_path / "profile"

    def start():
        return chromium.browser_type.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, base_url=live_server.url)

    context = start()
    try:
        page = context.pages[0] if context.pages else context.new_page()
        _log_in(page)
        _open_offline_page(page, "#checkin")
        for barcode in ("39999000000001", "39999000000003", "unknown-barcode"):
            _check_in(page, barcode)
        # Nothing synchronised on this workstation: every barcode is flagged, and still recorded.
        expect(page.locator("#checkins tbody tr.unknown")).to_have_count(3)
        expect(page.locator("#checkins tbody tr").first).to_contain_text("Unknown barcode: recorded anyway")
        expect(page.locator("#waiting-count")).to_have_text("3 transaction(s) waiting to upload")
        workstation = page.locator("#workstation-id").inner_text()
    finally:
        context.close()

    context = start()
    try:
        context.set_offline(True)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/staff/offline/page#synchronise")  # the browser restarted with the server out of reach
        expect(page.locator("#waiting-count")).to_have_text("3 transaction(s) waiting to upload")
        expect(page.locator("#workstation-id")).to_have_text(workstation)
        expect(page.locator("#transactions tbody tr")).to_have_count(3)
        expect(page.locator("#transactions tbody tr").first).to_contain_text(re.compile("unknown-barcode"))
        screenshot(page, "offline-after-restart")
    finally:
        context.close()
