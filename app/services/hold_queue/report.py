"""The single holds report (replacing Koha's "holds to pull" and "holds queue"): for one library,
every copy to pull from its shelves with where it must go, what is in transit to it and what is
waiting on its pickup shelf; and the row actions (pulled, in transit, cannot find)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app import clock
from app.models import Hold, HoldStatus, Item, Library, Patron, Title
from app.services.holds.queue import lock_title, positions_for, queue_changed

from .filling import _hold_arrives
from .planning import fill_title

MISSING = 4  # Koha's LOST authorised value 4: "Missing"
SORTS = {
    "location": lambda r: (r.shelving_location or "", r.callnumber or "", r.title.casefold(), r.barcode),
    "callnumber": lambda r: (r.callnumber or "", r.title.casefold(), r.barcode),
    "title": lambda r: (r.title.casefold(), r.enumchron or "", r.barcode),
    "destination": lambda r: (r.destination_name, r.shelving_location or "", r.callnumber or ""),
}
CSV_COLUMNS = ("shelving_location", "callnumber", "title", "author", "enumchron", "barcode", "position",
               "destination", "patron", "hold_id")


class ReportRefusal(Exception):
    """A row action that no longer applies (the hold moved on meanwhile)."""


@dataclass(frozen=True)
class PullRow:
    hold_id: int
    title_id: int
    title: str
    author: str | None
    callnumber: str | None
    enumchron: str | None
    barcode: str
    shelving_location: str | None
    position: int
    destination_code: str
    destination_name: str
    patron: str
    status: HoldStatus
    waiting_since: dt.datetime | None = None
    pickup_deadline: dt.date | None = None

    @property
    def location(self) -> str:
        """The shelving location to group by ("" for none: a copy may have none)."""
        return self.shelving_location or ""

    @property
    def long_waiting(self) -> bool:
        return self.status is HoldStatus.LONG_WAITING or (
            self.pickup_deadline is not None and self.pickup_deadline < clock.today())


def _rows(session: Session, where, positions: bool = True) -> list[PullRow]:
    pickup = aliased(Library)
    stmt = (select(Hold.id, Hold.title_id, Title.title, Title.author, Item.callnumber, Item.enumchron, Item.barcode,
                   Item.shelving_location, Hold.pickup_library_code, pickup.name, Patron.surname, Patron.firstname,
                   Patron.cardnumber, Hold.status, Hold.waiting_since, Hold.pickup_deadline)
            .join(Title, Title.id == Hold.title_id).join(Item, Item.id == Hold.allocated_item_id)
            .join(pickup, pickup.code == Hold.pickup_library_code).outerjoin(Patron, Patron.id == Hold.patron_id)
            .where(*where))
    raw = session.execute(stmt).all()
    ranks = positions_for(session, {row[1] for row in raw}) if positions and raw else {}
    return [PullRow(hold_id=r[0], title_id=r[1], title=r[2], author=r[3], callnumber=r[4], enumchron=r[5],
                    barcode=r[6], shelving_location=r[7], position=ranks.get(r[0], 0), destination_code=r[8],
                    destination_name=r[9] or r[8],
                    patron=", ".join(p for p in (r[10], r[11]) if p) + (f" ({r[12]})" if r[12] else "") if r[10] or r[12]
                    else "anonymised", status=r[13], waiting_since=r[14], pickup_deadline=r[15])
            for r in raw]


def to_pull(session: Session, library_code: str, sort: str = "location") -> list[PullRow]:
    """Copies on this library's shelves chosen for holds (ready to pull), in walking order."""
    rows = _rows(session, (Hold.status == HoldStatus.READY_TO_PULL, Hold.source_library_code == library_code))
    return sorted(rows, key=SORTS.get(sort, SORTS["location"]))


def in_transit_to(session: Session, library_code: str) -> list[PullRow]:
    rows = _rows(session, (Hold.status == HoldStatus.IN_TRANSIT, Hold.pickup_library_code == library_code),
                 positions=False)
    return sorted(rows, key=SORTS["title"])


