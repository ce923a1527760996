"""In real Chromium: staff and patrons log in with the demo accounts' shape and see their pages."""
from __future__ import annotations

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_accounts(make, session):
    make.library("CPL", name="Centerville")
    make.staff("superlibrarian", userid="admin", password="admin", surname="Admin", firstname="Demo")
    make.patron(cardnumber="23529000000001", userid="patron1", password="patron", surname="Reader", firstname="Pat")
    session.commit()


def test_staff_logs_in_and_sees_every_area(page, demo_accounts):
    page.goto("/staff/")
    assert "/staff/login" in page.url
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", "admin")
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/")
    nav = page.locator("nav.staff-nav").inner_text()
    for area in ("Circulation", "Patrons", "Holds", "Tools", "Offline circulation", "Privacy", "Administration"):
        assert area in nav
    assert page.locator("h1").inner_text() == "Welcome, Demo Admin"
    screenshot(page, "staff-home")


def test_patron_logs_into_the_opac_and_sees_their_account(page, demo_accounts):
    page.goto("/login")
    page.fill("input[name=login]", "23529000000001")
    page.fill("input[name=password]", "patron")
    page.click("button[type=submit]")
    page.wait_for_url("**/account")
    assert "Hello, Pat Reader" in page.locator("h1").inner_text()
    assert "You have nothing on loan" in page.content()
    screenshot(page, "opac-account")


def test_wrong_password_shows_the_error_in_the_form(page, demo_accounts):
    page.goto("/staff/login")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "Invalid login or password."
    screenshot(page, "staff-login-error")
