"""The circulation rules cascade: the most specific row wins (library beats patron category beats
item type, "all" last), computed the same way on SQLite and PostgreSQL (run the suite on both:
CARREL_TEST_DATABASE_URL picks the database)."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.models import ALL
from app.services.rules import (
    RULES,
    InvalidRule,
    clear_rule,
    delete_rule_row,
    effective_rule,
    effective_rules,
    explain_rules,
    may_inherit_from,
    new_rule_row,
    set_rule,
)

LIBRARY, CATEGORY, ITEM_TYPE = "CPL", "PT", "BK"

# The eight rows that may apply to (CPL, PT, BK), least specific first.
LEVELS = [
    ("all", (ALL, ALL, ALL)),
    ("item type", (ALL, ALL, ITEM_TYPE)),
    ("category", (ALL, CATEGORY, ALL)),
    ("category + item type", (ALL, CATEGORY, ITEM_TYPE)),
    ("library", (LIBRARY, ALL, ALL)),
    ("library + item type", (LIBRARY, ALL, ITEM_TYPE)),
    ("library + category", (LIBRARY, CATEGORY, ALL)),
    ("library + category + item type", (LIBRARY, CATEGORY, ITEM_TYPE)),
]
# Rows for another library, category or item type: they never apply to (CPL, PT, BK).
OTHERS = [(library, category, item_type)
          for library in ("OPL", ALL, LIBRARY) for category in ("ST", ALL, CATEGORY) for item_type in ("DVD", ALL, ITEM_TYPE)
          if library == "OPL" or category == "ST" or item_type == "DVD"]


@pytest.fixture
def codes(make):
    for code in (LIBRARY, "OPL"):
        make.library(code)
    for code in (CATEGORY, "ST"):
        make.category(code)
    for code in (ITEM_TYPE, "DVD"):
        make.item_type(code)


def _loan_period(session) -> int:
    return effective_rule(session, "issuelength", LIBRARY, CATEGORY, ITEM_TYPE)


def _winner(session) -> tuple[str, str, str] | None:
    return explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, ["issuelength"])["issuelength"].source


def test_defaults_apply_when_nothing_is_stored(session, codes):
    values = effective_rules(session, LIBRARY, CATEGORY, ITEM_TYPE)
    assert values == {rule.name: rule.default for rule in RULES}
    assert all(rule.source is None for rule in explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE).values())


@pytest.mark.parametrize("level", range(len(LEVELS)), ids=[name for name, _ in LEVELS])
def test_each_more_specific_row_beats_every_less_specific_one(session, codes, level):
    """Rows added from least to most specific: after each, the newest one wins."""
    for index, (_name, row) in enumerate(LEVELS[:level + 1]):
        set_rule(session, *row, "issuelength", str(10 + index))
        assert _loan_period(session) == 10 + index
        assert _winner(session) == row


@pytest.mark.parametrize("level", range(len(LEVELS)), ids=[name for name, _ in LEVELS])
def test_the_most_specific_row_wins_whatever_the_order_rows_were_stored_in(session, codes, level):
    """The same rows stored most specific first (one rule) and in a shuffled order (another):
    the winner is the same, so nothing depends on insertion order or on how the database sorts."""
    rows = [row for _name, row in LEVELS[:level + 1]]
    shuffled = rows[:]
    random.Random(level).shuffle(shuffled)
    for name, order in (("issuelength", reversed(rows)), ("renewalperiod", shuffled)):
        for row in order:
            set_rule(session, *row, name, str(10 + rows.index(row)))
        explained = explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, [name])[name]
        assert (explained.value, explained.source) == (10 + level, rows[-1])


def test_library_beats_category_beats_item_type(session, codes):
    set_rule(session, ALL, ALL, ITEM_TYPE, "issuelength", "1")
    set_rule(session, ALL, CATEGORY, ALL, "issuelength", "2")
    assert _loan_period(session) == 2
    set_rule(session, LIBRARY, ALL, ALL, "issuelength", "3")
    assert _loan_period(session) == 3
    # A library row beats category and item type together.
    set_rule(session, ALL, CATEGORY, ITEM_TYPE, "issuelength", "4")
    assert _loan_period(session) == 3


def test_rows_for_another_library_category_or_item_type_never_apply(session, codes):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    for index, row in enumerate(OTHERS):
        set_rule(session, *row, "issuelength", str(100 + index))
    assert _loan_period(session) == 21
    assert _winner(session) == (ALL, ALL, ALL)
    # ...while each of them applies to its own triple.
    assert effective_rule(session, "issuelength", "OPL", "ST", "DVD") == 100 + OTHERS.index(("OPL", "ST", "DVD"))


def test_rules_cascade_independently_of_each_other(session, codes):
    set_rule(session, LIBRARY, CATEGORY, ITEM_TYPE, "issuelength", "7")
    set_rule(session, ALL, ALL, ALL, "fine", "0.50")
    explained = explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, ["issuelength", "fine", "renewalsallowed"])
    assert (explained["issuelength"].value, explained["issuelength"].source) == (7, (LIBRARY, CATEGORY, ITEM_TYPE))
    assert (explained["fine"].value, explained["fine"].source) == (Decimal("0.50"), (ALL, ALL, ALL))
    assert (explained["renewalsallowed"].value, explained["renewalsallowed"].source) == (2, None)


def test_a_row_inherits_from_less_specific_rows_but_not_from_itself(session, codes):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    set_rule(session, LIBRARY, ALL, ALL, "issuelength", "14")
    inherited = explain_rules(session, LIBRARY, ALL, ALL, ["issuelength"], exclude_own_row=True)["issuelength"]
    assert (inherited.value, inherited.source) == (21, (ALL, ALL, ALL))
    assert may_inherit_from((LIBRARY, CATEGORY, ALL), (LIBRARY, ALL, ALL))
    assert not may_inherit_from((ALL, CATEGORY, ALL), (LIBRARY, ALL, ALL))
    assert not may_inherit_from((LIBRARY, ALL, ALL), (LIBRARY, ALL, ALL))


def test_a_blank_cell_inherits_except_for_optional_rules_where_it_means_no_limit(session, codes):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    set_rule(session, LIBRARY, ALL, ALL, "issuelength", "7")
    assert set_rule(session, LIBRARY, ALL, ALL, "issuelength", "  ") is None
    assert _loan_period(session) == 21

    set_rule(session, ALL, ALL, ALL, "maxissueqty", "40")
    set_rule(session, LIBRARY, ALL, ALL, "maxissueqty", "")
    assert effective_rule(session, "maxissueqty", LIBRARY, CATEGORY, ITEM_TYPE) is None  # no limit
    assert clear_rule(session, LIBRARY, ALL, ALL, "maxissueqty") is True
    assert effective_rule(session, "maxissueqty", LIBRARY, CATEGORY, ITEM_TYPE) == 40


@pytest.mark.parametrize("name, raw", [
    ("issuelength", "-1"), ("issuelength", "two"), ("issuelength", "1.5"), ("maxissueqty", "-3"),
    ("fine", "abc"), ("fine", "-0.10"), ("fine", "NaN"), ("overduefinescap", "Infinity"),
    ("returnbranch", "elsewhere"), ("overdue_renewals", "maybe"), ("issuelength", "9" * 70),
])
def test_bad_values_raise_invalid_rule_and_store_nothing(session, codes, name, raw):
    with pytest.raises(InvalidRule):
        set_rule(session, LIBRARY, ALL, ALL, name, raw)
    assert explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, [name])[name].source is None


@pytest.mark.parametrize("row", [("XXX", ALL, ALL), (ALL, "XX", ALL), (ALL, ALL, "XX")])
def test_rows_for_unknown_codes_are_refused(session, codes, row):
    with pytest.raises(InvalidRule):
        set_rule(session, *row, "issuelength", "7")
    with pytest.raises(InvalidRule):
        new_rule_row(session, *row)


def test_unknown_rule_names_are_refused(session, codes):
    with pytest.raises(InvalidRule):
        set_rule(session, ALL, ALL, ALL, "no_such_rule", "1")
    with pytest.raises(InvalidRule):
        effective_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, ["no_such_rule"])


def test_the_default_row_cannot_be_deleted_and_other_rows_can(session, codes):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    set_rule(session, LIBRARY, ALL, ALL, "issuelength", "7")
    set_rule(session, LIBRARY, ALL, ALL, "fine", "1")
    with pytest.raises(InvalidRule):
        delete_rule_row(session, ALL, ALL, ALL)
    assert delete_rule_row(session, LIBRARY, ALL, ALL) == 2
    assert _loan_period(session) == 21


def test_a_new_row_is_refused_when_it_is_already_in_the_matrix(session, codes):
    assert new_rule_row(session, LIBRARY, ALL, ITEM_TYPE)["rules"] == {}
    set_rule(session, LIBRARY, ALL, ITEM_TYPE, "issuelength", "7")
    with pytest.raises(InvalidRule):
        new_rule_row(session, LIBRARY, ALL, ITEM_TYPE)
    with pytest.raises(InvalidRule):
        new_rule_row(session, ALL, ALL, ALL)


def test_a_hand_edited_bad_value_falls_back_to_the_default_and_says_so(session, codes):
    from app.models import CirculationRule

    session.add(CirculationRule(library_code=LIBRARY, category_code=ALL, item_type_code=ALL,
                                rule_name="issuelength", rule_value="fortnight"))
    session.flush()
    explained = explain_rules(session, LIBRARY, CATEGORY, ITEM_TYPE, ["issuelength"])["issuelength"]
    assert (explained.value, explained.source, explained.stored_value_invalid) == (14, (LIBRARY, ALL, ALL), True)
