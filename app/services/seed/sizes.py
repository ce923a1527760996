"""The data set sizes ``flask carrel seed --size`` knows. Counts are targets: titles, items and
patrons come out exact, loans and loan history within a few percent (drawn per item)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    libraries: int
    titles: int
    items: int
    patrons: int
    holds: int
    loans: int  # open loans
    loan_history: int  # finished loans
    staff_per_library: int
    # Commit after every chunk (bounded transactions, for the big sizes); otherwise the whole
    # seed is one transaction, so a failure leaves the database empty.
    checkpoint: bool


SIZES: dict[str, Size] = {
    #                     libs   titles      items      patrons   holds    loans    history  staff  checkpoint
    "demo": Size("demo",     5,     2_000,     5_000,     1_000,     300,     500,     2_500,   2, False),
    "S":    Size("S",       10,    50_000,   100_000,    25_000,   5_000,  10_000,    50_000,   3, False),
    "M":    Size("M",       20,   200_000,   400_000,   100_000,  20_000,  40_000,   200_000,   4, True),
    "L":    Size("L",       50, 1_000_000, 2_000_000,   500_000, 100_000, 200_000, 1_000_000,   5, True),
}
DEFAULT_SEED = 2602


def size_named(name: str) -> Size:
    key = name if name in SIZES else name.upper()
    try:
        return SIZES[key]
    except KeyError:
        raise ValueError(f"unknown size {name!r}: one of {', '.join(SIZES)}") from None
