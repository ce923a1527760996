"""Circulation messages: 11 checkout, 09 checkin, 29 renew, 65 renew all. Each calls the
circulation service the staff desk calls and renders its typed outcome; every answer that
changed something is kept for retries (a repeated request gets it again, nothing is redone).

Store and forward (no block = Y): the kiosk already lent or renewed the item while offline, so
blocks and confirmations are gone past (the service records them as overridden), the kiosk's
transaction date is the loan's time and its "nb due date" the due date."""
from __future__ import annotations

import datetime as dt

from app import clock
from app.models import Item, Loan, Patron
from app.services.circulation import Code, check_in, check_out, loans_for_patron, renew_loan
from app.services.holds_hooks import holds_a_check_in_could_fill
from app.services.sip_holds import hold_set_aside_for
from app.services.sip_patrons import PIN_MESSAGES, PinCheck

from .. import codec
from ..dispatch import Response
from ..ils import Ils, af, fields, screen_messages
from .items import item_detail_fields

UNKNOWN_PATRON = "Unknown patron: please ask at the desk."
UNKNOWN_ITEM = "Unknown item: please ask at the desk."
KIOSK_AGREES = frozenset({Code.PATRON_OWES_FINES})  # owing less than the limit is no reason to refuse at a kiosk
# Alert types (CV) of the 3M extensions: hold here, hold elsewhere, send to another library, other.
CV_HOLD_HERE, CV_HOLD_ELSEWHERE, CV_TRANSFER, CV_OTHER = "01", "02", "04", "99"
TRANSFER_CODES = frozenset({Code.TRANSFER_HOME, Code.IN_TRANSIT_ELSEWHERE, Code.BELONGS_ELSEWHERE})


def _past(ils: Ils, moment: dt.datetime | None) -> dt.datetime | None:
    """A time the kiosk gave for something already done: never later than now."""
    return None if moment is None else min(moment, ils.now)


def _patron_refusal(ils: Ils, patron: Patron | None, *, allowed: bool, what: str, no_block: bool) -> str | None:
    """Why a patron transaction is refused before the service is asked (None: ask it). Offline
    transactions already happened: only an unknown patron stops them."""
    if patron is None:
        return UNKNOWN_PATRON
    if no_block:
        return None
    if not allowed:
        return f"{what} is not allowed at this self-check."
    pin = ils.check_pin(patron)
    return PIN_MESSAGES.get(pin) if pin in (PinCheck.INVALID, PinCheck.PAUSED) else None


def _item_answer(ils: Ils, code: str, item: Item | None, *, ok: bool, renewed: bool = False,
                 due: dt.datetime | None = None, loan_id: int | None = None,
                 messages: list[tuple[str, str | None]] = ()) -> Response:
    """12 (checkout) and 30 (renew) share one layout."""
    magnetic = ils.magnetic_media(item)
    fixed = {"ok": "1" if ok else "0", "renewal_ok": codec.yes_no(renewed), "magnetic_media": magnetic,
             "desensitize": codec.yes_no(ok and magnetic != "Y"), "transaction_date": ils.date()}
    return Response(code, fixed, fields(
        [("AO", ils.institution_id), ("AA", ils.field("AA") or ""), ("AB", ils.field("AB") or (item.barcode if item else "")),
         ("AJ", item.title.full_title if item is not None else ""), ("AH", ils.date(due) if ok and due else ""),
         ("CI", ils.security_inhibit()), ("CK", ils.media_type(item)),
         ("BK", str(loan_id) if ok and loan_id else None)], messages))


