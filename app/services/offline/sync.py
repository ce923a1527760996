"""What a workstation downloads to work offline, page by page: patrons, items and open loans,
with only the fields offline work needs (no addresses, birth dates, contacts or passwords).

Pages are keyed by id (``after`` the last id of the previous page), not by offset: rows added
or removed during a download never shift a page, unlike Koha's ``LIMIT page*5000``."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models import AccountLine, Item, Loan, Patron, PatronCategory, PatronRestriction, Title
from app.services.fines import money
from app.services.settings import get_preference

PAGE_SIZE = 2000
MAX_PAGE_SIZE = 5000
TITLE_LENGTH = 120
KINDS = ("patrons", "items", "loans")


@dataclass(frozen=True)
class SyncPage:
    rows: list[dict[str, Any]]
    after: int | None  # pass as ``after`` for the next page; None: this was the last page

    def as_json(self, kind: str, total: int | None = None) -> dict[str, Any]:
        return {"kind": kind, "rows": self.rows, "after": self.after, "finished": self.after is None,
                "total": total}


def _page(rows: list[dict[str, Any]], ids: list[int], limit: int) -> SyncPage:
    return SyncPage(rows, ids[-1] if len(ids) == limit else None)


def _fines(session: Session, patron_ids: list[int]) -> dict[int, Decimal]:
    if not patron_ids:
        return {}
    stmt = (select(AccountLine.patron_id, func.sum(AccountLine.amount_outstanding))
            .where(AccountLine.patron_id.in_(patron_ids)).group_by(AccountLine.patron_id))
    return {pid: Decimal(total or 0) for pid, total in session.execute(stmt)}


def _restrictions(session: Session, patron_ids: list[int], today: dt.date) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not patron_ids:
        return found
    stmt = (select(PatronRestriction.patron_id, PatronRestriction.restriction_type, PatronRestriction.expiration)
            .where(PatronRestriction.patron_id.in_(patron_ids))
            .where((PatronRestriction.expiration.is_(None)) | (PatronRestriction.expiration >= today)))
    for pid, kind, until in session.execute(stmt):
        found.setdefault(pid, []).append(f"Restricted ({kind.value})" + (f" until {until.isoformat()}" if until else ""))
    return found


def patron_blocks(row: Any, restrictions: list[str], balance: Decimal, limit: Decimal, today: dt.date) -> list[str]:
    """What would stop this patron borrowing at the desk, in words (offline nothing is enforced)."""
    blocks = []
    if row.dateexpiry is not None and row.dateexpiry < today:
        blocks.append(f"Card expired on {row.dateexpiry.isoformat()}")
    blocks.extend(restrictions)
    if row.card_lost:
        blocks.append("Card reported lost")
    if row.gonenoaddress:
        blocks.append("Gone, no address")
    if balance > limit:
        blocks.append(f"Owes {money(balance)} (over {money(limit)})")
    return blocks


def patrons_page(session: Session, after: int = 0, limit: int = PAGE_SIZE, *, with_ids: bool = False) -> SyncPage:
    """Patrons with a card number: card, name, category, library, expiry, blocks, fines total
    (and the internal id for the desktop tool's file, ``with_ids``)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    stmt = (select(Patron.id, Patron.cardnumber, Patron.surname, Patron.firstname, Patron.preferred_name,
                   Patron.category_code, PatronCategory.description, Patron.library_code, Patron.dateexpiry,
                   Patron.card_lost, Patron.gonenoaddress)
            .join(PatronCategory, PatronCategory.code == Patron.category_code)
            .where(Patron.cardnumber.is_not(None), Patron.id > after).order_by(Patron.id).limit(limit))
    rows = list(session.execute(stmt))
    ids = [r.id for r in rows]
    today = clock.today()
    balances = _fines(session, ids)
    restrictions = _restrictions(session, ids, today)
    limit_owed = get_preference(session, "noissuescharge")
    out = []
    for r in rows:
        balance = balances.get(r.id, Decimal(0))
        out.append({
            "card": r.cardnumber, "surname": r.surname, "firstname": r.preferred_name or r.firstname or "",
            "category": r.category_code, "category_name": r.description, "library": r.library_code,
            "expiry": r.dateexpiry.isoformat() if r.dateexpiry else None,
            "blocks": patron_blocks(r, restrictions.get(r.id, []), balance, limit_owed, today),
            "fines": money(balance),
            **({"id": r.id} if with_ids else {}),
        })
    return _page(out, ids, limit)


def items_page(session: Session, after: int = 0, limit: int = PAGE_SIZE) -> SyncPage:
    """Items: barcode, title, author, call number, holding and home library, type, statuses."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    stmt = (select(Item.id, Item.barcode, Title.title, Title.author, Item.callnumber, Item.holding_library_code,
                   Item.home_library_code, Item.item_type_code, Item.withdrawn, Item.lost, Item.damaged,
                   Item.not_for_loan)
            .join(Title, Title.id == Item.title_id).where(Item.id > after).order_by(Item.id).limit(limit))
    rows = list(session.execute(stmt))
    out = []
    for r in rows:
        status = [word for word, on in (("withdrawn", r.withdrawn), ("lost", r.lost), ("damaged", r.damaged),
                                        ("not for loan", r.not_for_loan)) if on]
        out.append({"barcode": r.barcode, "title": (r.title or "")[:TITLE_LENGTH], "author": r.author or "",
                    "callnumber": r.callnumber or "", "library": r.holding_library_code, "home": r.home_library_code,
                    "type": r.item_type_code, "status": status})
    return _page(out, [r.id for r in rows], limit)


def loans_page(session: Session, after: int = 0, limit: int = PAGE_SIZE) -> SyncPage:
    """Open loans: barcode, the borrower's card number, when it was lent and when it is due."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    stmt = (select(Loan.id, Item.barcode, Patron.cardnumber, Loan.issued_at, Loan.due_at)
            .join(Item, Item.id == Loan.item_id).join(Patron, Patron.id == Loan.patron_id)
            .where(Loan.id > after).order_by(Loan.id).limit(limit))
    rows = list(session.execute(stmt))
    out = [{"barcode": r.barcode, "card": r.cardnumber, "issued": r.issued_at.isoformat(),
            "due": clock.local(r.due_at).date().isoformat()} for r in rows]
    return _page(out, [r.id for r in rows], limit)


PAGES: dict[str, Callable[..., SyncPage]] = {"patrons": patrons_page, "items": items_page, "loans": loans_page}


def sync_totals(session: Session) -> dict[str, int]:
    """How many rows each kind will have (for the progress bars)."""
    return {
        "patrons": session.scalar(select(func.count()).select_from(Patron).where(Patron.cardnumber.is_not(None))) or 0,
        "items": session.scalar(select(func.count()).select_from(Item)) or 0,
        "loans": session.scalar(select(func.count()).select_from(Loan)) or 0,
    }