def waiting_at(session: Session, library_code: str) -> list[PullRow]:
    """On this library's pickup shelf; long-waiting holds (past their pickup deadline) first."""
    rows = _rows(session, (Hold.status.in_((HoldStatus.PULLED, HoldStatus.LONG_WAITING)),
                           Hold.pickup_library_code == library_code, Item.holding_library_code == library_code),
                 positions=False)
    return sorted(rows, key=lambda r: (not r.long_waiting, r.pickup_deadline or dt.date.max, r.title.casefold()))


def _ready(session: Session, hold: Hold, library_code: str) -> None:
    lock_title(session, hold.title_id)
    if hold.status is not HoldStatus.READY_TO_PULL or hold.source_library_code != library_code:
        raise ReportRefusal("This hold is no longer waiting to be pulled here; the list was refreshed.")


def mark_pulled(session: Session, hold: Hold, library_code: str, actor_id: int | None) -> str:
    """The copy is in hand: at its pickup library it waits on the shelf (patron told); elsewhere
    it is pulled, to be sent."""
    _ready(session, hold, library_code)
    now = clock.now()
    if hold.pickup_library_code == library_code:
        _hold_arrives(session, hold, hold.allocated_item, library_code, actor_id, now)
        message = "waiting on the pickup shelf"
    else:
        hold.transition(HoldStatus.PULLED, actor_id=actor_id, reason=f"pulled from the shelf at {library_code}", at=now)
        message = f"pulled; send it to {hold.pickup_library_code}"
    queue_changed(hold.title)
    session.flush()
    return message


def mark_in_transit(session: Session, hold: Hold, library_code: str, actor_id: int | None) -> str:
    """The copy leaves for the pickup library (a transfer is opened)."""
    lock_title(session, hold.title_id)
    if hold.status not in (HoldStatus.READY_TO_PULL, HoldStatus.PULLED) or hold.source_library_code != library_code:
        raise ReportRefusal("This hold is no longer waiting to be pulled here; the list was refreshed.")
    if hold.pickup_library_code == library_code:
        raise ReportRefusal("The copy is already at its pickup library: mark it pulled.")
    if hold.status is HoldStatus.PULLED:
        hold.transition(HoldStatus.IN_TRANSIT, actor_id=actor_id, reason=f"sent from {library_code}")
        from app.models import ItemTransfer, TransferReason
        session.add(ItemTransfer(item_id=hold.allocated_item_id, from_library_code=library_code,
                                 to_library_code=hold.pickup_library_code, reason=TransferReason.HOLD,
                                 sent_at=clock.now()))
    else:
        _hold_arrives(session, hold, hold.allocated_item, library_code, actor_id, clock.now())
    queue_changed(hold.title)
    session.flush()
    return f"in transit to {hold.pickup_library_code}"


def cannot_find(session: Session, hold: Hold, library_code: str, actor_id: int | None) -> str:
    """The copy is not on the shelf: it is marked missing and the hold is reconsidered at once
    (another copy chosen if one can fill it)."""
    _ready(session, hold, library_code)
    now = clock.now()
    item = hold.allocated_item
    item.lost, item.lost_on = MISSING, now
    hold.transition(HoldStatus.QUEUED, actor_id=actor_id, reason=f"copy {item.barcode} not found on the shelf", at=now)
    hold.allocated_item_id, hold.allocated_item, hold.source_library_code = None, None, None
    session.flush()
    fill_title(session, hold.title_id, actor_id=actor_id, at=now, lock=False)
    queue_changed(hold.title)
    if hold.status is HoldStatus.READY_TO_PULL:
        return f"copy {item.barcode} marked missing; another copy was chosen at {hold.source_library_code}"
    return f"copy {item.barcode} marked missing; the hold waits for another copy"


def _safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def pull_list_csv(rows: list[PullRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow([_safe(v) for v in (r.shelving_location, r.callnumber, r.title, r.author, r.enumchron,
                                            r.barcode, r.position, r.destination_code, r.patron, r.hold_id)])
    return out.getvalue()
