"""The pending offline actions as staff review them: which to show, and each row's patron and
title (looked up for a page of rows at once, never per row in a template)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Item, OfflineStatus, Patron, PendingOfflineOperation, Title

OPEN_STATUSES = (OfflineStatus.PENDING, OfflineStatus.FAILED)
VIEWS = ("open", "applied")


def operations_in_view(view: str = "open"):
    """Open actions (pending and failed) in the order they will be applied; applied ones
    newest first."""
    if view == "applied":
        return (select(PendingOfflineOperation).where(PendingOfflineOperation.status == OfflineStatus.APPLIED)
                .order_by(PendingOfflineOperation.processed_at.desc(), PendingOfflineOperation.id.desc()))
    return (select(PendingOfflineOperation).where(PendingOfflineOperation.status.in_(OPEN_STATUSES))
            .order_by(PendingOfflineOperation.occurred_at, PendingOfflineOperation.id))


def status_counts(session: Session) -> dict[str, int]:
    counts = dict(session.execute(select(PendingOfflineOperation.status, func.count())
                                  .group_by(PendingOfflineOperation.status)).all())
    return {status.value: counts.get(status, 0) for status in OfflineStatus}


@dataclass(frozen=True)
class OperationRow:
    op: PendingOfflineOperation
    patron_name: str | None
    title: str | None


def describe_operations(session: Session, operations: Sequence[PendingOfflineOperation]) -> list[OperationRow]:
    """Each action with the name of the patron its card belongs to and the title of its item
    (None when the card or barcode is unknown)."""
    cards = sorted({op.cardnumber for op in operations if op.cardnumber})
    barcodes = sorted({op.barcode for op in operations if op.barcode})
    names: dict[str, str] = {}
    if cards:
        for patron in session.scalars(select(Patron).where(Patron.cardnumber.in_(cards))):
            names[patron.cardnumber] = patron.full_name
    titles: dict[str, str] = {}
    if barcodes:
        titles = dict(session.execute(select(Item.barcode, Title.title).join(Title, Title.id == Item.title_id)
                                      .where(Item.barcode.in_(barcodes))).all())
    return [OperationRow(op, names.get(op.cardnumber or ""), titles.get(op.barcode or "")) for op in operations]
