"""SIP2: the codec on known vectors, and the real listener on 127.0.0.1 (port 0) driven with raw
bytes over a socket, against the test database."""
from __future__ import annotations

import datetime as dt
import logging
import socket
from zoneinfo import ZoneInfo

import pytest

from app.models import SipAccount, SipInstitution
from app.services.passwords import hash_password
from app.services.sip_accounts import address_allowed
from app.sip2 import codec
from app.sip2.server import Framer, FrameTooLong, Limits, SipServer

# ---------------------------------------------------------------------------------------------
# Codec

CHECK_VALUES = [
    ("9300CNterm1|COsecret|CPLOC1|AY0AZ", "F527"),
    ("97AZ", "FEF5"),
    ("941AY0AZ", "FDFD"),
    ("96AZ", "FEF6"),
    ("990 402.00AY1AZ", "FCB4"),
    ("6520190501   Z103015AApatron_id|AC|AD1234|AOuniversity_id|BON|AY1AZ", "EB3B"),
]

# From sip2-vectors.txt (jsip2, FOLIO, Evergreen, node-sip2, dp2): every one must parse. The
# Evergreen one sums UTF-8 bytes of text in NFD form (e + combining grave).
VECTORS = [
    "01N20210814    083455AO|AL|AApatronId|AC|AY0AZF34D",
    "09N20210715    12450120210810    180136APlocation|AO|ABitemId|AC|CHitemProperties|AY1AZE6B3",
    "11NN20190304    17315220210814    083455AOinstitutionId|AApatronId|ABitemId|AC|CHitemProperties|AY1AZE10B",
    "15-20210814    083455BW20140914    185459|AO|AApatronId|AY0AZF108",
    "3720130514    1322230402EURBV2.00|AOinstitutionId|AApatronId|CGfeeIdentifier|AY1AZE672",
    "6300020150416    064702  Y       AOinstitutionId|AApatronIdentifier|AC|AD|AY0AZE8CA",
    "9300CNuser|COpasswd|CPlocation|AY0AZF2FB",
    "9300CNuser_id|COpassw0rd|AY1AZF594",
    "9300CNLoginUserID|COLoginPassword|CPLocationCode|AY5AZEC7B",
    "9900802.00AY1AZFCA0",
    "97AZFEF5",
    "941AY3AZFDFA",
    "1804020120110630    110249AB30007008503046|AJLe Pie\u0300ge de Bogota|CK001|AQOSUL|APOSUL|BGOSUL|"
    "AH2011-10-28 23:59:59|CSPB LP DAL|AY7AZDCF8",
    "161N20190501    103015BW20190601    235900|BR1|BSMAIN|AOCPL|AA23529000035676|AB39999000003697|"
    "AJSome title|AY2AZE430",
    "9901202.00",
    "11YY20190501    10301520190515    103015AApatron_id|ABSomeBook|AC|CHAutographed|AD1234|AOuniversity_id|BON|BIN|",
]


@pytest.mark.parametrize("text, expected", CHECK_VALUES)
def test_checksum_matches_the_published_check_values(text, expected):
    assert codec.checksum(text) == expected
    assert codec.verify_checksum(text + expected)


def test_checksum_is_always_four_zero_padded_digits():
    assert codec.checksum(b"\xff" * 257) == "0001"


def test_build_writes_the_login_example_with_its_checksum():
    built = codec.build("93", {"uid_algorithm": "0", "pwd_algorithm": "0"},
                        [("CN", "term1"), ("CO", "secret"), ("CP", "LOC1")], sequence=0, error_detection=True)
    assert built == "9300CNterm1|COsecret|CPLOC1|AY0AZF527"
    assert codec.build("94", {"ok": "1"}, sequence=0, error_detection=True) == "941AY0AZFDFD"
    assert codec.build("96", error_detection=True) == "96AZFEF6"


