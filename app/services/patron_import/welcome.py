"""The welcome email to patrons an import created (Koha's ACCTDETAILS / WELCOME notice), sent
after the import has committed."""
from __future__ import annotations

from typing import Any, Mapping

from app.services.mail import MailOutcome, OutgoingMail, send_mail

from .options import WelcomeRecipient


def welcome_mail(recipient: WelcomeRecipient, library_name: str) -> OutgoingMail:
    login = recipient.userid or recipient.cardnumber
    lines = [f"Dear {recipient.name},", "", f"Welcome to {library_name}. Your library account is ready."]
    if recipient.cardnumber:
        lines.append(f"Card number: {recipient.cardnumber}")
    if login:
        lines.append(f"Log in to the catalogue with: {login}")
    lines += ["", "Ask at the desk if you need a password.", "", library_name]
    return OutgoingMail(to=recipient.email, subject=f"Welcome to {library_name}", text="\n".join(lines))


def send_welcome_emails(config: Mapping[str, Any], recipients: list[WelcomeRecipient], library_name: str) -> MailOutcome:
    """Call only after the import committed."""
    return send_mail(config, (welcome_mail(r, library_name) for r in recipients))


def mail_note(outcome: MailOutcome | None) -> str | None:
    if outcome is None:
        return None
    note = f"Welcome emails sent: {outcome.sent}"
    if outcome.failed:
        note += f", failed: {len(outcome.failed)} (" + "; ".join(f"{a}: {r}" for a, r in outcome.failed[:20]) + ")"
    return note
