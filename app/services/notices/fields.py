"""Building the template values of a notice from the models: only the allowed fields are read,
dates as library-local dates."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from app import clock
from app.models import Hold, Item, Library, Loan, LoanHistory, Patron, Title

from .sandbox import Fields


def _day(moment: dt.datetime | None) -> dt.date | None:
    return clock.local(moment).date() if moment is not None else None


def patron_fields(patron: Patron) -> Fields:
    first = patron.preferred_name or patron.firstname
    return Fields("patron", {
        "name": " ".join(n for n in (first, patron.surname) if n), "firstname": patron.firstname,
        "surname": patron.surname, "preferred_name": patron.preferred_name, "cardnumber": patron.cardnumber,
        "userid": patron.userid, "email": patron.email or patron.emailpro, "phone": patron.phone or patron.mobile,
        "address": patron.address, "city": patron.city, "zipcode": patron.zipcode, "dateexpiry": patron.dateexpiry,
        "library_code": patron.library_code, "category_code": patron.category_code})


def library_fields(library: Library | None) -> Fields:
    if library is None:
        return Fields("library", {})
    return Fields("library", {
        "code": library.code, "name": library.name, "email": library.email, "phone": library.phone,
        "address": library.address, "city": library.city, "postal_code": library.postal_code,
        "country": library.country})


def title_fields(title: Title | None) -> Fields:
    if title is None:
        return Fields("title", {})
    return Fields("title", {
        "title": title.title, "subtitle": title.subtitle, "author": title.author, "isbn": title.isbn,
        "publisher": title.publisher, "publication_year": title.publication_year})


def item_fields(item: Item | None) -> Fields:
    if item is None:
        return Fields("item", {})
    return Fields("item", {
        "barcode": item.barcode, "callnumber": item.callnumber, "enumchron": item.enumchron,
        "copynumber": item.copynumber, "home_library": item.home_library_code,
        "holding_library": item.holding_library_code})


def hold_fields(hold: Hold, reason: str | None = None) -> Fields:
    waiting_days = None
    if hold.waiting_since is not None:
        waiting_days = (clock.today() - _day(hold.waiting_since)).days
    return Fields("hold", {
        "id": hold.id, "status": hold.status.value, "reason": reason or hold.cancellation_reason,
        "placed_on": _day(hold.placed_at), "pickup_library": hold.pickup_library.name if hold.pickup_library else
        hold.pickup_library_code, "pickup_deadline": hold.pickup_deadline, "waiting_since": _day(hold.waiting_since),
        "waiting_days": waiting_days, "not_needed_after": hold.not_needed_after})


def loan_fields(loan: Loan, today: dt.date | None = None) -> Fields:
    today = today or clock.today()
    due = _day(loan.due_at)
    return Fields("loan", {
        "title": title_fields(loan.item.title), "item": item_fields(loan.item), "checked_out_on": _day(loan.issued_at),
        "due_date": due, "days_overdue": max(0, (today - due).days), "renewals": loan.renewals_count})


def checkin_fields(entry: LoanHistory) -> Fields:
    item = entry.item
    return Fields("checkin", {"title": title_fields(item.title if item else None), "item": item_fields(item),
                              "returned_on": _day(entry.returned_at)})


def hold_context(hold: Hold, reason: str | None = None) -> dict[str, Any]:
    item = hold.allocated_item or hold.item
    return {"hold": hold_fields(hold, reason), "title": title_fields(hold.title), "item": item_fields(item)}


def loans_context(loans: Iterable[Loan]) -> dict[str, Any]:
    today = clock.today()
    return {"loans": [loan_fields(loan, today) for loan in loans]}
