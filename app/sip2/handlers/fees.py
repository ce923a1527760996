"""37 fee paid -> 38: record a payment made at the kiosk through the same service the desk uses
(``pay_fees``): applied to the fee CG names, else to the oldest fees; what is left over stays as
credit. The payment terminal's transaction id (BK) makes a repeated payment pay nothing twice."""
from __future__ import annotations

from app.services.fines import FeeRefused, balance, money, pay_fees
from app.services.sip_patrons import PIN_MESSAGES, PinCheck

from ..dispatch import Response
from ..ils import Ils, af, fields

UNKNOWN_PATRON = "Unknown patron: please ask at the desk."


def _answer(ils: Ils, accepted: bool, *texts: str | None) -> Response:
    return Response("38", {"payment_accepted": "Y" if accepted else "N", "transaction_date": ils.date()}, fields(
        [("AO", ils.institution_id), ("AA", ils.field("AA") or ""), ("BK", ils.field("BK") or None)], af(*texts)))


def fee_paid(ils: Ils) -> Response:
    patron = ils.patron()
    if patron is None:
        return _answer(ils, False, UNKNOWN_PATRON)
    pin = ils.check_pin(patron)
    if pin in (PinCheck.INVALID, PinCheck.PAUSED):
        return _answer(ils, False, PIN_MESSAGES[pin])
    amount = (ils.field("BV") or "").replace(",", "").replace(" ", "")
    fee_id = ils.field("CG")
    if fee_id and not fee_id.isdigit():
        return _answer(ils, False, "Unknown fee: please ask at the desk.")
    terminal_reference = ils.field("BK")
    reference = f"{fee_id or ''}/{amount}/{terminal_reference or ''}"
    previous = ils.previous_answer(reference)
    if previous is not None:
        return previous
    try:
        paid = pay_fees(ils.db, patron, amount, f"SIP{ils.fixed('payment_type')}", ils.actor,
                        library_code=ils.library_code, note=f"Paid at a self-check ({ils.terminal})",
                        transaction_ref=f"sip2:{ils.grant.account_id}:{terminal_reference}"[:128]
                        if terminal_reference else None,
                        debit_ids=[int(fee_id)] if fee_id else None, channel="sip2")
    except FeeRefused as refusal:
        return _answer(ils, False, str(refusal))
    owed = balance(ils.db, patron)
    text = (f"Payment of {money(-paid.credit.amount)} received." if not paid.repeated
            else "This payment was already received.")
    return ils.keep_answer(reference, _answer(ils, True, text, f"You now owe {money(owed)}." if owed > 0 else
                                              "You owe nothing."))
