"""In real Chromium: a patron places a hold from a title page, then suspends all their holds
with a resume date and sees every hold marked suspended until that date, without a page load;
a librarian moves a hold to the top of a title's queue."""
from __future__ import annotations

import datetime as dt

import pytest

from app import clock
from app.services import holds

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def library(make, session):
    make.library("CPL", name="Centerville")
    make.library("FPL", name="Fairview")
    make.staff("holds", userid="librarian", password="librarian", surname="Librarian", firstname="Lee")
    reader = make.patron(cardnumber="23529000000001", userid="patron1", password="patron", surname="Reader",
                         firstname="Pat")
    titles = [make.title(title=name, author="Ursula K. Le Guin") for name in
              ("The Dispossessed", "The Lathe of Heaven", "A Wizard of Earthsea")]
    for title in titles:
        make.item(title)
    others = [make.patron(surname=f"Waiting{n}") for n in range(3)]
    for title in titles[:2]:
        for patron in others:
            holds.place_hold(session, patron, title, None, channel="staff")
    for title in titles[1:]:
        holds.place_hold(session, reader, title, reader, channel="opac")
    session.commit()
    return titles


def test_a_patron_suspends_all_holds_until_a_date(page, library):
    log_in(page, "23529000000001", "patron")
    page.goto(f"/titles/{library[0].id}")
    page.click("text=Place hold")
    page.select_option("select[name=pickup]", "FPL")
    screenshot(page, "opac-place-hold")
    page.click("button:has-text('Place hold')")
    page.wait_for_url("**/account/holds")
    assert "you are number 4 in the queue" in page.content()
    rows = page.locator("#my-holds tbody tr")
    assert rows.count() == 3
    screenshot(page, "opac-my-holds")

    until = (clock.today() + dt.timedelta(days=21)).isoformat()
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    page.fill("#suspend-all-until", until)
    page.click("button[name=suspend_all]")
    page.wait_for_selector("text=3 hold(s) suspended")
    assert page.evaluate("window.loadedOnce") is True
    statuses = page.locator("#my-holds tbody tr td.status .badge").all_inner_texts()
    assert statuses == [f"Suspended until {until}"] * 3
    assert page.locator("#my-holds tbody tr[data-status=suspended]").count() == 3
    screenshot(page, "opac-my-holds-suspended")

    page.reload()
    assert page.locator("#my-holds tbody tr td.status .badge").all_inner_texts() == [f"Suspended until {until}"] * 3

    first = page.locator("#my-holds tbody tr").first
    first.locator("button:has-text('Cancel')").click()
    page.wait_for_selector("#my-holds tbody tr >> text=is cancelled")
    page.reload()
    assert page.locator("#my-holds tbody tr").count() == 2
    assert page.locator("#ended-holds tbody tr td .badge").all_inner_texts() == ["Cancelled by you"]
    screenshot(page, "opac-my-holds-ended")


def test_a_librarian_moves_a_hold_to_the_top(page, library):
    log_in(page, "librarian", "librarian", staff=True)
    page.click("nav.staff-nav >> text=Holds")
    page.fill("#title", "Lathe")
    page.click("button:has-text('Find title')")
    page.click("text=The Lathe of Heaven")
    last = page.locator("#queue tbody tr").nth(3)
    patron = last.locator("td").nth(1).inner_text()
    page.evaluate("window.loadedOnce = true")
    last.locator("button[value=top]").click()
    page.wait_for_selector("text=is now number 1 in the queue")
    assert page.evaluate("window.loadedOnce") is True
    assert page.locator("#queue tbody tr").first.locator("td").nth(1).inner_text() == patron
    assert page.locator("#queue tbody tr td.pos").all_inner_texts() == ["1", "2", "3", "4"]
    screenshot(page, "staff-holds-queue")
    page.locator("#queue tbody tr").first.locator("text=Details").click()
    page.wait_for_selector("text=History")
    screenshot(page, "staff-hold-detail")
