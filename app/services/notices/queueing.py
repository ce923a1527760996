"""Queuing notices: each event renders its template for the patron and adds one row to the
queue in the event's own transaction (nothing leaves before the commit: the sender only reads
committed rows). An event is told once: its dedupe key is unique."""
from __future__ import annotations

import functools
import logging
from typing import Any, Iterable

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, Library, Loan, MessagingPreference, Notice, NoticeChannel, NoticeLoan, NoticeStatus, Patron
from app.services import policy_cache

from .events import MESSAGE_KINDS_BY_NAME, event
from .fields import hold_context, library_fields, loans_context, patron_fields
from .sandbox import TemplateProblem
from .templates import Rendered, default_template, render, template_for

log = logging.getLogger("carrel.notices")


def email_of(patron: Patron) -> str | None:
    """Where a patron's notices go (Koha's notice_email_address: primary, else work email)."""
    return (patron.email or patron.emailpro or "").strip() or None


def render_notice(session: Session, code: str, patron: Patron, library: Library | None,
                  context: dict[str, Any]) -> Rendered:
    """The event's template for the library rendered for the patron. A saved template that no
    longer renders (a field renamed since) never stops the event: the shipped one is used and
    the problem logged."""
    values = {"patron": patron_fields(patron), "library": library_fields(library), **context}
    template = template_for(session, code, library.code if library else None)
    try:
        return render(template, values)
    except TemplateProblem as problem:
        if template.is_default:
            raise
        log.warning("notice template %s/%s does not render (%s); the default was used", code,
                    template.library_code, problem)
        return render(default_template(code), values)


@functools.lru_cache(maxsize=None)
def _choice_statement(with_kind: bool, with_dedupe: bool, with_token: bool) -> Select:
    """The statement of ``_patron_choice_and_told``, built once per shape (building it is a
    good part of its cost): its values are bound parameters. ``with_token`` adds the policy
    generation token the template lookup needs, when the transaction has not read it yet."""
    mp = MessagingPreference
    kind = bindparam("message_name")
    columns: list[Any] = [Patron]
    if with_kind:
        columns += [select(mp.email).where(mp.patron_id == Patron.id, mp.message_name == kind).scalar_subquery(),
                    select(mp.email).where(mp.category_code == Patron.category_code, mp.message_name == kind)
                    .scalar_subquery()]
    if with_dedupe:
        columns.append(exists().where(Notice.dedupe_key == bindparam("dedupe_key")))
    if with_token:
        columns.append(policy_cache.TOKEN_QUERY.scalar_subquery())
    return select(*columns).where(Patron.id == bindparam("patron_id"))


def _patron_choice_and_told(session: Session, patron_id: int, message_name: str | None,
                            dedupe_key: str | None) -> tuple[Patron, bool, bool]:
    """The patron, whether they want this kind of message by email (their own choice, else their
    category's, else the default) and whether this event was already told: one statement of
    unique-index lookups, since it runs inside the transaction that waits on it."""
    with_token = policy_cache.token_needed(session)
    statement = _choice_statement(bool(message_name), dedupe_key is not None, with_token)
    row = session.execute(statement, {"patron_id": patron_id, "message_name": message_name,
                                      "dedupe_key": dedupe_key}).one()
    if with_token:
        policy_cache.policy_snapshot(session, token=row[-1])
        row = row[:-1]
    told = bool(row[-1]) if dedupe_key is not None else False
    if not message_name:
        return row[0], True, told
    own, category = row[1], row[2]
    wanted = own if own is not None else category if category is not None else MESSAGE_KINDS_BY_NAME[message_name].default_email
    return row[0], bool(wanted), told


def queue_notice(session: Session, code: str, patron: Patron | int, library: Library | None, context: dict[str, Any], *,
                 dedupe_key: str | None = None, hold: Hold | None = None, force_email: bool = False) -> Notice | None:
    """Queue one notice for the patron (or the patron with this id), or None when they do not
    want it by email, have no address and the event has no printed slip, or were already told
    (same dedupe key)."""
    ev = event(code)
    kind = ev.message_kind if not force_email else None
    patron_id = patron if isinstance(patron, int) else patron.id
    if kind or dedupe_key is not None or isinstance(patron, int):
        patron, wanted, told = _patron_choice_and_told(session, patron_id, kind, dedupe_key)
        if told or (kind and not wanted):
            return None
    assert isinstance(patron, Patron)
    address = email_of(patron)
    if address is None and not ev.print_fallback:
        return None
    return _add_notice(session, code, patron, library, render_notice(session, code, patron, library, context),
                       address, dedupe_key, hold)


def _add_notice(session: Session, code: str, patron: Patron, library: Library | None, rendered: Rendered,
                address: str | None, dedupe_key: str | None, hold: Hold | None) -> Notice:
    now = clock.now()
    notice = Notice(patron_id=patron.id, event=code, library_code=library.code if library else None,
                    channel=NoticeChannel.EMAIL if address else NoticeChannel.PRINT, to_address=address,
                    subject=rendered.subject, body_text=rendered.body_text, body_html=rendered.body_html,
                    status=NoticeStatus.PENDING, attempts=0, queued_at=now, next_attempt_at=now,
                    dedupe_key=dedupe_key, hold_id=hold.id if hold else None)
    session.add(notice)
    return notice


def _stamp(moment) -> str:
    return moment.strftime("%Y%m%dT%H%M%S") if moment is not None else "-"


