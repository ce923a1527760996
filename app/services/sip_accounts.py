"""SIP2 kiosk accounts: the login (93) check, and the institutions and accounts the staff
administration page creates, edits and deletes. Accounts have their own passwords (argon2), an
enabled switch and an optional list of addresses they may connect from. ``VerifiedSecrets``
remembers secrets already verified (kiosk passwords, patron PINs) so a reconnect storm or a
kiosk sending the PIN with every message does not pay an argon2 verification each time."""
from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from typing import Hashable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SipAccount, SipInstitution

from .passwords import verify_password

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SipLoginRefused(Exception):
    """A 93 that must be answered 940. ``reason`` is for the log, never for the kiosk:
    unknown_login, wrong_password, disabled, address_not_allowed."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _entries(allowed: str | None) -> list[str]:
    """The entries of an address list: separated by commas, semicolons, spaces or lines."""
    return [entry for entry in re.split(r"[,;\s]+", allowed or "") if entry]


def parse_allowed_addresses(allowed: str | None) -> list[IPNetwork]:
    """The networks of a comma list of IPs and CIDRs; entries that are not one are skipped
    (the staff form validates them; a bad entry must not open the account to everyone)."""
    networks: list[IPNetwork] = []
    for entry in _entries(allowed):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


def address_allowed(allowed: str | None, address: str) -> bool:
    """True when ``allowed`` is empty (any address) or ``address`` is inside one of its entries.
    A list whose entries are all malformed admits nobody."""
    if not (allowed or "").strip():
        return True
    client = _address(address)
    if client is None:
        return False
    return _in_any(client, parse_allowed_addresses(allowed))


def _in_any(client: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(client.version == network.version and client in network for network in networks)


class VerifiedSecrets:
    """Secrets recently verified against their argon2 hash, per owner, for ``ttl`` seconds.

    An entry is keyed by the owner and its stored hash (a changed password misses) and holds a
    keyed BLAKE2 digest of the secret, never the secret; the key is random per process. Only
    successes are remembered, so a wrong secret always costs a full verification.

    The argon2 verifications themselves run on ``max_concurrent`` threads of their own: each
    takes 19 MiB and a core for ~25 ms, and glibc keeps freed memory per thread, so a storm of
    logins spread over eight worker threads would hold eight times that memory for good and
    starve every other message. ``close()`` ends those threads (they start again if needed)."""

    def __init__(self, ttl: float = 600.0, max_entries: int = 20_000, max_concurrent: int = 2):
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_concurrent = max_concurrent
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._key = secrets.token_bytes(32)
        self._entries: collections.OrderedDict[tuple[Hashable, str], tuple[bytes, float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def _digest(self, secret: str) -> bytes:
        return hashlib.blake2b(secret.encode("utf-8", "surrogatepass"), key=self._key, digest_size=32).digest()

    def verify(self, owner: Hashable, stored_hash: str | None, secret: str) -> bool:
        """Like ``verify_password``, answered from memory when this owner proved this secret in
        the last ``ttl`` seconds."""
        if not secret or not stored_hash:
            return verify_password(stored_hash, secret)
        key, digest, now = (owner, stored_hash), self._digest(secret), time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > now and hmac.compare_digest(entry[0], digest):
                return True
        if not self._verify(stored_hash, secret):
            return False
        with self._lock:
            self._entries[key] = (digest, now + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return True

    def _verify(self, stored_hash: str, secret: str) -> bool:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self.max_concurrent,
                                                                   thread_name_prefix="carrel-argon2")
            pool = self._pool
        return pool.submit(verify_password, stored_hash, secret).result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def forget(self, owner: Hashable) -> None:
        with self._lock:
            for key in [key for key in self._entries if key[0] == owner]:
                del self._entries[key]


def authenticate_sip_account(session: Session, login: str, password: str, *, address: str,
                             verified: VerifiedSecrets | None = None) -> SipAccount:
    """The enabled account whose login is ``login`` and whose password is ``password``, connecting
    from an allowed address. Raises SipLoginRefused otherwise. The password is checked even for
    unknown logins so the answer's timing does not reveal which logins exist."""
    account = session.scalar(select(SipAccount).where(SipAccount.login == login.strip())) if login.strip() else None
    stored = account.password_hash if account else None
    if verified is not None and account is not None:
        matches = verified.verify(("sip_account", account.id), stored, password)
    else:
        matches = verify_password(stored, password)
    if not matches:
        raise SipLoginRefused("unknown_login" if account is None else "wrong_password")
    assert account is not None
    if not account.enabled:
        raise SipLoginRefused("disabled")
    if not address_allowed(account.allowed_addresses, address):
        raise SipLoginRefused("address_not_allowed")
    return account


# ---------------------------------------------------------------------------------------------
# The staff administration page: institutions and accounts

ENCODINGS = ("utf-8", "cp850", "ascii")
TERMINATORS = ("CR", "CRLF")
# Patron fields a 64 answer can carry that an account may hide (the first four hidden by default).
PATRON_FIELDS = {"BD": "home address", "BE": "e-mail address", "BF": "home phone number", "PB": "birth date",
                 "PC": "patron category"}
INSTITUTION_FIELDS = ("name", "checkin_ok", "checkout_ok", "renewal_ok", "status_update_ok", "offline_ok",
                      "timeout_period", "retries_allowed")
