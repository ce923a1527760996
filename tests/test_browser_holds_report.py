"""In real Chromium: a librarian edits a transport cost cell, types a bad value and sees the inline
error (nothing stored), fixes it, and after the rebuild job the holds report pulls the hold's copy
from the library that became cheaper."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.jobs import rebuild_holds_queue
from app.models import TransportCost
from app.services import holds
from app.services.hold_queue import fill_title
from app.services.settings import set_preference

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def libraries(make, session):
    for code, name in (("PIK", "Pickup"), ("AAA", "Alder"), ("BBB", "Birch")):
        make.library(code, name=name)
    set_preference(session, "UseTransportCostMatrix", True, actor_id=None)
    for source, cost in (("AAA", 1), ("BBB", 5)):
        session.add(TransportCost(from_library_code=source, to_library_code="PIK", cost=Decimal(cost), blocked=False))
    make.staff(userid="matrix-admin", password="pw-admin", library="BBB")
    title = make.title(title="The Left Hand of Darkness", author="Le Guin, Ursula K.")
    make.item(title, library="AAA", barcode="3900000000AAA", callnumber="813 LEG")
    make.item(title, library="BBB", barcode="3900000000BBB", callnumber="813 LEG")
    holds.place_hold(session, make.patron(library="PIK"), title, None, channel="staff", pickup_library_code="PIK")
    fill_title(session, title.id)
    session.commit()


def test_a_matrix_edit_with_a_bad_value_then_a_fix_changes_the_report(page, libraries, app):
    log_in(page, "matrix-admin", "pw-admin", staff=True)
    page.goto("/staff/holds/report")  # the librarian's library: Birch
    assert "Nothing to pull here" in page.locator("table.pull-list").inner_text()

    page.goto("/staff/admin/transport-costs")
    cell = page.locator("#cost-BBB-PIK")
    cell.locator("input[name=cost]").fill("-3")
    cell.locator("input[name=cost]").press("Enter")
    page.wait_for_selector("#cost-BBB-PIK .field-error")
    assert "cost" in page.locator("#cost-BBB-PIK .field-error").inner_text().lower()
    screenshot(page, "transport-cost-bad-value")
    page.locator("#cost-BBB-PIK input[name=cost]").fill("0.5")
    page.locator("#cost-BBB-PIK input[name=cost]").press("Enter")
    page.wait_for_selector("#cost-BBB-PIK .saved-note")
    assert page.locator("#cost-BBB-PIK .field-error").count() == 0

    rebuild_holds_queue(app)  # the scheduled job (hourly), run now
    page.goto("/staff/holds/report")
    rows = page.locator("table.pull-list").inner_text()
    assert "3900000000BBB" in rows and "The Left Hand of Darkness" in rows and "Pickup (PIK)" in rows
    screenshot(page, "holds-report-after-matrix-edit")
    url_before = page.url
    page.locator("table.pull-list button", has_text="Pulled").click()
    page.wait_for_selector("tr.row-done")
    assert "pulled; send it to PIK" in page.locator("tr.row-done").inner_text()
    assert page.url == url_before  # the row swapped in place by htmx
    page.goto("/staff/holds/report?library=AAA")
    assert "Nothing to pull here" in page.locator("table.pull-list").inner_text()
