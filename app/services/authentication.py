"""Logging in patrons and staff: lookup by cardnumber or userid, argon2 verification, and
throttling of failed attempts per account and per client address."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import clock
from app.models import LoginThrottle, Patron

from .audit import record_audit
from .passwords import hash_password, needs_rehash, verify_password


class LoginRefused(Exception):
    """Why a login failed, in words safe to show (never which of login or password was wrong)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class ThrottlePolicy:
    max_account_failures: int
    max_address_failures: int
    lock_seconds: int


def find_patron_for_login(session: Session, login: str) -> Patron | None:
    login = login.strip()
    if not login:
        return None
    return session.scalar(select(Patron).where(or_(Patron.cardnumber == login, Patron.userid == login)).limit(1))


def _throttle_row(session: Session, key: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, key)


def _is_locked(row: LoginThrottle | None, now: dt.datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > now


def _note_failure(session: Session, key: str, limit: int, policy: ThrottlePolicy, now: dt.datetime) -> None:
    row = _throttle_row(session, key)
    window = dt.timedelta(seconds=policy.lock_seconds)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(row)
    elif row.window_started_at + window < now:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + window


def authenticate(session: Session, login: str, password: str, *, address: str, policy: ThrottlePolicy,
                 staff: bool, channel: str) -> Patron:
    """Return the patron whose cardnumber or userid is ``login`` and whose password matches.

    Raises LoginRefused for a wrong login or password, a throttled account or address, an
    expired card (OPAC still admits expired patrons, as Koha does), or, for the staff site,
    a patron without staff permissions. Failed attempts are counted even when the account does
    not exist, so guessing logins is throttled too."""
    now = clock.now()
    address_key = f"address:{address}"
    if _is_locked(_throttle_row(session, address_key), now):
        raise LoginRefused("throttled", "Too many failed logins from this address. Try again later.")
    patron = find_patron_for_login(session, login)
    account_key = f"account:{patron.id}" if patron else None
    if account_key and _is_locked(_throttle_row(session, account_key), now):
        raise LoginRefused("throttled", "Too many failed logins for this account. Try again later.")
    ok = verify_password(patron.password_hash if patron else None, password)
    if not ok or patron is None or not patron.is_active:
        _note_failure(session, address_key, policy.max_address_failures, policy, now)
        if patron is not None:
            _note_failure(session, account_key, policy.max_account_failures, policy, now)
            patron.login_attempts += 1
        record_audit(session, actor_id=None, channel=channel, module="AUTH", action="FAILURE",
                     object_type="patron", object_id=patron.id if patron else None)
        raise LoginRefused("invalid", "Invalid login or password.")
    if staff and not patron.is_staff:
        raise LoginRefused("not_staff", "This account has no access to the staff interface.")
    for key in (address_key, account_key):
        row = _throttle_row(session, key)
        if row is not None:
            session.delete(row)
    patron.login_attempts = 0
    if needs_rehash(patron.password_hash or ""):
        patron.password_hash = hash_password(password)
    record_audit(session, actor_id=patron.id, channel=channel, module="AUTH", action="SUCCESS",
                 object_type="patron", object_id=patron.id)
    session.flush()
    return patron
