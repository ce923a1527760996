"""The circulation rules matrix: typed rule definitions with defaults, the cascade that finds the
effective value for a (library, patron category, item type) triple, and validated edits.

The cascade is computed in Python from an explicit specificity score, so it is identical on
SQLite, PostgreSQL and MariaDB whatever their NULL ordering."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import ALL, CirculationRule, ItemType, Library, PatronCategory
from app.services.policy_cache import policy_snapshot


class InvalidRule(ValueError):
    def __init__(self, rule_name: str, message: str):
        self.rule_name = rule_name
        super().__init__(message)


@dataclass(frozen=True)
class RuleDefinition:
    name: str
    kind: str  # int | optional_int (blank = unlimited) | decimal | optional_decimal | choice | bool
    default: Any
    label: str
    description: str
    choices: tuple[str, ...] = field(default=())
    group: str = "loans"

    def parse(self, raw: Any) -> Any:
        text = "" if raw is None else str(raw).strip()
        if self.kind in {"optional_int", "optional_decimal"} and text == "":
            return None
        if self.kind in {"int", "optional_int"}:
            try:
                value = int(text)
            except ValueError:
                raise InvalidRule(self.name, f"{self.label} must be a whole number") from None
            if value < 0:
                raise InvalidRule(self.name, f"{self.label} must not be negative")
            return value
        if self.kind in {"decimal", "optional_decimal"}:
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise InvalidRule(self.name, f"{self.label} must be a number") from None
            if not value.is_finite() or value < 0:
                raise InvalidRule(self.name, f"{self.label} must be a number of at least 0")
            return value
        if self.kind == "bool":
            if text.lower() in {"1", "yes", "true", "on"}:
                return True
            if text.lower() in {"0", "no", "false", "off"}:
                return False
            raise InvalidRule(self.name, f"{self.label} must be yes or no")
        if self.kind == "choice":
            if text not in self.choices:
                raise InvalidRule(self.name, f"{self.label} must be one of {', '.join(self.choices)}")
            return text
        raise AssertionError(self.kind)

    def serialise(self, value: Any) -> str:
        if value is None:
            return ""
        if self.kind == "bool":
            return "1" if value else "0"
        return str(value)


RULES: tuple[RuleDefinition, ...] = (
    # Loans
    RuleDefinition("issuelength", "int", 14, "Loan period (days)", "Days a loan lasts."),
    RuleDefinition("maxissueqty", "optional_int", None, "Loans allowed", "Most open loans; blank for no limit."),
    RuleDefinition("renewalsallowed", "int", 2, "Renewals allowed", "How many times a loan may be renewed."),
    RuleDefinition("renewalperiod", "int", 14, "Renewal period (days)", "Days a renewal adds."),
    RuleDefinition("overdue_renewals", "bool", False, "Renew when overdue", "Overdue loans may be renewed."),
    RuleDefinition("skip_closed_days", "bool", True, "Skip closed days", "A due date on a closed day moves to the next open day."),
    RuleDefinition("fine", "decimal", Decimal("0.25"), "Fine per day", "Overdue fine charged per day."),
    RuleDefinition("overduefinescap", "optional_decimal", Decimal("10"), "Fine cap", "Most one overdue loan can be fined; blank for no cap."),
    RuleDefinition("firstremind", "int", 0, "Grace period (days)", "Days overdue before fines start."),
    RuleDefinition("returnbranch", "choice", "homebranch", "Return policy", "Where items go after check-in.",
                   ("homebranch", "holdingbranch", "noreturn")),
    RuleDefinition("lost_blocks_checkout", "bool", True, "Refuse lost items", "Lost items cannot be checked out."),
    RuleDefinition("damaged_blocks_checkout", "bool", False, "Refuse damaged items", "Damaged items cannot be checked out."),
    # Holds (the RFC moves these out of global preferences into the matrix)
    RuleDefinition("reservesallowed", "optional_int", 50, "Holds allowed", "Most live holds; blank for no limit.", group="holds"),
    RuleDefinition("holds_per_record", "int", 1, "Holds per title (same volume)", "Holds a patron may have on equivalent copies of one title.", group="holds"),
    RuleDefinition("holds_per_record_volumes", "int", 1, "Holds per title (different volumes)", "Holds a patron may have on different volumes of one title.", group="holds"),
    RuleDefinition("holds_per_day", "optional_int", None, "Holds per day", "Most holds placed per day; blank for no limit.", group="holds"),
    RuleDefinition("onshelfholds", "choice", "allowed", "On-shelf holds", "Whether a hold may be placed while a copy is on the shelf (Koha's AllowOnShelfHolds).",
                   ("allowed", "if_all_unavailable", "if_this_unavailable"), group="holds"),
    RuleDefinition("opacitemholds", "choice", "yes", "OPAC item holds", "Whether patrons may, or must, pick a specific copy (Koha's OPACItemHolds).",
                   ("no", "yes", "force"), group="holds"),
    RuleDefinition("holdallowed", "choice", "from_any_library", "Hold policy", "Which patrons may hold items of this library.",
                   ("not_allowed", "from_home_library", "from_any_library"), group="holds"),
    RuleDefinition("hold_fulfillment_policy", "choice", "any", "Pickup policy", "Where holds on these items may be picked up.",
                   ("any", "homebranch", "holdingbranch"), group="holds"),
    RuleDefinition("holds_pickup_period", "optional_int", None, "Pickup period (days)",
                   "Days a waiting hold stays on the shelf (Koha's ReservesMaxPickUpDelay); blank to use the preference.", group="holds"),
    # Notices (Koha's overdue notice triggers: delay1..3 by library and patron category)
    RuleDefinition("overdue_delay1", "optional_int", 7, "First overdue notice (days)",
                   "Days overdue before the first notice (ODUE); blank for none.", group="notices"),
    RuleDefinition("overdue_delay2", "optional_int", 14, "Second overdue notice (days)",
                   "Days overdue before the second notice (ODUE2); blank for none.", group="notices"),
    RuleDefinition("overdue_delay3", "optional_int", 28, "Third overdue notice (days)",
                   "Days overdue before the third notice (ODUE3); blank for none.", group="notices"),
)
RULES_BY_NAME: dict[str, RuleDefinition] = {r.name: r for r in RULES}
RULE_VALUE_LENGTH = CirculationRule.__table__.c.rule_value.type.length


def rule_definition(name: str) -> RuleDefinition:
    try:
        return RULES_BY_NAME[name]
    except KeyError:
        raise InvalidRule(name, f"unknown rule {name!r}") from None


@dataclass(frozen=True)
class EffectiveRule:
    """The value one rule takes for a triple and the matrix row it came from (``source`` is
    None when no row has it and the code default applies)."""

    name: str
    value: Any
    source: tuple[str, str, str] | None
    stored_value_invalid: bool = False


def explain_rules(session: Session, library: str | None, category: str | None, item_type: str | None,
                  names: Iterable[str] | None = None, *, exclude_own_row: bool = False) -> dict[str, EffectiveRule]:
    """Each rule's effective value for this triple with the row that won the cascade (library
    beats category beats item type). ``exclude_own_row`` ignores the triple's own row: what its
    blank cells inherit. The matrix comes from the process's policy cache, checked once per unit
    of work (``app.services.policy_cache``); each triple's cascade is worked out once per copy."""
    wanted = list(names) if names is not None else [r.name for r in RULES]
    for name in wanted:
        rule_definition(name)
    own = (library or ALL, category or ALL, item_type or ALL)
    snapshot = policy_snapshot(session)
    key = ("rules", own, exclude_own_row)
    explained = snapshot.memo.get(key)
    if explained is None:
        explained = snapshot.memo[key] = _cascade(snapshot.rules, own, exclude_own_row)
    return {name: explained[name] for name in wanted}


