"""Process commands: `serve` starts web, SIP2 and the scheduler and prints where they are; `worker`
and `sip2 serve` run the background services until a signal; everything stops cleanly."""
from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from app.cli import serve
from app.models import SipAccount, SipInstitution
from app.services.passwords import hash_password


@pytest.fixture
def kiosk_account(make, session):
    make.library("CPL")
    session.add(SipInstitution(id="CPL", name="Centerville"))
    session.flush()
    session.add(SipAccount(login="kiosk", password_hash=hash_password("kiosk"), institution_id="CPL",
                           library_code="CPL"))
    session.commit()


@pytest.fixture
def free_port_listener(app, monkeypatch):
    monkeypatch.setitem(app.config, "SIP2_LISTENERS", ["tcp:127.0.0.1:0"])


def sip2_login(address: str) -> bytes:
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as kiosk:
        kiosk.sendall(b"9300CNkiosk|COkiosk|CPLOC1|\r")
        return kiosk.recv(100)


def test_background_services_start_and_stop_together(app, kiosk_account, free_port_listener):
    with serve.BackgroundServices(app, sip2=True, scheduler=True) as services:
        assert app.config["RUN_SIP2"] and app.config["RUN_SCHEDULER"]
        [address] = services.sip2_addresses()
        assert sip2_login(address) == b"941\r"
        assert services.scheduler is not None and services.scheduler.running
    assert services.sip2 is None and services.scheduler is None
    assert not app.config["RUN_SIP2"] and not app.config["RUN_SCHEDULER"]


def test_serve_prints_the_urls_and_demo_logins_and_stops_everything(app, runner, kiosk_account, free_port_listener,
                                                                    monkeypatch):
    seen: dict = {}

    def fake_run_simple(host, port, application, **options):
        seen.update(host=host, port=port, app=application, options=options)
        services_running = [t.name for t in threading.enumerate() if t.name == "carrel-sip2"]
        seen["sip2_thread"] = bool(services_running)

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    result = runner.invoke(args=["carrel", "serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert "OPAC http://127.0.0.1:5099/ (patron 23529000000001 / patron)" in result.output
    assert "Staff http://127.0.0.1:5099/staff/ (admin / admin)" in result.output
    assert "SIP2 127.0.0.1:" in result.output and "(kiosk / kiosk, institution CPL)" in result.output
    assert seen["options"] == {"threaded": True, "use_reloader": False, "use_debugger": False}
    assert seen["app"] is app and seen["sip2_thread"]
    assert not [t for t in threading.enumerate() if t.name == "carrel-sip2"]


def test_serve_can_leave_out_sip2_and_the_scheduler(app, runner, monkeypatch):
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda *args, **kwargs: None)
    result = runner.invoke(args=["carrel", "serve", "--no-sip2", "--no-scheduler"])
    assert result.exit_code == 0, result.output
    assert "SIP2" not in result.output and "Scheduler" not in result.output


@pytest.fixture
def started_services(monkeypatch) -> list:
    """The BackgroundServices each command starts, to find the port it bound."""
    started: list[serve.BackgroundServices] = []
    original_start = serve.BackgroundServices.start

    def start(self):
        started.append(self)
        return original_start(self)

    monkeypatch.setattr(serve.BackgroundServices, "start", start)
    return started


@pytest.mark.parametrize("command", [["carrel", "worker"], ["carrel", "sip2", "serve"]])
def test_worker_and_sip2_serve_run_until_a_signal(app, runner, kiosk_account, free_port_listener, monkeypatch,
                                                  started_services, command):
    logins: list[bytes] = []

    def fake_wait(*args, **kwargs):
        [address] = started_services[0].sip2_addresses()
        logins.append(sip2_login(address))
        return signal.SIGTERM

    monkeypatch.setattr(serve, "wait_for_signal", fake_wait)
    result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
    worker = command[1] == "worker"
    assert "SIP2 listening on 127.0.0.1:" in result.output
    assert result.output.rstrip().endswith("stopped")
    assert logins == [b"941\r"]
    assert ("Scheduler running" in result.output) == worker
    assert ("SIGTERM received, stopping" in result.output) == worker
    assert started_services[0].sip2 is None and started_services[0].scheduler is None


def test_wait_for_signal_returns_on_sigterm_and_restores_handlers():
    before = signal.getsignal(signal.SIGTERM)
    stop = threading.Event()

    def send_sigterm_once_handled():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and signal.getsignal(signal.SIGTERM) is before:
            time.sleep(0.01)
        if signal.getsignal(signal.SIGTERM) is before:
            stop.set()  # never installed: end the wait instead of killing the test run
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=send_sigterm_once_handled)
    helper.start()
    received = serve.wait_for_signal(stop)
    helper.join(5)
    assert received is signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before
