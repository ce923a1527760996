"""Staff holds pages: find a title or a patron, a title's queue (reorder, cancel, suspend,
resume, bring back, change pickup), a patron's holds (with suspend all), placing a hold for a
patron, and a hold's detail with its history. Every view needs the ``holds`` permission.

Row actions answer htmx with the piece they change (the whole queue, whose positions move, or
the patron's list); without JavaScript the same forms post and redirect back with a message."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from app.extensions import db
from app.models import Hold, HoldHistory, HoldStatus, Item, Patron, Title
from app.services import holds
from app.services.circulation import search_patrons
from app.services.holds import describe
from app.services.search import search_titles
from app.services.settings import get_preference

from ...access import staff_required
from .lines import QueueLine, queue_lines

bp = Blueprint("holds", __name__)

RESULTS_SHOWN = 20
FINISHED_SHOWN = 30
PART_SIZE = 50  # queue rows per <tbody>


@dataclass
class HoldRow:
    """A hold as a staff row shows it, with what may be done to it now."""

    hold: Hold | QueueLine
    position: int | None
    urls: dict[str, str] = field(default_factory=dict)  # queue rows: each action's URL

    @property
    def status_text(self) -> str:
        return describe.status_text(self.hold)

    @property
    def badge(self) -> str:
        return describe.badge_class(self.hold)

    @property
    def ends_on(self):
        return describe.expiry_date(self.hold)

    @property
    def movable(self) -> bool:
        return self.hold.status in (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.SUSPENDED)

    @property
    def may_suspend(self) -> bool:
        return self.hold.status in (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.LONG_WAITING)

    @property
    def may_resume(self) -> bool:
        return self.hold.status is HoldStatus.SUSPENDED

    @property
    def may_cancel(self) -> bool:
        return self.hold.is_live

    @property
    def may_bring_back(self) -> bool:
        return self.hold.status in (HoldStatus.EXPIRED, HoldStatus.CANCELLED)

    @property
    def may_change_pickup(self) -> bool:
        return self.hold.status in (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL, HoldStatus.SUSPENDED)


def _with_people(stmt):
    """The holds with what their rows show: the patron (without the library and category a
    patron usually brings along), the pickup library and the copy asked for."""
    return stmt.options(joinedload(Hold.patron).options(lazyload(Patron.library), lazyload(Patron.category)),
                        joinedload(Hold.pickup_library), joinedload(Hold.item))


class HoldUrls:
    """Every hold action's URL, built once per page by ``url_for`` with a stand-in id and then
    given each hold's id: a queue of 500 rows would otherwise spend most of its time routing."""

    STAND_IN = 987654321
    ENDPOINTS = {"move": "holds.move_hold", "suspend": "holds.suspend_hold", "resume": "holds.resume_hold",
                 "cancel": "holds.cancel_hold", "bring_back": "holds.bring_back_hold",
                 "details": "holds.hold_history"}

    def __init__(self) -> None:
        self._patterns = {name: url_for(endpoint, hold_id=self.STAND_IN) for name, endpoint in self.ENDPOINTS.items()}
        self._patron = url_for("holds.patron_holds", patron_id=self.STAND_IN)

    def for_hold(self, hold_id: int, patron_id: int | None) -> dict[str, str]:
        stand_in, own = str(self.STAND_IN), str(hold_id)
        urls = {name: pattern.replace(stand_in, own) for name, pattern in self._patterns.items()}
        if patron_id is not None:
            urls["patron"] = self._patron.replace(stand_in, str(patron_id))
        return urls


@dataclass
class QueuePart:
    """A run of consecutive queue rows, swapped as one ``<tbody>``: a move answers with only
    the parts whose positions changed."""

    number: int
    rows: list[HoldRow]


def _parts(lines: list[QueueLine], first_part: int = 0) -> list[QueuePart]:
    start, urls = first_part * PART_SIZE, HoldUrls()
    rows = [HoldRow(line, start + n, urls.for_hold(line.id, line.patron_id)) for n, line in enumerate(lines, start=1)]
    return [QueuePart(first_part + n, rows[i:i + PART_SIZE]) for n, i in enumerate(range(0, len(rows), PART_SIZE))]


