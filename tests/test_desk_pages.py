"""The circulation desk, the check-in page, slips and the staff patron pages, through the test
client: htmx requests get the rows they changed, plain form posts get whole pages."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Iterator

import pytest
from sqlalchemy import event, func, select

from app import clock
from app.extensions import db
from app.models import AccountLine, CreditType, HoldStatus, Loan, LoanHistory
from app.services import fines

from .conftest import csrf_token_from, login_as
from .test_circulation_fixtures import MONDAY, day, desk, frozen  # noqa: F401


class Browser:
    """The test client logged in as a librarian, with the page's CSRF token at hand."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def get(self, url: str, htmx: bool = False, **kw):
        return self.client.get(url, headers={"HX-Request": "true"} if htmx else {}, **kw)

    def post(self, url: str, data: dict | None = None, htmx: bool = True, **kw):
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data or {}, headers=headers, **kw)


@pytest.fixture
def staff_browser(desk, client, session):
    desk.make.staff("superlibrarian", userid="desk-admin", password="pw-desk", surname="Desk")
    session.commit()
    assert login_as(client, "desk-admin", "pw-desk", staff=True).status_code == 302
    return Browser(client, csrf_token_from(client.get("/staff/").get_data(as_text=True)))


def _html(response) -> str:
    return response.get_data(as_text=True)


def _checkout(browser: Browser, desk, barcode: str, htmx: bool = True, **extra):
    return browser.post(f"/staff/circulation/patrons/{desk.patron.id}/checkout", {"barcode": barcode, **extra}, htmx=htmx)


# --- the desk -------------------------------------------------------------------------------

def test_the_desk_asks_for_a_patron_card(staff_browser):
    page = _html(staff_browser.get("/staff/circulation/"))
    assert "Scan a patron card" in page and 'name="card"' in page


def test_scanning_a_card_shows_the_patron_panel(staff_browser, desk):
    response = staff_browser.get("/staff/circulation/?card=23529000000001", htmx=True)
    html = _html(response)
    assert "<html" not in html and "Reader, Pat" in html and 'id="checkout-form"' in html
    assert response.headers["HX-Push-Url"] == f"/staff/circulation/?patron_id={desk.patron.id}"
    assert response.headers["Vary"] and "HX-Request" in response.headers["Vary"]
    full = _html(staff_browser.get(f"/staff/circulation/?patron_id={desk.patron.id}"))
    assert "<html" in full and "Reader, Pat" in full


def test_a_name_finds_the_patron_or_lists_the_matches(staff_browser, desk, session):
    assert "Reader, Pat" in _html(staff_browser.get("/staff/circulation/?card=pat+reader", htmx=True))
    desk.make.patron(surname="Reader", firstname="Robin")
    session.commit()
    listing = _html(staff_browser.get("/staff/circulation/?card=reader"))
    assert "Patrons matching" in listing and "Reader, Robin" in listing and "Reader, Pat" in listing


def test_an_unknown_card_says_so(staff_browser):
    assert "No patron has card number" in _html(staff_browser.get("/staff/circulation/?card=nobody-at-all", htmx=True))


def test_scanning_an_item_adds_a_row_with_its_due_date(staff_browser, desk, session):
    session.commit()
    html = _html(_checkout(staff_browser, desk, "39999000000001"))
    assert html.lstrip().startswith("<tr") and "The Left Hand of Darkness" in html
    assert day(14).isoformat() in html
    assert 'id="patron-summary" class="patron-summary" hx-swap-oob="true"' in html
    assert re.search(r'id="loan-count">1<', html)
    assert 'id="checkout-form"' in html and 'hx-swap-oob="true"' in html  # a fresh scan form
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Loan)) == 1


def test_after_a_scan_the_summary_counts_loans_and_overdue_loans(staff_browser, desk, session):
    desk.check_out()
    desk.make.item(barcode="39999000000002")
    session.commit()
    with clock.freeze(MONDAY + dt.timedelta(days=20)):
        html = _html(_checkout(staff_browser, desk, "39999000000002"))
    assert re.search(r'id="loan-count">2<', html) and re.search(r"<dt>Overdue</dt><dd>1</dd>", html)


