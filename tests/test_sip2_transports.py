"""SIP2 transports besides plain TCP: a TLS listener with a self-signed certificate made here,
and a serial line driven through a pseudo-terminal pair (no hardware)."""
from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from app.config import ConfigError, load_config
from app.sip2.server import Limits, Listener, SipServer, parse_listener

from .test_sip2_fixtures import (  # noqa: F401  (fixtures)
    LOGIN,
    PIN,
    Kiosk,
    decode,
    limits,
    pysip2,
    sip_library,
    sip_now,
)


def test_listener_specs_cover_tcp_tls_and_serial():
    assert parse_listener("tcp:127.0.0.1:6001") == Listener("tcp", "127.0.0.1", 6001)
    assert parse_listener("tls:[::1]:6002") == Listener("tls", "::1", 6002)
    assert parse_listener("serial:/dev/ttyUSB0") == Listener("serial", device="/dev/ttyUSB0")
    for bad in ("udp:1.2.3.4:5", "tcp:nohost", "serial:", "tls:host:99999"):
        with pytest.raises(ConfigError):
            parse_listener(bad)


def test_configuration_checks_the_sip2_settings():
    with pytest.raises(ConfigError, match="TLS_CERT"):
        load_config({"ENV": "testing", "SIP2_LISTENERS": "tls:127.0.0.1:6002"}, environ={})
    with pytest.raises(ConfigError, match="CURRENCY"):
        load_config({"ENV": "testing", "SIP2_CURRENCY": "dollars"}, environ={})
    with pytest.raises(ConfigError, match="PIN_MAX_FAILURES"):
        load_config({"ENV": "testing", "SIP2_PIN_MAX_FAILURES": 0}, environ={})
    config = load_config({"ENV": "testing", "SIP2_LISTENERS": "tcp:0.0.0.0:6001,serial:/dev/ttyS0"}, environ={})
    assert config["SIP2_LISTENERS"] == ["tcp:0.0.0.0:6001", "serial:/dev/ttyS0"]


# ---------------------------------------------------------------------------------------------
# TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the cryptography package when it is
    installed, else with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    try:
        _certificate_with_cryptography(cert, key)
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl is available")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
    return cert, key


def _certificate_with_cryptography(cert: str, key: str) -> None:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    built = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=2))
             .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False).sign(private, hashes.SHA256()))
    with open(key, "wb") as out:
        out.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    with open(cert, "wb") as out:
        out.write(built.public_bytes(serialization.Encoding.PEM))


@pytest.fixture
def tls_listener(app, sip_library, limits, certificate, monkeypatch):
    cert, key = certificate
    monkeypatch.setitem(app.config, "SIP2_TLS_CERT", cert)
    monkeypatch.setitem(app.config, "SIP2_TLS_KEY", key)
    server = SipServer(app, ["tls:127.0.0.1:0", "tcp:127.0.0.1:0"], limits=limits, workers=2).start()
    yield server
    server.stop()


def test_a_kiosk_talks_sip2_over_tls_without_stunnel(tls_listener, certificate):
    context = ssl.create_default_context(cafile=certificate[0])
    tls_address, plain_address = tls_listener.addresses
    raw = socket.create_connection(tls_address, timeout=10)
    kiosk = Kiosk(tls_address, context.wrap_socket(raw, server_hostname="127.0.0.1"))
    try:
        kiosk.login()
        info = kiosk.ask(f"63001{sip_now()}          AOCPL|AA23529000000101|AC|AD{PIN}|")
        assert isinstance(info, pysip2.PatronInformationResponse) and info.valid_patron_password == "Y"
    finally:
        kiosk.close()
    plain = Kiosk(plain_address)  # the plain listener next to it still works
    try:
        plain.login()
    finally:
        plain.close()


