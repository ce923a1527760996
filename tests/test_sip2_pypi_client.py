"""Independent code on the kiosk side: the PyPI ``sip2`` client (import ``Sip2``) drives a whole
kiosk session against the running listener: login, status, patron information, checkout,
checkin, renew, renew all, hold, fee paid, end session. It has its quirks (65 without a date,
checksums without zero padding, a 16 it misparses): the listener must survive all of them. Every
raw answer is also decoded by the strict pysip2 codec."""
from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AccountLine, CreditType, DebitType, Hold, Loan, LoanHistory

from .test_sip2_fixtures import (  # noqa: F401  (fixtures)
    KIOSK_LOGIN,
    KIOSK_PASSWORD,
    PIN,
    decode,
    limits,
    listener,
    pysip2,
    sip_library,
)

Sip2Module = pytest.importorskip("Sip2.sip2")


class Client(Sip2Module.Sip2):
    """The PyPI client, logging to a logger of ours (its default writes sip2.log in the current
    directory), decoding every answer with pysip2 on the way."""

    def __init__(self, address):
        super().__init__()
        self.log = logging.getLogger("tests.sip2-client")
        self.hostName, self.hostPort = address
        self.tlsEnable = False
        self.socketTimeout = 10
        self.institutionId = "CPL"
        self.scLocation = "SELF1"
        self.decoded: list = []

    def get_response(self, request):
        response = super().get_response(request)
        self.decoded.append(decode(response.rstrip("\r").encode()))
        return response

    def __del__(self):  # the original prints and may shut down a socket twice
        pass


@pytest.fixture
def client(listener):
    client = Client(listener.addresses[0])
    client.connect()
    yield client
    client.disconnect()


def test_a_whole_kiosk_session_with_the_pypi_sip2_client(client, sip_library, session):
    login = client.sip_login_response(client.get_response(client.sip_login_request(KIOSK_LOGIN, KIOSK_PASSWORD)))
    assert login["fixed"]["Ok"] == "1"
    status = client.sip_sc_status_response(client.get_response(client.sip_sc_status_request()))
    assert status["fixed"]["OnlineStatus"] == "Y" and status["variable"]["BX"] == ["YYYYYYYYYYYYYYYY"]

    client.patron, client.patronpwd = sip_library.patron.cardnumber, PIN
    info = client.sip_patron_information_response(client.get_response(client.sip_patron_information_request("charged")))
    assert info["variable"]["AE"] == ["Ada Lovelace"] and info["variable"]["CQ"] == ["Y"]

    first, second = (item.barcode for item in sip_library.items[:2])
    for barcode in (first, second):
        out = client.sip_checkout_response(client.get_response(client.sip_checkout_request(barcode)))
        assert out["fixed"]["Ok"] == "1" and out["variable"]["AB"] == [barcode]
    charged = client.sip_patron_information_response(client.get_response(
        client.sip_patron_information_request("charged")))
    assert charged["variable"]["AU"] == [first, second]

    back = client.sip_checkin_response(client.get_response(client.sip_checkin_request(first)))
    assert back["fixed"]["Ok"] == "1"
    renewed = client.sip_renew_response(client.get_response(client.sip_renew_request(second)))
    assert renewed["fixed"]["Ok"] == "1" and renewed["fixed"]["RenewalOk"] == "Y"
    everything = client.sip_renew_all_response(client.get_response(client.sip_renew_all_request()))  # no date
    assert everything["fixed"]["Ok"] == "1"
    assert isinstance(client.decoded[-1], pysip2.RenewAllResponse) and client.decoded[-1].renewed_items == (second,)

    hold = client.get_response(client.sip_hold_request("+", itemIdentifier=sip_library.items[1].barcode,
                                                       pickupLocation="CPL"))
    assert hold.startswith("161") and client.decoded[-1].queue_position == "1"

    session.add(AccountLine(patron_id=sip_library.patron.id, debit_type=DebitType.MANUAL, amount=Decimal("4.50"),
                            amount_outstanding=Decimal("4.50"), description="Lost bookmark"))
    session.commit()
    paid = client.sip_fee_paid_response(client.get_response(
        client.sip_fee_paid_request(1, 0, "4.50", transactionId="kiosk-1", currencyType="USD")))
    assert paid["fixed"]["PaymentAccepted"] == "Y"

    end = client.sip_end_patron_session_response(client.get_response(client.sip_end_patron_session_request()))
    assert end["fixed"]["EndSession"] == "Y"

    session.rollback()
    [loan] = session.scalars(select(Loan)).all()
    assert loan.item_id == sip_library.items[1].id and loan.renewals_count == 2
    assert len(session.scalars(select(LoanHistory)).all()) == 1
    assert session.scalar(select(Hold)).patron_id == sip_library.patron.id
    payment = session.scalar(select(AccountLine).where(AccountLine.credit_type == CreditType.PAYMENT))
    assert payment.amount == Decimal("-4.50")
    assert len(client.decoded) == 12  # every answer decoded strictly
