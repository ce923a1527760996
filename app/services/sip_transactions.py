"""Idempotent SIP2 retries. A kiosk that lost an answer sends the same request again (same
message, patron, item and transaction date); the answer given the first time is kept for a few
days under that identity and given again, so a retried checkout makes no second loan and a
retried renewal no extra renewal.

Only answers to requests that changed something are kept (a refusal changes nothing: asking
again simply asks again). A request whose transaction date is blank or unreadable has a weak
identity, so its answer is replayed only for a couple of minutes. The unique constraint on the
identity makes two copies of one request racing on two connections end with one answer: the
second unit of work fails on it and is rolled back (the kiosk is told to resend, and then gets
the replay)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app import clock
from app.models import SipTransaction

REPLAY_WINDOW = dt.timedelta(days=2)
UNDATED_REPLAY_WINDOW = dt.timedelta(minutes=2)
KEEP_FOR = dt.timedelta(days=3)
PURGE_EVERY = 500  # rows: the purge of old answers runs with every 500th answer kept
REF_LENGTH = 64


@dataclass(frozen=True)
class RequestIdentity:
    """What makes two requests the same request."""

    account_id: int
    message_code: str
    patron_ref: str
    item_ref: str
    transaction_date: str  # verbatim, 18 characters
    dated: bool  # the transaction date is a real date (not blank, not a placeholder)

    @classmethod
    def of(cls, account_id: int, message_code: str, patron_ref: str | None, item_ref: str | None,
           transaction_date: str, *, dated: bool) -> "RequestIdentity":
        return cls(account_id, message_code, (patron_ref or "")[:REF_LENGTH], (item_ref or "")[:REF_LENGTH],
                   transaction_date[:18], dated)


def _lock_identity(session: Session, identity: RequestIdentity) -> None:
    """Copies of one request arriving together (a kiosk retrying on a new connection while the
    first is still being answered) take turns from here to the commit, so the second finds the
    first's answer. PostgreSQL: a transaction-level advisory lock on the identity; SQLite's
    writers already take turns (BEGIN IMMEDIATE, and the SIP2 dispatcher's write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(repr(dataclasses.astuple(identity)).encode(), digest_size=8).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})


def kept_answer(session: Session, identity: RequestIdentity) -> SipTransaction | None:
    """The answer kept under this identity, however old (``is_retry`` says whether it counts).
    Called at the start of a request that may change something: copies of it wait here."""
    _lock_identity(session, identity)
    return session.scalar(select(SipTransaction).where(
        SipTransaction.account_id == identity.account_id, SipTransaction.message_code == identity.message_code,
        SipTransaction.patron_ref == identity.patron_ref, SipTransaction.item_ref == identity.item_ref,
        SipTransaction.transaction_date == identity.transaction_date))


def is_retry(kept: SipTransaction | None, identity: RequestIdentity, *, now: dt.datetime | None = None) -> bool:
    """Whether the request was answered recently enough for this to be a retry of it."""
    window = REPLAY_WINDOW if identity.dated else UNDATED_REPLAY_WINDOW
    return kept is not None and kept.created_at >= (now or clock.now()) - window


def previous_answer(session: Session, identity: RequestIdentity, *, now: dt.datetime | None = None
                    ) -> dict[str, Any] | None:
    """The answer kept for this request, if it was answered recently enough to be a retry."""
    kept = kept_answer(session, identity)
    return kept.response if kept is not None and is_retry(kept, identity, now=now) else None


def keep_answer(session: Session, identity: RequestIdentity, answer: dict[str, Any], *,
                replacing: SipTransaction | None = None, now: dt.datetime | None = None) -> SipTransaction:
    """Keep the answer to a request that changed something (in the request's unit of work, so
    it is kept exactly when the change is). ``replacing`` is an older answer under the same
    identity, past its replay window, that this one takes the place of (the caller read it
    with ``kept_answer``)."""
    moment = now or clock.now()
    row = replacing
    if row is None:
        row = SipTransaction(account_id=identity.account_id, message_code=identity.message_code,
                             patron_ref=identity.patron_ref, item_ref=identity.item_ref,
                             transaction_date=identity.transaction_date)
        session.add(row)
    row.response, row.created_at = answer, moment
    session.flush()
    if row.id % PURGE_EVERY == 0:
        purge_sip_transactions(session, before=moment - KEEP_FOR)
    return row


def purge_sip_transactions(session: Session, *, before: dt.datetime) -> int:
    """Forget answers kept before ``before``; returns how many."""
    result = session.execute(delete(SipTransaction).where(SipTransaction.created_at < before))
    return max(result.rowcount or 0, 0)