def checkout(ils: Ils) -> Response:
    """11 -> 12: lend the item (or renew it, when the patron has it already and the kiosk's
    renewal policy allows). Confirmations are refusals at a kiosk, except owing a little."""
    barcode = ils.field("AB")
    previous = ils.previous_answer(barcode)
    if previous is not None:
        return previous
    no_block = ils.fixed_flag("no_block")
    patron, item = ils.patron(), ils.item()
    refusal = _patron_refusal(ils, patron, allowed=ils.grant.checkout_ok, what="Checkout", no_block=no_block)
    if refusal is not None:
        return _item_answer(ils, "12", item, ok=False, messages=af(refusal))
    outcome = check_out(
        ils.db, patron, item, ils.library_code, ils.actor, confirmed=KIOSK_AGREES,
        renew=ils.fixed_flag("sc_renewal_policy"), no_block=no_block,
        checked_out_at=_past(ils, ils.request_date()) if no_block else None,
        due_at=ils.request_date("nb_due_date") if no_block else None,
        channel="sip2_offline" if no_block else "sip2", barcode=barcode, card=ils.field("AA"))
    owed = [message.text for message in outcome.overridden if message.code in KIOSK_AGREES]
    response = _item_answer(ils, "12", outcome.item or item, ok=outcome.ok, renewed=outcome.renewed,
                            due=outcome.due_at, loan_id=outcome.loan.id if outcome.loan else None,
                            messages=screen_messages(outcome, *owed))
    return ils.keep_answer(barcode, response) if outcome.ok else response


def _has_hold(ils: Ils, item: Item) -> bool:
    return (hold_set_aside_for(ils.db, item) is not None
            or ils.db.scalar(holds_a_check_in_could_fill(ils.db, item).limit(1)) is not None)


def _checkin_refused(ils: Ils, item: Item | None, text: str, alert_type: str = CV_OTHER) -> Response:
    fixed = {"ok": "0", "resensitize": "N", "magnetic_media": ils.magnetic_media(item), "alert": "Y",
             "transaction_date": ils.date()}
    return Response("10", fixed, fields(
        [("AO", ils.institution_id), ("AB", ils.field("AB") or ""),
         ("AQ", item.home_library_code if item is not None else ""),
         ("AJ", item.title.full_title if item is not None else None), ("CV", alert_type)], af(text)))


def checkin(ils: Ils) -> Response:
    """09 -> 10: check the item in (the return date the kiosk gives backdates it), and say
    where it goes: CT destination, CV alert type (hold here, hold elsewhere, transfer), CY/DA
    the patron a hold is for. An item that was not on loan is a success only when the account
    says so (``checked_in_ok``); an item with holds is refused when ``holds_block_checkin``."""
    barcode = ils.field("AB")
    previous = ils.previous_answer(barcode)
    if previous is not None:
        return previous
    item = ils.item()
    no_block = ils.fixed_flag("no_block")
    if item is None:
        return _checkin_refused(ils, None, UNKNOWN_ITEM)
    if not ils.grant.checkin_ok and not no_block:
        return _checkin_refused(ils, item, "Check-in is not allowed at this self-check.")
    if ils.grant.holds_block_checkin and not no_block and _has_hold(ils, item):
        return _checkin_refused(ils, item, "This item is wanted by another patron: please hand it in at the desk.",
                                CV_HOLD_HERE)
    returned_at = _past(ils, ils.request_date("return_date") or (ils.request_date() if no_block else None))
    outcome = check_in(ils.db, item, ils.library_code, ils.actor, returned_at=returned_at, barcode=barcode)
    ok = outcome.ok and (outcome.was_on_loan or ils.grant.checked_in_ok)
    hold = outcome.hold
    hold_patron = ils.db.get(Patron, hold.patron_id) if hold is not None and hold.patron_id else None
    if hold is not None:
        alert_type = CV_HOLD_ELSEWHERE if hold.transfer_to else CV_HOLD_HERE
    elif any(code in TRANSFER_CODES for code in outcome.codes):
        alert_type = CV_TRANSFER
    else:
        alert_type = None if ok else CV_OTHER
    magnetic = ils.magnetic_media(item)
    fixed = {"ok": "1" if ok else "0", "resensitize": codec.yes_no(ok and magnetic != "Y"), "magnetic_media": magnetic,
             "alert": codec.yes_no(alert_type is not None), "transaction_date": ils.date()}
    borrower = outcome.patron.cardnumber if outcome.patron is not None else None
    response = Response("10", fixed, fields(
        [("AO", ils.institution_id), ("AB", barcode), ("AQ", item.home_library_code), ("AJ", item.title.full_title),
         ("AA", borrower), ("CK", ils.media_type(item)),
         ("CT", outcome.transfer_to or (hold.pickup_library_code if hold is not None else None)),
         ("CV", alert_type), ("CY", hold_patron.cardnumber if hold_patron else None),
         ("DA", hold.patron_name if hold is not None else None)],
        item_detail_fields(ils, item), screen_messages(outcome)))
    return ils.keep_answer(barcode, response) if ok else response


