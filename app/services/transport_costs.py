"""Editing the transport cost matrix: one cell (a pair of libraries) is a cost, a measure of
difficulty (a number >= 0), and a "block transport" toggle that leaves the stored cost alone.

Bad input (empty, negative, not a number) is refused with a message and never stored, neither
as "blocked" nor as zero (Koha's editor stores such a cell as blocked with cost 0; Carrel does
not). Each save is one transaction: the cost and the toggle are written together or not at all."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Library, TransportCost
from app.services.audit import record_audit

MAX_COST = Decimal("999999.99")  # Numeric(8, 2)


class CostRefused(ValueError):
    """A cost that cannot be stored; the message is shown next to the cell."""


def parse_cost(raw: str | None) -> Decimal:
    text = (raw or "").strip()
    if not text:
        raise CostRefused("Enter a cost (0 or more).")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CostRefused(f"“{text[:20]}” is not a number.") from None
    if not value.is_finite():
        raise CostRefused(f"“{text[:20]}” is not a number.")
    if value < 0:
        raise CostRefused("A cost cannot be negative.")
    if value > MAX_COST:
        raise CostRefused(f"A cost is at most {MAX_COST}.")
    return value.quantize(Decimal("0.01"))


def matrix(session: Session) -> tuple[list[Library], dict[tuple[str, str], TransportCost]]:
    libraries = list(session.scalars(select(Library).order_by(Library.code)))
    costs = {(c.from_library_code, c.to_library_code): c for c in session.scalars(select(TransportCost))}
    return libraries, costs


def set_cell(session: Session, from_code: str, to_code: str, raw_cost: str | None, blocked: bool,
             actor_id: int | None) -> TransportCost:
    """Validate and store one cell (raises CostRefused, LookupError). The caller commits."""
    if session.get(Library, from_code) is None or session.get(Library, to_code) is None:
        raise LookupError("no such library")
    if from_code == to_code:
        raise CostRefused("A library sends nothing to itself.")
    cost = parse_cost(raw_cost)
    row = session.get(TransportCost, (from_code, to_code))
    if row is None:
        row = TransportCost(from_library_code=from_code, to_library_code=to_code, cost=cost, blocked=blocked)
        session.add(row)
    else:
        row.cost, row.blocked = cost, blocked
    record_audit(session, actor_id=actor_id, channel="staff", module="admin", action="transport_cost",
                 object_type="transport_cost", object_id=f"{from_code}->{to_code}",
                 info={"cost": str(cost), "blocked": blocked})
    session.flush()
    return row
