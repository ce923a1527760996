"""Catalogue search: one service over the database's own full-text engine, and the shelf
availability the OPAC shows beside each title.

- SQLite: an FTS5 external-content table ``titles_fts`` kept in step with ``titles`` by triggers.
- PostgreSQL: a stored generated ``tsvector`` column ``titles.search_document`` (weighted: title,
  then subtitle and author, then series and subjects, then the ISBN) with a GIN index. Stored,
  not an expression index: ranking and the index recheck then read the vector instead of parsing
  the text again for every candidate row, which is what keeps vague words fast on 1M titles.
  The column is not in the model (SQLite has no such type); ``include_object`` hides it, like the
  FTS5 tables, from Alembic's autogenerate.

The index DDL lives here (``create_search_index``) and is run both by migration 0002 and, for
schemas built with ``create_all`` (tests, demo), by a DDL event on the ``titles`` table, so the
two paths cannot drift. Every search runs under a time budget and looks at a bounded number of
matches, so one vague query cannot tie up a database connection."""
from __future__ import annotations

import dataclasses
import enum
import functools
import math
import re
import time
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, case, event, func, select, text, union
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from app.models import Hold, Item, ItemTransfer, ItemType, Loan, Title
from app.models.hold import HoldStatus

MAX_PER_PAGE = 50
DEFAULT_PER_PAGE = 20
MATCH_CAP = 500  # matches ranked and counted per query; beyond it people are asked to refine
TIME_BUDGET_MS = 2000
MAX_TERMS = 8
MAX_TERM_LENGTH = 64
SQLITE_CHECK_EVERY = 100_000
MIN_PREFIX = 3  # shorter prefixes ("a*") would touch most of the index

FTS_TABLE = "titles_fts"
PG_INDEX = "ix_titles_search"
PG_COLUMN = "search_document"
TRIGGERS = ("titles_fts_after_insert", "titles_fts_after_delete", "titles_fts_after_update")
# Names autogenerate must not compare: FTS5 keeps its data in shadow tables named after it.
SEARCH_OBJECT_PREFIXES = (FTS_TABLE, PG_INDEX)

_FTS_COLUMNS = "title, subtitle, author, series, subjects, isbn"
# Column weights for bm25, in _FTS_COLUMNS order: a word in the title counts most.
_FTS_WEIGHTS = "10.0, 6.0, 6.0, 3.0, 2.0, 1.0"
# The PostgreSQL document, computed by the database whenever a title is written.
PG_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(subtitle, '') || ' ' || coalesce(author, '')), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(series, '') || ' ' || coalesce(subjects, '')), 'C') || "
    "setweight(to_tsvector('simple'::regconfig, replace(coalesce(isbn, ''), '-', '')), 'D')"
)


def _sqlite_row(prefix: str) -> str:
    return (f"{prefix}.title, {prefix}.subtitle, {prefix}.author, {prefix}.series, {prefix}.subjects, "
            f"replace({prefix}.isbn, '-', '')")


def search_index_ddl(dialect: str) -> list[str]:
    """The statements that create the search index on ``dialect`` (and fill it from ``titles``)."""
    if dialect == "sqlite":
        return [
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({_FTS_COLUMNS}, content='titles', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
            f"INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) SELECT id, {_sqlite_row('titles')} FROM titles",
            f"CREATE TRIGGER titles_fts_after_insert AFTER INSERT ON titles BEGIN "
            f"INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_sqlite_row('new')}); END",
            f"CREATE TRIGGER titles_fts_after_delete AFTER DELETE ON titles BEGIN "
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLUMNS}) "
            f"VALUES ('delete', old.id, {_sqlite_row('old')}); END",
            # Only the searched columns: bumping hold_queue_version must not rewrite the index.
            f"CREATE TRIGGER titles_fts_after_update AFTER UPDATE OF {_FTS_COLUMNS} ON titles BEGIN "
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_FTS_COLUMNS}) "
            f"VALUES ('delete', old.id, {_sqlite_row('old')}); "
            f"INSERT INTO {FTS_TABLE}(rowid, {_FTS_COLUMNS}) VALUES (new.id, {_sqlite_row('new')}); END",
        ]
    if dialect == "postgresql":
        return [f"ALTER TABLE titles ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED",
                f"CREATE INDEX {PG_INDEX} ON titles USING gin ({PG_COLUMN})",
                # Word frequencies for the planner: a common word is then read by a short scan
                # that stops at the cap, a rare one through the index.
                "ANALYZE titles"]
    return []  # other databases fall back to LIKE matching (slow, but correct)