def _loan_to_renew(ils: Ils, patron: Patron, item: Item | None) -> Loan | None:
    """The loan of the copy AB, or the patron's loan of a copy of title AJ (a record number)."""
    if item is not None:
        return ils.loan_of(item)
    title = ils.field("AJ") or ""
    if not title.isdigit():
        return None
    return next((loan for loan in ils.db.scalars(loans_for_patron(patron)) if loan.item.title_id == int(title)), None)


def renew(ils: Ils) -> Response:
    """29 -> 30: renew one loan (the patron's own unless third-party renewals are allowed)."""
    reference = ils.field("AB") or ils.field("AJ")
    previous = ils.previous_answer(reference)
    if previous is not None:
        return previous
    no_block = ils.fixed_flag("no_block")
    patron, item = ils.patron(), ils.item()
    refusal = _patron_refusal(ils, patron, allowed=ils.grant.renewal_ok, what="Renewal", no_block=no_block)
    loan = _loan_to_renew(ils, patron, item) if refusal is None and patron is not None else None
    if refusal is None and loan is None:
        refusal = UNKNOWN_ITEM if item is None and ils.field("AB") else "The item is not on loan."
    if refusal is None and loan.patron_id != patron.id and not ils.fixed_flag("third_party_allowed"):
        refusal = "The item is not on loan to you."
    if refusal is not None:
        return _item_answer(ils, "30", item, ok=False, messages=af(refusal))
    outcome = renew_loan(ils.db, loan, ils.actor, renewed_at=_past(ils, ils.request_date()) if no_block else None,
                         no_block=no_block)
    due = ils.request_date("nb_due_date") if no_block else None
    messages = screen_messages(outcome)
    if outcome.renewed and due is not None:
        loan.due_at = outcome.due_at = due  # the due date the kiosk already gave the patron
        ils.db.flush()
        renewed_text = next((m.text for m in outcome.alerts if m.code is Code.RENEWED), None)
        messages = [pair for pair in messages if pair[1] != renewed_text] + af(
            f"Renewed: now due {clock.local(due).date().isoformat()}.")
    response = _item_answer(ils, "30", loan.item, ok=outcome.renewed, renewed=outcome.renewed, due=outcome.due_at,
                            loan_id=loan.id, messages=messages)
    return ils.keep_answer(reference, response) if outcome.renewed else response


def renew_all(ils: Ils) -> Response:
    """65 -> 66: renew every loan of the patron that may be renewed; BM lists the renewed
    items, BN the others."""
    previous = ils.previous_answer(None)
    if previous is not None:
        return previous
    patron = ils.patron()
    refusal = _patron_refusal(ils, patron, allowed=ils.grant.renewal_ok, what="Renewal", no_block=False)
    if refusal is not None:
        return Response("66", {"ok": "0", "renewed_count": "0000", "unrenewed_count": "0000",
                               "transaction_date": ils.date()},
                        fields([("AO", ils.institution_id), ("AA", ils.field("AA") or "")], af(refusal)))
    renewed: list[str] = []
    unrenewed: list[str] = []
    for loan in list(ils.db.scalars(loans_for_patron(patron))):
        outcome = renew_loan(ils.db, loan, ils.actor)
        (renewed if outcome.renewed else unrenewed).append(loan.item.barcode)
    fixed = {"ok": "1", "renewed_count": codec.digits(len(renewed), 4),
             "unrenewed_count": codec.digits(len(unrenewed), 4), "transaction_date": ils.date()}
    response = Response("66", fixed, fields(
        [("AO", ils.institution_id), ("AA", ils.field("AA"))], [("BM", barcode) for barcode in renewed],
        [("BN", barcode) for barcode in unrenewed],
        af(f"Renewed {len(renewed)} of {len(renewed) + len(unrenewed)} items.")))
    return ils.keep_answer(None, response) if renewed else response
