"""Filling: each queued hold, front first (suspended holds skipped), is matched with an
available copy the rules allow; the hold becomes ready_to_pull with the copy and its library.

With ``UseTransportCostMatrix`` on, the cheapest source library wins; libraries of equal cost
are chosen among at random from a source seeded by the hold (so a per-title update and a full
rebuild choose alike, and tests are reproducible); a dearer group is used only when no library
of the cheaper one can fill the hold; blocked pairs are never used. Where a copy is counts as its
holding library, or its home library when ``AutomaticItemReturn`` is on (it is going home).

Queue jump (``LocalHoldsPriority``): a copy at a pickup library goes first to a hold picked up
there within the top ``LocalHoldsPriorityTopN`` positions; the history says it jumped."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldStatus, Item, ItemTransfer, TransferReason
from app.models.hold import LIVE_STATUSES
from app.services import notices
from app.services.holds.jobs import pickup_deadline_for
from app.services.holds.queue import lock_title, queue_changed
from app.services.holds.scopes import QUEUE_ORDER
from app.services.rules import effective_rules
from app.services.settings import get_preference

from .costs import CostMatrix, load_matrix
from .rows import PlannedHold, PlannedItem

FILL_RULES = ["holdallowed", "hold_fulfillment_policy"]
NO_COPIES = "no_copies"
NONE_AVAILABLE = "no_copy_available"
NOT_ALLOWED = "not_allowed_by_rules"
TRANSPORT = "transport_blocked"
REASONS = {
    NO_COPIES: "The title has no copy that could fill this hold.",
    NONE_AVAILABLE: "Every copy that could fill this hold is on loan, moving or set aside.",
    NOT_ALLOWED: "The circulation rules let no available copy fill this hold.",
    TRANSPORT: "The transport cost matrix lets no available copy travel to the pickup library.",
}


def reason_text(code: str | None) -> str | None:
    return REASONS.get(code, code) if code else None


def _hold_wants(hold: PlannedHold, item: PlannedItem) -> bool:
    if hold.item_id is not None and hold.item_id != item.id:
        return False
    if hold.item_type_code is not None and hold.item_type_code != item.item_type_code:
        return False
    return hold.volume is None or hold.volume == item.enumchron


def _holdable(item: PlannedItem) -> bool:
    return not item.withdrawn and not item.is_lost and not item.is_not_for_loan and not item.damaged


class Filler:
    """The settings, matrix and rules read once for one run (one title or a whole rebuild)."""

    def __init__(self, session: Session, *, seed: int | str = 0, matrix: CostMatrix | None = None):
        self.session, self.seed = session, seed
        self.use_matrix = bool(get_preference(session, "UseTransportCostMatrix"))
        self.auto_return = bool(get_preference(session, "AutomaticItemReturn"))
        self.jump = bool(get_preference(session, "LocalHoldsPriority"))
        self.top_n = int(get_preference(session, "LocalHoldsPriorityTopN") or 0)
        self.control = get_preference(session, "ReservesControlBranch")
        self.matrix = (matrix or load_matrix(session)) if self.use_matrix else None
        if self.matrix is not None and not self.matrix.costs and not self.matrix.blocked:
            self.matrix = None  # Koha: an empty matrix runs as if it were off
        self._rules: dict[tuple, dict[str, Any]] = {}

    def location(self, item: PlannedItem) -> str:
        return item.home_library_code if self.auto_return else item.holding_library_code

    def rules(self, hold: PlannedHold, item: PlannedItem) -> dict[str, Any]:
        patron = hold.patron
        library = patron.library_code if patron is not None and self.control == "PatronLibrary" else item.home_library_code
        key = (library, patron.category_code if patron else None, item.item_type_code)
        if key not in self._rules:
            self._rules[key] = effective_rules(self.session, key[0], key[1], key[2], FILL_RULES)
        return self._rules[key]

    def allowed(self, hold: PlannedHold, item: PlannedItem, location: str) -> bool:
        rules = self.rules(hold, item)
        if rules["holdallowed"] == "not_allowed":
            return False
        if rules["holdallowed"] != "from_any_library" and (
                hold.patron is None or hold.patron.library_code != item.home_library_code):
            return False
        policy = rules["hold_fulfillment_policy"]
        if policy == "homebranch" and hold.pickup_library_code != item.home_library_code:
            return False
        return not (policy == "holdingbranch" and hold.pickup_library_code != location)

    def cost(self, location: str, pickup: str) -> Decimal | None:
        if self.matrix is None:
            return Decimal(0) if location == pickup else Decimal(1)
        return self.matrix.cost(location, pickup)

    def choose(self, hold: PlannedHold, items: list[PlannedItem], *, at: str | None = None) -> tuple[PlannedItem | None, str | None]:
        """The copy for ``hold`` among ``items`` (or the reason none fits). ``at`` fixes where
        the copies are (check-in: the desk's library)."""
        wanted = [item for item in items if _hold_wants(hold, item)]
        if not wanted:
            return None, NONE_AVAILABLE
        allowed = [(item, at or self.location(item)) for item in wanted]
        allowed = [(item, where) for item, where in allowed if self.allowed(hold, item, where)]
        if not allowed:
            return None, NOT_ALLOWED
        groups: dict[Decimal, dict[str, list[PlannedItem]]] = {}
        for item, where in allowed:
            cost = self.cost(where, hold.pickup_library_code)
            if cost is not None:
                groups.setdefault(cost, {}).setdefault(where, []).append(item)
        if not groups:
            return None, TRANSPORT
        libraries = groups[min(groups)]
        rng = random.Random(f"{self.seed}:{hold.id}")
        library = rng.choice(sorted(libraries))
        return min(libraries[library], key=lambda item: item.id), None


def _allocate(hold: Hold, item: Item, reason: str, actor_id: int | None, at: dt.datetime) -> None:
    hold.transition(HoldStatus.READY_TO_PULL, actor_id=actor_id, reason=reason, at=at)
    hold.allocated_item_id = item.id
    hold.allocated_item = item
    hold.source_library_code = item.holding_library_code
    hold.unfilled_reason = None


def check_in_takes_over(session: Session) -> bool:
    """Whether a checked-in copy may take a ready-to-pull hold from the copy still on a shelf
    for it: with ``RealTimeHoldsQueue`` on, where the copy left behind goes to the next hold in
    the same transaction. Off, the front hold keeps its copy and the checked-in one serves the
    next hold now rather than waiting for the rebuild job."""
    return bool(get_preference(session, "RealTimeHoldsQueue"))


def _ordered(session: Session, title_id: int, day: dt.date) -> tuple[list[Hold], dict[int, int]]:
    """The holds a checked-in copy may go to, in queue order: queued, or (``check_in_takes_over``)
    ready to pull with another copy still on its shelf; and every live hold's position."""
    live = list(session.scalars(select(Hold).where(Hold.title_id == title_id, Hold.status.in_(LIVE_STATUSES))
                                .order_by(*QUEUE_ORDER)))
    positions = {hold.id: n for n, hold in enumerate(live, start=1)}
    takeable = (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL) if check_in_takes_over(session) else (HoldStatus.QUEUED,)
    return [hold for hold in live if hold.status in takeable
            and (hold.not_needed_after is None or hold.not_needed_after >= day)], positions


def _hold_arrives(session: Session, hold: Hold, item: Item, library_code: str, actor_id: int | None,
                  at: dt.datetime, note: str | None = None) -> str | None:
    """The allocated copy is here: waiting on the shelf at the pickup library, or sent on
    (a transfer slip). Returns the library it must go to, or None. ``note`` is added to the
    history's reason."""
    suffix = f": {note}" if note else ""
    if hold.pickup_library_code == library_code:
        hold.transition(HoldStatus.PULLED, actor_id=actor_id, reason=f"checked in at {library_code}{suffix}", at=at)
        hold.waiting_since = at
        hold.pickup_deadline = pickup_deadline_for(session, hold, clock.local(at).date())
        notices.hold_ready(session, hold)  # HOLD, queued in this transaction
        return None
    if hold.status is not HoldStatus.IN_TRANSIT:
        hold.transition(HoldStatus.IN_TRANSIT, actor_id=actor_id, reason=f"sent from {library_code}{suffix}", at=at)
    session.add(ItemTransfer(item_id=item.id, from_library_code=library_code,
                             to_library_code=hold.pickup_library_code, reason=TransferReason.HOLD, sent_at=at))
    return hold.pickup_library_code


# Asked at every check-in, in one statement: the hold the copy was set aside for, if any, and
# whether any live hold waits on its title at all. Most check-ins find neither, and then need
# neither the title's lock nor its queue.
_ALLOCATED_OR_WAITED_FOR = select(
    select(Hold.id).where(Hold.allocated_item_id == bindparam("item_id"),
                          Hold.status.in_((HoldStatus.READY_TO_PULL, HoldStatus.IN_TRANSIT)))
    .order_by(Hold.id).limit(1).scalar_subquery(),
    exists().where(Hold.title_id == bindparam("title_id"), Hold.status.in_(LIVE_STATUSES)))


def trap_checked_in_item(session: Session, item: Item, library_code: str, *, actor_id: int | None = None,
                         at: dt.datetime | None = None) -> tuple[Hold, str | None] | None:
    """A checked-in item fills a hold by the same rules as filling: the hold it was set aside for,
    or the first hold it may go to from here, queued or (``check_in_takes_over``) ready to pull
    with another copy, which is freed. Returns (hold, transfer destination)."""
    at = at or clock.now()
    allocated_id, title_waited_for = session.execute(
        _ALLOCATED_OR_WAITED_FOR, {"item_id": item.id, "title_id": item.title_id}).one()
    if allocated_id is not None:
        allocated = session.get(Hold, allocated_id)
        queue_changed(lock_title(session, allocated.title_id))
        return allocated, _hold_arrives(session, allocated, item, library_code, actor_id, at)
    if not _holdable(item) or not title_waited_for:
        return None
    title = lock_title(session, item.title_id)
    filler = Filler(session)
    queued, positions = _ordered(session, item.title_id, clock.local(at).date())
    front = queued[0] if queued else None
    local: list[Hold] = []
    if filler.jump:
        local = [hold for hold in queued if positions[hold.id] <= filler.top_n
                 and hold.pickup_library_code == library_code]
        queued = local + [hold for hold in queued if hold not in local]
    for hold in queued:
        chosen, _reason = filler.choose(hold, [item], at=library_code)
        if chosen is None:
            continue
        jumped = hold in local and hold is not front
        reason = (f"jumped the queue from position {positions[hold.id]}: checked in at the pickup library"
                  if jumped else f"checked in at {library_code}")
        note = None
        if hold.status is HoldStatus.READY_TO_PULL:
            note = _take_over(hold, item, reason if jumped else None)
        else:
            _allocate(hold, item, reason, actor_id, at)
        hold.source_library_code = library_code
        queue_changed(title)
        return hold, _hold_arrives(session, hold, item, library_code, actor_id, at, note)
    return None


def _take_over(hold: Hold, item: Item, jumped: str | None) -> str:
    """A ready-to-pull hold takes the copy in hand; the copy chosen for it stays on its shelf,
    free for the next hold. The note its history keeps."""
    left = hold.allocated_item
    hold.allocated_item_id, hold.allocated_item = item.id, item
    hold.unfilled_reason = None
    instead = (f"copy {item.barcode} fills it instead of copy {left.barcode}, left on the shelf at "
               f"{left.holding_library_code}") if left is not None else f"copy {item.barcode} fills it"
    return f"{jumped}; {instead}" if jumped else instead
