"""SIP2 runners: transport only. A ``Framer`` cuts the byte stream into messages (bounded
read-until-CR); ``TcpRunner`` serves one TCP listener (plain, or TLS so kiosks need no stunnel)
on an asyncio loop, with idle and login timeouts and a per-address connection cap;
``SerialRunner`` (``serial_line``) serves one serial line; ``SipServer`` runs every configured
listener on one event loop in a background thread and hands each message to the dispatcher on a
bounded thread pool, so database work never runs on the loop."""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from flask import Flask
from sqlalchemy import Engine

from app.config import ConfigError
from app.extensions import db, pool_capacity

from .dispatch import Dispatcher
from .session import Session

log = logging.getLogger("carrel.sip2")

DEFAULT_WORKERS = 8
READ_CHUNK = 4096


@dataclass(frozen=True)
class Limits:
    max_message: int = 16384  # bytes, terminator excluded
    idle_timeout: float = 900.0  # seconds without a message before a connection is closed; 0 = never
    login_timeout: float = 60.0  # seconds a connection may take to log in; 0 = no limit
    max_per_address: int = 50

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Limits":
        return cls(max_message=int(config["SIP2_MAX_MESSAGE"]), idle_timeout=float(config["SIP2_IDLE_TIMEOUT"]),
                   login_timeout=float(config["SIP2_LOGIN_TIMEOUT"]),
                   max_per_address=int(config["SIP2_MAX_PER_ADDRESS"]))


@dataclass(frozen=True)
class Listener:
    kind: str  # tcp | tls | serial
    host: str = ""
    port: int = 0
    device: str = ""  # serial: a device path (/dev/ttyS0) or a pyserial URL (loop://)

    def __str__(self) -> str:
        return f"serial:{self.device}" if self.kind == "serial" else f"{self.kind}:{self.host}:{self.port}"


