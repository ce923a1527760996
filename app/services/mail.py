"""Sending mail, after the boundary's commit: one transport per deployment (``MAIL_TRANSPORT``).

- ``outbox``: each message is written as an ``.eml`` file under ``MAIL_OUTBOX_DIR`` (development
  and tests read them with ``read_outbox``);
- ``smtp``: smtplib to ``SMTP_HOST:SMTP_PORT``, STARTTLS when ``SMTP_TLS``, a login when
  ``SMTP_USER`` is set; one connection for a batch.

Callers pass plain ``OutgoingMail`` values and call ``send_mail`` only once their transaction
has committed, so a rolled-back action never mails anyone. A notices queue can build on this."""
from __future__ import annotations

import email
import email.utils
import email.policy
import itertools
import logging
import smtplib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterable, Mapping

from app import clock

log = logging.getLogger("carrel.mail")
_sequence = itertools.count(1)


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class MailOutcome:
    sent: int
    failed: list[tuple[str, str]]  # (address, reason)


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = email.utils.format_datetime(clock.now())
    message["Message-ID"] = email.utils.make_msgid(domain=sender.partition("@")[2] or "carrel.invalid")
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def send_mail(config: Mapping[str, Any], mails: Iterable[OutgoingMail]) -> MailOutcome:
    """Send every message with the configured transport; failures are counted, never raised."""
    sender = config.get("MAIL_FROM", "library@example.org")
    if config.get("MAIL_TRANSPORT", "outbox") == "smtp":
        return _send_smtp(config, sender, mails)
    return _send_outbox(Path(config.get("MAIL_OUTBOX_DIR", "instance/outbox")), sender, mails)


def _send_outbox(folder: Path, sender: str, mails: Iterable[OutgoingMail]) -> MailOutcome:
    folder.mkdir(parents=True, exist_ok=True)
    sent, failed = 0, []
    for mail in mails:
        name = f"{clock.now():%Y%m%dT%H%M%S}-{next(_sequence):06d}-{uuid.uuid4().hex[:8]}.eml"
        try:
            (folder / name).write_bytes(build_message(mail, sender).as_bytes(policy=email.policy.SMTP))
            sent += 1
        except OSError as error:
            failed.append((mail.to, str(error)))
    return MailOutcome(sent, failed)


def _send_smtp(config: Mapping[str, Any], sender: str, mails: Iterable[OutgoingMail]) -> MailOutcome:
    sent, failed = 0, []
    pending = list(mails)
    if not pending:
        return MailOutcome(0, [])
    try:
        with smtplib.SMTP(config.get("SMTP_HOST", "localhost"), int(config.get("SMTP_PORT", 587)), timeout=30) as smtp:
            if config.get("SMTP_TLS", True):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD", ""))
            for mail in pending:
                try:
                    smtp.send_message(build_message(mail, sender))
                    sent += 1
                except smtplib.SMTPException as error:
                    failed.append((mail.to, str(error)))
    except (OSError, smtplib.SMTPException) as error:
        log.warning("SMTP unavailable: %s", error)
        failed.extend((mail.to, str(error)) for mail in pending[sent + len(failed):])
    return MailOutcome(sent, failed)


def read_outbox(folder: str | Path) -> list[EmailMessage]:
    """The messages in an outbox folder, oldest first (development and tests)."""
    paths = sorted(Path(folder).glob("*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]  # type: ignore[misc]
