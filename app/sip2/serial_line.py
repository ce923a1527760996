"""A SIP2 kiosk on a serial line (RS-232), through pyserial: the same framing and dispatcher as
TCP, one conversation per line, served by a thread of its own (serial reads block).

A serial line cannot be "closed" the way a socket is: where a TCP connection would be dropped
(too long a message, an idle timeout, a message before login, too many failed logins), the line
stays open and its session starts over, so the kiosk must log in again. A device that fails
(unplugged adapter) is reopened every few seconds until the server stops."""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Callable

import serial

from .dispatch import Dispatcher
from .server import Framer, FrameTooLong, Limits, Listener
from .session import Session

log = logging.getLogger("carrel.sip2")

READ_TIMEOUT = 0.2  # seconds a read waits: how quickly stop() is noticed
REOPEN_DELAY = 5.0
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialRunner:
    """One serial line: ``start()`` opens the device and starts its thread; ``stop()`` ends both."""

    address: tuple[str, int] | None = None  # not a network listener

    def __init__(self, listener: Listener, dispatcher: Dispatcher, limits: Limits, *, baudrate: int = 9600,
                 parity: str = "N", opener: Callable[..., Any] = serial.serial_for_url):
        self.listener = listener
        self.dispatcher = dispatcher
        self.limits = limits
        self.baudrate = baudrate
        self.parity = PARITIES.get(parity.upper(), serial.PARITY_NONE)
        self._opener = opener
        self._port: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def device(self) -> str:
        return self.listener.device

    def _open(self) -> Any:
        return self._opener(self.device, baudrate=self.baudrate, parity=self.parity, bytesize=serial.EIGHTBITS,
                            stopbits=serial.STOPBITS_ONE, timeout=READ_TIMEOUT, write_timeout=5)

    async def start(self) -> None:
        self._port = await asyncio.to_thread(self._open)  # a missing device fails the server's start
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"carrel-sip2-serial-{self.device}", daemon=True)
        self._thread.start()
        log.info("SIP2 listening on serial %s (%d baud)", self.device, self.baudrate)

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)
            self._thread = None
        self._close_port()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (OSError, serial.SerialException):
                pass

    def _new_session(self) -> Session:
        return Session(peer=f"serial:{self.device}", transport="serial")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._port is None:
                    self._port = self._open()
                    log.info("SIP2 serial %s reopened", self.device)
                self._converse(self._port)
            except (OSError, serial.SerialException) as exc:
                log.warning("SIP2 serial %s failed (%s); reopening in %.0f s", self.device, exc, REOPEN_DELAY)
                self._close_port()
                self._stop.wait(REOPEN_DELAY)
            except Exception:  # noqa: BLE001 - a bad message never kills the line
                log.exception("SIP2 serial %s: unexpected error, the session starts over", self.device)

    def _converse(self, port: Any) -> None:
        session = self._new_session()
        framer = Framer(self.limits.max_message)
        last_message = time.monotonic()
        while not self._stop.is_set():
            data = port.read(max(1, getattr(port, "in_waiting", 0) or 0))
            now = time.monotonic()
            if not data:
                idle = self.limits.idle_timeout
                if session.logged_in and idle > 0 and now - last_message > idle:
                    log.info("SIP2 %s: idle timeout, logged out", session.peer)
                    session = self._new_session()
                continue
            try:
                frames = framer.feed(data)
            except FrameTooLong as exc:
                log.warning("SIP2 %s: %s, discarded and logged out", session.peer, exc)
                framer, session = Framer(self.limits.max_message), self._new_session()
                continue
            for frame in frames:
                last_message = now
                reply = self.dispatcher.handle(session, frame)
                if reply.data:
                    port.write(reply.data)
                    port.flush()
                if reply.close:
                    log.info("SIP2 %s: session ended, the kiosk must log in again", session.peer)
                    session = self._new_session()
