"""Patron messages: 23 patron status, 63 patron information, 01 block patron, 25 patron enable,
35 end patron session. A wrong or missing patron is answered, never dropped: all privileges
denied, no name, BL N (as Koha does)."""
from __future__ import annotations

from app.models import Patron
from app.services.activity import record_activity
from app.services.fines import money
from app.services.sip_patrons import (
    PIN_MESSAGES,
    SUMMARY_LISTS,
    UNKNOWN_PATRON_STATUS,
    PinCheck,
    SipStanding,
    block_patron as block_patron_card,
    enable_patron as enable_patron_card,
    sip_standing,
    summary_counts,
    summary_list,
)

from .. import codec
from ..dispatch import Response
from ..ils import Ils, af, fields

UNKNOWN_PATRON = "Unknown patron: please ask at the desk."
LIST_FIELDS = dict(zip(SUMMARY_LISTS, ("AS", "AT", "AU", "AV", "BU", "CD")))
COUNT_NAMES = dict(zip(SUMMARY_LISTS, ("hold_items_count", "overdue_items_count", "charged_items_count",
                                       "fine_items_count", "recall_items_count", "unavailable_holds_count")))
MAX_LIST = 1000  # entries sent when the kiosk gives no end item


def _status_fixed(ils: Ils, status: str) -> dict[str, str]:
    return {"patron_status": status, "language": ils.language, "transaction_date": ils.date()}


def _unknown(ils: Ils, code: str) -> Response:
    fixed = _status_fixed(ils, UNKNOWN_PATRON_STATUS)
    if code == "64":
        fixed |= {name: "0000" for name in COUNT_NAMES.values()}
    cq = [("CQ", "N")] if code != "64" or ils.request.get("AD") is not None else []
    return Response(code, fixed, fields([("AO", ils.institution_id), ("AA", ils.field("AA") or ""), ("AE", ""),
                                         ("BL", "N")], cq, af(UNKNOWN_PATRON)))


def _money_fields(ils: Ils, standing: SipStanding) -> list[tuple[str, str | None]]:
    return [("BH", ils.settings.currency), ("BV", money(standing.balance))]


def _status_response(ils: Ils, code: str, patron: Patron, pin: PinCheck, extra: str | None = None) -> Response:
    """24 (patron status, block patron) and 26 (patron enable): one layout."""
    standing = sip_standing(ils.db, patron, ils.library_code)
    money_fields = _money_fields(ils, standing) if code == "24" else []
    return Response(code, _status_fixed(ils, standing.patron_status), fields(
        [("AO", ils.institution_id), ("AA", ils.field("AA")), ("AE", patron.full_name), ("BL", "Y"),
         ("CQ", codec.yes_no(pin.ok))], money_fields, af(*standing.messages, PIN_MESSAGES.get(pin), extra)))


def patron_status(ils: Ils) -> Response:
    """23 -> 24: the patron's standing, whether the PIN is right (CQ) and what they owe."""
    patron = ils.patron()
    if patron is None:
        return _unknown(ils, "24")
    record_activity(ils.db, patron.id, "connection", ils.now)  # a patron status request is patron activity
    return _status_response(ils, "24", patron, ils.check_pin(patron))


def _summary_choice(summary: str) -> str | None:
    """The list the first Y of the summary asks for (positions 7-10 are not lists: ignored)."""
    position = summary.find("Y")
    return SUMMARY_LISTS[position] if 0 <= position < len(SUMMARY_LISTS) else None


def _range(ils: Ils) -> tuple[int, int]:
    """BP/BQ, 1-based and inclusive ("BP00001" and "BP1" alike); missing BQ means to the end."""
    start_text, end_text = ils.field("BP") or "", ils.field("BQ") or ""
    start = int(start_text) if start_text.isdigit() and int(start_text) > 0 else 1
    end = int(end_text) if end_text.isdigit() else start + MAX_LIST - 1
    return start, min(end, start + MAX_LIST - 1)


def _address(patron: Patron) -> str | None:
    street = " ".join(part for part in (patron.streetnumber, patron.address) if part)
    place = " ".join(part for part in (patron.city, patron.state, patron.zipcode) if part)
    text = ", ".join(part for part in (street, patron.address2, place, patron.country) if part)
    return text or None


