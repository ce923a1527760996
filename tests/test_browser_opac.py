"""In real Chromium: a visitor searches the catalogue and opens a title; a patron renews a loan
from the account page without leaving it."""
from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.models import Loan

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(make, session):
    make.library("CPL", name="Centerville")
    make.library("MPL", name="Midway")
    reader = make.patron(cardnumber="23529000000001", userid="patron1", password="patron",
                         surname="Reader", firstname="Pat")
    hobbit = make.title(title="The Hobbit", subtitle="or There and Back Again", author="J. R. R. Tolkien",
                        publication_year=1937, isbn="9780261102217", publisher="George Allen & Unwin",
                        series="Middle-earth", subjects="Fantasy fiction; Dragons")
    make.item(hobbit, library="CPL", callnumber="823.912 TOL", barcode="39999000000011")
    make.item(hobbit, library="MPL", callnumber="823.912 TOL", barcode="39999000000012", damaged=True)
    lent = make.item(hobbit, library="CPL", callnumber="823.912 TOL", enumchron="Large print", barcode="39999000000013")
    make.title(title="Farmer Giles of Ham", author="J. R. R. Tolkien", publication_year=1949)
    now = clock.now()
    session.add(Loan(patron_id=reader.id, item_id=lent.id, library_code="CPL", issued_at=now - dt.timedelta(days=3),
                     due_at=now + dt.timedelta(days=11)))
    session.commit()
    return {"hobbit": hobbit}


def test_a_visitor_searches_the_catalogue_and_opens_a_title(page, catalogue):
    page.goto("/")
    page.fill("input[name=q]", "back again")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/search?q=back+again")
    hits = page.locator("li.hit")
    assert hits.count() == 1
    assert "1 of 3 available" in hits.first.inner_text()
    screenshot(page, "opac-search-results")

    # A second search from the results page swaps the results in place (htmx) and keeps the URL.
    page.fill("input[name=q]", "tolkien")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/search?q=tolkien")
    page.locator("li.hit", has_text="Farmer Giles").wait_for()
    assert page.locator("li.hit").count() == 2

    page.click("a.hit-title >> text=The Hobbit")
    page.wait_for_url(f"**/titles/{catalogue['hobbit'].id}")
    assert "The Hobbit" in page.locator("h1").inner_text()
    rows = page.locator("table.holdings tbody tr")
    assert rows.count() == 3
    statuses = {rows.nth(i).get_attribute("data-barcode"): rows.nth(i).locator("td.status").inner_text()
                for i in range(3)}
    assert statuses["39999000000011"] == "Available"
    assert statuses["39999000000012"] == "Damaged"
    assert statuses["39999000000013"].startswith("Checked out due ")
    screenshot(page, "opac-title")


def test_a_patron_renews_a_loan_in_place(page, catalogue):
    page.goto("/login")
    page.fill("input[name=login]", "23529000000001")
    page.fill("input[name=password]", "patron")
    page.click("button[type=submit]")
    page.wait_for_url("**/account")
    row = page.locator("tr.loan")
    before = row.locator("td.due").inner_text()
    row.get_by_role("button", name="Renew").click()
    page.locator("tr.loan", has_text="Renewed, now due").wait_for()
    after = page.locator("tr.loan td.due").inner_text()
    assert after > before
    assert page.url.endswith("/account")
    screenshot(page, "opac-account-renewed")