ACCOUNT_FIELDS = ("login", "institution_id", "library_code", "actor_id", "enabled", "error_detection", "terminator",
                  "delimiter", "encoding", "supports_magnetic_media", "supports_security_inhibit", "supports_offline",
                  "checked_in_ok", "holds_block_checkin", "allow_empty_pin", "hidden_fields", "allowed_addresses")


class SipSettingRefused(ValueError):
    """An institution or account value the page must refuse; ``field`` names the form field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def invalid_addresses(allowed: str | None) -> list[str]:
    """The entries of an allowed-address list that are neither an IP address nor a network."""
    bad = []
    for entry in _entries(allowed):
        entry = entry.strip()
        if entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                bad.append(entry)
    return bad


def _audit(session: Session, actor_id: int | None, action: str, object_type: str, object_id: object,
           changed: Iterable[str]) -> None:
    from .audit import record_audit

    record_audit(session, actor_id=actor_id, channel="staff", module="SIP2", action=action, object_type=object_type,
                 object_id=object_id, info={"changed": sorted(changed)})


def save_institution(session: Session, institution: SipInstitution | None, values: dict, *,
                     actor_id: int | None, new_id: str | None = None) -> SipInstitution:
    """Create (``institution`` None, with ``new_id``: the AO value) or update an institution."""
    if not 0 <= int(values["timeout_period"]) <= 999:
        raise SipSettingRefused("timeout_period", "The timeout is 0 to 999 tenths of a second.")
    if not 0 <= int(values["retries_allowed"]) <= 999:
        raise SipSettingRefused("retries_allowed", "Retries are 0 to 999.")
    if institution is None:
        code = (new_id or "").strip()
        if not code or len(code) > 20 or "|" in code:
            raise SipSettingRefused("id", "An institution id (AO) of 1 to 20 characters, without |.")
        if session.get(SipInstitution, code) is not None:
            raise SipSettingRefused("id", f"Institution {code} already exists.")
        institution = SipInstitution(id=code)
        session.add(institution)
        action = "CREATE_INSTITUTION"
    else:
        action = "UPDATE_INSTITUTION"
    changed = [name for name in INSTITUTION_FIELDS if getattr(institution, name, None) != values[name]]
    for name in INSTITUTION_FIELDS:
        setattr(institution, name, values[name])
    session.flush()
    _audit(session, actor_id, action, "sip_institution", institution.id, changed)
    return institution


def save_account(session: Session, account: SipAccount | None, values: dict, *, password: str | None,
                 actor_id: int | None) -> SipAccount:
    """Create or update a kiosk account. The password is hashed; a blank one keeps the old
    (a new account needs one). Changes reach a kiosk at its next login."""
    login = (values["login"] or "").strip()
    if not login or "|" in login:
        raise SipSettingRefused("login", "A login (CN) without |.")
    clash = session.scalar(select(SipAccount).where(SipAccount.login == login))
    if clash is not None and clash is not account:
        raise SipSettingRefused("login", f"The login {login} is taken.")
    if session.get(SipInstitution, values["institution_id"]) is None:
        raise SipSettingRefused("institution_id", "Choose an institution.")
    delimiter = values["delimiter"] or ""
    if len(delimiter) != 1 or delimiter.isalnum() or not delimiter.isprintable() or delimiter == " ":
        raise SipSettingRefused("delimiter", "One printable character that is not a letter, a digit or a space.")
    if values["encoding"] not in ENCODINGS:
        raise SipSettingRefused("encoding", f"One of {', '.join(ENCODINGS)}.")
    if values["terminator"] not in TERMINATORS:
        raise SipSettingRefused("terminator", "CR or CRLF.")
    bad = invalid_addresses(values["allowed_addresses"])
    if bad:
        raise SipSettingRefused("allowed_addresses", f"Not an address or network: {', '.join(bad)}.")
    if account is None:
        if not password:
            raise SipSettingRefused("password", "A new account needs a password.")
        account = SipAccount(login=login)
        session.add(account)
        action = "CREATE_ACCOUNT"
    else:
        action = "UPDATE_ACCOUNT"
    values = dict(values, login=login, allowed_addresses=(values["allowed_addresses"] or "").strip() or None)
    changed = [name for name in ACCOUNT_FIELDS if getattr(account, name, None) != values[name]]
    for name in ACCOUNT_FIELDS:
        setattr(account, name, values[name])
    if password:
        from .passwords import hash_password

        account.password_hash = hash_password(password)
        changed.append("password")
    session.flush()
    _audit(session, actor_id, action, "sip_account", account.id, changed)
    return account


def delete_account(session: Session, account: SipAccount, *, actor_id: int | None) -> None:
    """Remove a kiosk account (its kept answers go with it); connected kiosks keep their session
    until they log in again, which then fails."""
    session.delete(account)
    session.flush()
    _audit(session, actor_id, "DELETE_ACCOUNT", "sip_account", account.id, ())


def delete_institution(session: Session, institution: SipInstitution, *, actor_id: int | None) -> None:
    """Remove an institution that no account uses any more."""
    if session.scalar(select(SipAccount.id).where(SipAccount.institution_id == institution.id).limit(1)):
        raise SipSettingRefused("id", "Move or delete its accounts first.")
    session.delete(institution)
    session.flush()
    _audit(session, actor_id, "DELETE_INSTITUTION", "sip_institution", institution.id, ())
