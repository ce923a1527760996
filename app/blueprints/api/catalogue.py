"""Catalogue reads in Koha's shape: items (filter external_id = barcode, biblio_id), one item,
one biblio, libraries, patron categories. Any staff member may read them."""
from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select

from app.extensions import db
from app.models import Item, Library, PatronCategory, Title

from . import bp
from .auth import ApiError, api_auth
from .fields import iso_datetime
from .listing import apply_filters, apply_order, paginated


def item_to_api(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.id, "biblio_id": item.title_id, "external_id": item.barcode,
        "home_library_id": item.home_library_code, "holding_library_id": item.holding_library_code,
        "item_type_id": item.item_type_code, "callnumber": item.callnumber, "serial_issue_number": item.enumchron,
        "copy_number": item.copynumber, "location": item.shelving_location, "collection_code": item.collection,
        "purchase_price": float(item.price) if item.price is not None else None,
        "replacement_price": float(item.replacement_price) if item.replacement_price is not None else None,
        "not_for_loan_status": item.not_for_loan, "lost_status": item.lost, "lost_date": iso_datetime(item.lost_on),
        "withdrawn": 1 if item.withdrawn else 0, "damaged_status": 1 if item.damaged else 0,
        "last_seen_date": item.date_last_seen.isoformat() if item.date_last_seen else None,
        "last_checkout_date": item.date_last_borrowed.isoformat() if item.date_last_borrowed else None,
        "checkouts_count": item.checkouts_count, "renewals_count": item.renewals_count,
        "public_notes": item.public_note, "internal_notes": item.staff_note,
    }


def biblio_to_api(title: Title) -> dict[str, Any]:
    return {"biblio_id": title.id, "title": title.title, "subtitle": title.subtitle, "author": title.author,
            "isbn": title.isbn, "publisher": title.publisher, "copyright_date": title.publication_year,
            "series_title": title.series, "subject": title.subject_list, "language": title.language,
            "abstract": title.summary, "creation_date": iso_datetime(title.created_at),
            "timestamp": iso_datetime(title.updated_at)}


def library_to_api(library: Library) -> dict[str, Any]:
    return {"library_id": library.code, "name": library.name, "address1": library.address, "city": library.city,
            "postal_code": library.postal_code, "country": library.country, "email": library.email,
            "phone": library.phone, "pickup_location": library.is_pickup_location}


def category_to_api(category: PatronCategory) -> dict[str, Any]:
    return {"patron_category_id": category.code, "name": category.description,
            "category_type": category.category_type.value, "enrolment_period": category.enrolment_period_months,
            "upper_age_limit": category.upper_age_limit, "dateofbirthrequired": category.minimum_age,
            "can_be_guarantee": category.can_be_guarantee}


ITEM_FILTERS = {"external_id": (Item.barcode, "string"), "biblio_id": (Item.title_id, "integer"),
                "home_library_id": (Item.home_library_code, "string"),
                "holding_library_id": (Item.holding_library_code, "string"),
                "item_type_id": (Item.item_type_code, "string"), "callnumber": (Item.callnumber, "string")}
ITEM_ORDERS = {"item_id": Item.id, "external_id": Item.barcode, "callnumber": Item.callnumber,
               "biblio_id": Item.title_id}


@bp.get("/items")
@api_auth(None)
def list_items():
    base = select(Item)
    stmt = apply_order(apply_filters(base, ITEM_FILTERS), ITEM_ORDERS, Item.id.asc())
    return paginated(db.session, base, stmt, item_to_api)


@bp.get("/items/<int:item_id>")
@api_auth(None)
def get_item(item_id: int):
    item = db.session.get(Item, item_id)
    if item is None:
        raise ApiError(404, "Item not found")
    return jsonify(item_to_api(item))


@bp.get("/biblios/<int:biblio_id>")
@api_auth(None)
def get_biblio(biblio_id: int):
    title = db.session.get(Title, biblio_id)
    if title is None:
        raise ApiError(404, "Bibliographic record not found")
    return jsonify(biblio_to_api(title))


@bp.get("/libraries")
@api_auth(None)
def list_libraries():
    base = select(Library)
    stmt = apply_order(apply_filters(base, {"library_id": (Library.code, "string"), "name": (Library.name, "string")}),
                       {"library_id": Library.code, "name": Library.name}, Library.code.asc())
    return paginated(db.session, base, stmt, library_to_api)


@bp.get("/patron_categories")
@api_auth(None)
def list_patron_categories():
    base = select(PatronCategory)
    stmt = apply_order(apply_filters(base, {"patron_category_id": (PatronCategory.code, "string"),
                                            "name": (PatronCategory.description, "string")}),
                       {"patron_category_id": PatronCategory.code, "name": PatronCategory.description},
                       PatronCategory.code.asc())
    return paginated(db.session, base, stmt, category_to_api)