@pytest.mark.parametrize("vector", VECTORS)
def test_published_vectors_parse_and_their_checksums_verify(vector):
    message = codec.parse(vector)
    assert message.code == vector[:2]
    if "AZ" in vector[-6:]:
        assert message.checksum == vector[-4:]


def test_parse_reads_fixed_fields_by_width_and_variable_fields_by_identifier():
    message = codec.parse(b"6300020150416    064702  Y       AOinst|AApatron|AFone|AFtwo|AY0AZE8CA\r\n", verify=False)
    assert message.fixed["summary"] == "  Y       "
    assert message.fixed["transaction_date"] == "20150416    064702"
    assert message.get("AA") == "patron" and message.get_all("AF") == ["one", "two"]
    assert message.sequence == 0 and message.checksum == "E8CA"


def test_parse_tolerates_a_missing_last_delimiter_runs_of_delimiters_and_lower_case_hex():
    assert codec.parse("9300CNterm1||COsecret").fields == (("CN", "term1"), ("CO", "secret"))
    assert codec.parse("9900802.00|").fixed["protocol_version"] == "2.00"
    assert codec.parse("9300CNterm1|COsecret|CPLOC1|AY0AZf527").checksum == "f527"
    assert codec.parse("65YYYYMMDDZZZZHHMMSSAApatron|").get("AA") == "patron"  # dates are read later, leniently


@pytest.mark.parametrize("garbage, error", [
    (b"hello world", codec.MalformedMessage),
    (b"", codec.MalformedMessage),
    (b"4200AAx|", codec.UnknownMessage),
    (b"9300CNterm1|COsecret|CPLOC1|AY0AZF528", codec.ChecksumMismatch),
    (b"99008", codec.MalformedMessage),
    (b"9300CN\x00x|", codec.MalformedMessage),
    (b"9300CNterm1|\xff\xfe|", codec.MalformedMessage),
])
def test_parse_raises_typed_errors_for_garbage(garbage, error):
    with pytest.raises(error):
        codec.parse(garbage)


def test_build_cleans_values_orders_fields_and_sends_required_fields_empty():
    built = codec.build("98", {"online_status": "Y", "checkin_ok": "Y", "checkout_ok": "Y", "acs_renewal_policy": "N",
                               "status_update_ok": "N", "offline_ok": "N", "timeout_period": "030",
                               "retries_allowed": "003", "date_time_sync": codec.BLANK_DATE, "protocol_version": "2.00"},
                        [("AF", "line one\r\nline|two"), ("AM", None), ("AO", "CPL")])
    assert built.endswith("2.00AOCPL|BX|AFline one  line two|")
    with pytest.raises(ValueError):
        codec.build("94", {"ok": "10"})
    with pytest.raises(ValueError):
        codec.build("94", {})


def test_long_screen_messages_are_repeated_and_other_values_truncated_at_255_bytes():
    fixed = {"end_session": "Y", "transaction_date": codec.BLANK_DATE}
    message = codec.parse(codec.build("36", fixed, [("AO", "x" * 300), ("AA", "p"), ("AF", "\u00e9" * 200)]))
    assert message.get("AO") == "x" * 255
    assert [len(part.encode()) for part in message.get_all("AF")] == [254, 146]


def test_sip_dates_are_written_local_or_utc_and_read_back():
    zone = ZoneInfo("America/Chicago")
    moment = dt.datetime(2019, 5, 1, 15, 30, 15, tzinfo=dt.timezone.utc)
    assert codec.format_date(moment, zone) == "20190501    103015"
    assert codec.format_date(moment, utc=True) == "20190501   Z153015"
    assert codec.parse_date("20190501    103015", zone) == moment
    assert codec.parse_date("20190501   Z153015", zone) == moment
    assert codec.parse_date(codec.BLANK_DATE, zone) is None
    with pytest.raises(codec.InvalidDate):
        codec.parse_date("YYYYMMDDZZZZHHMMSS", zone)