# --- the events -------------------------------------------------------------------------------

def hold_ready(session: Session, hold: Hold) -> Notice | None:
    """HOLD: the hold is pulled and waiting at its pickup library."""
    if hold.patron_id is None:
        return None
    return queue_notice(session, "HOLD", hold.patron_id, hold.pickup_library, hold_context(hold),
                        dedupe_key=f"hold:{hold.id}:ready:{_stamp(hold.waiting_since)}", hold=hold)


def hold_cancelled(session: Session, hold: Hold, reason: str | None, actor: Patron | None = None) -> Notice | None:
    """HOLD_CANCELLATION: the hold was cancelled or expired (the reason is in the notice). A
    patron who cancelled their own hold is not told what they just did."""
    if hold.patron_id is None or (actor is not None and actor.id == hold.patron_id):
        return None
    return queue_notice(session, "HOLD_CANCELLATION", hold.patron_id, hold.pickup_library, hold_context(hold, reason),
                        dedupe_key=f"hold:{hold.id}:{hold.status.value}:{_stamp(hold.finished_at or clock.now())}",
                        hold=hold)


def hold_reminder(session: Session, hold: Hold) -> Notice | None:
    """HOLD_REMINDER: once per wait on the shelf."""
    if hold.patron_id is None:
        return None
    return queue_notice(session, "HOLD_REMINDER", hold.patron_id, hold.pickup_library, hold_context(hold),
                        dedupe_key=f"hold:{hold.id}:reminder:{_stamp(hold.waiting_since)}", hold=hold)


def loans_notice(session: Session, code: str, patron: Patron, loans: list[Loan]) -> Notice | None:
    """PREDUE / ODUE / ODUE2 / ODUE3 for some of a patron's loans, each loan marked as told for
    this event and due date (so it is never told twice)."""
    notice = queue_notice(session, code, patron, patron.library, loans_context(loans))
    if notice is None:
        return None
    session.flush()
    session.add_all(NoticeLoan(notice_id=notice.id, loan_id=loan.id, event=code, due_at=loan.due_at) for loan in loans)
    return notice


def welcome(session: Session, patron: Patron) -> Notice | None:
    """WELCOME for a new patron (the patron import sends it when asked)."""
    return queue_notice(session, "WELCOME", patron, patron.library, {}, dedupe_key=f"patron:{patron.id}:welcome")


def queue_welcome_notices(session: Session, patron_ids: Iterable[int]) -> int:
    """WELCOME for each of these patrons that has an email address and was not welcomed yet
    (an import of thousands: two reads per 500 patrons); how many were queued."""
    ids = list(patron_ids)
    count = 0
    for start in range(0, len(ids), 500):
        patrons = {f"patron:{p.id}:welcome": p for p in session.scalars(
            select(Patron).where(Patron.id.in_(ids[start:start + 500])).order_by(Patron.id))}
        told = set(session.scalars(select(Notice.dedupe_key).where(Notice.dedupe_key.in_(list(patrons)))))
        for key, patron in patrons.items():
            address = email_of(patron)
            if key in told or address is None:
                continue
            rendered = render_notice(session, "WELCOME", patron, patron.library, {})
            _add_notice(session, "WELCOME", patron, patron.library, rendered, address, key, None)
            count += 1
        session.flush()
    return count


# --- staff actions ----------------------------------------------------------------------------

class NoticeNotFound(LookupError):
    pass


def resend_notice(session: Session, notice: Notice) -> Notice:
    """Queue a copy of a notice (sent, failed or printed) to go out again, to the patron's
    current address; the original stays as it was."""
    patron = notice.patron
    address = email_of(patron)
    now = clock.now()
    copy = Notice(patron_id=notice.patron_id, event=notice.event, library_code=notice.library_code,
                  channel=NoticeChannel.EMAIL if address else NoticeChannel.PRINT, to_address=address,
                  subject=notice.subject, body_text=notice.body_text, body_html=notice.body_html,
                  status=NoticeStatus.PENDING, attempts=0, queued_at=now, next_attempt_at=now,
                  hold_id=notice.hold_id, resent_from_id=notice.id)
    session.add(copy)
    session.flush()
    return copy


def patron_notices(patron_id: int):
    """A patron's notices, newest first (a select for the staff page)."""
    return select(Notice).where(Notice.patron_id == patron_id).order_by(Notice.queued_at.desc(), Notice.id.desc())


def slips_to_print(library_code: str | None = None, *, event_code: str = "HOLD"):
    """Printed slips not yet printed (patrons without email): for the staff holds report. The
    select yields Notice rows, oldest first; filter by the notice's library (the pickup
    library for HOLD)."""
    stmt = select(Notice).where(Notice.channel == NoticeChannel.PRINT, Notice.status == NoticeStatus.PENDING,
                                Notice.event == event_code)
    if library_code:
        stmt = stmt.where(Notice.library_code == library_code)
    return stmt.order_by(Notice.queued_at, Notice.id)


def mark_printed(session: Session, notices: Iterable[Notice]) -> int:
    """Record slips as printed (they count as sent)."""
    now = clock.now()
    count = 0
    for notice in notices:
        if notice.channel is NoticeChannel.PRINT and notice.status is NoticeStatus.PENDING:
            notice.status, notice.printed_at, notice.sent_at = NoticeStatus.SENT, now, now
            count += 1
    session.flush()
    return count
