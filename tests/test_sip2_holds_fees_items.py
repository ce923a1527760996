"""SIP2 on a real listener, answers decoded by the strict pysip2 codec: 15 hold (place, cancel,
change) through the holds engine, 37 fee paid through the fines service, 17 item information
and 19 item status update."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from app import clock
from app.models import AccountLine, CreditType, DebitType, Hold, HoldStatus, ItemTransfer, Loan, TransferReason
from app.models.catalogue import ItemType
from app.sip2 import codec

from .test_sip2_fixtures import (  # noqa: F401  (fixtures)
    PIN,
    connect,
    kiosk,
    limits,
    listener,
    pysip2,
    sip_library,
    sip_now,
)

CARD = "23529000000101"


def hold_request(mode: str, *, barcode: str | None = None, title_id: int | None = None, pickup: str | None = None,
                 expires: str | None = None, hold_type: str | None = None, pin: str = PIN) -> str:
    head = "".join(f"{code}{value}|" for code, value in (("BW", expires), ("BS", pickup), ("BY", hold_type)) if value)
    tail = "".join(f"{code}{value}|" for code, value in (("AB", barcode), ("AJ", title_id)) if value is not None)
    return f"15{mode}{sip_now()}{head}AOCPL|AA{CARD}|AD{pin}|{tail}AC|"


def holds(session) -> list[Hold]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Hold).order_by(Hold.id)))


def lend_all(session, library) -> None:
    now = clock.now()
    session.add_all(Loan(patron_id=library.other.id, item_id=item.id, library_code="CPL", issued_at=now,
                         due_at=now + dt.timedelta(days=14)) for item in library.items)
    session.commit()


def test_a_hold_is_placed_on_the_title_of_the_copy_scanned(kiosk, sip_library, session):
    lend_all(session, sip_library)
    expires = codec.format_date(clock.now() + dt.timedelta(days=60), clock.timezone())
    answer = kiosk.ask(hold_request("+", barcode=sip_library.items[0].barcode, pickup="FPL", expires=expires))
    assert isinstance(answer, pysip2.HoldResponse)
    assert (answer.ok, answer.available, answer.queue_position, answer.pickup_location) == ("1", "N", "1", "FPL")
    assert answer.title_identifier == "The Analytical Engine"
    assert answer.expiration_date is not None and answer.expiration_date.startswith(expires[:8])
    [hold] = holds(session)
    assert (hold.patron_id, hold.item_id, hold.channel, hold.status) == (sip_library.patron.id, None, "sip2",
                                                                         HoldStatus.QUEUED)
    assert hold.not_needed_after == clock.local(clock.now() + dt.timedelta(days=60)).date()


def test_hold_type_3_holds_that_very_copy(kiosk, sip_library, session):
    lend_all(session, sip_library)
    assert kiosk.ask(hold_request("+", barcode=sip_library.items[1].barcode, hold_type="3")).ok == "1"
    assert holds(session)[0].item_id == sip_library.items[1].id


def test_aj_names_a_title_by_its_record_number(kiosk, sip_library, session):
    lend_all(session, sip_library)
    answer = kiosk.ask(hold_request("+", title_id=sip_library.title.id))
    assert (answer.ok, answer.title_identifier) == ("1", "The Analytical Engine")
    assert holds(session)[0].item_id is None


def test_hold_refusals_come_from_the_holds_engine(kiosk, sip_library, session):
    refused = kiosk.ask(hold_request("+", barcode=sip_library.items[0].barcode, pickup="NOWHERE"))
    assert refused.ok == "0" and "That library is not a pickup location." in refused.screen_message
    unknown = kiosk.ask(hold_request("+", barcode="no-such-copy"))
    assert unknown.ok == "0" and unknown.screen_message
    wrong_pin = kiosk.ask(hold_request("+", barcode=sip_library.items[0].barcode, pin="0000"))
    assert wrong_pin.ok == "0" and "Invalid PIN." in wrong_pin.screen_message
    assert holds(session) == []


def test_a_hold_is_cancelled_and_changed_from_the_kiosk(kiosk, sip_library, session):
    lend_all(session, sip_library)
    kiosk.ask(hold_request("+", title_id=sip_library.title.id))
    changed = kiosk.ask(hold_request("*", title_id=sip_library.title.id, pickup="FPL"))
    assert (changed.ok, changed.pickup_location) == ("1", "FPL")
    assert holds(session)[0].pickup_library_code == "FPL"
    cancelled = kiosk.ask(hold_request("-", barcode=sip_library.items[2].barcode))
    assert cancelled.ok == "1"
    [hold] = holds(session)
    assert hold.status is HoldStatus.CANCELLED and hold.cancellation_reason == "cancelled at a self-check"
    nothing = kiosk.ask(hold_request("-", title_id=sip_library.title.id))
    assert nothing.ok == "0" and "You have no hold on this title." in nothing.screen_message


def test_the_pypi_hold_quirks_get_an_answer(kiosk):
    for raw in ("15+YYYYMMDDZZZZHHMMSSAOBRANCH|AA|AB|", "15?20190501    103015AOCPL|AA23529000000101|AB1|"):
        answer = kiosk.ask(raw)
        assert isinstance(answer, pysip2.HoldResponse) and answer.ok == "0"


def owe(session, library, *amounts: str) -> list[AccountLine]:
    lines = [AccountLine(patron_id=library.patron.id, debit_type=DebitType.MANUAL, amount=Decimal(a),
                         amount_outstanding=Decimal(a), description=f"Fee {a}") for a in amounts]
    session.add_all(lines)
    session.commit()
    return lines


def fee_paid(amount: str, *, fee_id: int | None = None, transaction: str | None = None, date: str | None = None) -> str:
    extra = (f"CG{fee_id}|" if fee_id else "") + (f"BK{transaction}|" if transaction else "")
    return f"37{date or sip_now()}0400USDBV{amount}|AOCPL|AA{CARD}|AC|AD{PIN}|{extra}"


def test_fee_paid_records_a_payment_through_the_fines_service(kiosk, sip_library, session):
    first, second = owe(session, sip_library, "2.00", "3.00")
    answer = kiosk.ask(fee_paid("3.00", fee_id=second.id, transaction="T-1"))
    assert isinstance(answer, pysip2.FeePaidResponse)
    assert (answer.payment_accepted, answer.transaction_id) == ("Y", "T-1")
    assert "Payment of 3.00 received." in answer.screen_message and "You now owe 2.00." in answer.screen_message
    session.rollback()
    session.expire_all()
    assert session.get(AccountLine, second.id).amount_outstanding == 0
    assert session.get(AccountLine, first.id).amount_outstanding == Decimal("2")
    payment = session.scalar(select(AccountLine).where(AccountLine.credit_type == CreditType.PAYMENT))
    assert payment.payment_type == "SIP00" and payment.actor_id == sip_library.account.actor_id


def test_a_repeated_payment_pays_nothing_twice(kiosk, sip_library, session):
    owe(session, sip_library, "5.00")
    assert kiosk.ask(fee_paid("1.00", transaction="T-9")).payment_accepted == "Y"
    again = kiosk.ask(fee_paid("1.00", transaction="T-9", date=codec.format_date(clock.now() + dt.timedelta(seconds=5),
                                                                                  clock.timezone())))
    assert again.payment_accepted == "Y" and "This payment was already received." in again.screen_message
    date = sip_now()
    kiosk.ask(fee_paid("1.00", date=date))
    kiosk.ask(fee_paid("1.00", date=date))  # a retry without a transaction id: same identity, kept answer
    session.rollback()
    assert len(session.scalars(select(AccountLine).where(AccountLine.credit_type == CreditType.PAYMENT)).all()) == 2


def test_fee_paid_refusals(kiosk, sip_library, session):
    owe(session, sip_library, "5.00")
    for request, words in ((fee_paid("abc"), "amount"), (fee_paid("-2"), "more than zero"),
                           (fee_paid("1.00", fee_id=999999), "not owed"), (f"37{sip_now()}0400USDBV1|AOCPL|AAnobody|",
                                                                           "Unknown patron")):
        answer = kiosk.ask(request)
        assert answer.payment_accepted == "N" and any(words in line for line in answer.screen_message), request


def test_item_information_for_an_item_on_the_shelf(kiosk, sip_library):
    info = kiosk.ask(f"17{sip_now()}AOCPL|AB{sip_library.items[0].barcode}|AC|")
    assert isinstance(info, pysip2.ItemInformationResponse)
    assert (info.circulation_status, info.security_marker, info.fee_type) == ("03", "02", "01")
    assert info.title_identifier == "The Analytical Engine" and info.hold_queue_length == "0"
    assert (info.owner, info.permanent_location, info.current_location, info.media_type) == ("CPL", "CPL", "CPL", "001")
    assert info.due_date is None


def test_item_information_reports_loans_transfers_and_unknown_items(kiosk, sip_library, session):
    now = clock.now()
    loan = Loan(patron_id=sip_library.patron.id, item_id=sip_library.items[0].id, library_code="CPL", issued_at=now,
                due_at=now + dt.timedelta(days=3))
    session.add(loan)
    session.add(ItemTransfer(item_id=sip_library.items[1].id, from_library_code="CPL", to_library_code="FPL",
                             reason=TransferReason.MANUAL, sent_at=now))
    session.add(Hold(patron_id=sip_library.other.id, title_id=sip_library.title.id, pickup_library_code="CPL",
                     status=HoldStatus.QUEUED, queue_key=1))
    session.commit()
    on_loan = kiosk.ask(f"17{sip_now()}AOCPL|AB{sip_library.items[0].barcode}|")
    assert on_loan.circulation_status == "04" and on_loan.hold_queue_length == "1"
    assert on_loan.due_date == codec.format_date(loan.due_at, clock.timezone())
    assert kiosk.ask(f"17{sip_now()}AOCPL|AB{sip_library.items[1].barcode}|").circulation_status == "10"
    unknown = kiosk.ask(f"17{sip_now()}AOCPL|ABnowhere|")
    assert (unknown.circulation_status, unknown.title_identifier) == ("01", "") and unknown.screen_message


def test_item_information_reports_magnetic_media_types(kiosk, connect, sip_library, session):
    video = session.merge(ItemType(code="VID", description="Video tape", sip_media_type="005"))
    session.flush()
    item = sip_library.items[2]
    session.merge(item).item_type_code = video.code
    session.commit()
    info = connect().login().ask(f"17{sip_now()}AOCPL|AB{item.barcode}|")
    assert info.media_type == "005"
    answer = kiosk.ask(f"11NN{sip_now()}{' ' * 18}AOCPL|AA{CARD}|AB{item.barcode}|AC|AD{PIN}|")
    assert (answer.ok, answer.magnetic_media, answer.desensitize) == ("1", "Y", "N")


def test_item_status_update_stores_properties_that_come_back_in_item_information(kiosk, sip_library):
    barcode = sip_library.items[0].barcode
    stored = kiosk.ask(f"19{sip_now()}AOCPL|AB{barcode}|AC|CHSpilled coffee on the cover|")
    assert isinstance(stored, pysip2.ItemStatusUpdateResponse)
    assert (stored.item_properties_ok, stored.item_properties) == ("1", "Spilled coffee on the cover")
    info = kiosk.ask(f"17{sip_now()}AOCPL|AB{barcode}|")
    assert info.item_properties == "Spilled coffee on the cover"
    assert kiosk.ask(f"19{sip_now()}AOCPL|ABnowhere|CHx|").item_properties_ok == "0"


def test_item_information_for_copies_set_aside_for_holds(kiosk, sip_library, session):
    waiting_copy, to_pull_copy = sip_library.items[0], sip_library.items[1]
    deadline = clock.today() + dt.timedelta(days=7)
    session.add_all([
        Hold(patron_id=sip_library.patron.id, title_id=sip_library.title.id, pickup_library_code="CPL",
             status=HoldStatus.PULLED, queue_key=1, allocated_item_id=waiting_copy.id, waiting_since=clock.now(),
             pickup_deadline=deadline),
        Hold(patron_id=sip_library.other.id, title_id=sip_library.title.id, pickup_library_code="CPL",
             status=HoldStatus.READY_TO_PULL, queue_key=2, allocated_item_id=to_pull_copy.id)])
    session.commit()
    waiting = kiosk.ask(f"17{sip_now()}AOCPL|AB{waiting_copy.barcode}|")
    assert (waiting.circulation_status, waiting.hold_queue_length) == ("08", "2")
    assert waiting.hold_pickup_date.startswith(deadline.strftime("%Y%m%d"))  # the last day to collect it
    to_pull = kiosk.ask(f"17{sip_now()}AOCPL|AB{to_pull_copy.barcode}|")
    assert to_pull.circulation_status == "08" and to_pull.hold_pickup_date is None
