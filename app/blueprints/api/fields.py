"""Koha's API field names for patrons (``Koha::Patron::to_api_mapping``) and converting between
JSON and Carrel's fields: types checked, lengths from the table, read-only fields refused."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from app import clock
from app.models import Patron, Privacy

from .auth import ApiError

PATRONS = Patron.__table__
PRIVACY_TO_KOHA = {Privacy.KEEP_FOREVER: 0, Privacy.DEFAULT: 1, Privacy.NEVER_KEEP: 2}
PRIVACY_FROM_KOHA = {v: k for k, v in PRIVACY_TO_KOHA.items()}


@dataclass(frozen=True)
class Field:
    api: str
    attr: str | None  # None: computed
    kind: str = "string"  # string | date | datetime | boolean | integer | privacy | choice
    read_only: bool = False
    nullable: bool = True
    choices: tuple[str, ...] = ()

    @property
    def max_length(self) -> int | None:
        if self.kind != "string" or self.attr is None:
            return None
        return getattr(PATRONS.c[self.attr].type, "length", None)


def _s(api: str, attr: str | None = None, **kw) -> Field:
    return Field(api, attr or api, **kw)


PATRON_FIELDS: tuple[Field, ...] = (
    Field("patron_id", "id", "integer", read_only=True, nullable=False),
    _s("cardnumber"), _s("userid"), _s("surname", nullable=False), _s("firstname"), _s("middle_name"),
    _s("preferred_name"), _s("title"), _s("other_name", "othernames"), _s("initials"), _s("pronouns"),
    _s("street_number", "streetnumber"), _s("street_type", "streettype"), _s("address"), _s("address2"),
    _s("city"), _s("state"), _s("postal_code", "zipcode"), _s("country"), _s("email"), _s("phone"), _s("mobile"),
    _s("fax"), _s("secondary_email", "emailpro"), _s("secondary_phone", "phonepro"),
    _s("altaddress_street_number", "b_streetnumber"), _s("altaddress_street_type", "b_streettype"),
    _s("altaddress_address", "b_address"), _s("altaddress_address2", "b_address2"), _s("altaddress_city", "b_city"),
    _s("altaddress_state", "b_state"), _s("altaddress_postal_code", "b_zipcode"),
    _s("altaddress_country", "b_country"), _s("altaddress_email", "b_email"), _s("altaddress_phone", "b_phone"),
    _s("altaddress_notes", "contactnote"),
    _s("altcontact_firstname", "altcontactfirstname"), _s("altcontact_surname", "altcontactsurname"),
    _s("altcontact_address", "altcontactaddress1"), _s("altcontact_address2", "altcontactaddress2"),
    _s("altcontact_city", "altcontactaddress3"), _s("altcontact_state", "altcontactstate"),
    _s("altcontact_postal_code", "altcontactzipcode"), _s("altcontact_country", "altcontactcountry"),
    _s("altcontact_phone", "altcontactphone"), _s("sms_number", "smsalertnumber"),
    Field("date_of_birth", "dateofbirth", "date"),
    _s("library_id", "library_code", nullable=False), _s("category_id", "category_code", nullable=False),
    Field("date_enrolled", "dateenrolled", "date"), Field("expiry_date", "dateexpiry", "date"),
    Field("date_renewed", "date_renewed", "date"),
    Field("incorrect_address", "gonenoaddress", "boolean", nullable=False),
    Field("patron_card_lost", "card_lost", "boolean", nullable=False),
    _s("staff_notes", "borrowernotes"), _s("opac_notes", "opacnote"), _s("relationship_type"),
    _s("gender", "sex"), _s("lang"),
    _s("statistics_1", "sort1"), _s("statistics_2", "sort2"),
    Field("guarantor_id", "guarantor_id", "integer"),
    Field("privacy", "privacy", "privacy", nullable=False),
    Field("check_previous_checkout", "checkprevcheckout", "choice", nullable=False, choices=("yes", "no", "inherit")),
    Field("autorenew_checkouts", "autorenew_checkouts", "boolean", nullable=False),
    Field("last_seen", "lastseen", "datetime", read_only=True),
    Field("updated_on", "updated_at", "datetime", read_only=True, nullable=False),
    Field("anonymized", "anonymized", "boolean", read_only=True, nullable=False),
    Field("expired", None, "boolean", read_only=True, nullable=False),
    Field("restricted", None, "boolean", read_only=True, nullable=False),
)
BY_API = {f.api: f for f in PATRON_FIELDS}
WRITABLE = tuple(f for f in PATRON_FIELDS if not f.read_only)


def iso_datetime(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def patron_to_api(patron: Patron, embed_attributes: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {}
    today = clock.today()
    for f in PATRON_FIELDS:
        if f.api == "expired":
            data[f.api] = patron.is_expired(today)
        elif f.api == "restricted":
            data[f.api] = patron.is_restricted(today)
        else:
            value = getattr(patron, f.attr)  # type: ignore[arg-type]
            if f.kind == "date":
                value = value.isoformat() if value else None
            elif f.kind == "datetime":
                value = iso_datetime(value)
            elif f.kind == "privacy":
                value = PRIVACY_TO_KOHA[value]
            data[f.api] = value
    if embed_attributes:
        data["extended_attributes"] = [attribute_to_api(a) for a in patron.attributes]
    return data


def attribute_to_api(attribute) -> dict[str, Any]:
    return {"extended_attribute_id": attribute.id, "type": attribute.code, "value": attribute.value}


def parse_value(f: Field, raw: Any, where: str = "body") -> Any:
    """A JSON value for field ``f`` converted to Carrel's type; ApiError 400 naming the field."""
    def bad(message: str) -> ApiError:
        return ApiError(400, f"{f.api}: {message}", field=f.api, path=f"/{where}/{f.api}")

    if raw is None:
        if not f.nullable:
            raise bad("must not be null")
        return None
    if f.kind == "string":
        if not isinstance(raw, str):
            raise bad(f"expected string, got {type(raw).__name__}")
        raw = raw.strip()
        if f.max_length and len(raw) > f.max_length:
            raise bad(f"longer than {f.max_length} characters")
        return raw or None
    if f.kind in ("date", "datetime"):
        if not isinstance(raw, str):
            raise bad("expected a date string (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(raw[:10])
        except ValueError:
            raise bad(f"{raw!r} is not a date (YYYY-MM-DD)") from None
    if f.kind == "boolean":
        if not isinstance(raw, bool):
            raise bad(f"expected boolean, got {type(raw).__name__}")
        return raw
    if f.kind == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise bad(f"expected integer, got {type(raw).__name__}")
        return raw
    if f.kind == "privacy":
        if raw not in PRIVACY_FROM_KOHA or isinstance(raw, bool):
            raise bad("must be 0 (keep forever), 1 (default) or 2 (never keep)")
        return PRIVACY_FROM_KOHA[raw]
    if f.kind == "choice":
        if raw not in f.choices:
            raise bad(f"must be one of {', '.join(f.choices)}")
        return raw
    raise bad("cannot be set")


# Read-only fields Koha itself accepts in a PUT body (they are not readOnly in Koha's patron
# definition), so a script that sends back what GET returned minus Koha's read-only fields
# (``anonymized``, ``expired``, ``restricted``, ``updated_on``) works unchanged: ``patron_id``
# must name the patron in the URL; ``last_seen`` is kept by activity tracking and ignored.
TOLERATED_ON_UPDATE = ("patron_id", "last_seen")


def patron_from_api(body: dict[str, Any], *, require: bool,
                    patron_id: int | None = None) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
    """Carrel field values and (when present) the inline extended attributes of a patron body.
    ``patron_id``: the patron being updated (None when creating one)."""
    unknown = sorted(k for k in body if k not in BY_API and k != "extended_attributes")
    if unknown:
        raise ApiError(400, f"Properties not allowed: {', '.join(unknown)}", field=unknown[0], path=f"/body/{unknown[0]}")
    if patron_id is not None:
        if "patron_id" in body and body["patron_id"] != patron_id:
            raise ApiError(400, f"patron_id: {body['patron_id']!r} is not the patron in the URL ({patron_id})",
                           field="patron_id", path="/body/patron_id")
        body = {k: v for k, v in body.items() if k not in TOLERATED_ON_UPDATE}
    read_only = sorted(k for k in body if k in BY_API and BY_API[k].read_only)
    if read_only:
        raise ApiError(400, f"Read-only properties: {', '.join(read_only)}", field=read_only[0],
                       path=f"/body/{read_only[0]}")
    if require:
        for name in ("surname", "library_id", "category_id"):
            if body.get(name) in (None, ""):
                raise ApiError(400, f"{name}: missing property", field=name, path=f"/body/{name}")
    values = {BY_API[k].attr: parse_value(BY_API[k], v) for k, v in body.items() if k in BY_API}
    attributes = None
    if "extended_attributes" in body:
        attributes = attributes_from_api(body["extended_attributes"], "body/extended_attributes")
    return values, attributes  # type: ignore[return-value]


def attributes_from_api(raw: Any, where: str = "body") -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise ApiError(400, "extended_attributes must be an array", field="extended_attributes", path=f"/{where}")
    pairs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or not isinstance(item.get("value"), str):
            raise ApiError(400, "each extended attribute needs a string type and value",
                           field="extended_attributes", path=f"/{where}/{index}")
        extra = set(item) - {"type", "value", "extended_attribute_id"}
        if extra:
            raise ApiError(400, f"Properties not allowed: {', '.join(sorted(extra))}", field=sorted(extra)[0],
                           path=f"/{where}/{index}")
        pairs.append((item["type"], item["value"].strip()))
    return pairs
