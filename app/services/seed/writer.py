"""Buffered bulk inserts: rows are collected per table and written per table in dependency order
(parents before children), so foreign keys hold at every flush.

Writing goes straight to the driver on the session's own connection (same transaction): COPY on
PostgreSQL, ``executemany`` on SQLite, each value converted exactly as the column's SQLAlchemy
type would store it (UTC timestamps, ISO dates, plain strings for enums). Other databases use
SQLAlchemy Core ``insert(table)`` executemany. Python-side scalar defaults of columns a row leaves
out are filled in, since a raw insert would not apply them."""
from __future__ import annotations

import datetime as dt
import enum
import time
from collections import Counter
from typing import Any, Callable

from sqlalchemy import JSON, Date, Numeric, Table, insert, text
from sqlalchemy.orm import Session

from app.models import Base
from app.models.base import StrEnumType, UTCDateTime

CHUNK_ROWS = 5_000
UTC = dt.timezone.utc


def _utc_naive(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the seed's own values: skip the conversion
        return value.isoformat(" ", "microseconds")[:26]
    return _utc_naive(value).isoformat(" ", "microseconds")


def _enum_text(value: Any) -> str | None:
    return value.value if isinstance(value, enum.Enum) else value


def _converter(column, dialect: str) -> Callable[[Any], Any] | None:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _sqlite_datetime if dialect == "sqlite" else _utc_naive
    if isinstance(kind, StrEnumType):
        return _enum_text
    if isinstance(kind, Date) and dialect == "sqlite":
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, Numeric) and dialect == "sqlite":
        return lambda v: None if v is None else float(v)
    if isinstance(kind, JSON):
        raise TypeError(f"{column}: JSON columns are not bulk-inserted by the seed")
    return None


class _RawInserter:
    """One prepared INSERT (or COPY) per table and key set, on the session's DBAPI connection."""

    def __init__(self, session: Session):
        self.session = session
        dialect = session.get_bind().dialect
        self.dialect = dialect.name
        self.quote = dialect.identifier_preparer.quote
        self._plans: dict[tuple[Table, tuple[str, ...]], tuple] = {}
        self._configured: set[int] = set()

    def _dbapi(self):
        """The session's connection, fetched per flush: a checkpoint commit may change it."""
        dbapi = self.session.connection().connection.dbapi_connection
        if self.dialect == "sqlite" and id(dbapi) not in self._configured:
            dbapi.execute("PRAGMA cache_size = -262144")  # 256 MB of page cache for index upkeep
            self._configured.add(id(dbapi))
        return dbapi

    def _plan(self, table: Table, keys: tuple[str, ...]):
        plan = self._plans.get((table, keys))
        if plan is None:
            defaults = {}
            for column in table.columns:
                if column.name not in keys and column.default is not None and column.default.is_scalar:
                    defaults[column.name] = column.default.arg
            names = list(keys) + list(defaults)
            converters = [_converter(table.c[name], self.dialect) for name in names]
            columns = ", ".join(self.quote(n) for n in names)
            if self.dialect == "postgresql":
                sql = f"COPY {self.quote(table.name)} ({columns}) FROM STDIN"
            else:
                sql = f"INSERT INTO {self.quote(table.name)} ({columns}) VALUES ({', '.join('?' * len(names))})"
            plan = self._plans[(table, keys)] = (sql, keys, tuple(defaults.values()), converters)
        return plan

    def insert(self, table: Table, rows: list[dict]) -> None:
        sql, keys, defaults, converters = self._plan(table, tuple(rows[0]))
        pairs = [(i, c) for i, c in enumerate(converters) if c is not None]
        width = len(keys)
        tuples = []
        for row in rows:
            if len(row) != width:
                raise ValueError(f"{table.name}: rows of one chunk must have the same keys ({sorted(row)})")
            values = [row[k] for k in keys]
            values.extend(defaults)
            for i, convert in pairs:
                values[i] = convert(values[i])
            tuples.append(values)
        dbapi = self._dbapi()
        if self.dialect == "postgresql":
            with dbapi.cursor() as cursor, cursor.copy(sql) as copy:
                for values in tuples:
                    copy.write_row(values)
        else:
            dbapi.executemany(sql, tuples)


class BulkWriter:
    def __init__(self, session: Session, *, checkpoint: Callable[[], None] | None = None,
                 chunk_rows: int = CHUNK_ROWS):
        self.session = session
        self.checkpoint = checkpoint
        self.chunk_rows = chunk_rows
        self.counts: Counter[str] = Counter()
        self._pending: dict[Table, list[dict]] = {}
        self._buffered = 0
        self._order = {table: i for i, table in enumerate(Base.metadata.sorted_tables)}
        dialect = session.get_bind().dialect.name
        self._raw = _RawInserter(session) if dialect in ("sqlite", "postgresql") else None
        # PostgreSQL plans its foreign-key checks once per connection: planned against a table
        # it believes empty, each check scans the whole parent table, and loading grows
        # quadratic (M took over half an hour). Statistics refreshed whenever a table has
        # doubled keep those plans on the primary key index.
        self._analyzed_at: dict[Table, int] | None = {} if dialect == "postgresql" else None

    def add(self, table: Table, row: dict) -> None:
        rows = self._pending.get(table)
        if rows is None:
            rows = self._pending[table] = []
        rows.append(row)
        self._buffered += 1

    def ready(self) -> None:
        """Called at points where every buffered child has its parent buffered too."""
        if self._buffered >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        self.session.flush()  # ORM work first (rules, preferences)
        raw = self._raw
        for table in sorted(self._pending, key=self._order.__getitem__):
            rows = self._pending[table]
            if not rows:
                continue
            if raw is not None:
                raw.insert(table, rows)
            else:
                self.session.execute(insert(table), rows)
            self.counts[table.name] += len(rows)
        self._pending.clear()
        self._refresh_statistics()
        self._buffered = 0
        if self.checkpoint is not None:
            self.checkpoint()


    def _refresh_statistics(self) -> None:
        if self._analyzed_at is None:
            return
        for table in self._order:
            written = self.counts[table.name]
            if written and written >= 2 * self._analyzed_at.get(table, 0):
                self.session.execute(text(f"ANALYZE {self._raw.quote(table.name)}"))
                self._analyzed_at[table] = written


class Progress:
    """Prints a phase's progress about every tenth of the way, and a line when it ends."""

    def __init__(self, echo: Callable[[str], None], label: str, total: int, counts: Counter[str] | None = None):
        self.echo, self.label, self.total = echo, label, max(total, 1)
        self.started = time.perf_counter()
        self.before = Counter(counts or {})
        self._next = self.total // 10 if total >= 100_000 else self.total + 1

    def tick(self, done: int) -> None:
        if done >= self._next:
            self.echo(f"  {self.label}: {done:,}/{self.total:,} ({time.perf_counter() - self.started:.1f} s)")
            self._next += self.total // 10

    def done(self, counts: Counter[str], tables: tuple[str, ...]) -> None:
        rows = ", ".join(f"{counts[t] - self.before[t]:,} {t}" for t in tables)
        self.echo(f"{self.label}: {rows} ({time.perf_counter() - self.started:.1f} s)")
