"""SIP2 kiosk accounts: the login (93) check. Accounts have their own passwords, an enabled switch
and an optional list of addresses they may connect from. ``VerifiedSecrets`` remembers secrets
already verified (kiosk passwords, patron PINs) so a reconnect storm or a kiosk sending the PIN
with every message does not pay an argon2 verification each time."""
from __future__ import annotations

import collections
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from typing import Hashable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SipAccount

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


def parse_allowed_addresses(allowed: str | None) -> list[IPNetwork]:
    """The networks of a comma list of IPs and CIDRs; entries that are not one are skipped
    (the staff form validates them; a bad entry must not open the account to everyone)."""
    networks: list[IPNetwork] = []
    for entry in (allowed or "").replace(";", ",").split(","):
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
    successes are remembered, so a wrong secret always costs a full verification."""

    def __init__(self, ttl: float = 600.0, max_entries: int = 20_000):
        self.ttl = ttl
        self.max_entries = max_entries
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
        if not verify_password(stored_hash, secret):
            return False
        with self._lock:
            self._entries[key] = (digest, now + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return True

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