def _cascade(matrix: Mapping[tuple[str, str, str], Mapping[str, str]], own: tuple[str, str, str],
             exclude_own_row: bool) -> dict[str, EffectiveRule]:
    """Every rule's effective value for ``own``: of the cells that are the triple's own code or
    ``*`` in each place, the most specific that holds the rule."""
    cells = sorted(((lib, cat, it) for lib in {own[0], ALL} for cat in {own[1], ALL} for it in {own[2], ALL}),
                   key=_specificity, reverse=True)
    if exclude_own_row:
        cells.remove(own)
    result: dict[str, EffectiveRule] = {}
    for definition in RULES:
        source = next((cell for cell in cells if definition.name in matrix.get(cell, ())), None)
        if source is None:
            result[definition.name] = EffectiveRule(definition.name, definition.default, None)
            continue
        try:
            result[definition.name] = EffectiveRule(definition.name, definition.parse(matrix[source][definition.name]), source)
        except InvalidRule:
            result[definition.name] = EffectiveRule(definition.name, definition.default, source, stored_value_invalid=True)
    return result


def _specificity(cell: tuple[str, str, str]) -> int:
    """As ``CirculationRule.specificity``: a set library outweighs a set category and item type
    together, a set category outweighs a set item type."""
    library, category, item_type = cell
    return (4 if library != ALL else 0) + (2 if category != ALL else 0) + (1 if item_type != ALL else 0)


def effective_rules(session: Session, library: str | None, category: str | None, item_type: str | None,
                    names: Iterable[str] | None = None) -> dict[str, Any]:
    """The effective typed value of each rule for this triple: the most specific stored rule
    (library beats category beats item type), else the code default."""
    return {name: rule.value for name, rule in explain_rules(session, library, category, item_type, names).items()}