def test_a_refused_item_shows_why_without_an_override(staff_browser, desk, session):
    desk.item.withdrawn = True
    session.commit()
    html = _html(_checkout(staff_browser, desk, "39999000000001"))
    assert "The item is withdrawn." in html and "Not checked out" in html
    assert "Check out anyway" not in html


def test_an_unknown_barcode_is_a_refused_row(staff_browser, desk, session):
    session.commit()
    html = _html(_checkout(staff_browser, desk, "no-such-item"))
    assert "No item has barcode &#39;no-such-item&#39;." in html


def test_staff_override_a_confirmation_from_the_row(staff_browser, desk, session):
    desk.check_out(patron=desk.make.patron(surname="Other", firstname="Olga"))
    session.commit()
    html = _html(_checkout(staff_browser, desk, "39999000000001"))
    assert "on loan to Olga Other" in html and "Check out anyway" in html
    assert 'name="confirm" value="on_loan_to_another_patron"' in html
    done = _html(_checkout(staff_browser, desk, "39999000000001", confirm="on_loan_to_another_patron"))
    assert "Checked in from Olga Other first." in done and day(14).isoformat() in done
    session.expire_all()
    assert session.scalar(select(Loan.patron_id)) == desk.patron.id


def test_scanning_an_item_the_patron_has_offers_a_renewal_that_replaces_its_row(staff_browser, desk, session):
    loan = desk.check_out().loan
    session.commit()
    html = _html(_checkout(staff_browser, desk, "39999000000001"))
    assert "already on loan to this patron" in html and ">Renew<" in html
    renewed = _html(_checkout(staff_browser, desk, "39999000000001", confirm="already_on_loan_to_patron"))
    assert f'<tr id="loan-{loan.id}" hx-swap-oob="delete">' in renewed
    assert "Renewed: now due " + day(28).isoformat() in renewed


def test_without_javascript_a_scan_returns_the_whole_desk(staff_browser, desk, session):
    session.commit()
    response = _checkout(staff_browser, desk, "39999000000001", htmx=False)
    html = _html(response)
    assert response.status_code == 200 and "<html" in html and html.count('data-barcode="39999000000001"') == 1
    assert 'hx-swap-oob' not in html


def test_a_blank_scan_asks_for_a_barcode(staff_browser, desk, session):
    session.commit()
    assert "Scan or type a barcode." in _html(_checkout(staff_browser, desk, "  "))
    assert _checkout(staff_browser, desk, "", htmx=False).status_code == 400


def test_renew_from_the_row(staff_browser, desk, session):
    loan = desk.check_out().loan
    session.commit()
    html = _html(staff_browser.post(f"/staff/circulation/loans/{loan.id}/renew", {"context": "desk"}))
    assert html.lstrip().startswith("<tr") and "Renewed: now due " + day(28).isoformat() in html
    assert 'id="patron-summary"' in html


def test_a_row_shows_why_a_loan_cannot_be_renewed(staff_browser, desk, session):
    desk.rule("renewalsallowed", 0)
    desk.check_out()
    session.commit()
    html = _html(staff_browser.get(f"/staff/circulation/?patron_id={desk.patron.id}"))
    assert "Not renewable: Renewed 0 times already; the limit is 0." in html


def test_check_in_from_the_row(staff_browser, desk, session):
    loan = desk.check_out().loan
    session.commit()
    html = _html(staff_browser.post(f"/staff/circulation/loans/{loan.id}/checkin", {"context": "desk"}))
    assert 'class="returned"' in html and "Checked in" in html
    assert re.search(r'id="loan-count">0<', html)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(LoanHistory)) == 1


def test_a_row_for_a_loan_already_closed(staff_browser, desk, session):
    loan = desk.check_out().loan
    loan_id = loan.id
    desk.check_in()
    session.commit()
    assert "no longer open" in _html(staff_browser.post(f"/staff/circulation/loans/{loan_id}/renew"))
    response = staff_browser.post(f"/staff/circulation/loans/{loan_id}/checkin", htmx=False)
    assert response.status_code == 302


def test_without_javascript_row_actions_redirect_with_a_message(staff_browser, desk, session):
    loan = desk.check_out().loan
    session.commit()
    response = staff_browser.post(f"/staff/circulation/loans/{loan.id}/renew", {"context": "patron"}, htmx=False)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/patrons/{desk.patron.id}#loans")
    page = _html(staff_browser.get(response.headers["Location"]))
    assert "Renewed: now due" in page


