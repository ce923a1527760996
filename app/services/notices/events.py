"""The events that send notices, with Koha's letter codes, and the messaging preferences
(Koha's message attributes) that let a patron choose which of them come by email."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageKind:
    """A kind of message a patron may turn on or off (Koha's message attribute)."""

    name: str  # Koha's message_name: Hold_Filled, Advance_Notice...
    label: str
    default_email: bool
    takes_days: bool = False  # Advance_Notice: how many days before the due date
    default_days: int | None = None


MESSAGE_KINDS: tuple[MessageKind, ...] = (
    MessageKind("Hold_Filled", "A hold is ready for pickup", True),
    MessageKind("Hold_Reminder", "A reminder that a hold is still waiting", True),
    MessageKind("Hold_Cancelled", "A hold was cancelled or expired", True),
    MessageKind("Advance_Notice", "A loan is due soon", True, takes_days=True, default_days=2),
)
MESSAGE_KINDS_BY_NAME = {kind.name: kind for kind in MESSAGE_KINDS}
MAX_DAYS_IN_ADVANCE = 30


@dataclass(frozen=True)
class Event:
    code: str  # Koha's letter code
    name: str
    description: str
    objects: tuple[str, ...]  # what its template may read besides patron and library
    default_subject: str
    message_kind: str | None = None  # None: library policy decides, not the patron
    print_fallback: bool = False  # a patron without an email address gets a slip staff print


EVENTS: tuple[Event, ...] = (
    Event("HOLD", "Hold ready for pickup", "A copy is waiting on the pickup shelf.",
          ("hold", "title", "item"), "{{ title.title }} is waiting for you at {{ library.name }}",
          "Hold_Filled", print_fallback=True),
    Event("HOLD_REMINDER", "Hold still waiting", "The copy has waited on the pickup shelf for some days.",
          ("hold", "title", "item"), "Reminder: {{ title.title }} is still waiting for you", "Hold_Reminder"),
    Event("HOLD_CANCELLATION", "Hold cancelled or expired", "A hold was cancelled or expired, with the reason.",
          ("hold", "title"), "Your hold on {{ title.title }} has {{ 'expired' if hold.status == 'expired' else 'been cancelled' }}",
          "Hold_Cancelled"),
    Event("PREDUE", "Loans due soon", "Loans due in the days the patron chose (Advance_Notice).",
          ("loans",), "{{ loans|length }} item{{ 's' if loans|length != 1 }} due soon", "Advance_Notice"),
    Event("ODUE", "Overdue notice (first)", "Loans overdue by the rules' first delay.",
          ("loans",), "Overdue: {{ loans|length }} item{{ 's' if loans|length != 1 }} to return", print_fallback=True),
    Event("ODUE2", "Overdue notice (second)", "Loans overdue by the rules' second delay.",
          ("loans",), "Second notice: {{ loans|length }} overdue item{{ 's' if loans|length != 1 }}", print_fallback=True),
    Event("ODUE3", "Overdue notice (third)", "Loans overdue by the rules' third delay.",
          ("loans",), "Final notice: {{ loans|length }} overdue item{{ 's' if loans|length != 1 }}", print_fallback=True),
    Event("WELCOME", "Welcome", "Sent to new patrons (the patron import's welcome email).",
          (), "Welcome to {{ library.name }}"),
    Event("ISSUESLIP", "Check-out and check-in receipt", "Today's check-outs and check-ins, printed or emailed by staff.",
          ("checkouts", "checkins"), "Your receipt from {{ library.name }}"),
)
EVENTS_BY_CODE = {event.code: event for event in EVENTS}
OVERDUE_EVENTS = ("ODUE", "ODUE2", "ODUE3")


class UnknownEvent(KeyError):
    pass


def event(code: str) -> Event:
    try:
        return EVENTS_BY_CODE[code]
    except KeyError:
        raise UnknownEvent(code) from None
