"""Checking every row before anything is written: each row's cells converted and checked alone
(``RowReader``), then in batches against the rest of the file and the database (``Validator``):
which patron a row matches, and unique card numbers, usernames and unique attribute values."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Library, Patron, PatronCategory
from app.services.settings import get_preference

from . import columns as C
from .attributes import AttributeRefused, AttributeRules, literal_list, owners_of, parse_attribute_cell
from .options import ImportOptions
from .parsing import DATE_FORMAT_EXAMPLES, BadRow, ImportFileRefused, Row, parse_date

PATRONS = Patron.__table__
TRUE, FALSE = {"1", "true", "yes", "y"}, {"0", "false", "no", "n"}
CREATE, OVERWRITE, IGNORE = "create", "overwrite", "ignore"


class CellError(ValueError):
    pass


@dataclass
class RowPlan:
    """A row read and checked: the patron fields it sets (None clears one), what it does."""

    line: int
    values: dict[str, Any]
    blank: set[str]
    attributes: list[tuple[str, str]] | None = None  # None: the file says nothing about attributes
    password: str | None = None
    restriction: tuple[dt.date | None, str | None] | None = None
    match_key: str | None = None
    action: str = CREATE
    patron_id: int | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Reference:
    """What rows are checked against, read once per import."""

    libraries: set[str]
    categories: dict[str, PatronCategory]
    rules: AttributeRules
    dateformat: str
    min_password_length: int

    @classmethod
    def load(cls, session: Session) -> "Reference":
        return cls(set(session.scalars(select(Library.code))),
                   {c.code: c for c in session.scalars(select(PatronCategory))},
                   AttributeRules.load(session), get_preference(session, "dateformat"),
                   get_preference(session, "minPasswordLength"))


class RowReader:
    """Converts one row's cells (or the defaults) into a RowPlan, without the database."""

    def __init__(self, columns: tuple[str, ...], options: ImportOptions, reference: Reference):
        self.reference, self.options = reference, options
        self.index = {c: i for i, c in enumerate(columns)}
        self.supplied = [c for c in dict.fromkeys((*columns, *options.defaults))
                         if c not in C.PROTECTED and c not in C.NOT_STORED]
        self.converters: list[tuple[str, Callable[[str], Any]]] = [(c, _remembered(self._converter(c)))
                                                                   for c in self.supplied]
        # (column, cell index, converter, Patron field or None for special columns, default text)
        self.steps = [(c, self.index.get(c), convert, None if c in C.SPECIAL else C.field_of(c),
                       options.defaults.get(c, "").strip()) for c, convert in self.converters]
        if options.match not in ("cardnumber", "userid") and options.match not in reference.rules.types:
            raise ImportFileRefused(f"cannot match on {options.match!r}: not cardnumber, userid or an attribute type")
        if options.match not in ("cardnumber", "userid") and not reference.rules.types[options.match].unique_id:
            raise ImportFileRefused(f"cannot match on attribute {options.match}: it is not a unique identifier")
        unknown = [c for c in options.preserve_fields if c not in C.PRESERVABLE]
        if unknown:
            raise ImportFileRefused(f"cannot preserve column(s) {', '.join(unknown)}: not a patron column")
        if options.update_expiry not in (None, *C.UPDATE_EXPIRY_CHOICES):
            raise ImportFileRefused(f"update_expiry must be one of {', '.join(C.UPDATE_EXPIRY_CHOICES)}")
        self.preserved = _preserved_targets(options.preserve_fields)
        for column, value in options.defaults.items():
            if column not in C.DEFAULTABLE:
                raise ImportFileRefused(f"no default can be given for column {column!r}")
            try:
                dict(self.converters)[column](value.strip())
            except (CellError, AttributeRefused) as error:
                raise ImportFileRefused(f"default for {column}: {error}") from None

    def _converter(self, column: str) -> Callable[[str], Any]:
        ref = self.reference
        if column in C.DATE_COLUMNS:
            example = "YYYY-MM-DD" + (f" or {DATE_FORMAT_EXAMPLES[ref.dateformat]}"
                                      if ref.dateformat in DATE_FORMAT_EXAMPLES and ref.dateformat != "iso" else "")

            def date(text: str) -> dt.date:
                try:
                    return parse_date(text, ref.dateformat)
                except ValueError:
                    raise CellError(f"{column}: {text!r} is not a date ({example})") from None
            return date
        if column in C.BOOLEAN_COLUMNS:
            def boolean(text: str) -> bool:
                if text.lower() in TRUE:
                    return True
                if text.lower() in FALSE:
                    return False
                raise CellError(f"{column}: {text!r} is not 0 or 1")
            return boolean
        if column == "branchcode":
            def library(text: str) -> str:
                if text not in ref.libraries:
                    raise CellError(f"unknown library code {text!r}")
                return text
            return library
        if column == "categorycode":
            def category(text: str) -> str:
                if text not in ref.categories:
                    raise CellError(f"unknown patron category code {text!r}")
                return text
            return category
        if column == "privacy":
            def privacy(text: str) -> str:
                if text.lower() not in C.PRIVACY_CODES:
                    raise CellError(f"privacy: {text!r} is not 0, 1 or 2")
                return C.PRIVACY_CODES[text.lower()]
            return privacy
        if column == "checkprevcheckout":
            def checkprev(text: str) -> str:
                if text.lower() not in C.CHECKPREV_CHOICES:
                    raise CellError(f"checkprevcheckout: {text!r} is not yes, no or inherit")
                return text.lower()
            return checkprev
        if column == "guarantor_id":
            def guarantor(text: str) -> int:
                if not text.isdigit():
                    raise CellError(f"guarantor_id: {text!r} is not a patron number")
                return int(text)
            return guarantor
        if column == "password":
            def password(text: str) -> str:
                if len(text) < ref.min_password_length:
                    raise CellError(f"password is shorter than {ref.min_password_length} characters")
                return text
            return password
        if column == "patron_attributes":
            def attributes(text: str) -> list[tuple[str, str]]:
                pairs = parse_attribute_cell(text)
                ref.rules.check_set(pairs, None, mandatory=False)
                return pairs
            return attributes
        name = C.field_of(column) if column not in ("relationship", "guarantor_relationship") else "relationship_type"
        length = getattr(PATRONS.c[name].type, "length", None) if name in PATRONS.c else None
        if column == "debarredcomment":
            length = 2000

        def text_value(text: str) -> str:
            if length and len(text) > length:
                raise CellError(f"{column} is longer than {length} characters")
            return text
        return text_value

    def read(self, row: Row) -> RowPlan:
        cells = row.cells
        plan = RowPlan(row.line, {}, set())
        values, blank, extras = plan.values, plan.blank, {}
        for column, index, convert, target, default in self.steps:
            text = cells[index].strip() if index is not None else ""
            if not text:
                text = default
            if not text:
                value = None
            else:
                try:
                    value = convert(text)
                except (CellError, AttributeRefused) as error:
                    plan.errors.append(str(error))
                    continue
            if target is None:
                extras[column] = value
            else:
                values[target] = value
                if value is None:
                    blank.add(target)
        if "relationship" in extras or "guarantor_relationship" in extras:
            plan.values["relationship_type"] = extras.get("guarantor_relationship") or extras.get("relationship")
        if "guarantor_id" in extras:
            plan.values["guarantor_id"] = extras["guarantor_id"]
        if "patron_attributes" in extras:
            plan.attributes = extras["patron_attributes"] or []
        plan.password = extras.get("password")
        if extras.get("debarred") or extras.get("debarredcomment"):
            until = extras.get("debarred")
            plan.restriction = (None if until is None or until.year == 9999 else until, extras.get("debarredcomment"))
        match = self.options.match
        if match in ("cardnumber", "userid"):
            plan.match_key = plan.values.get(match)
        elif plan.attributes:
            plan.match_key = next((v for c, v in plan.attributes if c == match), None)
        return plan


    def preserve(self, plan: RowPlan) -> None:
        """An overwrite keeps the preserved columns: drop what the row says about them."""
        if not self.preserved:
            return
        for target in self.preserved:
            if target == "password":
                plan.password = None
            elif target == "restriction":
                plan.restriction = None
            else:
                plan.values.pop(target, None)
                plan.blank.discard(target)


