"""In real Chromium: the data protection officer runs a dry run on the staff privacy page, reads
who would be purged and who is kept and why (paging with htmx), purges, and watches a long purge
go on by itself."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app import clock
from app.extensions import db
from app.models import AccountLine, DebitType
from app.services.privacy import PurgeCriteria, count_purgeable, start_purge

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def library(make, session):
    make.library("CPL", name="Centerville")
    make.staff("privacy", userid="dpo", password="pw-dpo", surname="Officer", firstname="Data")
    long_ago = clock.now() - dt.timedelta(days=800)
    leaving = [make.patron(password=None, surname=name, firstname="Left", lastseen=long_ago,
                           dateenrolled=dt.date(2019, 1, 1)) for name in ("Abbot", "Baker", "Carter")]
    never_seen = make.patron(password=None, surname="Drake", firstname="Never", dateenrolled=dt.date(2018, 5, 2))
    owing = make.patron(password=None, surname="Evans", firstname="Owing", lastseen=long_ago)
    session.add(AccountLine(patron_id=owing.id, amount=Decimal("4"), amount_outstanding=Decimal("4"),
                            debit_type=DebitType.MANUAL))
    make.patron(password=None, surname="Fisher", firstname="Recent", lastseen=clock.now() - dt.timedelta(days=2))
    session.commit()
    return leaving + [never_seen]


def _log_in(page) -> None:
    log_in(page, "dpo", "pw-dpo", staff=True)


def test_the_officer_runs_the_dry_run_reads_the_list_and_purges(page, library, monkeypatch):
    from app.blueprints.staff import privacy as page_module

    monkeypatch.setattr(page_module, "PER_PAGE", 3)
    _log_in(page)
    page.click("nav.staff-nav >> text=Privacy")
    page.wait_for_url("**/staff/privacy/")
    since = (clock.today() - dt.timedelta(days=365)).isoformat()
    page.fill("input[name=inactive_since]", since)
    page.click("button:has-text('Dry run')")
    page.wait_for_url("**/staff/privacy/dry-run?**")
    assert page.locator("#would-purge-count").inner_text() == "4 patrons would be purged"
    rows = page.locator("#purge-list tbody tr")
    assert rows.count() == 3
    first_page = rows.all_inner_texts()
    assert "Abbot, Left" in first_page[0] and "last seen" in first_page[0]
    kept = page.locator("#kept-list tbody tr").all_inner_texts()
    assert len(kept) == 1 and "Evans, Owing" in kept[0] and "owes money" in kept[0]
    assert "Fisher" not in page.content()
    screenshot(page, "privacy-dry-run")

    page.click("#purge-list >> text=Next →")
    page.wait_for_selector("#purge-list >> text=Page 2 of 2")
    second_page = page.locator("#purge-list tbody tr").all_inner_texts()
    assert len(second_page) == 1 and "Drake, Never" in second_page[0] and "never seen, enrolled 2018-05-02" in second_page[0]
    assert "/dry-run?" in page.url and "purge_page" not in page.url  # htmx swapped the list, no navigation

    page.click("button:has-text('Purge 4 patrons')")
    page.wait_for_url("**/staff/privacy/runs/**")
    assert page.locator("#run-status").inner_text() == "Finished"
    assert page.locator("#run-purged").inner_text() == "4"
    screenshot(page, "privacy-purged")


def test_a_long_purge_goes_on_by_itself_while_the_page_is_open(page, library, monkeypatch):
    from app.blueprints.staff import privacy as page_module

    monkeypatch.setattr(page_module, "SLICE_SECONDS", 0)  # one batch per request: several htmx rounds
    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(clock.today() - dt.timedelta(days=365))
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="staff", batch_size=1).id
    _log_in(page)
    page.goto(f"/staff/privacy/runs/{run_id}")
    page.wait_for_selector("#run-status >> text=Finished", timeout=20_000)
    assert page.locator("#run-purged").inner_text() == "4"
    assert "4 batches" in page.locator("#run-progress").inner_text()
    screenshot(page, "privacy-run-progress")
