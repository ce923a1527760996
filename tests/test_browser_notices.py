"""In real Chromium: a librarian opens Administration > Notices, edits the hold-ready template for
one library, previews it for a real patron (htmx swaps the preview in without leaving the page or
saving), fixes a refused placeholder and saves."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import NoticeTemplate

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def library(make, session):
    make.library("CPL", name="Centerville")
    make.staff("administration", userid="admin2", password="pw-admin", surname="Admin", firstname="Ada")
    make.patron(cardnumber="23529000000099", firstname="Octavia", surname="Butler", email="ob@example.org")
    session.commit()


def test_edit_preview_and_save_the_hold_ready_template(page, library, session):
    log_in(page, "admin2", "pw-admin", staff=True)
    page.click("nav.staff-nav >> text=Administration")
    page.click("text=Notices")
    page.wait_for_url("**/staff/admin/notices/")
    page.locator("tr:has(td code:text-is('HOLD'))").locator("a", has_text="All libraries").click()
    page.wait_for_url("**/staff/admin/notices/HOLD?library=*")
    page.select_option("select[name=library]", "CPL")
    page.click("button:has-text('Show')")
    page.wait_for_url("**/staff/admin/notices/HOLD?library=CPL")
    page.fill("#subject", "Ready at {{ library.name }}: {{ title.title }}")
    page.fill("#body_text", "Hello {{ patron.firstname }}, card {{ patron.cardnumber }}. {{ patron.password_hash }}")
    page.fill("#preview_patron", "23529000000099")
    url_before = page.url
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#preview .flash-error")
    assert "text body" in page.locator("#preview").inner_text()
    page.fill("#body_text", "Hello {{ patron.firstname }}, card {{ patron.cardnumber }}, until {{ hold.pickup_deadline }}.")
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#preview .preview-subject")
    assert page.url == url_before  # swapped in place
    assert page.locator(".preview-subject").inner_text() == "Ready at Centerville: The Sample Title"
    assert "Hello Octavia, card 23529000000099, until" in page.locator(".preview-text").inner_text()
    assert page.locator("#preview h2").inner_text() == "Preview for Octavia Butler"
    assert "Octavia Butler" in page.locator(".preview-html").inner_text()  # the shipped HTML body
    session.rollback()
    assert session.scalars(select(NoticeTemplate)).all() == []  # previewing saved nothing
    screenshot(page, "notices-template-preview")
    page.click("button:has-text('Save')")
    page.wait_for_selector(".flash-success")
    assert "A template saved for CPL" in page.content()
    session.rollback()
    saved = session.scalars(select(NoticeTemplate)).one()
    assert (saved.event, saved.library_code) == ("HOLD", "CPL") and saved.subject.startswith("Ready at")
