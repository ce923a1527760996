"""SIP2 patron messages on a real listener, every answer decoded by the strict pysip2 codec:
23 patron status, 63 patron information (summary lists and ranges), 01 block, 25 enable,
35 end session; PIN checks and their rate limits; hidden fields; last seen."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import clock
from app.models import AccountLine, DebitType, Hold, HoldStatus, Loan, PatronRestriction, SystemPreference
from app.services.settings import set_preference

from .test_sip2_fixtures import (  # noqa: F401  (fixtures)
    PIN,
    connect,
    decode,
    kiosk,
    limits,
    listener,
    pysip2,
    sip_library,
    sip_now,
)

CARD = "23529000000101"


def status_request(card: str = CARD, pin: str | None = PIN) -> str:
    return f"23001{sip_now()}AOCPL|AA{card}|AC|" + (f"AD{pin}|" if pin is not None else "")


def info_request(summary: str = " " * 10, card: str = CARD, pin: str | None = PIN, extra: str = "") -> str:
    return f"63001{sip_now()}{summary}AOCPL|AA{card}|AC|" + (f"AD{pin}|" if pin is not None else "") + extra


def lend(session, library, *items, days_ago: int = 1, due_in: int = 14, patron=None) -> list[Loan]:
    now = clock.now()
    loans = [Loan(patron_id=(patron or library.patron).id, item_id=item.id, library_code="CPL",
                  issued_at=now - dt.timedelta(days=days_ago), due_at=now + dt.timedelta(days=due_in), channel="desk")
             for item in items]
    session.add_all(loans)
    session.commit()
    return loans


def test_patron_status_reports_a_patron_in_good_standing(kiosk):
    status = kiosk.ask(status_request())
    assert isinstance(status, pysip2.PatronStatusResponse)
    assert status.patron_status == " " * 14 and status.language == "001"
    assert (status.institution_id, status.patron_identifier, status.personal_name) == ("CPL", CARD, "Ada Lovelace")
    assert (status.valid_patron, status.valid_patron_password) == ("Y", "Y")
    assert (status.currency_type, status.fee_amount) == ("USD", "0.00")


def test_a_wrong_pin_is_reported_in_cq_and_a_screen_message_not_by_silence(kiosk):
    status = kiosk.ask(status_request(pin="0000"))
    assert status.valid_patron == "Y" and status.valid_patron_password == "N"
    assert "Invalid PIN." in status.screen_message


def test_an_empty_pin_is_valid_only_when_the_account_allows_it(kiosk, connect, sip_library, session):
    assert kiosk.ask(status_request(pin="")).valid_patron_password == "N"
    sip_library.account.allow_empty_pin = True
    session.commit()
    assert connect().login().ask(status_request(pin="")).valid_patron_password == "Y"  # read at login


def test_an_unknown_card_has_every_privilege_denied_and_no_name(kiosk):
    for card in ("nobody", ""):
        status = kiosk.ask(status_request(card=card))
        assert status.patron_status == "YYYY" + " " * 10
        assert (status.personal_name, status.valid_patron, status.valid_patron_password) == ("", "N", "N")
        assert status.screen_message


def test_blocks_show_in_the_patron_status_positions(kiosk, sip_library, session):
    patron = session.merge(sip_library.patron)
    patron.card_lost = True
    session.add(AccountLine(patron_id=patron.id, debit_type=DebitType.MANUAL, amount=Decimal("12.50"),
                            amount_outstanding=Decimal("12.50"), description="Damaged cover"))
    session.commit()
    status = kiosk.ask(status_request())
    flags = status.patron_status
    assert flags[0:5] == "YYYYY"  # charge, renew, recall, hold denied; card lost
    assert flags[10] == "Y" and flags[11] == "Y"  # excessive fines and fees
    assert status.fee_amount == "12.50"
    assert any("lost" in line for line in status.screen_message)


def test_an_expired_card_denies_privileges_but_the_patron_is_still_valid(kiosk, sip_library, session):
    patron = session.merge(sip_library.patron)
    patron.dateexpiry = clock.today() - dt.timedelta(days=1)
    session.commit()
    status = kiosk.ask(status_request())
    assert status.patron_status.startswith("YYYY") and status.valid_patron == "Y"


def test_patron_information_counts_and_lists_charged_items_in_ranges(kiosk, sip_library, session):
    lend(session, sip_library, *sip_library.items)
    info = kiosk.ask(info_request("  Y       "))
    assert isinstance(info, pysip2.PatronInformationResponse)
    assert (info.charged_items_count, info.overdue_items_count, info.hold_items_count) == ("0003", "0000", "0000")
    assert info.charged_items == tuple(item.barcode for item in sip_library.items)
    assert info.valid_patron_password == "Y" and info.personal_name == "Ada Lovelace"
    ranged = kiosk.ask(info_request("  Y       ", extra="BP00002|BQ00003|"))
    assert ranged.charged_items == tuple(item.barcode for item in sip_library.items[1:3])
    assert kiosk.ask(info_request("  Y       ", extra="BP3|BQ9|")).charged_items == (sip_library.items[2].barcode,)


def test_patron_information_selects_the_overdue_and_fine_lists(kiosk, sip_library, session):
    lend(session, sip_library, sip_library.items[0], days_ago=30, due_in=-3)
    lend(session, sip_library, sip_library.items[1])
    session.add(AccountLine(patron_id=sip_library.patron.id, debit_type=DebitType.OVERDUE, amount=Decimal("1.50"),
                            amount_outstanding=Decimal("1.50"), description="Overdue: an old loan"))
    session.commit()
    overdue = kiosk.ask(info_request(" Y        "))
    assert overdue.overdue_items_count == "0001" and overdue.overdue_items == (sip_library.items[0].barcode,)
    assert overdue.charged_items == ()
    fines = kiosk.ask(info_request("   Y      "))
    assert fines.fine_items_count == "0001" and fines.fine_items == ("1.50 Overdue: an old loan",)
    assert fines.fee_amount == "1.50" and fines.fee_limit == "5.00"


@pytest.mark.parametrize("summary", [" " * 10, "      Y   ", "         Y", "YYYYYYYYYY", "    Y     "])
def test_any_summary_gives_a_well_formed_answer(kiosk, summary):
    info = kiosk.ask(info_request(summary))
    assert len(info.patron_status) == 14 and info.recall_items == ()


def test_hidden_fields_are_not_sent_and_shown_ones_are(kiosk, connect, sip_library, session):
    info = kiosk.ask(info_request())
    assert info.home_address is None and info.email_address is None and info.home_phone_number is None
    raw = kiosk.exchange(info_request())
    assert b"PB" not in raw.split(b"|AF")[0].split(b"AE")[1]
    sip_library.account.hidden_fields = "PB"
    session.commit()
    shown = connect().login().ask(info_request())
    assert shown.home_address == "12 Main Street, Centerville" and shown.email_address == "ada@example.org"
    assert shown.home_phone_number == "555-0101"


def test_a_wrong_pin_gets_counts_but_no_lists_and_no_contact_details(kiosk, connect, sip_library, session):
    sip_library.account.hidden_fields = ""
    session.commit()
    lend(session, sip_library, sip_library.items[0])
    info = connect().login().ask(info_request("  Y       ", pin="1111"))
    assert info.valid_patron_password == "N" and info.charged_items_count == "0001"
    assert info.charged_items == () and info.email_address is None
    assert "Invalid PIN." in info.screen_message


def test_without_ad_the_64_answer_has_no_cq(kiosk):
    assert kiosk.ask(info_request(pin=None)).valid_patron_password is None


def test_unknown_patron_information_has_zero_counts(kiosk):
    info = kiosk.ask(info_request(card="nobody"))
    assert info.charged_items_count == "0000" and info.valid_patron == "N" and info.personal_name == ""


def test_wrong_pins_pause_pin_checks_for_the_patron_even_with_the_right_pin(kiosk, connect):
    for _ in range(5):
        assert kiosk.ask(status_request(pin="0000")).valid_patron_password == "N"
    paused = connect().login().ask(status_request())  # another kiosk, the right PIN
    assert paused.valid_patron_password == "N"
    assert any("Too many wrong PINs" in line for line in paused.screen_message)


def test_wrong_pins_on_one_connection_pause_its_pin_checks_for_every_patron(app, kiosk, connect, sip_library):
    cards = [sip_library.other.cardnumber, CARD] * 5
    for card in cards:
        kiosk.ask(status_request(card=card, pin="0000"))  # 5 failures each: both patrons paused too
    assert kiosk.ask(status_request(card=CARD)).valid_patron_password == "N"


def test_a_right_pin_is_remembered_until_the_patron_ends_the_session(kiosk, listener, sip_library):
    assert kiosk.ask(status_request()).valid_patron_password == "Y"
    verified = listener.dispatcher.verified

    def remembered_patrons():
        return [owner for (owner, _hash) in verified._entries if owner[0] == "patron"]

    assert remembered_patrons() == [("patron", sip_library.patron.id)]  # the next message skips argon2
    end = kiosk.ask(f"35{sip_now()}AOCPL|AA{CARD}|AC|AD{PIN}|")
    assert isinstance(end, pysip2.EndSessionResponse)
    assert end.end_session == "Y" and end.patron_identifier == CARD and end.screen_message == ("Thank you!",)
    assert remembered_patrons() == []


def test_block_patron_restricts_the_card_and_answers_with_a_patron_status(kiosk, sip_library, session):
    blocked = kiosk.ask(f"01Y{sip_now()}AOCPL|ALCard left in the machine|AA{CARD}|AC|")
    assert isinstance(blocked, pysip2.PatronStatusResponse)
    assert blocked.patron_status.startswith("YYYY")
    session.rollback()
    [restriction] = session.scalars(select(PatronRestriction)).all()
    assert "Card left in the machine" in restriction.comment and "card retained" in restriction.comment
    assert restriction.created_by_id == sip_library.account.actor_id


def test_patron_enable_lifts_kiosk_blocks_but_not_staff_restrictions(kiosk, sip_library, session):
    kiosk.ask(f"01N{sip_now()}AOCPL|ALTampering|AA{CARD}|AC|")
    enabled = kiosk.ask(f"25{sip_now()}AOCPL|AA{CARD}|AC|AD{PIN}|")
    assert isinstance(enabled, pysip2.PatronEnableResponse)
    assert enabled.patron_status == " " * 14 and enabled.valid_patron_password == "Y"
    session.add(PatronRestriction(patron_id=sip_library.patron.id, comment="Staff: unpaid invoices"))
    session.commit()
    still = kiosk.ask(f"25{sip_now()}AOCPL|AA{CARD}|AC|AD{PIN}|")
    assert still.patron_status.startswith("YYYY")


def test_patron_enable_with_a_wrong_pin_enables_nothing(kiosk, session):
    kiosk.ask(f"01N{sip_now()}AOCPL|ALTampering|AA{CARD}|AC|")
    refused = kiosk.ask(f"25{sip_now()}AOCPL|AA{CARD}|AC|AD0000|")
    assert refused.patron_status.startswith("YYYY") and refused.valid_patron_password == "N"


def test_block_patron_is_refused_when_the_institution_does_not_allow_status_updates(connect, sip_library, session):
    sip_library.institution.status_update_ok = False
    session.commit()
    answer = connect().login().ask(f"01N{sip_now()}AOCPL|ALTampering|AA{CARD}|AC|")
    assert answer.patron_status == " " * 14
    session.rollback()
    assert session.scalars(select(PatronRestriction)).all() == []


def test_patron_information_counts_as_patron_activity(kiosk, sip_library, session):
    set_preference(session, "TrackLastPatronActivityTriggers", "connection", None)
    session.commit()
    from app.services.activity import default_tracker

    default_tracker.forget()
    kiosk.ask(info_request())
    session.rollback()
    session.expire_all()
    assert session.get(type(sip_library.patron), sip_library.patron.id).lastseen is not None
    assert session.get(SystemPreference, "TrackLastPatronActivityTriggers") is not None


def test_patron_information_counts_and_lists_waiting_and_unavailable_holds(kiosk, sip_library, make, session):
    other_title = make.title(title="On Computable Numbers", author="Turing")
    session.add_all([
        Hold(patron_id=sip_library.patron.id, title_id=sip_library.title.id, pickup_library_code="CPL",
             status=HoldStatus.PULLED, queue_key=1, allocated_item_id=sip_library.items[0].id,
             waiting_since=clock.now(), pickup_deadline=clock.today() + dt.timedelta(days=7)),
        Hold(patron_id=sip_library.patron.id, title_id=other_title.id, pickup_library_code="CPL",
             status=HoldStatus.QUEUED, queue_key=1)])
    session.commit()
    info = kiosk.ask(info_request("Y         "))
    assert (info.hold_items_count, info.unavailable_holds_count, info.charged_items_count) == ("0001", "0001", "0000")
    assert info.hold_items == (sip_library.items[0].barcode,)
    assert kiosk.ask(info_request("     Y    ")).unavailable_hold_items == ("On Computable Numbers",)