# --- check-in page and slips -----------------------------------------------------------------

def test_the_check_in_page_routes_an_item_home_and_offers_a_slip(staff_browser, desk, session):
    desk.item.home_library_code = "FPL"
    desk.check_out()
    session.commit()
    assert "Check in" in _html(staff_browser.get("/staff/circulation/checkin"))
    html = _html(staff_browser.post("/staff/circulation/checkin", {"barcode": "39999000000001"}))
    assert "Checked in" in html and "The item belongs to Fairview: send it home." in html
    assert f"/staff/circulation/slip/{desk.item.id}" in html
    slip = _html(staff_browser.get(f"/staff/circulation/slip/{desk.item.id}"))
    assert "Transfer" in slip and "Fairview" in slip and "39999000000001" in slip


def test_checking_in_an_item_not_on_loan_is_a_quiet_row(staff_browser, desk, session):
    session.commit()
    html = _html(staff_browser.post("/staff/circulation/checkin", {"barcode": "39999000000001"}))
    assert "The item was not on loan." in html and "refused" not in html.split(">")[0]


def test_check_in_without_javascript_and_an_unknown_barcode(staff_browser, desk, session):
    session.commit()
    html = _html(staff_browser.post("/staff/circulation/checkin", {"barcode": "nope"}, htmx=False))
    assert "<html" in html and "No item has barcode" in html and "hx-swap-oob" not in html


def test_a_hold_slip_names_the_patron_and_pickup_library(staff_browser, desk, session):
    desk.hold(desk.make.patron(surname="Holder", firstname="Hana"), status=HoldStatus.PULLED, allocated=desk.item,
              pickup="FPL")
    session.commit()
    slip = _html(staff_browser.get(f"/staff/circulation/slip/{desk.item.id}"))
    assert "Hold" in slip and "Holder, Hana" in slip and "Fairview" in slip


def test_no_slip_for_an_item_going_nowhere(staff_browser, desk, session):
    session.commit()
    assert staff_browser.get(f"/staff/circulation/slip/{desk.item.id}").status_code == 404


# --- patron pages ----------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["reader", "Pat Read", "user-x@example.org", "EXAMPLE.ORG"])
def test_patron_search_by_name_and_email(staff_browser, desk, session, query):
    desk.patron.email = "user-x@example.org"
    session.commit()
    html = _html(staff_browser.get(f"/staff/patrons?q={query}"))
    assert "Reader, Pat" in html


def test_an_exact_card_number_opens_the_patron(staff_browser, desk, session):
    session.commit()
    response = staff_browser.get("/staff/patrons?q=23529000000001")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/patrons/{desk.patron.id}")
    assert "Reader, Pat" in _html(staff_browser.get(f"/staff/patrons?q={desk.patron.userid}", htmx=True))


def test_the_patron_page_shows_loans_fines_and_holds(staff_browser, desk, session):
    desk.check_out()
    fines.add_manual_fee(session, desk.patron, "2.50", None, description="Replacement card")
    desk.hold(desk.patron)
    session.commit()
    html = _html(staff_browser.get(f"/staff/patrons/{desk.patron.id}"))
    assert "The Left Hand of Darkness" in html and "Replacement card" in html and "2.50" in html
    assert 'name="context" value="patron"' in html and "Take a payment" in html
    assert "Holds (1)" in html


def test_taking_a_payment_refreshes_the_account(staff_browser, desk, session):
    fines.add_manual_fee(session, desk.patron, "2.50", None, description="Replacement card")
    session.commit()
    html = _html(staff_browser.post(f"/staff/patrons/{desk.patron.id}/pay", {"amount": "1.00", "payment_type": "card"}))
    assert html.lstrip().startswith('<section class="card" id="account"')
    assert "Payment of 1.00 taken." in html and re.search(r'id="balance">1.50<', html)
    session.expire_all()
    credit = session.scalar(select(AccountLine).where(AccountLine.credit_type == CreditType.PAYMENT))
    assert credit.payment_type == "card" and credit.library_code == "CPL"


