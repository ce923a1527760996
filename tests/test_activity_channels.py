"""Each channel reports its activity: desk check out / check in / renew, OPAC renewal, every SIP2
message that concerns a patron, hold placement (logins are in test_activity; offline processing in
the offline tests). Each updates ``lastseen`` only when its trigger is selected."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Loan, Patron
from app.services import activity, circulation
from app.services.settings import ACTIVITY_TRIGGERS, set_preference

from .conftest import csrf_token_from, login_as
from .test_api_auth import api, headers  # noqa: F401  (fixtures)
from .test_circulation_fixtures import MONDAY, Desk, desk, frozen  # noqa: F401
from .test_sip2_fixtures import PIN, connect, kiosk, limits, listener, sip_library, sip_now  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_memory():
    activity.default_tracker.forget()
    yield
    activity.default_tracker.forget()


def _select(session, *triggers: str) -> None:
    set_preference(session, "TrackLastPatronActivityTriggers", ",".join(triggers), actor_id=None)
    session.commit()


def _everything_but(trigger: str) -> tuple[str, ...]:
    return tuple(t for t in ACTIVITY_TRIGGERS if t != trigger)


def _lastseen(session, patron_id: int):
    session.rollback()
    return session.scalar(select(Patron.lastseen).where(Patron.id == patron_id))


def _staff_token(client, desk: Desk) -> str:
    desk.make.staff("circulate", userid="desk-user", password="pw-desk")
    desk.session.commit()
    assert login_as(client, "desk-user", "pw-desk", staff=True).status_code == 302
    return csrf_token_from(client.get("/staff/").get_data(as_text=True))


def _lend(desk: Desk) -> Loan:
    outcome = desk.check_out()
    assert outcome.ok
    desk.session.commit()
    return outcome.loan


def desk_check_out(client, desk: Desk) -> None:
    token = _staff_token(client, desk)
    response = client.post(f"/staff/circulation/patrons/{desk.patron.id}/checkout",
                           data={"barcode": desk.item.barcode}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]


def desk_check_in(client, desk: Desk) -> None:
    token = _staff_token(client, desk)
    response = client.post("/staff/circulation/checkin", data={"barcode": desk.item.barcode},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200


def desk_renew(client, desk: Desk) -> None:
    loan_id = desk.session.scalar(select(Loan.id).where(Loan.item_id == desk.item.id))
    token = _staff_token(client, desk)
    response = client.post(f"/staff/circulation/loans/{loan_id}/renew", data={"where": "desk"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200


def opac_renew(client, desk: Desk) -> None:
    loan_id = desk.session.scalar(select(Loan.id).where(Loan.item_id == desk.item.id))
    assert login_as(client, desk.patron.cardnumber, "secret").status_code == 302
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    assert client.post(f"/account/loans/{loan_id}/renew", data={"csrf_token": token}).status_code == 302


CHANNELS = [
    # (what happens, the trigger it reports, whether a loan must exist first)
    (desk_check_out, "check_out", False),
    (desk_check_in, "check_in", True),
    (desk_renew, "renewal", True),
    (opac_renew, "renewal", True),
]


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
@pytest.mark.parametrize("action,trigger,needs_loan", CHANNELS, ids=[c[0].__name__ for c in CHANNELS])
def test_each_circulation_channel_updates_last_seen_only_when_its_trigger_is_selected(
        client, desk, session, action, trigger, needs_loan, selected):
    session.commit()
    if needs_loan:
        _lend(desk)  # before any trigger is selected: records nothing
    assert _lastseen(session, desk.patron.id) is None
    _select(session, *((trigger,) if selected else _everything_but(trigger)))
    if action is opac_renew and not selected:
        _select(session, *_everything_but(trigger)[1:])  # not "login" either: the patron logs in first
    action(client, desk)
    assert _lastseen(session, desk.patron.id) == (MONDAY if selected else None)


def test_a_refused_checkout_is_not_activity(client, desk, session):
    desk.patron.card_lost = True
    session.commit()
    _select(session, "check_out")
    desk_check_out(client, desk)
    session.rollback()
    assert session.scalar(select(Loan).where(Loan.item_id == desk.item.id)) is None
    assert _lastseen(session, desk.patron.id) is None


def test_an_offline_checkout_reports_the_time_it_happened(app, desk, session):
    session.commit()
    _select(session, "check_out")
    earlier = MONDAY.replace(hour=8)
    with db.unit_of_work() as unit:
        outcome = circulation.check_out(unit, unit.get(Patron, desk.patron.id), unit.merge(desk.item), "CPL", None,
                                        no_block=True, checked_out_at=earlier, channel="offline")
        assert outcome.ok
    assert _lastseen(session, desk.patron.id) == earlier


# --- SIP2 and holds ---------------------------------------------------------------------------

SIP_CARD = "23529000000101"


def _sip_loan(session, library) -> None:
    now = clock.now()
    session.add(Loan(patron_id=library.patron.id, item_id=library.items[0].id, library_code="CPL",
                     issued_at=now - dt.timedelta(days=1), due_at=now + dt.timedelta(days=14)))
    session.commit()


SIP_CHANNELS = [
    # (name, request, trigger, whether the patron needs a loan first)
    ("patron status 23", lambda lib: f"23001{sip_now()}AOCPL|AA{SIP_CARD}|AC|AD{PIN}|", "connection", False),
    ("patron information 63", lambda lib: f"63001{sip_now()}{' ' * 10}AOCPL|AA{SIP_CARD}|AC|AD{PIN}|", "connection", False),
    ("checkout 11", lambda lib: f"11NN{sip_now()}{' ' * 18}AOCPL|AA{SIP_CARD}|AB{lib.items[1].barcode}|AC|AD{PIN}|",
     "check_out", False),
    ("checkin 09", lambda lib: f"09N{sip_now()}{sip_now()}APSELF1|AOCPL|AB{lib.items[0].barcode}|AC|", "check_in", True),
    ("renew 29", lambda lib: f"29NN{sip_now()}{' ' * 18}AOCPL|AA{SIP_CARD}|AD{PIN}|AB{lib.items[0].barcode}|AC|",
     "renewal", True),
    ("hold 15", lambda lib: f"15+{sip_now()}AOCPL|AA{SIP_CARD}|AD{PIN}|AB{lib.items[0].barcode}|AC|", "hold", True),
]


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
@pytest.mark.parametrize("name,request_of,trigger,needs_loan", SIP_CHANNELS, ids=[c[0] for c in SIP_CHANNELS])
def test_each_sip2_message_updates_last_seen_only_when_its_trigger_is_selected(
        kiosk, sip_library, session, name, request_of, trigger, needs_loan, selected):
    if needs_loan:
        _sip_loan(session, sip_library)
    _select(session, *((trigger,) if selected else _everything_but(trigger)))
    answer = kiosk.exchange(request_of(sip_library))
    assert not answer.startswith(b"96"), answer
    seen = _lastseen(session, sip_library.patron.id)
    assert (seen is not None) is selected, answer


def test_placing_a_hold_in_the_opac_updates_last_seen(client, make, session):
    from app.services.holds import place_hold

    patron = make.patron()
    title = make.title()
    make.item(title)
    _select(session, "hold")
    with db.unit_of_work() as unit:
        place_hold(unit, unit.get(Patron, patron.id), unit.merge(title), None, pickup_library_code="CPL")
    assert _lastseen(session, patron.id) is not None


# --- REST API, patron creation, offline processing ----------------------------------------------

@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
def test_an_api_patron_authentication_is_a_connection(client, api, headers, make, session, selected):
    reader = make.patron(cardnumber="C-88", userid="reader88", password="reader-pw", library="CPL")
    session.commit()
    _select(session, *(("connection",) if selected else _everything_but("connection")))
    response = client.post("/api/v1/auth/password/validation", json={"identifier": "C-88", "password": "reader-pw"},
                           headers=headers)
    assert response.status_code == 201
    assert (_lastseen(session, reader.id) is not None) is selected
    wrong = client.post("/api/v1/auth/password/validation", json={"identifier": "C-88", "password": "nope"},
                        headers=headers)
    assert wrong.status_code == 400


def test_a_refused_api_authentication_is_not_activity(client, api, headers, make, session):
    reader = make.patron(cardnumber="C-89", userid="reader89", password="reader-pw", library="CPL")
    session.commit()
    _select(session, *ACTIVITY_TRIGGERS)
    wrong = client.post("/api/v1/auth/password/validation", json={"identifier": "C-89", "password": "nope"},
                        headers=headers)
    assert wrong.status_code == 400
    assert _lastseen(session, reader.id) is None


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
def test_a_patron_created_through_the_api_is_seen_when_creation_is_selected(client, api, headers, session, selected):
    _select(session, *(("creation",) if selected else _everything_but("creation")))
    response = client.post("/api/v1/patrons", json={"surname": "Okafor", "cardnumber": "P-9", "library_id": "CPL",
                                                    "category_id": "PT"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    patron_id = response.get_json()["patron_id"]
    assert (_lastseen(session, patron_id) is not None) is selected
    shown = client.get(f"/api/v1/patrons/{patron_id}", headers=headers).get_json()["last_seen"]
    assert (shown is not None) is selected


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
def test_patrons_created_by_an_import_are_seen_when_creation_is_selected(app, make, session, selected):
    from app.services.patron_import import ImportOptions, import_patrons

    make.library("CPL")
    make.category("PT")
    _select(session, *(("creation",) if selected else _everything_but("creation")))
    data = b"cardnumber,surname,branchcode,categorycode\r\nI-1,Imported,CPL,PT\r\n"
    with db.unit_of_work() as unit:
        assert import_patrons(unit, data, ImportOptions(), None).applied
    session.rollback()
    seen = session.scalar(select(Patron.lastseen).where(Patron.cardnumber == "I-1"))
    assert (seen is not None) is selected


@pytest.mark.parametrize("selected", [True, False], ids=["selected", "not selected"])
def test_processed_offline_actions_are_seen_at_the_time_they_happened_when_offline_is_selected(
        app, desk, session, selected):
    from app.services.offline import process_offline_operations, upload_koc

    from .test_offline_fixtures import at, issue, koc_text, ret

    other = desk.make.patron(cardnumber="23529000000077")
    session.commit()
    # Not selected: nothing else that an offline checkout or return also is (a check out, a check in).
    _select(session, *(("offline",) if selected else
                       tuple(t for t in ACTIVITY_TRIGGERS if t not in ("offline", "check_out", "check_in"))))
    with db.unit_of_work() as unit:
        upload_koc(unit, koc_text(issue(at(10), desk.patron.cardnumber, desk.item.barcode), ret(at(20), desk.item.barcode),
                                  issue(at(30), other.cardnumber, desk.item.barcode)), "day.koc")
    with db.unit_of_work() as unit:
        summary = process_offline_operations(unit, None)
        assert (summary.applied, summary.failed) == (3, 0)
    if selected:  # the borrower's latest offline moment (the return), the second borrower's checkout
        assert (_lastseen(session, desk.patron.id), _lastseen(session, other.id)) == (at(20), at(30))
    else:
        assert (_lastseen(session, desk.patron.id), _lastseen(session, other.id)) == (None, None)
