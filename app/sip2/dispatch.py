"""From one SIP2 request to one response: parse, check the session may ask, run the handler in one
unit of work, encode the answer with the session's framing. The runners call ``handle`` from a
worker thread; it never raises and never blocks on anything but the database.

Behaviour that is protocol rather than library policy, following Koha (the baseline kiosks know):
unreadable or unknown messages and bad checksums get 96; 97 gets the last response byte for byte
(96 if there is none); a recognised message other than 93 before login closes the connection
without a reply; a recognised but not yet supported message after login gets 96; a handler
failure is logged (redacted) and answered 96. An account with error detection on must send
every message with a sequence number and checksum: one without gets 96 too.

The handlers of every other request (``handlers``) are routed here at construction; they share
the dispatcher's PIN guard (failed PIN checks per patron) and its memory of verified secrets."""
from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from flask import Flask
from sqlalchemy.orm import Session as DbSession

from app import clock
from app.extensions import db
from app.models import Library, SipInstitution
from app.services.sip_accounts import SipLoginRefused, VerifiedSecrets, authenticate_sip_account
from app.services.sip_patrons import PinGuard, PinPolicy

from . import codec
from .codec import Message
from .connections import ConnectionLost, HeldConnections, lost
from .session import AccountGrant, Session

log = logging.getLogger("carrel.sip2")

DEFAULT_MAX_LOGIN_FAILURES = 5


@dataclass(frozen=True)
class Response:
    """A handler's answer. ``after_commit`` changes the session once the unit of work committed
    (a login binds the connection only when nothing failed)."""

    code: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    fields: Sequence[tuple[str, str | None]] = ()
    after_commit: Callable[[], None] | None = None
    close: bool = False


@dataclass(frozen=True)
class Reply:
    """What the runner does: send ``data`` (encoded, terminated) if any, then close if asked."""

    data: bytes | None
    close: bool = False