def effective_rule(session: Session, name: str, library: str | None, category: str | None, item_type: str | None) -> Any:
    return effective_rules(session, library, category, item_type, [name])[name]


def may_inherit_from(row: tuple[str, str, str], source: tuple[str, str, str]) -> bool:
    """Whether ``source`` is one of the less specific rows whose rules ``row``'s blank cells may
    inherit: each of its codes is ``*`` or the row's own."""
    return row != source and all(code == ALL or code == own for own, code in zip(row, source))


def check_rule_row(session: Session, library: str, category: str, item_type: str) -> None:
    """Raise InvalidRule unless each code is ``*`` or an existing library, category, item type."""
    if library != ALL and session.get(Library, library) is None:
        raise InvalidRule("library", f"unknown library {library!r}")
    if category != ALL and session.get(PatronCategory, category) is None:
        raise InvalidRule("category", f"unknown patron category {category!r}")
    if item_type != ALL and session.get(ItemType, item_type) is None:
        raise InvalidRule("item_type", f"unknown item type {item_type!r}")


def set_rule(session: Session, library: str, category: str, item_type: str, name: str, raw: Any) -> Any:
    """Store one rule in a cell; a blank value for a rule that needs one removes the cell's
    rule (the cascade then decides). Returns the typed value stored, or None when removed."""
    definition = rule_definition(name)
    check_rule_row(session, library, category, item_type)
    text = "" if raw is None else str(raw).strip()
    existing = session.scalar(select(CirculationRule).where(
        CirculationRule.library_code == library, CirculationRule.category_code == category,
        CirculationRule.item_type_code == item_type, CirculationRule.rule_name == name))
    if text == "" and definition.kind not in {"optional_int", "optional_decimal"}:
        if existing is not None:
            session.delete(existing)
            session.flush()
        return None
    value = definition.parse(text)
    stored = definition.serialise(value)
    if len(stored) > RULE_VALUE_LENGTH:  # PostgreSQL and MariaDB would refuse it; SQLite would not
        raise InvalidRule(name, f"{definition.label} is too long")
    if existing is None:
        session.add(CirculationRule(library_code=library, category_code=category, item_type_code=item_type,
                                    rule_name=name, rule_value=stored))
    else:
        existing.rule_value = stored
    session.flush()
    return value


def clear_rule(session: Session, library: str, category: str, item_type: str, name: str) -> bool:
    """Remove one cell's rule whatever its kind, so the cascade decides again (a blank optional
    rule is stored as "unlimited", so blanking it is not enough). True when a rule was removed."""
    rule_definition(name)
    result = session.execute(delete(CirculationRule).where(
        CirculationRule.library_code == library, CirculationRule.category_code == category,
        CirculationRule.item_type_code == item_type, CirculationRule.rule_name == name))
    return bool(result.rowcount)


def new_rule_row(session: Session, library: str, category: str, item_type: str) -> dict[str, Any]:
    """An empty matrix row for a triple that has none yet (every cell inherits). Nothing is
    stored: a row exists once one of its cells holds a rule."""
    check_rule_row(session, library, category, item_type)
    exists = session.scalar(select(CirculationRule.id).where(
        CirculationRule.library_code == library, CirculationRule.category_code == category,
        CirculationRule.item_type_code == item_type).limit(1))
    if exists is not None or (library, category, item_type) == (ALL, ALL, ALL):
        raise InvalidRule("row", "that row is already in the matrix")
    return {"library": library, "category": category, "item_type": item_type, "rules": {}}


def delete_rule_row(session: Session, library: str, category: str, item_type: str) -> int:
    """Remove every rule of one (library, category, item type) row of the matrix. The default
    row (all, all, all) stays: it is where the library's own defaults live."""
    if (library, category, item_type) == (ALL, ALL, ALL):
        raise InvalidRule("row", "the default row (all libraries, categories and item types) cannot be deleted")
    result = session.execute(delete(CirculationRule).where(
        CirculationRule.library_code == library, CirculationRule.category_code == category,
        CirculationRule.item_type_code == item_type))
    return result.rowcount or 0


def matrix_rows(session: Session) -> list[dict[str, Any]]:
    """The matrix as the admin page shows it: one row per cell, its rules by name."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rule in session.scalars(select(CirculationRule)):
        key = (rule.library_code, rule.category_code, rule.item_type_code)
        row = rows.setdefault(key, {"library": key[0], "category": key[1], "item_type": key[2], "rules": {}})
        row["rules"][rule.rule_name] = rule.rule_value
    if (ALL, ALL, ALL) not in rows:
        rows[(ALL, ALL, ALL)] = {"library": ALL, "category": ALL, "item_type": ALL, "rules": {}}

    def order(key: tuple[str, str, str]):
        lib, cat, it = key
        return (lib == ALL, lib, cat == ALL, cat, it == ALL, it)

    return [rows[k] for k in sorted(rows, key=order)]
