"""What the generator remembers between tables: id ranges and compact per-row arrays (a byte or
an int per patron, title and item), so foreign keys are computed without reading back and memory
stays small even for two million items."""
from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from array import array
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .sizes import Size

# Item states, one byte per item
AVAILABLE, NOT_LOANABLE, ON_LOAN, ALLOCATED, DEMO = 0, 1, 2, 3, 4
# Title kinds, one byte per title: (kind, item type)
FICTION, NONFICTION, JUVENILE, FILM, MUSIC, MAGAZINE, REFERENCE, VOLUMES = range(8)
KIND_ITEM_TYPE = ("BK", "BK", "BK", "DVD", "CD", "MAG", "REF", "BK")
HOLDABLE_KINDS = frozenset({FICTION, NONFICTION, JUVENILE, FILM, MUSIC, VOLUMES})


@dataclass
class LibraryInfo:
    code: str
    name: str
    city: str
    state: str | None
    zipcode: str
    country: str
    area_code: str
    french: bool = False


@dataclass
class SeedState:
    size: Size
    seed: int
    now: dt.datetime
    zone: ZoneInfo
    libraries: list[LibraryInfo] = field(default_factory=list)
    library_weights: list[float] = field(default_factory=list)
    _library_cumulative: list[float] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)  # index -> code, one byte per patron
    # Patrons: 1 = admin, then the demo patrons, then generated staff, then the public
    admin_id: int = 1
    first_staff_id: int = 0
    first_public_id: int = 0
    last_patron_id: int = 0
    patron_category: bytearray = field(default_factory=bytearray)
    patron_library: bytearray = field(default_factory=bytearray)
    staff_by_library: dict[str, list[int]] = field(default_factory=dict)
    # Titles and items (title ids and each title's item ids are contiguous)
    first_generated_title: int = 0
    last_title_id: int = 0
    last_item_id: int = 0
    title_kind: bytearray = field(default_factory=bytearray)
    title_first_item: array = field(default_factory=lambda: array("i"))
    title_item_count: array = field(default_factory=lambda: array("H"))
    item_state: bytearray = field(default_factory=bytearray)
    item_library: bytearray = field(default_factory=bytearray)
    # Id counters shared by several tables
    next_loan_id: int = 1  # open loans and loan history share the loan id space
    next_account_line_id: int = 1

    today: dt.date = dt.date.min  # set from ``now`` after init

    def __post_init__(self) -> None:
        self.today = self.now.astimezone(self.zone).date()

    def rng(self, purpose: str) -> random.Random:
        """An independent, reproducible stream per table: changing one table's generator does
        not shift every other table's data."""
        return random.Random(f"{self.seed}:{purpose}")

    def end_of_day(self, day: dt.date) -> dt.datetime:
        """23:59 library-local on ``day``, as a UTC timestamp (due dates)."""
        local = dt.datetime.combine(day, dt.time(23, 59), tzinfo=self.zone)
        return local.astimezone(dt.timezone.utc)

    def days_ago(self, days: float) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def library_index(self, code: str) -> int:
        return next(i for i, lib in enumerate(self.libraries) if lib.code == code)

    def pick_library(self, rng: random.Random) -> int:
        """A library index, bigger libraries more often."""
        if len(self._library_cumulative) != len(self.library_weights):
            self._library_cumulative = list(itertools.accumulate(self.library_weights))
        cumulative = self._library_cumulative
        return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])

    def pick_public_patron(self, rng: random.Random) -> int:
        return rng.randint(self.first_public_id, self.last_patron_id)
