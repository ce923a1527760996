"""15 hold -> 16: place (+), cancel (-) or change (*) a hold through the holds engine, as the
staff site and the OPAC do. The copy (AB) or the title's record number (AJ) says what; hold
type 3 on a copy makes it a hold on that copy, anything else a hold on its title. BS is the
pickup library, BW the date after which the hold is not needed."""
from __future__ import annotations

import datetime as dt

from app import clock
from app.models import Hold, Title
from app.services.activity import record_activity
from app.services.circulation.due_dates import end_of_day
from app.services.holds import HoldRefused, cancel_hold, place_hold, position_of
from app.services.sip_holds import alter_hold, copy_available_now, find_hold_target, patron_hold_on
from app.services.sip_patrons import PIN_MESSAGES, PinCheck

from .. import codec
from ..dispatch import Response
from ..ils import Ils, af, fields

UNKNOWN_PATRON = "Unknown patron: please ask at the desk."
SPECIFIC_COPY = "3"  # hold type BY


def _answer(ils: Ils, *, ok: bool, available: bool = False, hold: Hold | None = None, title: Title | None = None,
            text: str | None = None) -> Response:
    fixed = {"ok": "1" if ok else "0", "available": codec.yes_no(available), "transaction_date": ils.date()}
    expires = hold.not_needed_after if hold is not None else None
    position = position_of(ils.db, hold) if hold is not None and hold.is_live else None
    return Response("16", fixed, fields(
        [("BW", ils.date(end_of_day(expires)) if expires else None), ("BR", str(position) if position else None),
         ("BS", hold.pickup_library_code if hold is not None else None), ("AO", ils.institution_id),
         ("AA", ils.field("AA") or ""), ("AB", ils.field("AB")),
         ("AJ", title.full_title if title is not None else ils.field("AJ"))], af(text)))


def _expiration(ils: Ils) -> dt.date | None:
    """BW as a library-local date (blank or unreadable: none)."""
    text = ils.request.get("BW") or ""
    try:
        moment = codec.parse_date(text, clock.timezone()) if len(text) == 18 else None
    except codec.InvalidDate:
        return None
    return clock.local(moment).date() if moment else None


def hold(ils: Ils) -> Response:
    mode = ils.fixed("hold_mode")
    patron = ils.patron()
    if patron is None:
        return _answer(ils, ok=False, text=UNKNOWN_PATRON)
    pin = ils.check_pin(patron)
    if pin in (PinCheck.INVALID, PinCheck.PAUSED):
        return _answer(ils, ok=False, text=PIN_MESSAGES[pin])
    title, item = find_hold_target(ils.db, ils.field("AB"), ils.field("AJ"))
    if title is None:
        return _answer(ils, ok=False, text="Unknown item or title: please ask at the desk.")
    reference = ils.field("AB") or ils.field("AJ")
    previous = ils.previous_answer(f"{mode}{reference}")
    if previous is not None:
        return previous
    try:
        if mode == "+":
            response = _place(ils, patron, title, item)
        elif mode == "-":
            response = _cancel(ils, patron, title, item)
        elif mode == "*":
            response = _alter(ils, patron, title, item)
        else:
            return _answer(ils, ok=False, title=title, text="Unknown hold mode.")
    except HoldRefused as refusal:
        return _answer(ils, ok=False, title=title, text=refusal.message)
    return ils.keep_answer(f"{mode}{reference}", response)


def _place(ils: Ils, patron, title: Title, item) -> Response:
    on_copy = item if item is not None and ils.field("BY") == SPECIFIC_COPY else None
    placed = place_hold(ils.db, patron, title, ils.actor, pickup_library_code=ils.field("BS") or None, item=on_copy,
                        not_needed_after=_expiration(ils), channel="sip2")
    record_activity(ils.db, patron.id, "hold", ils.now)  # placing a hold at a kiosk is patron activity
    position = position_of(ils.db, placed)
    return _answer(ils, ok=True, available=copy_available_now(ils.db, title, on_copy), hold=placed, title=title,
                   text=f"Hold placed: you are number {position} in the queue." if position else "Hold placed.")


def _cancel(ils: Ils, patron, title: Title, item) -> Response:
    found = patron_hold_on(ils.db, patron, title, item)
    if found is None:
        return _answer(ils, ok=False, title=title, text="You have no hold on this title.")
    cancel_hold(ils.db, found, ils.actor, reason="cancelled at a self-check", channel="sip2")
    return _answer(ils, ok=True, title=title, text="Hold cancelled.")


def _alter(ils: Ils, patron, title: Title, item) -> Response:
    found = patron_hold_on(ils.db, patron, title, item)
    if found is None:
        return _answer(ils, ok=False, title=title, text="You have no hold on this title.")
    alter_hold(ils.db, found, ils.actor, pickup_library_code=ils.field("BS") or None,
               not_needed_after=_expiration(ils), channel="sip2")
    return _answer(ils, ok=True, available=found.is_waiting, hold=found, title=title, text="Hold changed.")