def test_plain_text_on_the_tls_port_does_not_hurt_the_listener(tls_listener, certificate):
    tls_address = tls_listener.addresses[0]
    with socket.create_connection(tls_address, timeout=10) as raw:
        raw.sendall(LOGIN)
        try:
            answer = raw.recv(4096)
        except ConnectionResetError:
            answer = b""
        assert b"941" not in answer  # the handshake fails: no SIP2 answer in clear text
    context = ssl.create_default_context(cafile=certificate[0])
    with context.wrap_socket(socket.create_connection(tls_address, timeout=10), server_hostname="127.0.0.1") as tls:
        kiosk = Kiosk(tls_address, tls)
        kiosk.login()


def test_a_tls_listener_with_a_missing_certificate_fails_to_start_clearly(app, sip_library, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SIP2_TLS_CERT", str(tmp_path / "missing.pem"))
    monkeypatch.setitem(app.config, "SIP2_TLS_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(ConfigError, match="cannot be used"):
        SipServer(app, ["tls:127.0.0.1:0"]).start()


# ---------------------------------------------------------------------------------------------
# Serial

class PtyKiosk:
    """The kiosk's end of a pseudo-terminal pair whose other end the server opens as a serial line."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.device = os.ttyname(self.slave)
        self.buffer = b""

    def exchange(self, data: bytes | str, timeout: float = 10.0) -> bytes:
        os.write(self.master, data.encode() + b"\r" if isinstance(data, str) else data)
        return self.receive(timeout)

    def receive(self, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        os.set_blocking(self.master, False)
        while b"\r" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer on {self.device}: {self.buffer!r}")
            try:
                self.buffer += os.read(self.master, 4096)
            except BlockingIOError:
                time.sleep(0.01)
        message, _, self.buffer = self.buffer.partition(b"\r")
        return message

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty_kiosk():
    kiosk = PtyKiosk()
    yield kiosk
    kiosk.close()


@pytest.fixture
def serial_listener(app, sip_library, limits, pty_kiosk):
    server = SipServer(app, [f"serial:{pty_kiosk.device}"], limits=limits, workers=2).start()
    yield server
    server.stop()


def test_a_kiosk_on_a_serial_line_logs_in_and_checks_out(serial_listener, pty_kiosk, sip_library):
    assert serial_listener.addresses == []  # not a network listener
    assert pty_kiosk.exchange(LOGIN) == b"941"
    status = decode(pty_kiosk.exchange("9900802.00"))
    assert isinstance(status, pysip2.ACSStatusResponse)
    barcode = sip_library.items[0].barcode
    checkout = decode(pty_kiosk.exchange(f"11NN{sip_now()}{' ' * 18}AOCPL|AA23529000000101|AB{barcode}|AC|AD{PIN}|"))
    assert checkout.ok == "1"


@pytest.mark.parametrize("limits", [Limits(max_message=1024, idle_timeout=30, login_timeout=30)])
def test_garbage_on_a_serial_line_is_answered_and_the_line_keeps_working(serial_listener, pty_kiosk):
    assert pty_kiosk.exchange(b"\x00\xffnoise\r") == b"96"
    assert pty_kiosk.exchange(LOGIN) == b"941"
    blob = memoryview(b"x" * 3000)  # too long: discarded, and the session starts over
    while blob:
        blob = blob[os.write(pty_kiosk.master, blob):]
    time.sleep(0.5)
    assert pty_kiosk.exchange(b"\r") == b"96"  # whatever was left of it
    with pytest.raises(TimeoutError):
        pty_kiosk.exchange(b"9900802.00\r", timeout=1.0)  # logged out: no answer before a login
    assert pty_kiosk.exchange(LOGIN) == b"941"
    assert pty_kiosk.exchange(b"9900802.00\r").startswith(b"98")


def test_a_missing_serial_device_fails_the_start(app, sip_library, tmp_path):
    with pytest.raises(Exception, match="could not open|No such file"):
        SipServer(app, [f"serial:{tmp_path / 'no-such-tty'}"], workers=1).start()
