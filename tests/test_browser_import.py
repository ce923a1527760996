"""In real Chromium: a librarian uploads a patron CSV with two bad rows on Tools > Import
patrons, follows the background job's progress and reads the report listing both rows."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import log_in
from .conftest import screenshot

pytestmark = pytest.mark.browser

CSV = ("cardnumber,surname,firstname,branchcode,categorycode,dateofbirth,patron_attributes\r\n"
       "5550001,Okafor,Ada,CPL,PT,1990-02-03,\r\n"
       "5550002,,Nobody,CPL,PT,,\r\n"
       "5550003,Lee,Sam,CPL,PT,1990-02-31,\r\n"
       "5550004,Park,Jo,CPL,PT,,\r\n")


@pytest.fixture
def librarian(make, session):
    make.library("CPL", name="Centerville")
    make.category("PT")
    make.staff("import", userid="tools-staff", password="tools-pass", surname="Tool", firstname="Tess")
    session.commit()


def test_upload_with_two_bad_rows_and_read_the_report(page, librarian, tmp_path):
    path = tmp_path / "new-students.csv"
    path.write_text(CSV, encoding="utf-8")
    log_in(page, "tools-staff", "tools-pass", staff=True)
    page.click("nav.staff-nav >> text=Tools")
    page.click("main >> text=Import patrons")
    page.set_input_files("input[name=file]", str(path))
    page.check("input[name=patron_list]")
    screenshot(page, "import-patrons-form")
    page.click("form.import-form button[type=submit]")
    page.wait_for_url("**/staff/tools/import-patrons/*")
    summary = page.locator("#import-progress h2.summary")
    expect(summary).to_have_text("0 created, 0 overwritten, 0 ignored, 2 malformed", timeout=20000)
    report = page.locator("pre.import-report").inner_text()
    assert "line 3: surname is required" in report
    assert "line 4: dateofbirth: '1990-02-31' is not a date" in report
    assert "Nothing was imported" in page.locator("#import-progress").inner_text()
    screenshot(page, "import-patrons-report")
    with page.expect_download() as download:
        page.click("text=Download the report")
    saved = tmp_path / "report.txt"
    download.value.save_as(saved)
    assert saved.read_text().startswith("0 created, 0 overwritten, 0 ignored, 2 malformed\n")