def drop_search_index_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS] + [f"DROP TABLE IF EXISTS {FTS_TABLE}"]
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {PG_INDEX}", f"ALTER TABLE titles DROP COLUMN IF EXISTS {PG_COLUMN}"]
    return []


def create_search_index(bind: Connection) -> None:
    """Create (or re-create) the full-text index on this connection's database."""
    for statement in drop_search_index_ddl(bind.dialect.name) + search_index_ddl(bind.dialect.name):
        bind.exec_driver_sql(statement)


def drop_search_index(bind: Connection) -> None:
    for statement in drop_search_index_ddl(bind.dialect.name):
        bind.exec_driver_sql(statement)


def ensure_search_index(engine: Engine) -> None:
    """Create the index on an existing schema, in its own transaction."""
    with engine.begin() as connection:
        create_search_index(connection)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """For Alembic's ``include_object``: the search index is migration-managed DDL that
    autogenerate cannot describe (an FTS5 virtual table and its shadow tables; a generated
    column outside the model and its GIN index), so it is left out of the comparison."""
    if type_ == "column":
        return not (name == PG_COLUMN and getattr(getattr(obj, "table", None), "name", None) == "titles")
    return not (name and type_ in ("table", "index") and name.startswith(SEARCH_OBJECT_PREFIXES))


# create_all (tests, the demo database) gets the same index as the migrations.
event.listen(Title.__table__, "after_create", lambda _table, connection, **_kw: create_search_index(connection))
event.listen(Title.__table__, "before_drop", lambda _table, connection, **_kw: drop_search_index(connection))


# -- queries --------------------------------------------------------------------------------

_TERM = re.compile(r"([^\W_]+)(\*?)")
_ISBN_CHARS = re.compile(r"[\s-]")
_ISBN10 = re.compile(r"^\d{9}[\dX]$")
_ISBN13 = re.compile(r"^97[89]\d{10}$")


@dataclasses.dataclass(frozen=True)
class Term:
    word: str
    prefix: bool = False  # "hobb*": any word starting so


def query_terms(query: str) -> list[Term]:
    """The words of a query, lower-cased, every operator and quote of the search syntax dropped;
    a trailing ``*`` on a word of MIN_PREFIX letters or more asks for a prefix match."""
    return [Term(word[:MAX_TERM_LENGTH], bool(star) and len(word) >= MIN_PREFIX)
            for word, star in _TERM.findall(query.lower())][:MAX_TERMS]


def isbn_candidates(query: str) -> list[str]:
    """The forms an ISBN query may be stored under (as typed, bare, ISBN-10 and ISBN-13),
    or an empty list if the query is not an ISBN."""
    bare = _ISBN_CHARS.sub("", query.strip()).upper()
    forms: list[str] = []
    if _ISBN10.match(bare):
        forms = [bare, _isbn13_from_10(bare)]
    elif _ISBN13.match(bare):
        forms = [bare] + ([_isbn10_from_13(bare)] if bare.startswith("978") else [])
    if not forms:
        return []
    typed = query.strip()
    return list(dict.fromkeys([typed, *forms]))