def test_redact_masks_passwords_payments_and_patron_data_even_in_garbage():
    shown = codec.redact(b"9300CNterm1|COsecret|CPLOC1|AY0AZF527\r")
    assert "secret" not in shown and "CNterm1" in shown
    shown = codec.redact("3720130514    1322230402EURBV2.00|AOinst|AA23529000035676|ADpin1|")
    assert "2.00|" not in shown and "2352900" not in shown and "pin1" not in shown
    assert codec.redact(b"\xff\x00junk|COsecret|").endswith("\\x00junk|CO***|")


def test_supported_messages_marks_positions_in_bx_order():
    assert codec.supported_messages({"93", "99", "97"}) == "NNNNYYYNNNNNNNNN"


def test_framer_reassembles_splits_drops_lf_and_bounds_length():
    framer = Framer(max_length=20)
    assert framer.feed(b"9300CN") == []
    assert framer.feed(b"a|\r\n99") == [b"9300CNa|"]
    assert framer.feed(b"00802.00\r97\r") == [b"9900802.00", b"97"]
    with pytest.raises(FrameTooLong):
        framer.feed(b"x" * 21)


def test_allowed_addresses_accept_ips_and_cidrs():
    assert address_allowed(None, "10.0.0.5") and address_allowed("", "10.0.0.5")
    assert address_allowed("192.168.1.10, 10.0.0.0/8", "10.0.0.5")
    assert address_allowed("127.0.0.1", "::ffff:127.0.0.1")
    assert not address_allowed("192.168.1.10", "10.0.0.5")
    assert not address_allowed("not-an-address", "10.0.0.5")


# ---------------------------------------------------------------------------------------------
# The listener

LOGIN = b"9300CNkiosk|COkiosk-pass|CPLOC1|\r"
TIMEOUT = 5.0


