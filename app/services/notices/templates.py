"""Notice templates: the shipped default of each event, the ones staff saved per library, the
choice between them, and validated edits (a template that does not render with sample values is
refused and nothing is stored)."""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Library, NoticeTemplate, Patron
from app.models.notices import ALL_LIBRARIES
from app.services import policy_cache
from app.services.policy_cache import policy_snapshot

from .events import Event, event
from .sandbox import LIST_OBJECTS, Fields, TemplateProblem, render_part

DEFAULTS_DIR = Path(__file__).resolve().parents[2] / "templates" / "emails" / "notices"
SUBJECT_LENGTH = NoticeTemplate.__table__.c.subject.type.length


@dataclass(frozen=True)
class TemplateText:
    event: str
    library_code: str  # "*" for every library
    subject: str
    body_text: str
    body_html: str | None
    is_default: bool  # shipped in code, not saved by staff


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None


@functools.lru_cache(maxsize=None)
def default_template(code: str) -> TemplateText:
    """The template shipped for an event (``emails/notices/CODE.txt`` and ``.html``)."""
    ev = event(code)
    html_path = DEFAULTS_DIR / f"{code}.html"
    return TemplateText(code, ALL_LIBRARIES, ev.default_subject, (DEFAULTS_DIR / f"{code}.txt").read_text(),
                        html_path.read_text() if html_path.exists() else None, True)


_MEMO_KEY = ("notice_templates",)


def _saved_by_key(session: Session) -> dict[tuple[str, str], TemplateText]:
    """Every saved template, kept with the process's policy snapshot: saving or removing one
    bumps the policy generation, so each process reads them again once, and an event queues
    its notice without a template query."""
    snapshot = policy_snapshot(session)
    saved = snapshot.memo.get(_MEMO_KEY)
    if saved is None:
        saved = snapshot.memo[_MEMO_KEY] = {
            (row.event, row.library_code): TemplateText(row.event, row.library_code, row.subject, row.body_text,
                                                        row.body_html, False)
            for row in session.execute(select(NoticeTemplate.event, NoticeTemplate.library_code, NoticeTemplate.subject,
                                              NoticeTemplate.body_text, NoticeTemplate.body_html))}
    return saved


def template_for(session: Session, code: str, library_code: str | None) -> TemplateText:
    """The template an event uses at a library: the library's own, else the one for every
    library, else the shipped default."""
    saved = _saved_by_key(session)
    return saved.get((code, library_code or ALL_LIBRARIES)) or saved.get((code, ALL_LIBRARIES)) or default_template(code)


def saved_templates(session: Session) -> dict[tuple[str, str], NoticeTemplate]:
    return {(t.event, t.library_code): t for t in session.scalars(select(NoticeTemplate))}


def render(template: TemplateText, context: Mapping[str, Any]) -> Rendered:
    """Render the three parts; raises TemplateProblem."""
    subject = " ".join(render_part("subject", template.subject, context).split())[:SUBJECT_LENGTH]
    text = render_part("text body", template.body_text, context).strip() + "\n"
    html = render_part("HTML body", template.body_html, context, html=True) if template.body_html else None
    return Rendered(subject, text, html)


def sample_context(ev: Event, patron: Patron | None = None, library: Library | None = None) -> dict[str, Any]:
    """Values to try a template with: a real patron and library when given, made-up values for
    the rest (the preview's loans and hold)."""
    from .fields import library_fields, patron_fields

    today = clock.today()
    title = Fields("title", {"title": "The Sample Title", "author": "A. Writer", "isbn": "9780000000002"})
    item = Fields("item", {"barcode": "39999000000001", "callnumber": "823 WRI", "home_library": "CPL",
                           "holding_library": "CPL"})
    context: dict[str, Any] = {
        "patron": patron_fields(patron) if patron else Fields("patron", {"name": "Sam Sample", "firstname": "Sam",
                                                                          "surname": "Sample", "cardnumber": "0000"}),
        "library": library_fields(library) if library else Fields("library", {"code": "CPL", "name": "The Library"}),
    }
    loan = Fields("loan", {"title": title, "item": item, "checked_out_on": today - dt.timedelta(days=20),
                           "due_date": today - dt.timedelta(days=6), "days_overdue": 6, "renewals": 0})
    for name in ev.objects:
        if name == "hold":
            context["hold"] = Fields("hold", {
                "id": 1, "status": "expired" if ev.code == "HOLD_CANCELLATION" else "pulled",
                "reason": "not needed after " + today.isoformat(), "placed_on": today - dt.timedelta(days=9),
                "pickup_library": context["library"].name, "pickup_deadline": today + dt.timedelta(days=7),
                "waiting_since": today - dt.timedelta(days=2), "waiting_days": 2, "not_needed_after": None})
        elif name == "title":
            context["title"] = title
        elif name == "item":
            context["item"] = item
        elif name in LIST_OBJECTS and LIST_OBJECTS[name] == "loan":
            context[name] = [loan]
        elif name == "checkins":
            context[name] = [Fields("checkin", {"title": title, "item": item, "returned_on": today})]
    return context


def check_template(template: TemplateText, patron: Patron | None = None, library: Library | None = None) -> Rendered:
    """Render with sample values; raises TemplateProblem when a part cannot render."""
    if not template.subject.strip():
        raise TemplateProblem("subject", "a subject is required")
    if not template.body_text.strip():
        raise TemplateProblem("text body", "a plain-text body is required")
    if len(template.subject) > SUBJECT_LENGTH:
        raise TemplateProblem("subject", f"at most {SUBJECT_LENGTH} characters")
    return render(template, sample_context(event(template.event), patron, library))


def save_template(session: Session, code: str, library_code: str, *, subject: str, body_text: str,
                  body_html: str | None, actor: Patron | None) -> NoticeTemplate:
    """Store the template of an event for a library (``*``: every library) once it renders."""
    event(code)
    if library_code != ALL_LIBRARIES and session.get(Library, library_code) is None:
        raise TemplateProblem("library", f"unknown library {library_code!r}")
    body_html = body_html if body_html and body_html.strip() else None
    check_template(TemplateText(code, library_code, subject, body_text, body_html, False))
    row = session.scalar(select(NoticeTemplate).where(NoticeTemplate.event == code,
                                                      NoticeTemplate.library_code == library_code))
    if row is None:
        row = NoticeTemplate(event=code, library_code=library_code, subject="", body_text="")
        session.add(row)
    row.subject, row.body_text, row.body_html = subject.strip(), body_text, body_html
    row.updated_by_id = actor.id if actor else None
    session.flush()
    _templates_changed(session)
    return row


def reset_template(session: Session, code: str, library_code: str) -> bool:
    """Forget the saved template: the library falls back to the one for every library, or the
    shipped default. True when one was removed."""
    event(code)
    result = session.execute(delete(NoticeTemplate).where(NoticeTemplate.event == code,
                                                          NoticeTemplate.library_code == library_code))
    if result.rowcount:
        _templates_changed(session)
    return bool(result.rowcount)


def _templates_changed(session: Session) -> None:
    """Every process reads the templates again after this transaction commits; this one reads
    its own uncommitted rows from now on and never publishes them (the path a preference edit
    takes: a new generation token, the transaction marked as editing the policy)."""
    policy_cache._edited(session)
