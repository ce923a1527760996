"""Koha's patron CSV header and what Carrel does with each column.

Every column of Koha's header (23.x schema order, plus the newer ``preferred_name`` and
``protected``, then ``patron_attributes``, ``guarantor_relationship``, ``guarantor_id``) is known:

- *applied* columns set the patron field of the same Koha name (``B_address`` -> ``b_address``,
  ``branchcode`` -> ``library_code``, ``lost`` -> ``card_lost``...), converted to its type;
- ``password`` is hashed with argon2 (new patrons; matched ones only with overwrite passwords);
- ``debarred``/``debarredcomment`` become a manual restriction, ``patron_attributes`` extended
  attributes, ``guarantor_id``/``guarantor_relationship`` the guarantor link;
- *protected* columns grant privileges or hold internal state: accepted in the header, never
  applied from a file;
- *not stored* columns have no place in Carrel yet: accepted and reported, not stored."""
from __future__ import annotations

from dataclasses import dataclass

KOHA_HEADER: tuple[str, ...] = (
    "cardnumber", "surname", "firstname", "middle_name", "title", "othernames", "initials", "pronouns",
    "streetnumber", "streettype", "address", "address2", "city", "state", "zipcode", "country", "email", "phone",
    "mobile", "fax", "emailpro", "phonepro", "B_streetnumber", "B_streettype", "B_address", "B_address2", "B_city",
    "B_state", "B_zipcode", "B_country", "B_email", "B_phone", "dateofbirth", "branchcode", "categorycode",
    "dateenrolled", "dateexpiry", "password_expiration_date", "date_renewed", "gonenoaddress", "lost", "debarred",
    "debarredcomment", "contactname", "contactfirstname", "contacttitle", "borrowernotes", "relationship", "sex",
    "password", "secret", "auth_method", "flags", "userid", "opacnote", "contactnote", "sort1", "sort2",
    "altcontactfirstname", "altcontactsurname", "altcontactaddress1", "altcontactaddress2", "altcontactaddress3",
    "altcontactstate", "altcontactzipcode", "altcontactcountry", "altcontactphone", "smsalertnumber",
    "sms_provider_id", "privacy", "privacy_guarantor_fines", "privacy_guarantor_checkouts", "checkprevcheckout",
    "updated_on", "lastseen", "lang", "login_attempts", "overdrive_auth_token", "anonymized", "autorenew_checkouts",
    "primary_contact_method", "preferred_name", "protected", "borrowernumber",
    "patron_attributes", "guarantor_relationship", "guarantor_id",
)

# Privileges and internal state: never taken from a file.
PROTECTED: frozenset[str] = frozenset({
    "borrowernumber", "flags", "secret", "auth_method", "updated_on", "lastseen", "login_attempts",
    "overdrive_auth_token", "anonymized", "password_expiration_date", "protected",
})
# Koha columns Carrel has no field for (yet).
NOT_STORED: frozenset[str] = frozenset({
    "contactname", "contactfirstname", "contacttitle", "sms_provider_id", "privacy_guarantor_fines",
    "privacy_guarantor_checkouts",
})
SPECIAL: frozenset[str] = frozenset({"password", "debarred", "debarredcomment", "patron_attributes",
                                     "guarantor_id", "guarantor_relationship", "relationship"})

DATE_COLUMNS: frozenset[str] = frozenset({"dateofbirth", "dateenrolled", "dateexpiry", "date_renewed", "debarred"})
BOOLEAN_COLUMNS: frozenset[str] = frozenset({"gonenoaddress", "lost", "autorenew_checkouts"})
REQUIRED: tuple[str, ...] = ("surname", "branchcode", "categorycode")
CHECKPREV_CHOICES = ("yes", "no", "inherit")
# Koha stores privacy as 0 (keep forever), 1 (default), 2 (never keep).
PRIVACY_CODES = {"0": "keep_forever", "1": "default", "2": "never_keep",
                 "keep_forever": "keep_forever", "default": "default", "never_keep": "never_keep",
                 "forever": "keep_forever", "never": "never_keep"}

_RENAMED = {"branchcode": "library_code", "categorycode": "category_code", "lost": "card_lost"}


def field_of(column: str) -> str:
    """The Patron attribute a Koha column is stored in."""
    return _RENAMED.get(column, column[0].lower() + column[1:] if column.startswith("B_") else column)


APPLIED: tuple[str, ...] = tuple(c for c in KOHA_HEADER if c not in PROTECTED | NOT_STORED | SPECIAL)
# Columns an overwrite may be told to keep (Koha's "preserve existing values").
PRESERVABLE: tuple[str, ...] = tuple(c for c in KOHA_HEADER if c not in PROTECTED | NOT_STORED | {"patron_attributes"})
UPDATE_EXPIRY_CHOICES = ("now", "dateexpiry")
# Columns a default may be given for (the page shows an input for each).
DEFAULTABLE: tuple[str, ...] = tuple(c for c in KOHA_HEADER if c not in PROTECTED | NOT_STORED | {"password"})


@dataclass(frozen=True)
class Header:
    """The columns a file names, in its order, sorted into what will be done with them."""

    columns: tuple[str, ...]

    @property
    def protected(self) -> list[str]:
        return [c for c in self.columns if c in PROTECTED]

    @property
    def not_stored(self) -> list[str]:
        return [c for c in self.columns if c in NOT_STORED]


def normalise_header_cell(cell: str) -> str:
    """Koha removes spaces from header cells and a leading byte-order mark."""
    return "".join(cell.lstrip("\ufeff").split())


def known_column(name: str) -> str | None:
    """Koha's spelling of a column name (``b_address`` -> ``B_address``), or None if unknown."""
    if name in _KNOWN:
        return name
    return _KNOWN_LOWER.get(name.lower())


_KNOWN = frozenset(KOHA_HEADER)
_KNOWN_LOWER = {c.lower(): c for c in KOHA_HEADER}


def sample_header() -> str:
    """The header line the staff page offers for download (Koha's ``?sample=1``)."""
    return ",".join(c for c in KOHA_HEADER if c != "borrowernumber") + "\r\n"
