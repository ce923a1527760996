"""Extended attribute rules, shared by the import and the REST API: known types, repeatable and
unique types, authorised values and mandatory types; and the writes the API offers (add one,
replace all, change one value, delete one)."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.orm import Session

from app.models import AttributeType, AuthorisedValue, Patron, PatronAttribute

MAX_VALUE = 255
SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


class AttributeRefused(ValueError):
    """An attribute that may not be set; ``conflict`` marks refusals caused by other data
    (a unique value held by another patron, a non-repeatable type already set): HTTP 409."""

    def __init__(self, code: str, message: str, *, conflict: bool = False):
        self.code, self.conflict = code, conflict
        super().__init__(message)


@dataclass(frozen=True)
class TypeRule:
    code: str
    repeatable: bool
    unique_id: bool
    mandatory: bool
    category_code: str | None
    authorised_values: frozenset[str] | None


@dataclass
class AttributeRules:
    types: dict[str, TypeRule] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> "AttributeRules":
        values: dict[str, set[str]] = {}
        for category, value in session.execute(select(AuthorisedValue.category, AuthorisedValue.value)):
            values.setdefault(category, set()).add(value)
        rules = cls()
        for t in session.scalars(select(AttributeType)):
            allowed = frozenset(values.get(t.authorised_value_category, ())) if t.authorised_value_category else None
            rules.types[t.code] = TypeRule(t.code, t.repeatable, t.unique_id, t.mandatory, t.category_code, allowed)
        return rules

    @property
    def unique_codes(self) -> list[str]:
        return [c for c, t in self.types.items() if t.unique_id]

    def check_value(self, code: str, value: str) -> None:
        rule = self.types.get(code)
        if rule is None:
            raise AttributeRefused("invalid_type", f"unknown attribute type {code}")
        if not value:
            raise AttributeRefused("invalid_value", f"attribute {code} has no value")
        if len(value) > MAX_VALUE:
            raise AttributeRefused("invalid_value", f"attribute {code} is longer than {MAX_VALUE} characters")
        if rule.authorised_values is not None and value not in rule.authorised_values:
            raise AttributeRefused("invalid_value", f"attribute {code}: {value!r} is not an authorised value")

    def check_set(self, pairs: list[tuple[str, str]], category_code: str | None, *, mandatory: bool) -> None:
        """The whole set of a patron's attributes: values valid, non-repeatable types once, and
        (when ``mandatory``) every mandatory type that applies to the category present."""
        seen: dict[str, set[str]] = {}
        for code, value in pairs:
            self.check_value(code, value)
            values = seen.setdefault(code, set())
            if value in values:
                raise AttributeRefused("duplicate", f"attribute {code} has the value {value!r} twice")
            if values and not self.types[code].repeatable:
                raise AttributeRefused("non_repeatable", f"attribute {code} is not repeatable")
            values.add(value)
        if mandatory:
            missing = [c for c, t in self.types.items()
                       if t.mandatory and t.category_code in (None, category_code) and c not in seen]
            if missing:
                raise AttributeRefused("missing_mandatory", f"mandatory attribute(s) missing: {', '.join(missing)}")


def parse_attribute_cell(cell: str) -> list[tuple[str, str]]:
    """Koha's ``patron_attributes`` cell: ``CODE:value,CODE:value``, values with commas quoted
    inside the cell, split on the first colon; curly quotes read as straight ones."""
    text = cell.translate(SMART_QUOTES).strip()
    if not text:
        return []
    try:
        elements = next(csv.reader([text], strict=True))
    except csv.Error as error:
        raise AttributeRefused("bad_format", f"patron_attributes cannot be read ({error})") from None
    pairs = []
    for element in elements:
        element = element.strip()
        if not element:
            continue
        code, colon, value = element.partition(":")
        if not colon or not code.strip():
            raise AttributeRefused("bad_format", f"patron_attributes element {element!r} is not CODE:value")
        pairs.append((code.strip(), value.strip()))
    return pairs


def literal_list(values: list[str]) -> BindParameter:
    """An IN list rendered into the SQL, not bound: PostgreSQL switches a statement psycopg
    prepared to a generic plan, and a generic plan for ``IN ($1 ... $500)`` can neither use the
    index well nor hash the list (a seq scan of seconds per batch); literal values keep it fast."""
    return bindparam("values", values, expanding=True, literal_execute=True)


def owners_of(session: Session, code: str, values: list[str]) -> dict[str, set[int]]:
    """Who holds each of ``values`` for the attribute type ``code``."""
    owners: dict[str, set[int]] = {}
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        for patron_id, value in session.execute(select(PatronAttribute.patron_id, PatronAttribute.value).where(
                PatronAttribute.code == code, PatronAttribute.value.in_(literal_list(chunk)))):
            owners.setdefault(value, set()).add(patron_id)
    return owners


def _check_unique(session: Session, rules: AttributeRules, patron_id: int | None, pairs: list[tuple[str, str]]) -> None:
    for code, value in pairs:
        if rules.types[code].unique_id:
            others = owners_of(session, code, [value]).get(value, set()) - {patron_id}
            if others:
                raise AttributeRefused("unique_id_constraint",
                                       f"attribute {code} value {value!r} belongs to another patron", conflict=True)


# --- the API's writes ---------------------------------------------------------------------------

def add_attribute(session: Session, patron: Patron, code: str, value: str, rules: AttributeRules) -> PatronAttribute:
    """Add one value; refused for a non-repeatable type already set or a unique value in use."""
    rules.check_value(code, value)
    current = [(a.code, a.value) for a in patron.attributes]
    if (code, value) in current:
        raise AttributeRefused("duplicate", f"attribute {code} already has the value {value!r}", conflict=True)
    if any(c == code for c, _v in current) and not rules.types[code].repeatable:
        raise AttributeRefused("non_repeatable", f"attribute {code} is not repeatable", conflict=True)
    _check_unique(session, rules, patron.id, [(code, value)])
    attribute = PatronAttribute(code=code, value=value)
    patron.attributes.append(attribute)
    session.flush()
    return attribute


def replace_attributes(session: Session, patron: Patron, pairs: list[tuple[str, str]],
                       rules: AttributeRules) -> list[PatronAttribute]:
    """Make ``pairs`` the patron's whole set; unchanged values keep their ids."""
    rules.check_set(pairs, patron.category_code, mandatory=True)
    _check_unique(session, rules, patron.id, pairs)
    wanted = set(pairs)
    for attribute in list(patron.attributes):
        if (attribute.code, attribute.value) not in wanted:
            patron.attributes.remove(attribute)
    session.flush()
    have = {(a.code, a.value) for a in patron.attributes}
    for code, value in pairs:
        if (code, value) not in have:
            patron.attributes.append(PatronAttribute(code=code, value=value))
            have.add((code, value))
    session.flush()
    return list(patron.attributes)


def update_attribute(session: Session, patron: Patron, attribute: PatronAttribute, value: str,
                     rules: AttributeRules) -> PatronAttribute:
    rules.check_value(attribute.code, value)
    if value != attribute.value:
        if any(a.code == attribute.code and a.value == value for a in patron.attributes):
            raise AttributeRefused("duplicate", f"attribute {attribute.code} already has the value {value!r}",
                                   conflict=True)
        _check_unique(session, rules, patron.id, [(attribute.code, value)])
        attribute.value = value
        session.flush()
    return attribute


def delete_attribute(session: Session, patron: Patron, attribute: PatronAttribute, rules: AttributeRules) -> None:
    rule = rules.types.get(attribute.code)
    remaining = [a for a in patron.attributes if a.code == attribute.code and a.id != attribute.id]
    if rule and rule.mandatory and rule.category_code in (None, patron.category_code) and not remaining:
        raise AttributeRefused("missing_mandatory", f"attribute {attribute.code} is mandatory")
    patron.attributes.remove(attribute)
    session.flush()
