"""Sending mail, after the boundary's commit: one transport per deployment (``MAIL_TRANSPORT``).

- ``outbox``: each message is written as an ``.eml`` file under ``MAIL_OUTBOX_DIR`` (development
  and tests read them with ``read_outbox``);
- ``smtp``: smtplib to ``SMTP_HOST:SMTP_PORT``, STARTTLS when ``SMTP_TLS`` (implicit TLS when
  ``SMTP_SSL``), a login when ``SMTP_USER`` is set; one connection for a batch.

Callers pass plain ``OutgoingMail`` values and call ``send_mail`` only once their transaction
has committed, so a rolled-back action never mails anyone. The notices sender uses a
``transport`` directly: one message at a time, each failure typed as worth retrying or not."""
from __future__ import annotations

import binascii
import contextlib
import email
import email.utils
import email.policy
import itertools
import smtplib
import uuid
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Iterable, Mapping

from app import clock

_sequence = itertools.count(1)


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None  # a stable id lets a receiving server drop a resent copy
    reply_to: str | None = None
    auto_generated: bool = False  # RFC 3834: no out-of-office replies to notices


class MailError(Exception):
    """One message was not sent; ``permanent`` when trying again cannot help (a refused address)."""

    def __init__(self, message: str, *, permanent: bool = False, server_unavailable: bool = False):
        self.permanent = permanent
        self.server_unavailable = server_unavailable  # the next message would fail the same way
        super().__init__(message)


@dataclass(frozen=True)
class MailOutcome:
    sent: int
    failed: list[tuple[str, str]]  # (address, reason)


def _header(value: str) -> str:
    """A header value as 7-bit text: RFC 2047 encoded words when it is not ASCII, folded."""
    value = " ".join(value.split())
    if value.isascii() and len(value) <= 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep="\r\n")


def _qp(text: str) -> bytes:
    body = "\r\n".join(text.splitlines()) + "\r\n"
    return binascii.b2a_qp(body.encode("utf-8"), istext=True)


def encode_message(mail: OutgoingMail, sender: str) -> bytes:
    """The message as the bytes SMTP carries: text (and HTML as a multipart/alternative) in
    UTF-8 quoted-printable, CRLF line ends. About a hundred times faster than building an
    EmailMessage, which matters when the queue holds tens of thousands of notices."""
    domain = sender.partition("@")[2] or "carrel.invalid"
    headers = [("From", sender), ("To", mail.to), ("Subject", _header(mail.subject)),
               ("Date", email.utils.format_datetime(clock.now())),
               ("Message-ID", mail.message_id or email.utils.make_msgid(domain=domain)), ("MIME-Version", "1.0")]
    if mail.reply_to:
        headers.append(("Reply-To", mail.reply_to))
    if mail.auto_generated:
        headers.append(("Auto-Submitted", "auto-generated"))
    text_part = b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    if not mail.html:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
        return head + text_part + _qp(mail.text)
    boundary = f"=_carrel_{uuid.uuid4().hex}"
    headers.append(("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")
    html_part = b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    mark = f"--{boundary}\r\n".encode()
    return (head + b"\r\n" + mark + text_part + _qp(mail.text) + mark + html_part + _qp(mail.html)
            + f"--{boundary}--\r\n".encode())


def send_mail(config: Mapping[str, Any], mails: Iterable[OutgoingMail]) -> MailOutcome:
    """Send every message with the configured transport, one connection for the lot; failures
    are counted, never raised."""
    sent, failed = 0, []
    with contextlib.closing(transport(config)) as carrier:
        for mail in mails:
            try:
                carrier.send(mail)
                sent += 1
            except MailError as error:
                failed.append((mail.to, str(error)))
    return MailOutcome(sent, failed)


class OutboxTransport:
    """Development and tests: each message becomes an ``.eml`` file in the outbox folder."""

    def __init__(self, config: Mapping[str, Any]):
        self.folder = Path(config.get("MAIL_OUTBOX_DIR", "instance/outbox"))
        self.sender = config.get("MAIL_FROM", "library@example.org")
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, mail: OutgoingMail) -> None:
        name = f"{clock.now():%Y%m%dT%H%M%S}-{next(_sequence):06d}-{uuid.uuid4().hex[:8]}.eml"
        try:
            (self.folder / name).write_bytes(encode_message(mail, self.sender))
        except OSError as error:
            raise MailError(str(error)) from None

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection, opened on the first message and again after the server dropped it.
    4xx answers and network errors are worth retrying; a 5xx refusal of the message is not."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.sender = config.get("MAIL_FROM", "library@example.org")
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        host, port = self.config.get("SMTP_HOST", "localhost"), int(self.config.get("SMTP_PORT", 587))
        timeout = float(self.config.get("SMTP_TIMEOUT", 30))
        if self.config.get("SMTP_SSL"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if self.config.get("SMTP_TLS", True):
                smtp.starttls()
        if self.config.get("SMTP_USER"):
            smtp.login(self.config["SMTP_USER"], self.config.get("SMTP_PASSWORD", ""))
        return smtp

    def send(self, mail: OutgoingMail) -> None:
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.sendmail(self.sender, [mail.to], encode_message(mail, self.sender))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise MailError(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            code = error.smtp_code
            self._reset_if_broken(code)
            raise MailError(f"SMTP {code}: {_text(error.smtp_error)}", permanent=500 <= code < 600) from None
        except (OSError, smtplib.SMTPException) as error:
            self._drop()
            raise MailError(f"SMTP unavailable: {type(error).__name__}: {error}", server_unavailable=True) from None

    def _reset_if_broken(self, code: int) -> None:
        if code in (421, 451):
            self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.close()
            except Exception:  # already broken
                pass
            self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def transport(config: Mapping[str, Any]) -> OutboxTransport | SmtpTransport:
    """The configured transport; call ``close()`` when done."""
    if config.get("MAIL_TRANSPORT", "outbox") == "smtp":
        return SmtpTransport(config)
    return OutboxTransport(config)


def read_outbox(folder: str | Path) -> list[EmailMessage]:
    """The messages in an outbox folder, oldest first (development and tests)."""
    paths = sorted(Path(folder).glob("*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in paths]  # type: ignore[misc]
