"""Sending queued notices (Koha's process_message_queue.pl), safe to run from two processes at
once: a step claims a batch of due rows atomically (an UPDATE guarded by ``status = pending``;
on PostgreSQL the candidates are read with SKIP LOCKED), commits the claim, sends over one
connection, then records each outcome. A row is only ever sent by the run that claimed it.

Failures worth retrying wait ``NOTICE_RETRY_SECONDS`` doubled after each attempt; after
``NOTICE_MAX_ATTEMPTS`` (or at once for a refused address) the notice is failed. A run that
dies between sending and recording leaves rows claimed; after ``STALE_CLAIM`` they go back to
pending (the one case a message may arrive twice: mail is at least once, and the stable
Message-ID lets a receiving server see the copy)."""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.models import Library, Notice, NoticeChannel, NoticeStatus
from app.services import mail

log = logging.getLogger("carrel.notices")
STALE_CLAIM = dt.timedelta(minutes=15)
ERROR_LENGTH = 1000


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0  # claimed but not tried: the server was down
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int
    mail: mail.OutgoingMail


def release_stale_claims(session: Session, now: dt.datetime) -> int:
    """Rows claimed by a run that never recorded their outcome go back to pending."""
    result = session.execute(update(Notice).where(
        Notice.status == NoticeStatus.SENDING, Notice.claimed_at < now - STALE_CLAIM).values(
        status=NoticeStatus.PENDING, claim_token=None, claimed_at=None, next_attempt_at=now,
        last_error="the sender stopped before recording the outcome").execution_options(synchronize_session=False))
    return result.rowcount or 0


def claim_due(session: Session, token: str, now: dt.datetime, limit: int) -> list[int]:
    """Claim up to ``limit`` due email notices for this run; their ids, oldest first."""
    candidates = (select(Notice.id).where(Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now,
                                          Notice.channel == NoticeChannel.EMAIL)
                  .order_by(Notice.next_attempt_at, Notice.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    session.execute(update(Notice).where(Notice.id.in_(ids), Notice.status == NoticeStatus.PENDING).values(
        status=NoticeStatus.SENDING, claim_token=token, claimed_at=now).execution_options(synchronize_session=False))
    return sorted(session.scalars(select(Notice.id).where(Notice.claim_token == token,
                                                          Notice.status == NoticeStatus.SENDING)))


def _load(session: Session, ids: list[int], domain: str) -> list[_Claimed]:
    rows = session.execute(select(Notice.id, Notice.attempts, Notice.to_address, Notice.subject, Notice.body_text,
                                  Notice.body_html, Library.email)
                           .outerjoin(Library, Library.code == Notice.library_code)
                           .where(Notice.id.in_(ids)).order_by(Notice.id)).all()
    return [_Claimed(r.id, r.attempts, mail.OutgoingMail(
        to=r.to_address, subject=r.subject, text=r.body_text, html=r.body_html, reply_to=r.email or None,
        message_id=f"<notice-{r.id}@{domain}>", auto_generated=True)) for r in rows]


def _record(session: Session, token: str, now: dt.datetime, sent: list[int],
            failures: list[tuple[_Claimed, mail.MailError]], released: list[int], config: Mapping[str, Any],
            result: SendResult) -> None:
    max_attempts = int(config.get("NOTICE_MAX_ATTEMPTS", 5))
    retry = int(config.get("NOTICE_RETRY_SECONDS", 300))
    mine = (Notice.claim_token == token, Notice.status == NoticeStatus.SENDING)
    for start in range(0, len(sent), 1000):
        session.execute(update(Notice).where(Notice.id.in_(sent[start:start + 1000]), *mine).values(
            status=NoticeStatus.SENT, sent_at=now, attempts=Notice.attempts + 1, claim_token=None,
            last_error=None).execution_options(synchronize_session=False))
    result.sent += len(sent)
    for claimed, error in failures:
        attempts = claimed.attempts + 1
        final = error.permanent or attempts >= max_attempts
        values: dict[str, Any] = {"attempts": attempts, "claim_token": None, "last_error": str(error)[:ERROR_LENGTH]}
        if final:
            values["status"] = NoticeStatus.FAILED
            result.failed += 1
        else:
            values["status"] = NoticeStatus.PENDING
            values["next_attempt_at"] = now + dt.timedelta(seconds=retry * 2 ** (attempts - 1))
            result.retrying += 1
        session.execute(update(Notice).where(Notice.id == claimed.id, *mine).values(**values)
                        .execution_options(synchronize_session=False))
        result.errors.append(f"notice {claimed.id}: {error}")
    if released:
        session.execute(update(Notice).where(Notice.id.in_(released), *mine).values(
            status=NoticeStatus.PENDING, claim_token=None, next_attempt_at=now + dt.timedelta(seconds=retry))
            .execution_options(synchronize_session=False))
        result.released += len(released)


def send_pending_notices(units: Callable[[], ContextManager[Session]], config: Mapping[str, Any], *,
                         limit: int | None = None) -> SendResult:
    """Send every due email notice (or ``limit`` of them), batch by batch, each claim and each
    outcome in a unit of work of its own; stops early when the SMTP server is unavailable."""
    token = uuid.uuid4().hex
    batch_size = int(config.get("NOTICE_BATCH_SIZE", 500))
    domain = str(config.get("MAIL_FROM", "library@example.org")).partition("@")[2] or "carrel.invalid"
    result = SendResult()
    transport = mail.transport(config)
    with contextlib.closing(transport):
        with units() as session:
            stale = release_stale_claims(session, clock.now())
        if stale:
            log.warning("%d notices claimed by a stopped sender went back to pending", stale)
        while limit is None or result.total < limit:
            size = batch_size if limit is None else min(batch_size, limit - result.total)
            with units() as session:
                ids = claim_due(session, token, clock.now(), size)
                batch = _load(session, ids, domain) if ids else []
            if not batch:
                break
            sent: list[int] = []
            failures: list[tuple[_Claimed, mail.MailError]] = []
            released: list[int] = []
            for claimed in batch:
                if failures and failures[-1][1].server_unavailable:
                    released.append(claimed.id)
                    continue
                try:
                    transport.send(claimed.mail)
                    sent.append(claimed.id)
                except mail.MailError as error:
                    failures.append((claimed, error))
            with units() as session:
                _record(session, token, clock.now(), sent, failures, released, config, result)
            if released:
                log.warning("SMTP server unavailable: %d notices wait for the next run", len(released))
                break
    return result
