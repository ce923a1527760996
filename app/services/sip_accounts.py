"""SIP2 kiosk accounts: the login (93) check. Accounts have their own passwords, an enabled switch
and an optional list of addresses they may connect from."""
from __future__ import annotations

import ipaddress
from typing import Iterable

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


def authenticate_sip_account(session: Session, login: str, password: str, *, address: str) -> SipAccount:
    """The enabled account whose login is ``login`` and whose password is ``password``, connecting
    from an allowed address. Raises SipLoginRefused otherwise. The password is checked even for
    unknown logins so the answer's timing does not reveal which logins exist."""
    account = session.scalar(select(SipAccount).where(SipAccount.login == login.strip())) if login.strip() else None
    if not verify_password(account.password_hash if account else None, password):
        raise SipLoginRefused("unknown_login" if account is None else "wrong_password")
    assert account is not None
    if not account.enabled:
        raise SipLoginRefused("disabled")
    if not address_allowed(account.allowed_addresses, address):
        raise SipLoginRefused("address_not_allowed")
    return account
