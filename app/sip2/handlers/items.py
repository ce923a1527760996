"""Item messages: 17 item information and 19 item status update (the free-text item properties
a kiosk stores, given back in CH)."""
from __future__ import annotations

import datetime as dt

from app.models import Item, Loan, SipItemProperties
from app.services.circulation import open_transfer
from app.services.circulation.due_dates import end_of_day
from app.services.holds import queue_length
from app.services.holds_hooks import WAITING_STATUSES
from app.services.sip_holds import hold_set_aside_for

from .. import codec
from ..dispatch import Response
from ..ils import SECURITY_MARKER_TATTLE_TAPE, Ils, af, fields

UNKNOWN_ITEM = "Unknown item: please ask at the desk."
FEE_TYPE_OTHER = "01"
# Circulation statuses (18) Carrel reports
OTHER, ON_ORDER, AVAILABLE, CHARGED, WAITING_ON_HOLD_SHELF, IN_TRANSIT, LOST = "01", "02", "03", "04", "08", "10", "12"


def item_detail_fields(ils: Ils, item: Item) -> list[tuple[str, str | None]]:
    """CH item properties, CS call number, CR collection code: what sorters and kiosks print."""
    return [("CH", ils.properties_of(item)), ("CS", item.callnumber or None), ("CR", item.collection or None)]


def circulation_status(item: Item, loan: Loan | None, in_transit: bool, held: bool) -> str:
    """Koha's order of concern: travelling, lost, on loan, set aside for a hold, then the
    shelf statuses (withdrawn and damaged are "other", negative not-for-loan "on order")."""
    if in_transit:
        return IN_TRANSIT
    if item.is_lost:
        return LOST
    if loan is not None:
        return CHARGED
    if held:
        return WAITING_ON_HOLD_SHELF
    if item.withdrawn or item.damaged:
        return OTHER
    if item.not_for_loan < 0:
        return ON_ORDER
    return AVAILABLE


def _unknown_item(ils: Ils, code: str) -> Response:
    if code == "20":
        return Response("20", {"item_properties_ok": "0", "transaction_date": ils.date()},
                        fields([("AB", ils.field("AB") or "")], af(UNKNOWN_ITEM)))
    fixed = {"circulation_status": OTHER, "security_marker": "01", "fee_type": FEE_TYPE_OTHER,
             "transaction_date": ils.date()}
    return Response("18", fixed, fields([("AB", ils.field("AB") or ""), ("AJ", "")], af(UNKNOWN_ITEM)))


def item_information(ils: Ils) -> Response:
    """17 -> 18: where the item is and what it is doing: circulation status, due date, hold
    queue length, the date a waiting hold expires (CM), owner and locations."""
    item = ils.item()
    if item is None:
        return _unknown_item(ils, "18")
    loan = ils.loan_of(item)
    transfer = open_transfer(ils.db, item)
    allocated = hold_set_aside_for(ils.db, item)
    waiting = allocated if allocated is not None and allocated.status in WAITING_STATUSES else None
    fixed = {"circulation_status": circulation_status(item, loan, transfer is not None, allocated is not None),
             "security_marker": SECURITY_MARKER_TATTLE_TAPE, "fee_type": FEE_TYPE_OTHER,
             "transaction_date": ils.date()}
    pickup_by: dt.datetime | None = end_of_day(waiting.pickup_deadline) if waiting and waiting.pickup_deadline else None
    return Response("18", fixed, fields(
        [("CF", str(queue_length(ils.db, item.title_id))), ("AH", ils.date(loan.due_at) if loan else None),
         ("CM", ils.date(pickup_by) if pickup_by else None), ("AB", item.barcode), ("AJ", item.title.full_title),
         ("BG", item.home_library_code), ("CK", ils.media_type(item)), ("AQ", item.home_library_code),
         ("AP", item.holding_library_code), ("CT", transfer.to_library_code if transfer else None)],
        item_detail_fields(ils, item), af(item.public_note)))


def item_status_update(ils: Ils) -> Response:
    """19 -> 20: store the item properties (CH) the kiosk sends, given back in 10, 18 and 20."""
    item = ils.item()
    if item is None:
        return _unknown_item(ils, "20")
    properties = codec.clean_value(ils.request.get("CH") or "", ils.connection.delimiter)[:255]
    row = ils.db.get(SipItemProperties, item.id)
    if not properties:
        if row is not None:
            ils.db.delete(row)
    elif row is None:
        ils.db.add(SipItemProperties(item_id=item.id, properties=properties, account_id=ils.grant.account_id))
    else:
        row.properties, row.account_id = properties, ils.grant.account_id
    ils.db.flush()
    return Response("20", {"item_properties_ok": "1", "transaction_date": ils.date()},
                    [("AB", item.barcode), ("AJ", item.title.full_title), ("CH", properties or None)])
