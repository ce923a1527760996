"""Idempotent SIP2 retries. A kiosk that lost an answer sends the same request again (same
message, patron, item and transaction date); the answer given the first time is kept for a few
days under that identity and given again, so a retried checkout makes no second loan and a
retried renewal no extra renewal.

Only answers to requests that changed something are kept (a refusal changes nothing: asking
again simply asks again). A request whose transaction date is blank or unreadable has a weak
identity, so its answer is replayed only for a couple of minutes. The unique constraint on the
identity makes two copies of one request racing on two connections end with one answer.

On PostgreSQL and SQLite a request claims its identity first (``claim``: an insert that does
nothing on a conflict, one statement): a copy being answered on another connection makes the
claim wait until it is done, and then its answer is found. The claimed row gets the answer when
one is kept (``keep_answer``) and is given back otherwise (``release``). Elsewhere the identity
is read under a lock, and the unique constraint settles a race: the second unit of work fails on
it and is rolled back (the kiosk is told to resend, and then gets the replay)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
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
    return kept is not None and bool(kept.response) and kept.created_at >= (now or clock.now()) - window


IDENTITY_COLUMNS = ("account_id", "message_code", "patron_ref", "item_ref", "transaction_date")
_CLAIMING_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass
class Claim:
    """What ``claim`` found: the row this request claimed (``row_id``), or the row an earlier
    copy of it left (``earlier``: a retry, or an old answer to replace), or neither (a database
    without claims, nothing kept yet)."""

    row_id: int | None = None
    earlier: SipTransaction | None = None
    kept: bool = False


def claim(session: Session, identity: RequestIdentity, *, now: dt.datetime | None = None) -> Claim:
    """Make the identity this request's before anything is done (PostgreSQL, SQLite: one
    statement when it is new); otherwise, or when an earlier copy's row is there, that row."""
    make_insert = _CLAIMING_INSERT.get(session.get_bind().dialect.name)
    if make_insert is None:
        return Claim(earlier=kept_answer(session, identity))
    values = {name: getattr(identity, name) for name in IDENTITY_COLUMNS}
    row_id = session.scalar(make_insert(SipTransaction).values(**values, response={}, created_at=now or clock.now())
                            .on_conflict_do_nothing(index_elements=IDENTITY_COLUMNS).returning(SipTransaction.id))
    if row_id is not None:
        return Claim(row_id=row_id)
    return Claim(earlier=session.scalar(select(SipTransaction).where(
        *(getattr(SipTransaction, name) == value for name, value in values.items()))))


def release(session: Session, claimed: Claim) -> None:
    """Give back a claimed identity whose answer was not kept (a refusal: asking again asks again)."""
    if claimed.row_id is not None and not claimed.kept:
        session.execute(delete(SipTransaction).where(SipTransaction.id == claimed.row_id))


def previous_answer(session: Session, identity: RequestIdentity, *, now: dt.datetime | None = None
                    ) -> dict[str, Any] | None:
    """The answer kept for this request, if it was answered recently enough to be a retry."""
    kept = kept_answer(session, identity)
    return kept.response if kept is not None and is_retry(kept, identity, now=now) else None


def keep_answer(session: Session, identity: RequestIdentity, answer: dict[str, Any], *,
                replacing: SipTransaction | Claim | None = None,
                now: dt.datetime | None = None) -> SipTransaction | None:
    """Keep the answer to a request that changed something (in the request's unit of work, so
    it is kept exactly when the change is). ``replacing`` is what ``claim`` found (the claimed
    row gets the answer) or an older answer under the same identity, past its replay window,
    that this one takes the place of (read with ``kept_answer``). Returns the row written
    through the ORM (None when the claimed row was updated in place)."""
    moment = now or clock.now()
    if isinstance(replacing, Claim):
        replacing.kept = True
        if replacing.row_id is not None:
            session.execute(update(SipTransaction).where(SipTransaction.id == replacing.row_id)
                            .values(response=answer, created_at=moment))
            if replacing.row_id % PURGE_EVERY == 0:
                purge_sip_transactions(session, before=moment - KEEP_FOR)
            return None
        replacing = replacing.earlier
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
