"""The circulation and holds rules matrix: one row per (library, patron category, item type),
each cell edited inline; rows added and deleted; a checker of what applies to a triple.

A blank cell inherits from the next less specific row, as ``set_rule`` stores it, except for the
optional rules (limits, caps) where blank is stored and means "no limit"; those cells get a
button that clears them so they inherit again. Invalid values come back in the cell fragment
with status 200 (htmx leaves 4xx answers unswapped); without JavaScript the page comes back
with a flash."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import ALL, ItemType, Library, PatronCategory
from app.services.audit import record_audit
from app.services.rules import (
    RULES,
    RULES_BY_NAME,
    EffectiveRule,
    InvalidRule,
    RuleDefinition,
    check_rule_row,
    clear_rule,
    delete_rule_row,
    explain_rules,
    matrix_rows,
    may_inherit_from,
    new_rule_row,
    set_rule,
)

from ...access import staff_required
from ...htmx import is_htmx, render_page_or_fragment
from . import bp

RULE_GROUPS = (("loans", "Loans"), ("holds", "Holds"), ("notices", "Notices"))
ROW_KEYS = ("library", "category", "item_type")
OPTIONAL_KINDS = {"optional_int", "optional_decimal"}
GROUP_STARTS = {next(rule.name for rule in RULES if rule.group == group) for group, _label in RULE_GROUPS}


@dataclass(frozen=True)
class RuleCell:
    """One cell: the text stored in this row (None: it inherits) and what it would inherit."""

    library: str
    category: str
    item_type: str
    definition: RuleDefinition
    stored: str | None
    inherited: EffectiveRule
    error: str | None = None
    submitted: str | None = None
    saved: bool = False

    @property
    def blank_means_unlimited(self) -> bool:
        return self.definition.kind in OPTIONAL_KINDS

    @property
    def starts_group(self) -> bool:
        return self.definition.name in GROUP_STARTS

    @property
    def options(self) -> list[tuple[str, str]]:
        """(stored text, label) of each value a select cell offers, besides "inherit"."""
        if self.definition.kind == "bool":
            return [("1", "yes"), ("0", "no")]
        return [(choice, choice.replace("_", " ")) for choice in self.definition.choices]


@dataclass(frozen=True)
class RuleRow:
    library: str
    category: str
    item_type: str
    cells: list[RuleCell]
    is_new: bool = False

    @property
    def is_default(self) -> bool:
        return (self.library, self.category, self.item_type) == (ALL, ALL, ALL)


def _ordered_rules() -> list[RuleDefinition]:
    return [rule for group, _label in RULE_GROUPS for rule in RULES if rule.group == group]


def _row(matrix_row: dict[str, Any], is_new: bool = False) -> RuleRow:
    key = (matrix_row["library"], matrix_row["category"], matrix_row["item_type"])
    inherited = explain_rules(db.session, *key, exclude_own_row=True)
    cells = [RuleCell(*key, rule, matrix_row["rules"].get(rule.name), inherited[rule.name]) for rule in _ordered_rules()]
    return RuleRow(*key, cells, is_new=is_new)


def _column(name: str, keys: list[tuple[str, str, str]], **extra) -> list[RuleCell]:
    """The cells of one rule for the given rows, as stored now; ``extra`` goes to the first."""
    stored = {(r["library"], r["category"], r["item_type"]): r["rules"] for r in matrix_rows(db.session)}
    cells = []
    for key in keys:
        inherited = explain_rules(db.session, *key, names=[name], exclude_own_row=True)[name]
        cells.append(RuleCell(*key, RULES_BY_NAME[name], stored.get(key, {}).get(name), inherited,
                              **(extra if not cells else {})))
    return cells


def _dependent_keys(key: tuple[str, str, str]) -> list[tuple[str, str, str]]:
    """The rows whose blank cells may inherit from ``key``: their placeholders change with it."""
    keys = [(r["library"], r["category"], r["item_type"]) for r in matrix_rows(db.session)]
    return [row for row in keys if may_inherit_from(row, key)]


def _names() -> dict[str, dict[str, str]]:
    """Code -> name of every library, patron category and item type, for labels and choices."""
    return {
        "library": dict(db.session.execute(select(Library.code, Library.name).order_by(Library.code)).all()),
        "category": dict(db.session.execute(
            select(PatronCategory.code, PatronCategory.description).order_by(PatronCategory.code)).all()),
        "item_type": dict(db.session.execute(
            select(ItemType.code, ItemType.description).order_by(ItemType.code)).all()),
    }


def _row_key(source) -> tuple[str, str, str]:
    """The (library, category, item type) of a form or query string; 400 when one is missing."""
    values = tuple((source.get(key) or "").strip() for key in ROW_KEYS)
    if not all(values):
        abort(400)
    return values  # type: ignore[return-value]


def _groups() -> list[tuple[str, list[RuleDefinition]]]:
    """The column groups of the matrix: (label, its rules)."""
    return [(label, [rule for rule in RULES if rule.group == group]) for group, label in RULE_GROUPS]


@bp.get("/rules")
@staff_required("administration")
def rules():
    pending = None
    if all(request.args.get(key) for key in ROW_KEYS):
        try:
            pending = _row(new_rule_row(db.session, *_row_key(request.args)), is_new=True)
        except InvalidRule:
            pending = None  # already in the matrix, or a stale link: show the matrix as it is
    rows = [_row(r) for r in matrix_rows(db.session)] + ([pending] if pending else [])
    return render_page_or_fragment("staff/admin/rules.html", "staff/admin/_rules_matrix.html", rows=rows,
                                   groups=_groups(), names=_names(), add_error=None, add_key=(ALL, ALL, ALL))


@bp.post("/rules/cell")
@staff_required("administration")
def set_rule_cell():
    key = _row_key(request.form)
    name = request.form.get("rule_name", "")
    if name not in RULES_BY_NAME:
        abort(400)
    raw = request.form.get("value", "")
    inherit = request.form.get("inherit") == "1"
    try:
        if inherit:
            clear_rule(db.session, *key, name)
        else:
            set_rule(db.session, *key, name, raw)
    except InvalidRule as refusal:
        db.session.rollback()
        if refusal.rule_name in ROW_KEYS:
            abort(400)
        if not is_htmx():
            flash(f"{RULES_BY_NAME[name].label} was not changed: {refusal}.", "error")
            return redirect(url_for("admin.rules"))
        return render_template("staff/admin/_rule_cell_response.html",
                               cells=_column(name, [key], error=str(refusal), submitted=raw))
    record_audit(db.session, actor_id=current_user.id, channel="staff", module="SETTINGS",
                 action="RULE_CLEAR" if inherit else "RULE_SET", object_type="circulation_rule",
                 object_id="/".join((*key, name)), info=None if inherit else {"value": raw.strip()})
    db.session.commit()
    if not is_htmx():
        flash(f"{RULES_BY_NAME[name].label} saved.", "success")
        return redirect(url_for("admin.rules"))
    # The edited cell, then the cells of rows inheriting from it (swapped out of band).
    return render_template("staff/admin/_rule_cell_response.html",
                           cells=_column(name, [key, *_dependent_keys(key)], saved=True))


@bp.post("/rules/rows")
@staff_required("administration")
def add_rule_row():
    key = _row_key(request.form)
    try:
        row = _row(new_rule_row(db.session, *key), is_new=True)
    except InvalidRule as refusal:
        if not is_htmx():
            flash(f"The row was not added: {refusal}.", "error")
            return redirect(url_for("admin.rules"))
        return render_template("staff/admin/_add_rule_row_form.html", names=_names(), add_error=str(refusal),
                               add_key=key)
    if not is_htmx():
        flash("Row added: it is kept once one of its cells holds a value.", "success")
        return redirect(url_for("admin.rules", **dict(zip(ROW_KEYS, key))))
    return render_template("staff/admin/_add_rule_row_form.html", names=_names(), add_error=None, add_key=key,
                           new_row=row)


@bp.post("/rules/rows/delete", endpoint="delete_rule_row")
@staff_required("administration")
def delete_rule_row_view():
    key = _row_key(request.form)
    try:
        removed = delete_rule_row(db.session, *key)
    except InvalidRule as refusal:
        if not is_htmx():
            flash(f"The row was not deleted: {refusal}.", "error")
            return redirect(url_for("admin.rules"))
        abort(400)
    record_audit(db.session, actor_id=current_user.id, channel="staff", module="SETTINGS", action="RULE_ROW_DELETE",
                 object_type="circulation_rule_row", object_id="/".join(key), info={"rules": removed})
    db.session.commit()
    if not is_htmx():
        flash("Row deleted.", "success")
        return redirect(url_for("admin.rules"))
    # Empty: the row goes; the event has the matrix reload itself, as inherited values may change.
    return "", 200, {"HX-Trigger": "rules-changed"}


@bp.get("/rules/effective")
@staff_required("administration")
def effective_rules():
    key = tuple((request.args.get(k) or ALL).strip() or ALL for k in ROW_KEYS)
    error = None
    try:
        check_rule_row(db.session, *key)
        explained = explain_rules(db.session, *key)
    except InvalidRule as refusal:
        error, explained = str(refusal), {}
    status = 400 if error else 200
    return render_page_or_fragment("staff/admin/effective_rules.html", "staff/admin/_effective_rules.html",
                                   key=key, explained=explained, error=error, names=_names(),
                                   rules=_ordered_rules(), groups=dict(RULE_GROUPS)), status
