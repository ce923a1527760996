"""OPAC pages: catalogue search, a title's copies, and the patron's loans, fines and history."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from app import clock
from app.models import AccountLine, ItemTransfer, Loan, LoanHistory, Privacy
from app.models.circulation import DebitType, TransferReason
from app.services import search

from .conftest import csrf_token_from, login_as


def lend(session, item, patron, due_in_days: int = 14) -> Loan:
    now = clock.now()
    loan = Loan(patron_id=patron.id, item_id=item.id, library_code=item.holding_library_code,
                issued_at=now - dt.timedelta(days=1), due_at=now + dt.timedelta(days=due_in_days))
    session.add(loan)
    session.flush()
    return loan


def local_day(moment: dt.datetime) -> str:
    return clock.local(moment).date().isoformat()


def test_the_opac_home_page_has_a_search_box(client):
    html = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in html and 'name="q"' in html


def test_search_lists_titles_with_author_year_and_availability(client, session, make):
    book = make.title(title="The Hobbit", subtitle="There and back again", author="J. R. R. Tolkien",
                      publication_year=1937)
    make.item(book)
    lend(session, make.item(book), make.patron())
    make.title(title="Unrelated")
    session.commit()
    response = client.get("/search?q=back")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The Hobbit: There and back again" in html and "Tolkien" in html and "1937" in html
    assert "1 of 2 available" in html
    assert f'href="/titles/{book.id}"' in html
    assert "Unrelated" not in html


def test_search_by_isbn_finds_the_title(client, session, make):
    make.title(title="Catcher in the rye", isbn="9780316769488")
    session.commit()
    for query in ("9780316769488", "978-0-316-76948-8", "0-316-76948-7"):
        assert "Catcher in the rye" in client.get("/search", query_string={"q": query}).get_data(as_text=True)


def test_search_pages_link_to_each_other(client, session, make):
    for n in range(45):
        make.title(title=f"Paged title {n:02d}")
    session.commit()
    first = client.get("/search?q=paged").get_data(as_text=True)
    assert "Titles 1–20 of 45" in first and 'href="/search?q=paged&amp;page=2"' in first
    third = client.get("/search?q=paged&page=3").get_data(as_text=True)
    assert "Titles 41–45 of 45" in third and 'rel="prev"' in third and 'rel="next"' not in third
    assert len(re.findall(r'class="hit"', third)) == 5


def test_an_htmx_search_gets_only_the_results(client, session, make):
    make.title(title="Fragmentary")
    session.commit()
    response = client.get("/search?q=fragmentary", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "Fragmentary" in html and "<html" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


@pytest.mark.parametrize("query", ['"', "NEAR(a b)", "*", "-", "a:b", "(", "')--", "x" * 1000, "%", ""])
def test_odd_queries_give_a_page_not_an_error(client, query):
    assert client.get("/search", query_string={"q": query, "page": "x", "per_page": "-3"}).status_code == 200


def test_a_search_that_takes_too_long_asks_to_be_refined(client, session, make, monkeypatch):
    make.title(title="Anything")
    session.commit()

    def too_slow(*_args, **_kw):
        raise search.SearchTimedOut("canceling statement due to statement timeout")

    monkeypatch.setattr(search, "_matching_ids", too_slow)
    response = client.get("/search?q=anything")
    assert response.status_code == 200
    assert "took too long" in response.get_data(as_text=True)


def test_nothing_found_says_so(client):
    assert "No titles match" in client.get("/search?q=zzzyzzx").get_data(as_text=True)


def test_the_title_page_lists_copies_with_their_status(client, session, make):
    patron = make.patron()
    book = make.title(title="Statuses", author="Somebody", isbn="9780000000002", subjects="Testing; Libraries")
    make.library("MPL", name="Midway Public Library")
    make.item(book, library="MPL", callnumber="005.1 SHE", enumchron="v.1", barcode="B-AVAILABLE")
    loan = lend(session, make.item(book, callnumber="005.1 SHE", enumchron="v.2", barcode="B-OUT"), patron, 10)
    make.item(book, lost=1, barcode="B-LOST")
    make.item(book, damaged=True, barcode="B-DAMAGED")
    make.item(book, not_for_loan=1, barcode="B-NFL")
    make.item(book, withdrawn=True, barcode="B-WITHDRAWN")
    moving = make.item(book, barcode="B-TRANSIT")
    session.add(ItemTransfer(item_id=moving.id, from_library_code="CPL", to_library_code="MPL",
                             reason=TransferReason.MANUAL, sent_at=clock.now()))
    session.commit()
    html = client.get(f"/titles/{book.id}").get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(r'data-barcode="([^"]+)">(.*?)</tr>', html, re.S)}
    assert set(rows) == {"B-AVAILABLE", "B-OUT", "B-LOST", "B-DAMAGED", "B-NFL", "B-TRANSIT"}
    assert "Midway Public Library" in rows["B-AVAILABLE"] and "005.1 SHE" in rows["B-AVAILABLE"]
    assert "v.1" in rows["B-AVAILABLE"] and "Available" in rows["B-AVAILABLE"]
    assert "Checked out" in rows["B-OUT"] and f"due {local_day(loan.due_at)}" in rows["B-OUT"]
    assert "Lost" in rows["B-LOST"] and "Damaged" in rows["B-DAMAGED"]
    assert "Not for loan" in rows["B-NFL"] and "In transit" in rows["B-TRANSIT"]
    assert "9780000000002" in html and "Libraries" in html


def test_an_unknown_title_is_not_found(client):
    assert client.get("/titles/999999").status_code == 404


def test_the_account_page_shows_loans_with_renew_buttons_and_fines(client, session, make):
    patron = make.patron(password="pw")
    loan = lend(session, make.item(make.title(title="Borrowed book")), patron, 5)
    session.add_all([
        AccountLine(patron_id=patron.id, debit_type=DebitType.OVERDUE, amount=Decimal("1.50"),
                    amount_outstanding=Decimal("1.50"), description="Overdue: Borrowed book"),
        AccountLine(patron_id=patron.id, debit_type=DebitType.NEW_CARD, amount=Decimal("2.00"),
                    amount_outstanding=Decimal("0.75")),
    ])
    session.commit()
    login_as(client, patron.userid, "pw")
    html = client.get("/account").get_data(as_text=True)
    assert "Borrowed book" in html and local_day(loan.due_at) in html
    assert f'hx-post="/account/loans/{loan.id}/renew"' in html
    assert "Overdue: Borrowed book" in html and "1.50" in html and "New card" in html
    assert re.search(r'class="balance"[^>]*>2\.25<', html)


def test_a_patron_renews_their_own_loan_from_the_account_page(client, session, make):
    patron = make.patron(password="pw")
    loan = lend(session, make.item(make.title(title="Renewable")), patron, 3)
    old_due = loan.due_at
    session.commit()
    login_as(client, patron.userid, "pw")
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post(f"/account/loans/{loan.id}/renew", headers={"HX-Request": "true", "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    session.expire_all()
    renewed = session.get(Loan, loan.id)
    assert renewed.due_at > old_due and renewed.renewals_count == 1
    assert f"Renewed, now due {local_day(renewed.due_at)}" in html
    assert html.lstrip().startswith(f'<tr id="loan-{loan.id}"')


def test_a_refused_renewal_says_why_in_the_row(client, session, make):
    patron = make.patron(password="pw")
    loan = lend(session, make.item(make.title(title="Much renewed")), patron, 3)
    loan.renewals_count = 99
    session.commit()
    login_as(client, patron.userid, "pw")
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    html = client.post(f"/account/loans/{loan.id}/renew",
                       headers={"HX-Request": "true", "X-CSRFToken": token}).get_data(as_text=True)
    assert "Not renewed" in html and "as many times as allowed" in html
    session.expire_all()
    assert session.get(Loan, loan.id).renewals_count == 99


def test_renewing_without_javascript_returns_to_the_account_page(client, session, make):
    patron = make.patron(password="pw")
    loan = lend(session, make.item(make.title(title="Plain form")), patron, 3)
    session.commit()
    login_as(client, patron.userid, "pw")
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post(f"/account/loans/{loan.id}/renew", data={"csrf_token": token}, follow_redirects=True)
    assert response.request.path == "/account"
    assert "Plain form renewed." in response.get_data(as_text=True)


def test_a_patron_cannot_renew_someone_elses_loan(client, session, make):
    me = make.patron(password="pw")
    other = make.patron()
    theirs = lend(session, make.item(make.title(title="Not mine")), other, 3)
    due = theirs.due_at
    session.commit()
    login_as(client, me.userid, "pw")
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post(f"/account/loans/{theirs.id}/renew", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(Loan, theirs.id).due_at == due and session.get(Loan, theirs.id).renewals_count == 0


def test_renewing_needs_a_login(client, session, make):
    loan = lend(session, make.item(), make.patron(), 3)
    session.commit()
    response = client.post(f"/account/loans/{loan.id}/renew")
    assert response.status_code in (302, 400)  # the login page, or the CSRF refusal before it
    session.expire_all()
    assert session.get(Loan, loan.id).renewals_count == 0


def _history(session, patron, item, days_ago: int, loan_id: int) -> LoanHistory:
    returned = clock.now() - dt.timedelta(days=days_ago)
    row = LoanHistory(loan_id=loan_id, patron_id=patron.id if patron else None, item_id=item.id,
                      library_code="CPL", issued_at=returned - dt.timedelta(days=10),
                      due_at=returned + dt.timedelta(days=4), returned_at=returned, anonymized=patron is None)
    session.add(row)
    session.flush()
    return row


def test_reading_history_lists_the_patrons_returned_loans(client, session, make):
    me = make.patron(password="pw", privacy=Privacy.KEEP_FOREVER)
    other = make.patron()
    _history(session, me, make.item(make.title(title="Read last year")), 300, 9001)
    _history(session, me, make.item(make.title(title="Read last week")), 7, 9002)
    _history(session, other, make.item(make.title(title="Someone else read")), 5, 9003)
    _history(session, None, make.item(make.title(title="Anonymised loan")), 3, 9004)
    session.commit()
    login_as(client, me.userid, "pw")
    html = client.get("/account/history").get_data(as_text=True)
    assert html.index("Read last week") < html.index("Read last year")
    assert "Someone else read" not in html and "Anonymised loan" not in html
    assert "chosen to keep your reading history" in html


def test_reading_history_says_none_is_kept_when_the_patron_chose_never(client, session, make):
    me = make.patron(password="pw", privacy=Privacy.NEVER_KEEP)
    _history(session, None, make.item(make.title(title="Returned anonymously")), 1, 9101)
    session.commit()
    login_as(client, me.userid, "pw")
    html = client.get("/account/history").get_data(as_text=True)
    assert "chosen not to keep a reading history" in html
    assert "Returned anonymously" not in html


def test_reading_history_links_to_the_privacy_choice_when_the_library_allows_it(client, session, make):
    from app.services.settings import set_preference

    me = make.patron(password="pw")
    session.commit()
    login_as(client, me.userid, "pw")
    assert "/account/privacy" not in client.get("/account/history").get_data(as_text=True)
    set_preference(session, "OPACPrivacy", "1", actor_id=None)
    session.commit()
    assert 'href="/account/privacy"' in client.get("/account/history").get_data(as_text=True)


def test_reading_history_needs_a_login(client):
    response = client.get("/account/history")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
