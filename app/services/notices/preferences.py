"""Patron messaging preferences (Koha's enhanced messaging preferences): which kinds of message
a patron wants by email. A patron's own choice wins, else their category's default, else the
default declared in code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MessagingPreference, Patron, PatronCategory

from .events import MAX_DAYS_IN_ADVANCE, MESSAGE_KINDS, MESSAGE_KINDS_BY_NAME, MessageKind


class InvalidMessagingPreference(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    kind: MessageKind
    email: bool
    days_in_advance: int | None
    source: str  # patron | category | default


def _rows(session: Session, *, patron_id: int | None = None, category: str | None = None) -> dict[str, MessagingPreference]:
    stmt = select(MessagingPreference)
    stmt = stmt.where(MessagingPreference.patron_id == patron_id) if patron_id is not None else \
        stmt.where(MessagingPreference.category_code == category)
    return {row.message_name: row for row in session.scalars(stmt)}


def category_choices(session: Session, category: str) -> dict[str, Choice]:
    rows = _rows(session, category=category)
    result = {}
    for kind in MESSAGE_KINDS:
        row = rows.get(kind.name)
        result[kind.name] = Choice(kind, row.email, row.days_in_advance, "category") if row else \
            Choice(kind, kind.default_email, kind.default_days, "default")
    return result


def patron_choices(session: Session, patron: Patron) -> dict[str, Choice]:
    """Every kind of message with what this patron gets and where that choice comes from."""
    own = _rows(session, patron_id=patron.id)
    inherited = category_choices(session, patron.category_code)
    return {name: Choice(choice.kind, own[name].email, own[name].days_in_advance, "patron") if name in own else choice
            for name, choice in inherited.items()}


def _parse(form: Mapping[str, object], names: Iterable[str]) -> dict[str, tuple[bool, int | None]]:
    parsed = {}
    for name in names:
        kind = MESSAGE_KINDS_BY_NAME[name]
        email = str(form.get(f"{name}_email", "")).lower() in {"1", "on", "yes", "true"}
        days = None
        if kind.takes_days:
            raw = str(form.get(f"{name}_days", "") or "").strip()
            if raw == "":
                days = kind.default_days
            elif not raw.isdigit() or not 0 <= int(raw) <= MAX_DAYS_IN_ADVANCE:
                raise InvalidMessagingPreference(
                    f"{kind.label}: days in advance must be a whole number from 0 to {MAX_DAYS_IN_ADVANCE}")
            else:
                days = int(raw)
        parsed[name] = (email, days)
    return parsed


def _store(session: Session, existing: dict[str, MessagingPreference], parsed: dict[str, tuple[bool, int | None]],
           **owner) -> None:
    for name, (email, days) in parsed.items():
        row = existing.get(name)
        if row is None:
            row = MessagingPreference(message_name=name, **owner)
            session.add(row)
        row.email, row.days_in_advance = email, days
    session.flush()


def set_patron_choices(session: Session, patron: Patron, form: Mapping[str, object]) -> dict[str, Choice]:
    """Store a patron's choices from a form (``<name>_email`` checkboxes, ``Advance_Notice_days``);
    every kind at once, so what the form showed is what is kept. Raises
    InvalidMessagingPreference and stores nothing on a bad value."""
    parsed = _parse(form, MESSAGE_KINDS_BY_NAME)
    _store(session, _rows(session, patron_id=patron.id), parsed, patron_id=patron.id)
    return patron_choices(session, patron)


def set_category_defaults(session: Session, category: str, form: Mapping[str, object]) -> dict[str, Choice]:
    """Store a patron category's defaults (patrons without their own choice follow them)."""
    if session.get(PatronCategory, category) is None:
        raise InvalidMessagingPreference(f"unknown patron category {category!r}")
    parsed = _parse(form, MESSAGE_KINDS_BY_NAME)
    _store(session, _rows(session, category=category), parsed, category_code=category)
    return category_choices(session, category)