def _isbn13_from_10(isbn10: str) -> str:
    body = "978" + isbn10[:9]
    total = sum(int(digit) * (1 if i % 2 == 0 else 3) for i, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _isbn10_from_13(isbn13: str) -> str:
    body = isbn13[3:12]
    check = (11 - sum(int(digit) * (10 - i) for i, digit in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


@dataclasses.dataclass(frozen=True)
class Availability:
    available: int = 0
    total: int = 0


@dataclasses.dataclass(frozen=True)
class TitleCard:
    """What a result list shows of a title (plain columns: cheaper than loading the record)."""

    id: int
    title: str
    subtitle: str | None
    author: str | None
    publication_year: int | None
    series: str | None

    @property
    def full_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title


@dataclasses.dataclass(frozen=True)
class TitleHit:
    title: TitleCard
    availability: Availability


@dataclasses.dataclass(frozen=True)
class SearchResult:
    query: str
    page: int
    per_page: int
    hits: list[TitleHit]
    total: int  # counted up to MATCH_CAP
    total_is_capped: bool = False
    timed_out: bool = False
    by_isbn: bool = False

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_shown(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.hits else 0

    @property
    def last_shown(self) -> int:
        return (self.page - 1) * self.per_page + len(self.hits)

    @property
    def message(self) -> str | None:
        """What to tell the person searching, beyond the hits themselves."""
        if self.timed_out:
            return "The search took too long. Please refine it: add a word, or use a more specific one."
        if not self.query.strip():
            return None
        if self.total_is_capped:
            return (f"More than {MATCH_CAP:,} titles match; only the first {MATCH_CAP:,} are ranked. "
                    "Add a word to narrow the search.")
        if not self.total:
            return "No titles match your search."
        return None


class SearchTimedOut(Exception):
    """The search query ran past its time budget and was cancelled by the database."""


def search_titles(session: Session, query: str, page: int = 1, per_page: int = DEFAULT_PER_PAGE,
                  budget_ms: int = TIME_BUDGET_MS) -> SearchResult:
    """Titles matching every word of ``query`` (or the ISBN it is), best first, one page of
    them with their availability. Never raises for what a person types; a query that runs past
    ``budget_ms`` comes back empty with ``timed_out`` set."""
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, min(int(page), math.ceil(MATCH_CAP / per_page)))
    empty = SearchResult(query=query, page=page, per_page=per_page, hits=[], total=0)
    try:
        ids, total, by_isbn = _run_within_budget(
            session, budget_ms, lambda: _matching_ids(session, query, page, per_page))
    except SearchTimedOut:
        return dataclasses.replace(empty, timed_out=True)
    if not ids:
        return dataclasses.replace(empty, total=min(total, MATCH_CAP), total_is_capped=total > MATCH_CAP,
                                   by_isbn=by_isbn)
    cards = {row[0]: TitleHit(TitleCard(*row[:6]), Availability(int(row[7]), int(row[6])))
             for row in session.execute(_cards_statement(), {"title_ids": ids})}
    hits = [cards[i] for i in ids if i in cards]
    return SearchResult(query=query, page=page, per_page=per_page, hits=hits, total=min(total, MATCH_CAP),
                        total_is_capped=total > MATCH_CAP, by_isbn=by_isbn)


@functools.cache
def _cards_statement():
    """The page's titles with their copy counts, in one query (built once)."""
    title_ids = bindparam("title_ids", expanding=True)
    busy = _busy_items(select(Item.id).where(Item.title_id.in_(title_ids)))
    shown = (Title.id, Title.title, Title.subtitle, Title.author, Title.publication_year, Title.series)
    return (
        select(*shown, *_copy_counts(busy))
        .outerjoin(Item, and_(Item.title_id == Title.id, Item.withdrawn.is_(False)))
        .outerjoin(ItemType, ItemType.code == Item.item_type_code)
        .outerjoin(busy, busy.c.item_id == Item.id)
        .where(Title.id.in_(title_ids))
        .group_by(*shown)
    )


def _matching_ids(session: Session, query: str, page: int, per_page: int) -> tuple[list[int], int, bool]:
    """One page of matching title ids, best first, and how many match (up to MATCH_CAP + 1)."""
    offset = (page - 1) * per_page
    candidates = isbn_candidates(query)
    if candidates:
        ids = _isbn_matches(session, candidates)
        if ids:
            return ids[offset:offset + per_page], len(ids), True
    terms = query_terms(query)
    if not terms:
        return [], 0, False
    matches, params = _MATCHERS.get(session.get_bind().dialect.name, _like_matches)(terms)
    params["cap"] = MATCH_CAP + 1
    rows = session.execute(text(
        f"SELECT id, count(*) OVER () AS total FROM ({matches}) AS matches "
        "ORDER BY score, id LIMIT :limit OFFSET :offset"), {**params, "limit": per_page, "offset": offset}).all()
    if rows:
        return [row.id for row in rows], rows[0].total, False
    if page == 1:
        return [], 0, False
    return [], session.execute(text(f"SELECT count(*) FROM ({matches}) AS matches"), params).scalar_one(), False


def _isbn_matches(session: Session, candidates: list[str]) -> list[int]:
    """Titles whose ISBN column holds one of ``candidates``, or whose index holds it as a word
    (an ISBN stored with hyphens or a qualifier such as "(pbk.)")."""
    found = set(session.scalars(select(Title.id).where(Title.isbn.in_(candidates))))
    bare = [c.lower() for c in candidates if _ISBN10.match(c) or _ISBN13.match(c)]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        indexed = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q LIMIT :cap")
        params = {"q": " OR ".join(f'isbn : "{c}"' for c in bare)}
    elif dialect == "postgresql":
        indexed = text(f"SELECT id FROM titles WHERE {PG_COLUMN} @@ to_tsquery('simple', :q) LIMIT :cap")
        params = {"q": " | ".join(bare)}
    else:
        indexed = select(Title.id).where(func.lower(func.replace(Title.isbn, "-", "")).in_(bare)).limit(MATCH_CAP + 1)
        params = {}
    found |= set(session.scalars(indexed, {**params, "cap": MATCH_CAP + 1} if params else None))
    return sorted(found)[:MATCH_CAP + 1]


# Each matcher gives the SQL of (id, score) rows matching every term, lower score better, at most
# :cap of them: ranking and counting then cost at most MATCH_CAP + 1 rows, however vague the query.

def _sqlite_matches(terms: list[Term]) -> tuple[str, dict]:
    # Each word quoted: FTS5 then reads it as a plain string, never as an operator.
    query = " ".join(f'"{t.word}"' + ("*" if t.prefix else "") for t in terms)
    return (f"SELECT rowid AS id, bm25({FTS_TABLE}, {_FTS_WEIGHTS}) AS score FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH :q LIMIT :cap", {"q": query})


def _postgresql_matches(terms: list[Term]) -> tuple[str, dict]:
    # Words are letters and digits only, so each quoted lexeme is valid tsquery syntax.
    query = " & ".join(f"'{t.word}'" + (":*" if t.prefix else "") for t in terms)
    return (f"SELECT titles.id, -ts_rank({PG_COLUMN}, query) AS score "
            "FROM titles, to_tsquery('simple', :q) AS query "
            f"WHERE {PG_COLUMN} @@ query LIMIT :cap", {"q": query})


def _like_matches(terms: list[Term]) -> tuple[str, dict]:
    clauses, params = [], {}
    for n, term in enumerate(terms):
        params[f"t{n}"] = f"%{term.word}%"
        clauses.append("(" + " OR ".join(f"lower(coalesce({column}, '')) LIKE :t{n}"
                                         for column in ("title", "subtitle", "author", "series", "subjects")) + ")")
    return f"SELECT id, 0 AS score FROM titles WHERE {' AND '.join(clauses)} LIMIT :cap", params


_MATCHERS = {"sqlite": _sqlite_matches, "postgresql": _postgresql_matches}


def _run_within_budget(session: Session, budget_ms: int, work):
    """Run ``work`` so that the database cancels it after ``budget_ms``, leaving the caller's
    transaction usable: on PostgreSQL ``statement_timeout`` inside a savepoint (a cancelled
    statement aborts the transaction up to it); on SQLite a progress handler (an interrupted
    SELECT leaves the transaction as it was)."""
    connection = session.connection()
    dialect = connection.dialect.name
    try:
        if dialect == "postgresql":
            return _within_statement_timeout(connection, budget_ms, work)
        if dialect == "sqlite":
            raw = connection.connection.dbapi_connection
            deadline = time.monotonic() + budget_ms / 1000
            # Checked every SQLITE_CHECK_EVERY virtual-machine steps (about a millisecond): each
            # check takes the GIL, so checking often would serialise concurrent searches.
            raw.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_CHECK_EVERY)
            try:
                return work()
            finally:
                raw.set_progress_handler(None, 0)
        return work()
    except OperationalError as error:
        if _is_cancellation(error):
            raise SearchTimedOut(str(error.orig)) from error
        raise


def _within_statement_timeout(connection: Connection, budget_ms: int, work):
    # Savepoint and timeout share a round trip each way (a search is a handful of round trips).
    connection.exec_driver_sql(f"SAVEPOINT carrel_search; SET LOCAL statement_timeout = {max(1, int(budget_ms))}")
    try:
        result = work()
    except BaseException:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT carrel_search; RELEASE SAVEPOINT carrel_search")
        raise
    connection.exec_driver_sql("SET LOCAL statement_timeout TO DEFAULT; RELEASE SAVEPOINT carrel_search")
    return result


def _is_cancellation(error: OperationalError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "57014" or "interrupted" in str(error.orig).lower()


# -- availability ---------------------------------------------------------------------------

class ShelfStatus(enum.StrEnum):
    AVAILABLE = "available"
    CHECKED_OUT = "checked out"
    LOST = "lost"
    IN_TRANSIT = "in transit"
    ON_HOLD = "on hold"
    DAMAGED = "damaged"
    NOT_FOR_LOAN = "not for loan"


# Holds that keep their item off the shelf for everyone else.
_HOLDING_AN_ITEM = (HoldStatus.PULLED, HoldStatus.IN_TRANSIT, HoldStatus.LONG_WAITING)


def _busy_items(item_ids):
    """Ids among ``item_ids`` (a subquery) that are off the shelf: on loan, in transit, or kept
    for a hold. One UNION of index probes, so the cost follows the page, not the library."""
    return union(
        select(Loan.item_id).where(Loan.item_id.in_(item_ids)),
        select(ItemTransfer.item_id).where(ItemTransfer.item_id.in_(item_ids), ItemTransfer.arrived_at.is_(None),
                                           ItemTransfer.cancelled_at.is_(None)),
        select(Hold.item_id).where(Hold.item_id.in_(item_ids), Hold.status.in_(_HOLDING_AN_ITEM)),
    ).subquery("busy")


def _copy_counts(busy):
    """Copies counted (not withdrawn: the caller's join) and copies on the shelf and loanable."""
    on_shelf = and_(busy.c.item_id.is_(None), Item.lost == 0, Item.damaged.is_(False), Item.not_for_loan == 0,
                    ItemType.not_for_loan.is_(False))
    return func.count(Item.id), func.coalesce(func.sum(case((on_shelf, 1), else_=0)), 0)


@dataclasses.dataclass(frozen=True)
class Holding:
    """One copy as the OPAC shows it."""

    item: Item
    status: ShelfStatus
    due_at: Any = None  # the loan's due date when checked out


def holdings(session: Session, title: Title) -> list[Holding]:
    """The title's copies (not withdrawn) with their shelf status, in four queries."""
    items = session.scalars(
        select(Item).where(Item.title_id == title.id, Item.withdrawn.is_(False))
        .options(joinedload(Item.holding_library))
        .order_by(Item.home_library_code, Item.enumchron, Item.callnumber, Item.id)
    ).all()
    ids = [item.id for item in items]
    if not ids:
        return []
    due = {item_id: due_at for item_id, due_at in session.execute(
        select(Loan.item_id, Loan.due_at).where(Loan.item_id.in_(ids)))}
    moving = set(session.scalars(select(ItemTransfer.item_id).where(
        ItemTransfer.item_id.in_(ids), ItemTransfer.arrived_at.is_(None), ItemTransfer.cancelled_at.is_(None))))
    held = set(session.scalars(select(Hold.item_id).where(Hold.item_id.in_(ids), Hold.status.in_(_HOLDING_AN_ITEM))))
    return [Holding(item, shelf_status(item, item.id in due, item.id in moving, item.id in held), due.get(item.id))
            for item in items]


def shelf_status(item: Item, on_loan: bool, in_transit: bool, on_hold: bool) -> ShelfStatus:
    """The one status a patron most needs to know, most blocking first."""
    if item.is_lost:
        return ShelfStatus.LOST
    if on_loan:
        return ShelfStatus.CHECKED_OUT
    if in_transit:
        return ShelfStatus.IN_TRANSIT
    if on_hold:
        return ShelfStatus.ON_HOLD
    if item.damaged:
        return ShelfStatus.DAMAGED
    if item.is_not_for_loan:
        return ShelfStatus.NOT_FOR_LOAN
    return ShelfStatus.AVAILABLE
