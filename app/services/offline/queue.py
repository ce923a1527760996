"""Putting offline actions in the pending queue, each once: an action whose fingerprint is
already queued (pending, failed or applied) is counted as a duplicate and left alone."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import OfflineAction, OfflineStatus, Patron, PendingOfflineOperation

from .fingerprint import KOC_WORKSTATION, offline_fingerprint
from .koc import KocFile

QUEUED = "queued"
DUPLICATE = "duplicate"
LOOKUP_CHUNK = 500  # fingerprints per IN (...) query: well under every database's parameter limit


@dataclass(frozen=True)
class OfflineRecord:
    """One offline action as recorded by a workstation, before it is queued."""

    workstation: str
    source: str
    occurred_at: dt.datetime
    action: OfflineAction
    cardnumber: str | None = None
    barcode: str | None = None
    amount: Decimal | None = None
    due_at: dt.datetime | None = None
    line_number: int | None = None

    @property
    def fingerprint(self) -> str:
        return offline_fingerprint(self.workstation, self.occurred_at, self.action, self.cardnumber,
                                   self.barcode, self.amount)


@dataclass
class EnqueueResult:
    """What queuing did: the new rows, and for each record given, ``queued`` or ``duplicate``."""

    added: list[PendingOfflineOperation] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.statuses.count(DUPLICATE)


def records_from_koc(koc: KocFile, source: str) -> list[OfflineRecord]:
    """The well-formed lines of a .koc file as records (the file name and tool as their source)."""
    label = f"{source} ({koc.generator_label})"[:255]
    return [OfflineRecord(workstation=KOC_WORKSTATION, source=label, occurred_at=r.occurred_at, action=r.action,
                          cardnumber=r.cardnumber, barcode=r.barcode, amount=r.amount, line_number=r.line_number)
            for r in koc.records]


def _known_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(fingerprints), LOOKUP_CHUNK):
        chunk = fingerprints[start:start + LOOKUP_CHUNK]
        known.update(session.scalars(select(PendingOfflineOperation.fingerprint)
                                     .where(PendingOfflineOperation.fingerprint.in_(chunk))))
    return known


def _row(record: OfflineRecord, fingerprint: str, uploaded_by: Patron | None,
         library_code: str | None) -> PendingOfflineOperation:
    return PendingOfflineOperation(
        fingerprint=fingerprint, workstation=record.workstation[:80], source=record.source[:255],
        line_number=record.line_number, staff_userid=uploaded_by.userid if uploaded_by else None,
        library_code=library_code, occurred_at=record.occurred_at, action=record.action,
        cardnumber=record.cardnumber, barcode=record.barcode, amount=record.amount, due_at=record.due_at,
        status=OfflineStatus.PENDING, uploaded_by_id=uploaded_by.id if uploaded_by else None)


def enqueue_offline_operations(session: Session, records: Iterable[OfflineRecord], *,
                               uploaded_by: Patron | None = None,
                               library_code: str | None = None) -> EnqueueResult:
    """Queue each record not queued before (by fingerprint, also within this upload). Rows are
    flushed, not committed. Two uploads of one file at the same moment cannot both queue a
    line: the unique fingerprint refuses the second, which then counts it as a duplicate."""
    records = list(records)
    prints = [r.fingerprint for r in records]
    known = _known_fingerprints(session, sorted(set(prints)))
    result = EnqueueResult()
    fresh: list[PendingOfflineOperation] = []
    for record, fingerprint in zip(records, prints):
        if fingerprint in known:
            result.statuses.append(DUPLICATE)
            continue
        known.add(fingerprint)
        fresh.append(_row(record, fingerprint, uploaded_by, library_code))
        result.statuses.append(QUEUED)
    try:
        with session.begin_nested():
            session.add_all(fresh)
            session.flush()
        result.added = fresh
    except IntegrityError:  # another upload queued some of them meanwhile: one at a time
        result.added = _add_one_by_one(session, fresh, result, prints)
    return result


def _add_one_by_one(session: Session, rows: list[PendingOfflineOperation], result: EnqueueResult,
                    prints: list[str]) -> list[PendingOfflineOperation]:
    added = []
    for row in rows:
        values = {c.key: getattr(row, c.key) for c in PendingOfflineOperation.__table__.c if c.key != "id"}
        fresh = PendingOfflineOperation(**{key: value for key, value in values.items() if value is not None})
        try:
            with session.begin_nested():
                session.add(fresh)
                session.flush()
            added.append(fresh)
        except IntegrityError:
            result.statuses[prints.index(row.fingerprint)] = DUPLICATE
    return added


def delete_offline_operations(session: Session, ids: Iterable[int]) -> int:
    """Delete chosen actions that were not applied (applied ones are the record of what
    happened and stay); returns how many went."""
    from sqlalchemy import delete

    wanted = sorted(set(ids))
    deleted = 0
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        result = session.execute(delete(PendingOfflineOperation).where(
            PendingOfflineOperation.id.in_(wanted[start:start + LOOKUP_CHUNK]),
            PendingOfflineOperation.status != OfflineStatus.APPLIED).execution_options(synchronize_session="fetch"))
        deleted += result.rowcount
    return deleted