Handler = Callable[[Session, Message, DbSession], Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    writes: bool = False  # opens the unit of work for writing (SQLite: BEGIN IMMEDIATE)
    before_login: bool = False


class Dispatcher:
    """Maps request codes to handlers. New messages are added with ``route(code, handler, ...)``;
    BX in the 98 answer follows the routes, so it only ever claims what is implemented."""

    def __init__(self, app: Flask, *, max_login_failures: int = DEFAULT_MAX_LOGIN_FAILURES,
                 pins: PinGuard | None = None, handlers: bool = True):
        from .handlers import install
        from .ils import SipSettings

        self.app = app
        self.max_login_failures = max_login_failures
        self.verified = pins.verified if pins is not None else VerifiedSecrets()
        self.pins = pins or PinGuard(PinPolicy.from_config(app.config), self.verified)
        self.settings = SipSettings.from_config(app.config)
        self._write_lock = threading.Lock() if str(app.config["DATABASE_URL"]).startswith("sqlite") else None
        self.connections = HeldConnections()
        self.routes: dict[str, Route] = {}
        self.route("93", self.login, before_login=True)
        self.route("99", self.sc_status)
        if handlers:
            install(self)

    def route(self, code: str, handler: Handler, *, writes: bool = False, before_login: bool = False) -> None:
        if code not in codec.SPECS or code in ("97", "96"):
            raise ValueError(f"{code} is not a request a handler can answer")
        self.routes[code] = Route(handler, writes, before_login)

    def close(self) -> None:
        """Stop the threads that check passwords (they start again if needed) and close the
        worker threads' database connections (call it once no message is being handled)."""
        self.verified.close()
        self.connections.close()

    @property
    def supported_codes(self) -> frozenset[str]:
        return frozenset(self.routes) | {"97"}

    # -----------------------------------------------------------------------------------------

    def handle(self, session: Session, raw: bytes) -> Reply:
        """The reply to one framed message (terminator already removed)."""
        delimiter = session.delimiter
        if raw.startswith(b"93") and not session.logged_in:
            delimiter = codec.login_delimiter(raw, delimiter)
        try:
            request = codec.parse(raw, delimiter=delimiter, encoding=session.encoding)
        except codec.ChecksumMismatch:
            log.warning("SIP2 %s: bad checksum, asking for a resend: %s", session.peer, codec.redact(raw))
            return self._resend_please(session, error_detection=True)
        except codec.UnknownMessage as exc:
            log.warning("SIP2 %s: unknown message %s: %s", session.peer, exc.code, codec.redact(raw))
            return self._resend_please(session, error_detection=session.error_detection or codec.has_trailer(raw))
        except codec.MalformedMessage as exc:
            log.warning("SIP2 %s: unreadable message (%s): %s", session.peer, exc, codec.redact(raw))
            return self._resend_please(session, error_detection=session.error_detection or codec.has_trailer(raw))

        if request.code == "97":
            if session.last_response is None:
                return self._resend_please(session, error_detection=session.error_detection or bool(request.checksum))
            return Reply(session.last_response)
        trailer = (request.sequence, request.checksum) if request.checksum else None
        if trailer is not None and trailer == session.last_request_trailer and session.last_response is not None:
            log.info("SIP2 %s: %s retransmitted, previous response replayed", session.peer, request.code)
            return Reply(session.last_response)

        route = self.routes.get(request.code)
        if not session.logged_in and not (route and route.before_login):
            log.warning("SIP2 %s: %s before login, connection closed", session.peer, request.code)
            return Reply(None, close=True)
        error_detection = session.error_detection or request.checksum is not None
        if session.error_detection and request.checksum is None:
            log.warning("SIP2 %s: %s without the checksum the account requires, answered 96", session.peer,
                        request.code)
            return self._resend_please(session, error_detection)
        if route is None:
            log.info("SIP2 %s: %s (%s) not supported yet, answered 96", session.peer, request.code,
                     request.spec.name)
            return self._resend_please(session, error_detection)

        if log.isEnabledFor(logging.DEBUG):
            log.debug("SIP2 %s: %s", session.peer, codec.redact(request))
        try:
            try:
                response = self._run(route, session, request)
            except ConnectionLost:
                log.info("SIP2 %s: the database connection was lost, %s answered on a new one", session.peer,
                         request.code)
                self.connections.drop()
                response = self._run(route, session, request)
            if response.after_commit is not None:
                response.after_commit()
            data = self._encode(session, response, request.sequence, session.error_detection or error_detection)
        except Exception:
            log.error("SIP2 %s: %s failed, answered 96: %s", session.peer, request.code, codec.redact(request),
                      exc_info=True)
            return self._resend_please(session, error_detection)
        session.remember(data, trailer)
        return Reply(data, close=response.close)

    def _run(self, route: Route, session: Session, request: Message) -> Response:
        """The handler in one unit of work on this thread's connection. A connection found broken
        before the commit raises ConnectionLost (nothing was written); at the commit it cannot
        be known whether the commit happened, so that failure stays a failure."""
        with self._writer(route.writes), self.app.app_context(), \
                db.unit_of_work(write=route.writes, bind=self.connections.get()) as db_session:
            try:
                return route.handler(session, request, db_session)
            except Exception as exc:
                if lost(exc):
                    raise ConnectionLost from exc
                raise

    def _writer(self, writes: bool) -> contextlib.AbstractContextManager:
        """On SQLite, writing units of work take turns on a lock of this process: a waiting
        writer wakes the moment the previous one commits, where SQLite's own busy handler would
        poll with growing sleeps (the long tail of latency under load). Other databases lock
        rows, not the whole file: nothing to do."""
        if writes and self._write_lock is not None:
            return self._write_lock
        return contextlib.nullcontext()

    def _encode(self, session: Session, response: Response, sequence: int | None, error_detection: bool) -> bytes:
        text = codec.build(response.code, response.fixed, response.fields, sequence, error_detection,
                           delimiter=session.delimiter, encoding=session.encoding)
        return codec.encode(text, session.encoding) + session.terminator_bytes

    def _resend_please(self, session: Session, error_detection: bool) -> Reply:
        data = self._encode(session, Response("96"), None, error_detection)
        session.remember(data, None)
        return Reply(data)

    # -----------------------------------------------------------------------------------------
    # Handlers

    def login(self, session: Session, request: Message, db_session: DbSession) -> Response:
        """93 -> 94: bind the connection to a SIP2 account. Failures are counted per connection;
        the one that reaches ``max_login_failures`` is answered and the connection closed."""
        login = request.get("CN") or ""
        try:
            if request.fixed["uid_algorithm"] != "0" or request.fixed["pwd_algorithm"] != "0":
                raise SipLoginRefused("encrypted_credentials")
            account = authenticate_sip_account(db_session, login, request.get("CO") or "", address=session.peer,
                                               verified=self.verified)
        except SipLoginRefused as refusal:
            session.log_out()
            session.failed_logins += 1
            close = session.failed_logins >= self.max_login_failures
            log.warning("SIP2 %s: login %r refused (%s), failure %d of %d%s", session.peer, login, refusal.reason,
                        session.failed_logins, self.max_login_failures, ", closing" if close else "")
            return Response("94", {"ok": "0"}, close=close)
        grant = AccountGrant.from_account(account, request.get("CP"))

        def bind() -> None:
            session.log_in(grant)
            log.info("SIP2 %s: logged in as %r (institution %s)", session.peer, grant.login, grant.institution_id)

        return Response("94", {"ok": "1"}, after_commit=bind)

    def sc_status(self, session: Session, request: Message, db_session: DbSession) -> Response:
        """99 -> 98: the institution's policy, the clock and what this server supports."""
        institution = db_session.get(SipInstitution, session.institution_id)
        if institution is None:
            raise LookupError(f"institution {session.institution_id!r} of the logged-in account is gone")
        library = db_session.get(Library, session.library_code)
        fixed = {
            "online_status": "Y",
            "checkin_ok": codec.yes_no(institution.checkin_ok),
            "checkout_ok": codec.yes_no(institution.checkout_ok),
            "acs_renewal_policy": codec.yes_no(institution.renewal_ok),
            "status_update_ok": codec.yes_no(institution.status_update_ok),
            "offline_ok": codec.yes_no(institution.offline_ok),
            "timeout_period": codec.digits(institution.timeout_period, 3),
            "retries_allowed": codec.digits(institution.retries_allowed, 3),
            "date_time_sync": codec.format_date(clock.now(), clock.timezone()),
            # A login (93) makes this a 2.00 session whatever the SC status said (as Koha does).
            "protocol_version": session.protocol_version,
        }
        fields = [
            ("AO", institution.id),
            ("AM", library.name if library is not None else institution.name),
            ("BX", codec.supported_messages(self.supported_codes)),
            ("AN", session.location),
        ]
        return Response("98", fixed, fields)
