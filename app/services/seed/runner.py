"""The seed, in order: reference data, demo accounts, patrons, catalogue with circulation, holds,
fees, then the finish (LibraryName, sequences, the completion record).

A failed seed never looks complete: demo and S run in one transaction (a failure leaves the
database empty); M and L commit per chunk, and the completion record (an audit entry, module
SEED, action COMPLETE) is written last, in the final transaction. ``seed_status`` tells an empty,
a seeded, a half-seeded and a real (never seeded) database apart."""
from __future__ import annotations

import datetime as dt
import gc
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.models import AuditEntry, Base, Library, Loan, LoanHistory, Patron
from app.services.settings import set_preference

from .accounts import seed_manual_fees
from .catalogue import seed_catalogue
from .demo import ADMIN_ID, seed_demo_accounts
from .holds import seed_holds
from .patrons import seed_patrons
from .reference import seed_reference
from .sizes import Size
from .state import SeedState
from .writer import BulkWriter

LIBRARY_NAME = "Centerville Public Library"
MARKER_MODULE, MARKER_ACTION = "SEED", "COMPLETE"

EMPTY, COMPLETE, INCOMPLETE, NOT_SEEDED = "empty", "complete", "incomplete", "not seeded"


@dataclass
class SeedResult:
    size: str
    seed: int
    seconds: float
    counts: dict[str, int]


def seed_status(session: Session) -> str:
    if session.scalar(select(func.count()).select_from(Library)) == 0:
        return EMPTY
    marker = session.scalar(select(AuditEntry.id).where(
        AuditEntry.module == MARKER_MODULE, AuditEntry.action == MARKER_ACTION).limit(1))
    if marker is not None:
        return COMPLETE
    admin = session.scalar(select(Patron.id).where(Patron.userid == "admin", Patron.id == ADMIN_ID))
    return INCOMPLETE if admin is not None else NOT_SEEDED


def seed_database(session: Session, size: Size, seed: int, *, echo: Callable[[str], None] = print,
                  checkpoint: Callable[[], None] | None = None) -> SeedResult:
    """Fill an empty, migrated database. ``checkpoint`` (the caller's commit) is called after
    every chunk for sizes that checkpoint; the caller commits the final transaction."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived row dicts, no cycles: the collector would only rescan them
    try:
        return _seed(session, size, seed, echo, checkpoint)
    finally:
        if gc_was_enabled:
            gc.enable()


def _seed(session: Session, size: Size, seed: int, echo: Callable[[str], None],
          checkpoint: Callable[[], None] | None) -> SeedResult:
    started = time.perf_counter()
    state = SeedState(size=size, seed=seed, now=_anchor(), zone=clock.timezone())
    writer = BulkWriter(session, checkpoint=checkpoint if size.checkpoint else None)
    echo(f"seeding size {size.name} with seed {seed} ({'one commit per chunk' if size.checkpoint else 'one transaction'})")
    phase = time.perf_counter()
    seed_reference(session, writer, state)
    seed_demo_accounts(writer, state)
    writer.flush()
    echo(f"reference and demo accounts: {writer.counts['libraries']} libraries, "
         f"{writer.counts['patrons']} demo patrons, {writer.counts['items']} demo items "
         f"({time.perf_counter() - phase:.1f} s)")
    seed_patrons(writer, state, echo)
    seed_catalogue(writer, state, echo)
    seed_holds(writer, state, echo)
    seed_manual_fees(writer, state, echo)
    set_preference(session, "LibraryName", LIBRARY_NAME, actor_id=ADMIN_ID)
    _reset_sequences(session)
    counts = table_counts(session)
    session.add(AuditEntry(at=clock.now(), actor_id=ADMIN_ID, channel="cli", module=MARKER_MODULE,
                           action=MARKER_ACTION, object_type="database", object_id=size.name,
                           info={"size": size.name, "seed": seed, "counts": counts}))
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))
    return SeedResult(size.name, seed, time.perf_counter() - started, counts)


def _anchor() -> dt.datetime:
    """The seed's "now": the start of today, library-local. Generated times all lie before it,
    and the data depend only on the seed and the date, not on the time of day it runs."""
    local = dt.datetime.combine(clock.today(), dt.time(0, 0), tzinfo=clock.timezone())
    return local.astimezone(dt.timezone.utc)


def table_counts(session: Session) -> dict[str, int]:
    return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables}


def _reset_sequences(session: Session) -> None:
    """The seed chooses ids itself; sequences must then start after them. Open loans and loan
    history share one loan id space, so the next loan starts after both."""
    dialect = session.get_bind().dialect.name
    next_loan_id = max(session.scalar(select(func.max(Loan.id))) or 0,
                       session.scalar(select(func.max(LoanHistory.loan_id))) or 0) + 1
    if dialect == "sqlite":
        session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'loans'"))
        session.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES ('loans', :seq)"), {"seq": next_loan_id - 1})
        return
    if dialect != "postgresql":
        return
    session.execute(text("SELECT setval(pg_get_serial_sequence('loans', 'id'), :next, false)"), {"next": next_loan_id})
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
            continue
        column = pk[0].name
        if table.name == "loans":
            continue
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), COALESCE(MAX({column}), 0) + 1, false) "
            f"FROM {table.name}"), {"table": table.name, "column": column})
