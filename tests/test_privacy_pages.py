"""The staff privacy page: dry run (counts, who, why the others are kept, paged), purge in slices
with htmx progress, stop, anonymise now; and the OPAC privacy choice."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app import clock
from app.models import AuditEntry, LoanHistory, Patron, Privacy, PurgeRun, PurgeStatus
from app.services.settings import set_preference

from .conftest import csrf_token_from, login_as

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone.utc)
LONG_AGO = dt.datetime(2023, 2, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _now():
    with clock.freeze(NOW):
        yield


@pytest.fixture
def officer(client, make, session):
    make.staff("privacy", userid="dpo", password="pw-dpo", surname="Officer")
    session.commit()
    assert login_as(client, "dpo", "pw-dpo", staff=True).status_code == 302
    return csrf_token_from(client.get("/staff/privacy/").get_data(as_text=True))


def _html(response) -> str:
    return response.get_data(as_text=True)


def _inactive(make, n: int, **kw) -> list[Patron]:
    return [make.patron(password=None, lastseen=LONG_AGO, dateenrolled=dt.date(2020, 1, 1), **kw) for _ in range(n)]


def test_the_privacy_area_is_in_the_staff_navigation(client, officer):
    page = _html(client.get("/staff/"))
    assert 'href="/staff/privacy/"' in page


def test_the_dry_run_says_how_many_who_and_why_the_others_are_kept(client, officer, make, session):
    leaving = _inactive(make, 2, surname="Leaving")
    owing = _inactive(make, 1, surname="Owing")[0]
    from app.services import fines
    fines.add_manual_fee(session, owing, "3.00", None, description="Lost card")
    make.patron(password=None, lastseen=NOW - dt.timedelta(days=3), surname="Recent")
    session.commit()
    page = _html(client.get("/staff/privacy/dry-run", query_string={"inactive_since": "2025-06-15"}))
    assert "2 patrons would be purged" in page
    for patron in leaving:
        assert patron.sort_name in page and "last seen 2023-02-01" in page
    kept = page[page.index('id="kept-list"'):]
    assert "Owing" in kept and "owes money" in kept
    assert "Recent" not in page  # active since the date: counted, not listed
    assert session.scalar(select(func.count()).select_from(Patron)) == 5  # nothing deleted


def test_the_lists_are_paged_and_htmx_gets_one_list_alone(client, officer, make, session, monkeypatch):
    from app.blueprints.staff import privacy as page_module

    monkeypatch.setattr(page_module, "PER_PAGE", 2)
    _inactive(make, 5)
    session.commit()
    args = {"inactive_since": "2025-06-15"}
    page = _html(client.get("/staff/privacy/dry-run", query_string=args))
    assert "Page 1 of 3" in page
    fragment = _html(client.get("/staff/privacy/dry-run", query_string={**args, "list": "purge", "purge_page": 3},
                                headers={"HX-Request": "true"}))
    assert fragment.startswith('<div id="purge-list">') and "Page 3 of 3" in fragment
    assert fragment.count("<tr>") == 2  # the header and one patron


def test_a_bad_date_is_refused_with_the_form_again(client, officer):
    response = client.get("/staff/privacy/dry-run", query_string={"inactive_since": "2027-01-01"})
    assert response.status_code == 400 and "The date must be in the past." in _html(response)
    assert client.get("/staff/privacy/dry-run").status_code == 302


def _confirm(client, token, page: str):
    fields = dict(re.findall(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"', page))
    return client.post("/staff/privacy/purge", data={**fields, "csrf_token": token})


def test_confirming_the_dry_run_purges_exactly_its_list(client, officer, make, session):
    leaving = {p.id for p in _inactive(make, 3)}
    staying = {p.id for p in _inactive(make, 1, category="ST")}
    session.commit()
    page = _html(client.get("/staff/privacy/dry-run", query_string={"inactive_since": "2025-06-15"}))
    response = _confirm(client, officer, page)
    assert response.status_code == 302 and "/staff/privacy/runs/" in response.headers["Location"]
    run_page = _html(client.get(response.headers["Location"]))
    assert "Finished" in run_page and "3</span> of 3 patrons purged" in run_page
    session.rollback()
    left = set(session.scalars(select(Patron.id)))
    assert left.isdisjoint(leaving) and staying <= left
    assert session.scalars(select(PurgeRun)).one().channel == "staff"


def test_a_large_purge_goes_on_in_slices_through_htmx_and_can_be_stopped(client, officer, make, session, monkeypatch):
    from app.blueprints.staff import privacy as page_module

    monkeypatch.setattr(page_module, "SLICE_SECONDS", 0)  # one batch per request
    monkeypatch.setattr(page_module, "PAUSE_SECONDS", 0)
    _inactive(make, 5)
    session.commit()
    from app.extensions import db
    from app.services.privacy import PurgeCriteria, count_purgeable, start_purge

    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(dt.date(2025, 6, 15))
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="staff", batch_size=2).id
    page = _html(client.get(f"/staff/privacy/runs/{run_id}"))
    assert "Running" in page and f'hx-post="/staff/privacy/runs/{run_id}/continue"' in page
    headers = {"HX-Request": "true", "X-CSRFToken": officer}
    fragment = _html(client.post(f"/staff/privacy/runs/{run_id}/continue", headers=headers))
    assert fragment.startswith('<div id="run-progress">') and "2</span> of 5" in fragment and "hx-post" in fragment
    stopped = _html(client.post(f"/staff/privacy/runs/{run_id}/cancel", headers=headers))
    assert "Stopped" in stopped and "hx-post" not in stopped
    session.rollback()
    run = session.get(PurgeRun, run_id)
    assert (run.status, run.purged) == (PurgeStatus.CANCELLED, 2)
    assert session.scalar(select(func.count()).select_from(Patron)) == 4  # three left, and the officer


def test_anonymise_now(client, officer, make, session):
    patron = make.patron(privacy=Privacy.DEFAULT)
    set_preference(session, "AnonymizeHistoryAfterDays", "30", actor_id=None)
    session.add(LoanHistory(loan_id=1, patron_id=patron.id, issued_at=LONG_AGO, due_at=LONG_AGO, returned_at=LONG_AGO))
    session.commit()
    response = client.post("/staff/privacy/anonymise", data={"csrf_token": officer}, follow_redirects=True)
    assert "Anonymised 1 loan(s) and 0 finished hold(s)." in _html(response)
    session.rollback()
    assert session.scalars(select(LoanHistory.patron_id)).one() is None
    assert session.scalars(select(AuditEntry.info).where(AuditEntry.action == "ANONYMISE")).one()["loans"] == 1


# --- the OPAC -----------------------------------------------------------------------------------

def test_patrons_choose_their_privacy_in_the_opac_only_when_the_library_allows(client, make, session):
    patron = make.patron(userid="reader", password="pw")
    session.add(LoanHistory(loan_id=7, patron_id=patron.id, issued_at=LONG_AGO, due_at=LONG_AGO, returned_at=LONG_AGO))
    session.commit()
    login_as(client, "reader", "pw")
    assert client.get("/account/privacy").status_code == 404
    set_preference(session, "OPACPrivacy", "1", actor_id=None)
    session.commit()
    page = _html(client.get("/account/privacy"))
    assert re.search(r'<input checked[^>]*value="default"|value="default"[^>]*checked', page)
    token = csrf_token_from(page)
    response = client.post("/account/privacy", data={"privacy": "never_keep", "csrf_token": token}, follow_redirects=True)
    assert "1 past loan(s)" in _html(response)
    session.rollback()
    assert session.scalar(select(Patron.privacy).where(Patron.id == patron.id)) is Privacy.NEVER_KEEP
    assert session.scalars(select(LoanHistory.patron_id)).one() is None
    assert client.post("/account/privacy", data={"privacy": "everything", "csrf_token": token}).status_code == 400