class Kiosk:
    """A raw socket speaking to the listener."""

    def __init__(self, address: tuple[str, int]):
        self.socket = socket.create_connection(address, timeout=TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def receive(self, terminator: bytes = b"\r") -> bytes:
        while terminator not in self.buffer:
            chunk = self.socket.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed by the server after {self.buffer!r}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(terminator)
        return message

    def exchange(self, data: bytes) -> bytes:
        self.send(data)
        return self.receive()

    def closed_by_server(self) -> bool:
        try:
            return self.socket.recv(4096) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def institution(make, session):
    make.library("CPL", name="Centerville Public Library")
    institution = SipInstitution(id="CPL", name="Centerville", checkin_ok=True, checkout_ok=False, renewal_ok=True,
                                 status_update_ok=False, offline_ok=True, timeout_period=30, retries_allowed=3)
    session.add(institution)
    session.flush()
    return institution


@pytest.fixture
def account(institution, session):
    account = SipAccount(login="kiosk", password_hash=hash_password("kiosk-pass"), institution_id="CPL",
                         library_code="CPL")
    session.add(account)
    session.commit()
    return account


@pytest.fixture
def limits():
    return Limits(max_message=16384, idle_timeout=10, login_timeout=10, max_per_address=5)


@pytest.fixture
def listener(app, account, limits):
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
        kiosk.socket.close()


def test_kiosk_logs_in_with_its_account_password(connect):
    assert connect().exchange(LOGIN) == b"941"


def test_a_wrong_password_is_refused_and_the_kiosk_may_try_again(connect):
    kiosk = connect()
    assert kiosk.exchange(b"9300CNkiosk|COwrong|CPLOC1|\r") == b"940"
    assert kiosk.exchange(b"9300CNnobody|COkiosk-pass|\r") == b"940"
    assert kiosk.exchange(LOGIN) == b"941"


def test_the_fifth_failed_login_closes_the_connection(connect):
    kiosk = connect()
    for _ in range(5):
        assert kiosk.exchange(b"9300CNkiosk|COwrong|\r") == b"940"
    assert kiosk.closed_by_server()


@pytest.mark.parametrize("change", [{"enabled": False}, {"allowed_addresses": "192.0.2.0/24"}])
def test_disabled_or_address_restricted_accounts_cannot_log_in(connect, account, session, change):
    for name, value in change.items():
        setattr(account, name, value)
    session.commit()
    assert connect().exchange(LOGIN) == b"940"


def test_sc_status_reports_the_institution_policy_with_a_valid_checksum(connect):
    kiosk = connect()
    assert kiosk.exchange(LOGIN) == b"941"
    response = kiosk.exchange(b"9900802.00AY1AZFCA0\r")
    assert response.startswith(b"98YYNYNY030003")
    assert response[32:36] == b"2.00"
    assert b"AOCPL|AMCenterville Public Library|BXYYYYYYYYYYYYYYYY|ANLOC1|AY1AZ" in response
    assert codec.verify_checksum(response)


def test_sc_status_decodes_with_the_strict_pysip2_codec(connect):
    pysip2 = pytest.importorskip("pysip2")
    kiosk = connect()
    login_request = codec.build("93", {"uid_algorithm": "0", "pwd_algorithm": "0"},
                                [("CN", "kiosk"), ("CO", "kiosk-pass")], sequence=0, error_detection=True)
    login = pysip2.decode_message(kiosk.exchange(login_request.encode() + b"\r") + b"\r", encoding="utf-8")
    assert login.message.ok == "1" and login.sequence_number == 0
    decoded = pysip2.decode_message(kiosk.exchange(b"9900802.00AY1AZFCA0\r") + b"\r", encoding="utf-8")
    status = decoded.message
    assert isinstance(status, pysip2.ACSStatusResponse) and decoded.sequence_number == 1
    assert (status.online_status, status.checkin_ok, status.checkout_ok, status.offline_ok) == ("Y", "Y", "N", "Y")
    assert (status.timeout_period, status.retries_allowed, status.protocol_version) == ("030", "003", "2.00")
    assert status.institution_id == "CPL" and status.supported_messages == "YYYYYYYYYYYYYYYY"
    assert isinstance(pysip2.decode_message(kiosk.exchange(b"garbage\r") + b"\r").message, pysip2.RequestSCResend)


def test_sc_status_before_login_closes_the_connection(connect):
    kiosk = connect()
    kiosk.send(b"9900802.00\r")
    assert kiosk.closed_by_server()


def test_resend_request_gets_the_previous_response_byte_for_byte(connect):
    kiosk = connect()
    assert kiosk.exchange(b"97\r") == b"96"  # nothing sent yet
    kiosk.exchange(LOGIN)
    status = kiosk.exchange(b"9900802.00AY1AZFCA0\r")
    assert kiosk.exchange(b"97AZFEF5\r") == status
    assert kiosk.exchange(b"97\r") == status


def test_garbage_and_bad_checksums_get_96_and_the_connection_stays_usable(connect):
    kiosk = connect()
    assert kiosk.exchange(b"\x00\xffnot sip at all\r") == b"96"
    assert kiosk.exchange(b"9300CNkiosk|COkiosk-pass|AY0AZ0000\r") == b"96AZFEF6"
    assert kiosk.exchange(LOGIN) == b"941"
    assert kiosk.exchange(b"hello\r") == b"96"
    assert kiosk.exchange(b"\r") == b"96"
    assert kiosk.exchange(b"4200AOCPL|AA999999|\r") == b"96"  # no such message
    assert kiosk.exchange(b"9900802.00\r").startswith(b"98")


def test_a_failing_handler_answers_96_and_logs_without_secrets(connect, listener, caplog):
    def broken(session, request, db_session):
        raise RuntimeError("boom")

    listener.dispatcher.route("93", broken, before_login=True)
    kiosk = connect()
    with caplog.at_level(logging.ERROR, logger="carrel.sip2"):
        assert kiosk.exchange(LOGIN) == b"96"
    assert "93 failed" in caplog.text and "kiosk-pass" not in caplog.text
    assert kiosk.exchange(b"97\r") == b"96"


def test_an_endless_message_drops_the_connection_but_not_the_listener(connect):
    kiosk = connect()
    kiosk.send(b"9300CN" + b"x" * 20 * 1024)
    assert kiosk.closed_by_server()
    assert connect().exchange(LOGIN) == b"941"


def test_a_message_split_across_sends_is_reassembled(connect):
    kiosk = connect()
    for piece in (b"9300CNki", b"osk|COkio", b"sk-pass|CP", b"LOC1|", b"\r"):
        kiosk.send(piece)
    assert kiosk.receive() == b"941"


def test_two_messages_in_one_send_are_answered_in_order(connect):
    kiosk = connect()
    kiosk.send(LOGIN + b"9900802.00AY1AZFCA0\r\n97\r\n")
    assert kiosk.receive() == b"941"
    status = kiosk.receive()
    assert status.startswith(b"98")
    assert kiosk.receive() == status


def test_an_account_may_ask_for_cr_lf_and_checksums_on_every_response(connect, account, session):
    account.terminator, account.error_detection = "CRLF", True
    session.commit()
    kiosk = connect()
    kiosk.send(LOGIN)
    assert kiosk.receive(b"\r\n") == b"941AY0AZFDFD"
    assert codec.verify_checksum(kiosk.exchange(b"9900802.00\r\n").rstrip(b"\n"))


@pytest.mark.parametrize("limits", [Limits(login_timeout=0.3, max_per_address=5)])
def test_a_connection_that_does_not_log_in_in_time_is_closed(connect, limits):
    assert connect().closed_by_server()


@pytest.mark.parametrize("limits", [Limits(idle_timeout=0.3, login_timeout=0)])
def test_an_idle_connection_is_closed_after_the_idle_timeout(connect, limits):
    kiosk = connect()
    assert kiosk.exchange(LOGIN) == b"941"
    assert kiosk.closed_by_server()


@pytest.mark.parametrize("limits", [Limits(max_per_address=2)])
def test_connections_per_address_are_capped(connect, limits):
    first, second, third = connect(), connect(), connect()
    assert third.closed_by_server()
    assert first.exchange(LOGIN) == b"941" and second.exchange(LOGIN) == b"941"


def test_stop_closes_open_connections_and_frees_the_port(app, account, limits):
    server = SipServer(app, ["tcp:127.0.0.1:0"], limits=limits).start()
    address = server.addresses[0]
    kiosk = Kiosk(address)
    try:
        assert kiosk.exchange(LOGIN) == b"941"
        server.stop()
        assert kiosk.closed_by_server()
        assert not server.running
        with pytest.raises(OSError):
            socket.create_connection(address, timeout=1).close()
    finally:
        kiosk.socket.close()
        server.stop()


def test_a_kiosk_is_answered_after_the_database_dropped_the_listeners_connection(listener, connect):
    kiosk = connect()
    assert kiosk.exchange(LOGIN) == b"941"
    dropped = listener.dispatcher.connections.held()
    assert dropped  # the worker keeps its connection between messages
    for connection in dropped:
        connection.connection.dbapi_connection.close()  # as a database restart leaves it
    for _ in range(3):
        assert kiosk.exchange(b"9900802.00\r").startswith(b"98")  # answered, never 96
    assert not set(dropped) & set(listener.dispatcher.connections.held())


@pytest.mark.parametrize("url, most", [("sqlite:///{tmp}/pool.db", 11),  # 15 connections, 4 kept for pages and jobs
                                        ("postgresql+psycopg://carrel@127.0.0.1/carrel", 26)])  # 30; never connects
def test_more_workers_than_the_database_pool_can_serve_are_refused_at_start(tmp_path, url, most):
    from app.extensions import make_engine
    from app.sip2.server import check_workers_fit_the_pool

    engine = make_engine(url.format(tmp=tmp_path))
    try:
        check_workers_fit_the_pool(most, engine)
        with pytest.raises(RuntimeError, match=f"CARREL_SIP2_WORKERS is {most + 1}.*set it to {most} or fewer"):
            check_workers_fit_the_pool(most + 1, engine)
    finally:
        engine.dispose()
