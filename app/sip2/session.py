"""Per-connection SIP2 state: who is connected, which account logged in, how to frame and encode,
and the last response (for 97). One Session per connection, owned by its runner; nothing here
is shared between connections."""
from __future__ import annotations

import codecs
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.services.sip_patrons import FailureWindow

if TYPE_CHECKING:
    from app.models.sip import SipAccount

DEFAULT_ENCODING = "utf-8"
DEFAULT_DELIMITER = "|"
TERMINATORS = {"CR": "\r", "CRLF": "\r\n"}


@dataclass(frozen=True)
class AccountGrant:
    """What a successful 93 gives the connection, copied out of the SipAccount row so the session
    holds plain values, not an ORM object from a closed unit of work."""

    account_id: int
    login: str
    institution_id: str
    library_code: str
    actor_id: int | None
    error_detection: bool
    terminator: str
    delimiter: str
    encoding: str
    location: str | None = None  # the CP field of the login
    # What the kiosk may do (the institution's policy, reported in 98 and enforced)
    checkin_ok: bool = True
    checkout_ok: bool = True
    renewal_ok: bool = True
    status_update_ok: bool = False
    offline_ok: bool = False
    # The account's behaviour
    supports_magnetic_media: bool = True
    supports_security_inhibit: bool = False
    supports_offline: bool = False
    checked_in_ok: bool = False
    holds_block_checkin: bool = False
    allow_empty_pin: bool = False
    hidden_fields: frozenset[str] = frozenset({"BD", "BE", "BF", "PB"})

    @classmethod
    def from_account(cls, account: "SipAccount", location: str | None = None) -> "AccountGrant":
        institution = account.institution
        return cls(
            account_id=account.id,
            login=account.login,
            institution_id=account.institution_id,
            library_code=account.library_code,
            actor_id=account.actor_id,
            error_detection=account.error_detection,
            terminator=TERMINATORS.get(account.terminator.upper(), "\r"),
            delimiter=_usable_delimiter(account.delimiter),
            encoding=_usable_encoding(account.encoding),
            location=location or None,
            checkin_ok=institution.checkin_ok,
            checkout_ok=institution.checkout_ok,
            renewal_ok=institution.renewal_ok,
            status_update_ok=institution.status_update_ok,
            offline_ok=institution.offline_ok,
            supports_magnetic_media=account.supports_magnetic_media,
            supports_security_inhibit=account.supports_security_inhibit,
            supports_offline=account.supports_offline,
            checked_in_ok=account.checked_in_ok,
            holds_block_checkin=account.holds_block_checkin,
            allow_empty_pin=account.allow_empty_pin,
            hidden_fields=frozenset(account.hidden_field_codes),
        )


def _usable_delimiter(value: str | None) -> str:
    if value and len(value) == 1 and value not in "\r\n\x00" and not value.isalnum():
        return value
    return DEFAULT_DELIMITER


def _usable_encoding(value: str | None) -> str:
    try:
        return codecs.lookup(value or DEFAULT_ENCODING).name
    except LookupError:
        return DEFAULT_ENCODING


@dataclass
class Session:
    """The state of one SIP2 connection."""

    peer: str  # client address (IP for TCP, device path for serial)
    transport: str = "tcp"
    connected_at: float = field(default_factory=time.monotonic)
    grant: AccountGrant | None = None
    # Framing: defaults until a login picks the account's
    terminator: str = "\r"
    delimiter: str = DEFAULT_DELIMITER
    encoding: str = DEFAULT_ENCODING
    error_detection: bool = False  # the account wants AY/AZ on every response
    protocol_version: str = "2.00"
    failed_logins: int = 0
    pin_failures: FailureWindow = field(default_factory=FailureWindow)  # wrong patron PINs on this connection
    # Resend support: the bytes last sent, and the trailer (AY, AZ) of the request they answered
    last_response: bytes | None = None
    last_request_trailer: tuple[int | None, str] | None = None

    @property
    def logged_in(self) -> bool:
        return self.grant is not None

    @property
    def account_id(self) -> int | None:
        return self.grant.account_id if self.grant else None

    @property
    def login(self) -> str | None:
        return self.grant.login if self.grant else None

    @property
    def institution_id(self) -> str | None:
        return self.grant.institution_id if self.grant else None

    @property
    def library_code(self) -> str | None:
        return self.grant.library_code if self.grant else None

    @property
    def location(self) -> str | None:
        return self.grant.location if self.grant else None

    @property
    def terminator_bytes(self) -> bytes:
        return self.terminator.encode("ascii")

    def log_in(self, grant: AccountGrant) -> None:
        """Bind the connection to an account; its framing applies from the login response on."""
        self.grant = grant
        self.terminator = grant.terminator
        self.delimiter = grant.delimiter
        self.encoding = grant.encoding
        self.error_detection = grant.error_detection
        self.failed_logins = 0

    def log_out(self) -> None:
        self.grant = None
        self.terminator = "\r"
        self.delimiter = DEFAULT_DELIMITER
        self.encoding = DEFAULT_ENCODING
        self.error_detection = False

    def remember(self, response: bytes, trailer: tuple[int | None, str] | None) -> None:
        self.last_response = response
        self.last_request_trailer = trailer

    def seconds_connected(self) -> float:
        return time.monotonic() - self.connected_at
