"""The transport cost matrix as filling reads it (Koha's ``_get_transport_cost``): no row and
the same library costs 0; no row between two libraries, or a blocked pair, cannot be used."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import TransportCost


@dataclass
class CostMatrix:
    costs: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    blocked: set[tuple[str, str]] = field(default_factory=set)

    def cost(self, source: str, pickup: str) -> Decimal | None:
        """The cost of moving a copy from ``source`` to ``pickup``; None when it may not move."""
        if (source, pickup) in self.blocked:
            return None
        if source == pickup:
            return self.costs.get((source, pickup), Decimal(0))
        return self.costs.get((source, pickup))


def load_matrix(session: Session) -> CostMatrix:
    matrix = CostMatrix()
    for row in session.scalars(select(TransportCost)):
        key = (row.from_library_code, row.to_library_code)
        if row.blocked:
            matrix.blocked.add(key)
        else:
            matrix.costs[key] = Decimal(row.cost)
    return matrix