def _preserved_targets(columns: tuple[str, ...]) -> set[str]:
    targets = set()
    for column in columns:
        if column == "password":
            targets.add("password")
        elif column in ("debarred", "debarredcomment"):
            targets.add("restriction")
        elif column in ("relationship", "guarantor_relationship"):
            targets.add("relationship_type")
        else:
            targets.add(C.field_of(column))
    return targets


MEMORY = 4096  # distinct cell texts remembered per column


def _remembered(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """The converter, remembering its answers: files repeat dates, codes and attribute lists
    (enrolment dates, a library code per row), and the second pass converts every row again."""
    answers: dict[str, tuple[bool, Any]] = {}

    def remembered(text: str) -> Any:
        answer = answers.get(text)
        if answer is None:
            try:
                answer = (True, convert(text))
            except (CellError, AttributeRefused) as error:
                answer = (False, error)
            if len(answers) < MEMORY:
                answers[text] = answer
        if not answer[0]:
            raise answer[1].with_traceback(None)
        return answer[1]
    return remembered


class Validator:
    """Batch checks against the file so far and the database; decides each row's action."""

    def __init__(self, session: Session, options: ImportOptions, reference: Reference,
                 reader: RowReader | None = None):
        self.session, self.options, self.reference = session, options, reference
        self.reader = reader
        self.seen: dict[tuple[str, str], int] = {}  # (what, value) -> first line using it

    def check(self, plans: list[RowPlan]) -> None:
        session, match = self.session, self.options.match
        cards = [p.values["cardnumber"] for p in plans if p.values.get("cardnumber")]
        userids = [p.values["userid"] for p in plans if p.values.get("userid")]
        by_card = self._owners(Patron.cardnumber, cards)
        by_userid = self._owners(Patron.userid, userids)
        unique_values: dict[str, dict[str, set[int]]] = {}
        for code in self.reference.rules.unique_codes:
            values = [v for p in plans for c, v in (p.attributes or ()) if c == code]
            if values or code == match:
                unique_values[code] = owners_of(session, code, values)
        guarantors = {p.values["guarantor_id"] for p in plans if p.values.get("guarantor_id")}
        known_guarantors = set(session.scalars(select(Patron.id).where(Patron.id.in_(guarantors)))) if guarantors else set()
        for plan in plans:
            if plan.errors:
                continue
            if plan.match_key:
                if match == "cardnumber":
                    plan.patron_id = by_card.get(plan.match_key)
                elif match == "userid":
                    plan.patron_id = by_userid.get(plan.match_key)
                else:
                    owners = unique_values.get(match, {}).get(plan.match_key, set())
                    plan.patron_id = next(iter(owners)) if len(owners) == 1 else None
            if plan.patron_id is not None:
                plan.action = OVERWRITE if self.options.overwrite else IGNORE
            if plan.action == IGNORE:
                continue
            if plan.action == OVERWRITE and self.reader is not None:
                self.reader.preserve(plan)
            self._check_required(plan)
            self._check_unique(plan, "cardnumber", plan.values.get("cardnumber"), by_card.get(plan.values.get("cardnumber")))
            self._check_unique(plan, "userid", plan.values.get("userid"), by_userid.get(plan.values.get("userid")))
            for code, value in plan.attributes or ():
                if code in unique_values:
                    others = unique_values[code].get(value, set()) - {plan.patron_id}
                    self._check_unique(plan, f"attribute {code}", value, next(iter(others)) if others else None)
            guarantor = plan.values.get("guarantor_id")
            if guarantor and guarantor not in known_guarantors:
                plan.errors.append(f"guarantor_id {guarantor}: no such patron")
            elif guarantor and guarantor == plan.patron_id:
                plan.errors.append("a patron cannot be their own guarantor")
            self._check_mandatory(plan)

    def _owners(self, column, values: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(values), 500):
            chunk = values[start:start + 500]
            found.update({value: pid for pid, value in self.session.execute(
                select(Patron.id, column).where(column.in_(literal_list(chunk))))})
        return found

    def _check_required(self, plan: RowPlan) -> None:
        for column in C.REQUIRED:
            target = C.field_of(column)
            if plan.action == CREATE and plan.values.get(target) is None or target in plan.blank:
                plan.errors.append(f"{column} is required")

    def _check_unique(self, plan: RowPlan, what: str, value: str | None, owner: int | None) -> None:
        if not value:
            return
        first = self.seen.setdefault((what, value), plan.line)
        if first != plan.line:
            plan.errors.append(f"{what} {value} is also on line {first}")
        elif owner is not None and owner != plan.patron_id:
            plan.errors.append(f"{what} {value} belongs to another patron")

    def _check_mandatory(self, plan: RowPlan) -> None:
        replacing = plan.action == CREATE or (plan.attributes is not None and not self.options.preserve_attributes)
        if not replacing:
            return
        try:
            self.reference.rules.check_set(plan.attributes or [], plan.values.get("category_code"), mandatory=True)
        except AttributeRefused as error:
            plan.errors.append(str(error))


def bad_row(plan: RowPlan) -> BadRow:
    return BadRow(plan.line, plan.errors)
