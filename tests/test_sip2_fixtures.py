"""Shared SIP2 test material: a library with a self-check account, a real listener on
127.0.0.1 port 0, and a raw kiosk that sends bytes and decodes every answer with the strict
``pysip2`` codec (independent code on the other side of the wire). Imported by the other
test_sip2_* modules; its own tests check the kiosk helper itself."""
from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass

import pytest

from app import clock
from app.models import Item, Patron, SipAccount, SipInstitution, Title
from app.services.passwords import hash_password
from app.sip2 import codec
from app.sip2.server import Limits, SipServer

pysip2 = pytest.importorskip("pysip2")

TIMEOUT = 10.0
KIOSK_LOGIN = "kiosk"
KIOSK_PASSWORD = "kiosk-pass"
PIN = "4321"
LOGIN = f"9300CN{KIOSK_LOGIN}|CO{KIOSK_PASSWORD}|CPSELF1|".encode() + b"\r"


def sip_now() -> str:
    return codec.format_date(clock.now(), clock.timezone())


def decode(frame: bytes, encoding: str = "utf-8"):
    """The strict codec's reading of one answer (terminator already removed): raises on
    anything not well-formed (a missing required field, a bad date, a wrong checksum...)."""
    return pysip2.decode_message(frame + b"\r", encoding=encoding).message


class Kiosk:
    """A raw socket speaking to the listener."""

    def __init__(self, address: tuple[str, int], sock: socket.socket | None = None):
        self.socket = sock or socket.create_connection(address, timeout=TIMEOUT)
        self.socket.settimeout(TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def receive(self, terminator: bytes = b"\r") -> bytes:
        while terminator not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed by the server after {self.buffer!r}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(terminator)
        return message

    def exchange(self, data: bytes | str) -> bytes:
        self.send(data.encode() + b"\r" if isinstance(data, str) else data)
        return self.receive()

    def ask(self, data: bytes | str):
        """Send, and decode the answer strictly."""
        return decode(self.exchange(data))

    def login(self) -> "Kiosk":
        assert self.exchange(LOGIN) == b"941"
        return self

    def closed_by_server(self) -> bool:
        try:
            return self.socket.recv(4096) == b""
        except (ConnectionResetError, TimeoutError):
            return isinstance(self, Kiosk)

    def close(self) -> None:
        self.socket.close()


@dataclass
class SipLibrary:
    institution: SipInstitution
    account: SipAccount
    patron: Patron
    other: Patron
    title: Title
    items: list[Item]


@pytest.fixture
def sip_library(make, session) -> SipLibrary:
    """Centerville (CPL) with a self-check account acting as a staff member, a patron whose
    PIN is 4321, another patron, and a title with three copies."""
    make.library("CPL", name="Centerville Public Library")
    make.library("FPL", name="Fairview Public Library")
    staff = make.staff("circulate", userid="selfcheck", surname="Self-check")
    institution = SipInstitution(id="CPL", name="Centerville", checkin_ok=True, checkout_ok=True, renewal_ok=True,
                                 status_update_ok=True, offline_ok=True, timeout_period=30, retries_allowed=3)
    session.add(institution)
    session.flush()
    account = SipAccount(login=KIOSK_LOGIN, password_hash=hash_password(KIOSK_PASSWORD), institution_id="CPL",
                         library_code="CPL", actor_id=staff.id)
    session.add(account)
    patron = make.patron(password=PIN, cardnumber="23529000000101", firstname="Ada", surname="Lovelace",
                         email="ada@example.org", phone="555-0101", address="12 Main Street", city="Centerville",
                         dateofbirth=dt.date(1990, 12, 10))
    other = make.patron(password="9999", cardnumber="23529000000202", firstname="Grace", surname="Hopper")
    title = make.title(title="The Analytical Engine", author="Babbage")
    items = [make.item(title, barcode=f"39999000000{n:03d}", callnumber="510 BAB") for n in (1, 2, 3)]
    session.commit()
    return SipLibrary(institution, account, patron, other, title, items)


@pytest.fixture
def limits() -> Limits:
    return Limits(max_message=16384, idle_timeout=30, login_timeout=30, max_per_address=20)


@pytest.fixture
def listener(app, sip_library, limits):
    server = SipServer(app, ["tcp:127.0.0.1:0"], limits=limits, workers=2).start()
    yield server
    server.stop()


@pytest.fixture
def connect(listener):
    kiosks: list[Kiosk] = []

    def _connect() -> Kiosk:
        kiosks.append(Kiosk(listener.addresses[0]))
        return kiosks[-1]

    yield _connect
    for kiosk in kiosks:
        kiosk.close()


@pytest.fixture
def kiosk(connect) -> Kiosk:
    """A kiosk already logged in."""
    return connect().login()


def test_the_kiosk_helper_logs_in_and_decodes_the_status_strictly(kiosk):
    status = kiosk.ask("9900802.00")
    assert isinstance(status, pysip2.ACSStatusResponse)
    assert status.supported_messages == "YYYYYYYYYYYYYYYY"