def _personal_fields(ils: Ils, patron: Patron) -> list[tuple[str, str | None]]:
    values = {"BD": _address(patron), "BE": patron.email, "BF": patron.phone or patron.mobile,
              "PB": patron.dateofbirth.strftime("%Y%m%d") if patron.dateofbirth else None,
              "PC": patron.category_code}
    return [(code, value) for code, value in values.items() if value and ils.shown(code)]


def patron_information(ils: Ils) -> Response:
    """63 -> 64: standing, counts, the one list the summary selects (BP..BQ of it), limits,
    money and the contact fields the account may send. A wrong PIN gets the standing and the
    counts but no list and no personal details. Counts as patron activity ("connection")."""
    patron = ils.patron()
    if patron is None:
        return _unknown(ils, "64")
    pin = ils.check_pin(patron)
    counts = summary_counts(ils.db, patron, ils.now)
    standing = sip_standing(ils.db, patron, ils.library_code, loans=counts["charged"])
    fixed = _status_fixed(ils, standing.patron_status) | {
        COUNT_NAMES[name]: codec.digits(counts[name], 4) for name in SUMMARY_LISTS}
    trusted = pin is PinCheck.VALID or (pin is PinCheck.NOT_GIVEN)
    listed: list[tuple[str, str | None]] = []
    which = _summary_choice(ils.fixed("summary"))
    if which is not None and trusted:
        start, end = _range(ils)
        listed = [(LIST_FIELDS[which], entry) for entry in summary_list(ils.db, patron, which, ils.now, start, end)]
    limits = [("BZ", codec.digits(standing.hold_limit, 4) if standing.hold_limit is not None else None),
              ("CB", codec.digits(standing.loan_limit, 4) if standing.loan_limit is not None else None)]
    record_activity(ils.db, patron.id, "connection", ils.now)  # SIP2 patron information is patron activity
    return Response("64", fixed, fields(
        [("AO", ils.institution_id), ("AA", ils.field("AA")), ("AE", patron.full_name)], limits,
        [("BL", "Y"), ("CQ", None if pin is PinCheck.NOT_GIVEN else codec.yes_no(pin.ok))],
        _money_fields(ils, standing),
        [("CC", money(standing.fee_limit) if standing.fee_limit is not None else None)],
        listed, _personal_fields(ils, patron) if trusted else [],
        af(*standing.messages, PIN_MESSAGES.get(pin))))


def block_patron(ils: Ils) -> Response:
    """01 -> 24: block the card (a restriction saying which kiosk and why) when the institution
    lets kiosks update patron status; then the patron's status, now denied."""
    patron = ils.patron()
    if patron is None:
        return _unknown(ils, "24")
    previous = ils.previous_answer(ils.field("AL"))
    if previous is not None:
        return previous
    if not ils.grant.status_update_ok:
        return _status_response(ils, "24", patron, PinCheck.NOT_GIVEN, "This self-check may not block cards.")
    block_patron_card(ils.db, patron, ils.actor, reason=ils.field("AL") or "",
                      card_retained=ils.fixed_flag("card_retained"), terminal=ils.terminal)
    return ils.keep_answer(ils.field("AL"), _status_response(ils, "24", patron, PinCheck.NOT_GIVEN,
                                                             "The card is blocked: please ask at the desk."))


def patron_enable(ils: Ils) -> Response:
    """25 -> 26: lift the blocks kiosks set (never those staff set), unless the PIN is wrong."""
    patron = ils.patron()
    if patron is None:
        return _unknown(ils, "26")
    pin = ils.check_pin(patron)
    if pin in (PinCheck.INVALID, PinCheck.PAUSED):
        return _status_response(ils, "26", patron, pin)
    if not ils.grant.status_update_ok:
        return _status_response(ils, "26", patron, pin, "This self-check may not enable cards.")
    lifted = enable_patron_card(ils.db, patron, ils.actor)
    return _status_response(ils, "26", patron, pin, "The card is enabled." if lifted else None)


def end_patron_session(ils: Ils) -> Response:
    """35 -> 36: the patron is done; the next one at this kiosk proves their PIN again."""
    patron = ils.patron()
    if patron is not None:
        ils.pins.end_session(patron)
    return Response("36", {"end_session": "Y", "transaction_date": ils.date()},
                    [("AO", ils.institution_id), ("AA", ils.field("AA") or ""), ("AF", "Thank you!")])