def parse_listener(spec: str) -> Listener:
    """``tcp:HOST:PORT`` or ``tls:HOST:PORT`` (an IPv6 host in brackets), ``serial:DEVICE``."""
    kind, _, rest = spec.strip().partition(":")
    if kind == "serial":
        if not rest.strip():
            raise ConfigError(f"SIP2 listener {spec!r} must look like serial:/dev/ttyS0")
        return Listener(kind, device=rest.strip())
    host, _, port = rest.rpartition(":")
    if kind not in ("tcp", "tls") or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"SIP2 listener {spec!r} must look like tcp:HOST:PORT, tls:HOST:PORT or serial:DEVICE")
    return Listener(kind, host.strip("[]"), int(port))


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for tls: listeners: TLS 1.2 at least, the configured certificate chain."""
    if not cert or not key:
        raise ConfigError("a tls: SIP2 listener needs CARREL_SIP2_TLS_CERT and CARREL_SIP2_TLS_KEY")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"SIP2 TLS certificate {cert!r} or key {key!r} cannot be used: {exc}") from None
    return context


class Runner(Protocol):
    listener: Listener
    address: tuple[str, int] | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class FrameTooLong(Exception):
    """More than the maximum message length arrived without a terminator."""


class Framer:
    """Cuts a byte stream into messages at CR. LF next to a CR is dropped (CR LF clients);
    nothing is kept beyond ``max_length`` bytes of one message."""

    def __init__(self, max_length: int):
        self.max_length = max_length
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The complete messages ``data`` finishes, in order; raises FrameTooLong."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            end = self._buffer.find(b"\r")
            if end < 0:
                break
            frame = bytes(self._buffer[:end]).lstrip(b"\n")
            del self._buffer[:end + 1]
            if len(frame) > self.max_length:
                raise FrameTooLong(f"message of {len(frame)} bytes")
            frames.append(frame)
        if len(self._buffer.lstrip(b"\n")) > self.max_length:
            raise FrameTooLong(f"{len(self._buffer)} bytes without a terminator")
        return frames


class TcpRunner:
    """One TCP listener on the server's event loop."""

    def __init__(self, listener: Listener, dispatcher: Dispatcher, limits: Limits,
                 executor: concurrent.futures.Executor, ssl_context: ssl.SSLContext | None = None):
        self.listener = listener
        self.dispatcher = dispatcher
        self.limits = limits
        self.executor = executor
        self.ssl_context = ssl_context
        self.address: tuple[str, int] | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._per_address: collections.Counter[str] = collections.Counter()

    async def start(self) -> None:
        handshake = {"ssl_handshake_timeout": self.limits.login_timeout or 60.0} if self.ssl_context else {}
        self._server = await asyncio.start_server(self._serve, self.listener.host, self.listener.port,
                                                  ssl=self.ssl_context, **handshake)
        sockname = self._server.sockets[0].getsockname()
        self.address = (sockname[0], sockname[1])
        log.info("SIP2 listening on %s %s:%d", self.listener.kind, *self.address)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        self._per_address[address] += 1
        try:
            if self._per_address[address] > self.limits.max_per_address:
                log.warning("SIP2 %s: more than %d connections from this address, refused", address,
                            self.limits.max_per_address)
                return
            await self._converse(Session(peer=address, transport=self.listener.kind), reader, writer)
        except asyncio.CancelledError:
            pass  # the server is stopping
        finally:
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ssl.SSLError, asyncio.CancelledError):
                pass
            self._connections.discard(task)

    def _read_timeout(self, session: Session) -> float | None:
        """Seconds to wait for the next bytes (None: no limit); at most 0 means time is up."""
        idle = self.limits.idle_timeout if self.limits.idle_timeout > 0 else None
        if session.logged_in or self.limits.login_timeout <= 0:
            return idle
        login_left = self.limits.login_timeout - session.seconds_connected()
        return login_left if idle is None else min(idle, login_left)

    async def _converse(self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        framer = Framer(self.limits.max_message)
        pending: collections.deque[bytes] = collections.deque()
        while True:
            if not pending:
                timeout = self._read_timeout(session)
                try:
                    if timeout is not None and timeout <= 0:
                        raise TimeoutError
                    async with asyncio.timeout(timeout):
                        data = await reader.read(READ_CHUNK)
                    pending.extend(framer.feed(data))
                except TimeoutError:
                    log.info("SIP2 %s: %s, connection closed", session.peer,
                             "idle timeout" if session.logged_in else "no login in time")
                    return
                except FrameTooLong as exc:
                    log.warning("SIP2 %s: %s, connection dropped", session.peer, exc)
                    return
                except (OSError, ssl.SSLError) as exc:
                    log.info("SIP2 %s: connection lost (%s)", session.peer, exc)
                    return
                if not data:
                    return  # the client closed
                continue
            reply = await loop.run_in_executor(self.executor, self.dispatcher.handle, session, pending.popleft())
            if reply.data:
                try:
                    writer.write(reply.data)
                    async with asyncio.timeout(self.limits.idle_timeout or None):
                        await writer.drain()
                except (OSError, TimeoutError) as exc:
                    log.info("SIP2 %s: could not answer (%s), connection closed", session.peer, exc or "timeout")
                    return
            if reply.close:
                return


# Connections a process running SIP2 keeps for its web pages and jobs (``make run`` serves all three).
CONNECTIONS_KEPT_FREE = 4


def check_workers_fit_the_pool(workers: int, engine: Engine | None) -> None:
    """Each worker keeps a database connection for good: more workers than the pool can give
    would leave kiosks waiting for a connection that never comes free. Refuse to start."""
    capacity = pool_capacity(engine) if engine is not None else None
    if capacity is None:  # one shared connection (an in-memory database)
        return
    most = capacity - CONNECTIONS_KEPT_FREE
    if workers > most:
        raise RuntimeError(
            f"CARREL_SIP2_WORKERS is {workers}, but each SIP2 worker keeps one of the {capacity} database "
            f"connections this process may open, and {CONNECTIONS_KEPT_FREE} must stay free for its web pages "
            f"and jobs: set it to {most} or fewer.")


class SipServer:
    """Every configured SIP2 listener, served from one background thread with its own event loop.
    ``start()`` returns once all listeners are bound (port 0 gives a free port, see
    ``addresses``); ``stop()`` closes connections, listeners, the loop and the thread pool."""

    def __init__(self, app: Flask, listeners: Sequence[str] | None = None, *, limits: Limits | None = None,
                 workers: int | None = None, dispatcher: Dispatcher | None = None):
        self.app = app
        specs = app.config["SIP2_LISTENERS"] if listeners is None else listeners
        self.listeners = [parse_listener(spec) for spec in specs]
        self.limits = limits or Limits.from_config(app.config)
        self.dispatcher = dispatcher or Dispatcher(app)
        self.workers = workers or int(app.config.get("SIP2_WORKERS") or DEFAULT_WORKERS)
        self.runners: list[Runner] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [runner.address for runner in self.runners if runner.address is not None]

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> "SipServer":
        if self._thread is not None:
            raise RuntimeError("the SIP2 server is already started")
        check_workers_fit_the_pool(self.workers, db.engine)
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers,
                                                               thread_name_prefix="carrel-sip2-worker")
        try:
            self.runners = [self._runner(listener, self._executor) for listener in self.listeners]
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="carrel-sip2", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop(timeout)
            raise RuntimeError("the SIP2 listeners did not start in time")
        if self._startup_error is not None:
            error = self._startup_error
            self.stop(timeout)
            raise error
        return self

    def _runner(self, listener: Listener, executor: concurrent.futures.Executor) -> Runner:
        config = self.app.config
        if listener.kind == "serial":
            from .serial_line import SerialRunner

            return SerialRunner(listener, self.dispatcher, self.limits, baudrate=int(config["SIP2_SERIAL_BAUD"]),
                                parity=str(config["SIP2_SERIAL_PARITY"]))
        context = tls_context(config["SIP2_TLS_CERT"], config["SIP2_TLS_KEY"]) if listener.kind == "tls" else None
        return TcpRunner(listener, self.dispatcher, self.limits, executor, context)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._ready.wait(timeout)  # a stop during start waits for the loop to exist
        thread, loop, stop_requested = self._thread, self._loop, self._stop_requested
        if thread is not None:
            if loop is not None and stop_requested is not None and thread.is_alive():
                try:
                    loop.call_soon_threadsafe(stop_requested.set)
                except RuntimeError:
                    pass  # the loop already closed
            thread.join(timeout)
            if thread.is_alive():
                log.error("SIP2 server thread did not stop within %.0f s", timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self.dispatcher.close()
        self._thread = self._loop = self._stop_requested = self._executor = None
        self._startup_error = None

    def __enter__(self) -> "SipServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start() or logged, never lost in a thread
            if not self._ready.is_set():
                self._startup_error = exc
                self._ready.set()
            else:
                log.exception("SIP2 server stopped on an error")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        started: list[Runner] = []
        try:
            for runner in self.runners:
                await runner.start()
                started.append(runner)
        except BaseException as exc:
            for runner in started:
                await runner.stop()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop_requested.wait()
        for runner in started:
            await runner.stop()
        log.info("SIP2 listeners stopped")