def queue_context(title: Title, *, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """A title's queue as its page shows it: every live hold in order (in parts), and the
    holds that can be brought back."""
    lines = queue_lines(db.session, title.id)
    finished = list(db.session.scalars(_with_people(holds.scopes.returnable_for_title(title.id))
                                       .limit(FINISHED_SHOWN)).unique())
    return {"title": title, "length": len(lines), "parts": _parts(lines),
            "finished": [HoldRow(hold, None) for hold in finished], "message": message, "error": error,
            "where": "title"}


def moved_context(title: Title, move: holds.QueueMove, message: str) -> dict[str, Any]:
    """What a move changed: the parts of the queue holding the positions between where the
    hold was and where it is now."""
    first, last = (min(move.changed) - 1) // PART_SIZE, (max(move.changed) - 1) // PART_SIZE
    lines = queue_lines(db.session, title.id, offset=first * PART_SIZE, limit=(last - first + 1) * PART_SIZE)
    return {"title": title, "parts": _parts(lines, first), "message": message, "error": None}


def patron_context(patron: Patron, *, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    """A patron's live holds with their positions, and their recently finished ones."""
    live = list(db.session.scalars(holds.scopes.for_patron(patron.id)
                                   .options(joinedload(Hold.title), joinedload(Hold.pickup_library),
                                            joinedload(Hold.item))).unique())
    positions = holds.positions_for(db.session, [hold.title_id for hold in live])
    finished = list(db.session.scalars(
        select(Hold).where(Hold.patron_id == patron.id, Hold.status.in_(
            (HoldStatus.EXPIRED, HoldStatus.CANCELLED, HoldStatus.FILLED)))
        .options(joinedload(Hold.title)).order_by(Hold.finished_at.desc(), Hold.id.desc()).limit(FINISHED_SHOWN)))
    return {"patron": patron, "rows": [HoldRow(hold, positions.get(hold.id)) for hold in live],
            "finished": [HoldRow(hold, None) for hold in finished], "message": message, "error": error,
            "resume_date": get_preference(db.session, "AutoResumeSuspendedHolds"), "where": "patron",
            "any_suspended": any(hold.status is HoldStatus.SUSPENDED for hold in live)}


def find_titles(query: str) -> list[Title]:
    """An item barcode or a title id (exact), else catalogue search words."""
    text = query.strip()
    if not text:
        return []
    item = db.session.scalar(select(Item).where(Item.barcode == text))
    if item is not None:
        return [item.title]
    if text.isdigit() and len(text) < 10 and (title := db.session.get(Title, int(text))) is not None:
        return [title]
    return [hit.title for hit in search_titles(db.session, text, per_page=RESULTS_SHOWN).hits]


@bp.get("/")
@staff_required("holds")
def index():
    """Find the title whose queue to manage, or the patron whose holds to manage."""
    title_query = request.args.get("title", "")[:200]
    patron_query = request.args.get("patron", "")[:200]
    titles = find_titles(title_query)
    patrons = list(db.session.scalars(search_patrons(patron_query).limit(RESULTS_SHOWN))) if patron_query.strip() else []
    lengths = {title.id: holds.queue_length(db.session, title.id) for title in titles}
    return render_template("staff/holds/index.html", title_query=title_query, patron_query=patron_query,
                           titles=titles, patrons=patrons, lengths=lengths)


@bp.get("/titles/<int:title_id>")
@staff_required("holds")
def title_queue(title_id: int):
    title = db.session.get(Title, title_id) or abort(404)
    return render_template("staff/holds/title.html", **queue_context(title))


@bp.get("/patrons/<int:patron_id>")
@staff_required("holds")
def patron_holds(patron_id: int):
    patron = db.session.get(Patron, patron_id) or abort(404)
    return render_template("staff/holds/patron.html", **patron_context(patron))


@bp.get("/<int:hold_id>/history")
@staff_required("holds")
def hold_history(hold_id: int):
    """One hold: its details, what can be done to it, and every status change (who, when, from,
    to, why)."""
    hold = db.session.scalar(_with_people(select(Hold).where(Hold.id == hold_id))) or abort(404)
    entries = list(db.session.scalars(select(HoldHistory).where(HoldHistory.hold_id == hold.id)
                                      .order_by(HoldHistory.at, HoldHistory.id)))
    actors = {p.id: p for p in db.session.scalars(select(Patron).where(
        Patron.id.in_({e.actor_id for e in entries if e.actor_id})))}
    return render_template("staff/holds/history.html", hold=hold, row=HoldRow(hold, holds.position_of(db.session, hold)),
                           entries=entries, actors=actors, pickup_libraries=holds.pickup_libraries(db.session),
                           resume_date=get_preference(db.session, "AutoResumeSuspendedHolds"), where="detail")


from . import actions, place, report  # noqa: E402,F401  (routes register themselves on bp)