def test_a_bad_amount_is_shown_in_the_account(staff_browser, desk, session):
    session.commit()
    html = _html(staff_browser.post(f"/staff/patrons/{desk.patron.id}/pay", {"amount": "lots"}))
    assert "Enter an amount such as 2.50." in html
    response = staff_browser.post(f"/staff/patrons/{desk.patron.id}/pay", {}, htmx=False)
    assert response.status_code == 302
    assert "Enter an amount." in _html(staff_browser.get(response.headers["Location"]))


def test_writing_off_the_ticked_fee_and_adding_one(staff_browser, desk, session):
    first = fines.add_manual_fee(session, desk.patron, "2.00", None, description="One")
    fines.add_manual_fee(session, desk.patron, "3.00", None, description="Two")
    session.commit()
    html = _html(staff_browser.post(f"/staff/patrons/{desk.patron.id}/write-off", {"debit": str(first.id)}))
    assert "Wrote off 2.00." in html and re.search(r'id="balance">3.00<', html)
    html = _html(staff_browser.post(f"/staff/patrons/{desk.patron.id}/fees", {"amount": "0.40", "description": "Print"}))
    assert "Fee of 0.40 added." in html and re.search(r'id="balance">3.40<', html)


def test_check_in_on_the_patron_page_refreshes_the_account(staff_browser, desk, session):
    loan = desk.check_out().loan
    session.commit()
    with clock.freeze(MONDAY + dt.timedelta(days=18)):
        html = _html(staff_browser.post(f"/staff/circulation/loans/{loan.id}/checkin", {"context": "patron"}))
    assert "fine of 1.00 charged" in html
    assert 'id="account" hx-swap-oob="true"' in html and re.search(r'id="balance">1.00<', html)


def test_patron_staff_without_circulate_see_no_loan_buttons(client, desk, session):
    desk.check_out()
    desk.make.staff("patrons", userid="registrar", password="pw-reg")
    session.commit()
    login_as(client, "registrar", "pw-reg", staff=True)
    html = _html(client.get(f"/staff/patrons/{desk.patron.id}"))
    assert "The Left Hand of Darkness" in html and ">Renew<" not in html and ">Check in<" not in html
    assert client.get("/staff/circulation/").status_code == 403


# --- one transaction per scan ------------------------------------------------------------------

@contextlib.contextmanager
def _engine_log() -> Iterator[list[str]]:
    """The statements the app sends during the block, with "COMMIT" where each commit happened."""
    log: list[str] = []

    def statement(_conn, _cursor, text, *_args) -> None:
        log.append(text)

    def commit(_conn) -> None:
        log.append("COMMIT")

    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield log
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


def _scan_out(browser, desk, htmx=True):
    return lambda: _checkout(browser, desk, "39999000000001", htmx=htmx)


def _scan_refused(browser, desk):
    desk.item.withdrawn = True
    return lambda: _checkout(browser, desk, "39999000000001")


def _scan_in(browser, desk, htmx=True):
    desk.check_out()
    return lambda: browser.post("/staff/circulation/checkin", {"barcode": "39999000000001"}, htmx=htmx)


def _row_action(action: str, where: str):
    def prepare(browser, desk):
        loan = desk.check_out().loan
        return lambda: browser.post(f"/staff/circulation/loans/{loan.id}/{action}", {"context": where})
    return prepare


SCANS = {
    "check-out": _scan_out,
    "check-out, whole page": lambda browser, desk: _scan_out(browser, desk, htmx=False),
    "check-out refused": _scan_refused,
    "check-in page": _scan_in,
    "check-in page, whole page": lambda browser, desk: _scan_in(browser, desk, htmx=False),
    "renew from a row": _row_action("renew", "desk"),
    "check in from a row": _row_action("checkin", "desk"),
    "check in on the patron page": _row_action("checkin", "patron"),
}


@pytest.mark.parametrize("prepare", SCANS.values(), ids=SCANS.keys())
def test_a_desk_answer_is_rendered_after_its_one_commit_without_another_transaction(staff_browser, desk, session,
                                                                                   prepare):
    """A page that loaded more after its commit would hold a connection "idle in transaction"
    (PostgreSQL) or the write lock (SQLite) while its template renders."""
    request = prepare(staff_browser, desk)
    session.commit()
    with _engine_log() as log:
        response = request()
    assert response.status_code == 200
    assert log.count("COMMIT") == 1 and log[-1] == "COMMIT", log[log.index("COMMIT"):]
