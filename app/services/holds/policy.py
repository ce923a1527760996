"""May this patron place this hold? The rules matrix (library x patron category x item type),
the preferences and the patron's standing, judged the way Koha's ``CanItemBeReserved`` and
``CanBookBeReserved`` do: a title-level hold is allowed when at least one copy in its scope
allows it.

Which library's rules apply is the ``ReservesControlBranch`` preference (the patron's home
library by default, or the item's home library). Limits are counted from the database each
time, so ``place_hold`` can re-check them under its locks."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from app import clock
from app.models import Hold, Item, ItemTransfer, Library, Loan, Patron, Title
from app.models.hold import FOUND_STATUSES, LIVE_STATUSES
from app.services import fines
from app.services.rules import effective_rules
from app.services.settings import get_preference

from . import refusals as R
from . import scopes

HOLD_RULES = ("reservesallowed", "holds_per_record", "holds_per_record_volumes", "holds_per_day", "onshelfholds",
              "opacitemholds", "holdallowed", "hold_fulfillment_policy")
STAFF_CHANNELS = frozenset({"staff", "api", "sip2"})


@dataclass(frozen=True)
class HoldRequest:
    """What is asked: a copy (item-level), a volume (items with that enumchron), or any copy."""

    item: Item | None = None
    volume: str | None = None
    pickup_library_code: str | None = None

    @property
    def volume_key(self) -> str | None:
        """The volume the hold is for: the one asked, the chosen copy's, or None (any)."""
        if self.volume:
            return self.volume
        return self.item.enumchron if self.item is not None else None


def volume_of(hold: Hold) -> str | None:
    """The volume an existing hold is for (see HoldRequest.volume_key)."""
    if hold.volume:
        return hold.volume
    return hold.item.enumchron if hold.item_id is not None and hold.item is not None else None


def is_holdable(item: Item) -> bool:
    """A copy that could ever fill a hold: not withdrawn, lost or not for loan."""
    return not item.withdrawn and not item.is_lost and not item.is_not_for_loan


@dataclass(frozen=True)
class ItemChoice:
    item: Item
    refusal: R.HoldRefused | None
    available: bool


class PlacementPolicy:
    """Everything needed to judge one patron's holds on one title, read once: the copies, which
    are on loan, in transit or set aside, the patron's holds, and the rules per triple."""

    def __init__(self, session: Session, patron: Patron, title: Title, *, channel: str = "opac",
                 on: dt.date | None = None):
        self.session, self.patron, self.title, self.channel = session, patron, title, channel
        self.on = on or clock.today()
        self.items: list[Item] = list(session.scalars(
            select(Item).where(Item.title_id == title.id, Item.withdrawn.is_(False))
            .order_by(func.coalesce(Item.enumchron, ""), Item.id)))
        ids = [item.id for item in self.items]
        self.loans: dict[int, int] = {item_id: patron_id for item_id, patron_id in session.execute(
            select(Loan.item_id, Loan.patron_id).where(Loan.item_id.in_(ids)))} if ids else {}
        self.moving: set[int] = set(session.scalars(select(ItemTransfer.item_id).where(
            ItemTransfer.item_id.in_(ids), ItemTransfer.arrived_at.is_(None),
            ItemTransfer.cancelled_at.is_(None)))) if ids else set()
        self.set_aside: set[int] = set(session.scalars(select(Hold.allocated_item_id).where(
            Hold.allocated_item_id.in_(ids), Hold.status.in_(FOUND_STATUSES)))) if ids else set()
        self.title_holds: list[Hold] = list(session.scalars(
            select(Hold).where(Hold.patron_id == patron.id, Hold.title_id == title.id,
                               Hold.status.in_(LIVE_STATUSES)).options(joinedload(Hold.item))))
        self.live_count: int = session.scalar(select(func.count(Hold.id)).where(
            Hold.patron_id == patron.id, Hold.status.in_(LIVE_STATUSES))) or 0
        start = dt.datetime.combine(self.on, dt.time.min, tzinfo=clock.timezone())
        self.placed_today: int = session.scalar(
            scopes.placed_between(patron.id, start, start + dt.timedelta(days=1))) or 0
        self.control = get_preference(session, "ReservesControlBranch")
        self._rules: dict[tuple[str, str], dict[str, Any]] = {}
        self._standing: list[R.HoldRefused | None] = []

    # --- facts ---------------------------------------------------------------------------------
    def rules_for(self, item: Item | None) -> dict[str, Any]:
        library = self.patron.library_code if item is None or self.control == "PatronLibrary" else item.home_library_code
        item_type = item.item_type_code if item is not None else None
        key = (library, item_type or "*")
        if key not in self._rules:
            self._rules[key] = effective_rules(self.session, library, self.patron.category_code, item_type, HOLD_RULES)
        return self._rules[key]

    def is_available(self, item: Item) -> bool:
        """On the shelf and free to borrow now."""
        return (is_holdable(item) and not item.damaged and item.id not in self.loans
                and item.id not in self.moving and item.id not in self.set_aside)

    @property
    def volumes(self) -> list[str]:
        return sorted({item.enumchron for item in self.items if item.enumchron and is_holdable(item)})

    def scope(self, request: HoldRequest) -> list[Item]:
        """The holdable copies that could fill the hold asked."""
        if request.item is not None:
            return [request.item] if is_holdable(request.item) else []
        if request.volume:
            return [item for item in self.items if item.enumchron == request.volume and is_holdable(item)]
        return [item for item in self.items if is_holdable(item)]

    def item_choice(self) -> str:
        """Whether OPAC patrons may ("yes"), must ("force") or may not ("no") choose a copy."""
        policies = {self.rules_for(item)["opacitemholds"] for item in self.items if is_holdable(item)}
        if len(policies) == 1:
            return policies.pop()
        return "yes" if policies else self.rules_for(None)["opacitemholds"]

    # --- judgements ----------------------------------------------------------------------------
    def patron_refusal(self) -> R.HoldRefused | None:
        """The patron's standing (Koha's can_place_holds), judged once."""
        if not self._standing:
            self._standing.append(self._standing_refusal())
        return self._standing[0]

    def _standing_refusal(self) -> R.HoldRefused | None:
        patron = self.patron
        if patron.is_expired(self.on):
            return R.PatronExpired()
        if patron.is_restricted(self.on):
            return R.PatronRestricted()
        if patron.card_lost:
            return R.CardLost()
        if patron.gonenoaddress:
            return R.BadAddress()
        owed, limit = fines.balance(self.session, patron), get_preference(self.session, "maxoutstanding")
        if owed > limit:
            return R.Debt(f"The patron owes {fines.money(owed)}, more than the {fines.money(limit)} "
                          "allowed for placing holds.")
        return None

    def pickup_refusal(self, pickup_library_code: str | None) -> R.HoldRefused | None:
        library = self.session.get(Library, pickup_library_code) if pickup_library_code else None
        if library is None or not library.is_pickup_location:
            return R.LibraryNotPickupLocation()
        return None

    def request_refusal(self, request: HoldRequest) -> R.HoldRefused | None:
        """What was asked, whatever the rules: never overridden."""
        if self.channel == "opac" and not get_preference(self.session, "OPACHoldRequests"):
            return R.OpacHoldsDisabled()
        refusal = self.pickup_refusal(request.pickup_library_code)
        if refusal is not None:
            return refusal
        if request.item is not None:
            if request.item.title_id != self.title.id:
                return R.ItemNotOfTitle()
            if any(hold.item_id == request.item.id for hold in self.title_holds):
                return R.ItemAlreadyOnHold()
        if request.volume and request.volume not in self.volumes:
            return R.VolumeNotFound()
        if self.channel == "opac":
            if request.item is not None and self.rules_for(request.item)["opacitemholds"] == "no":
                return R.ItemHoldsNotAllowed()
            scope = self.scope(request)
            if request.item is None and scope and all(self.rules_for(i)["opacitemholds"] == "force" for i in scope):
                return R.ItemHoldRequired()
        return None

    def item_refusal(self, item: Item, request: HoldRequest, scope: list[Item]) -> R.HoldRefused | None:
        """The rules for one copy, in Koha's order of concern."""
        rules = self.rules_for(item)
        if item.damaged and not get_preference(self.session, "AllowHoldsOnDamagedItems"):
            return R.Damaged()
        if self.loans.get(item.id) == self.patron.id and not get_preference(self.session, "AllowHoldsOnPatronsPossessions"):
            return R.AlreadyPossession()
        refusal = self._limit_refusal(rules, request)
        if refusal is not None:
            return refusal
        if rules["holdallowed"] == "not_allowed":
            return R.NotReservable("The library's rules allow no holds on these copies.")
        if rules["holdallowed"] == "from_home_library" and item.home_library_code != self.patron.library_code:
            return R.CannotReserveFromOtherBranches()
        policy = rules["hold_fulfillment_policy"]
        if (policy == "homebranch" and request.pickup_library_code != item.home_library_code) or (
                policy == "holdingbranch" and request.pickup_library_code != item.holding_library_code):
            return R.PickupNotAllowed()
        shelf = rules["onshelfholds"]
        if shelf == "if_this_unavailable" and self.is_available(item):
            return R.OnShelfHoldsNotAllowed()
        if shelf == "if_all_unavailable" and any(self.is_available(other) for other in scope):
            return R.OnShelfHoldsNotAllowed()
        return None

    def _limit_refusal(self, rules: dict[str, Any], request: HoldRequest) -> R.HoldRefused | None:
        """The counted limits: holds on this title (same volume, different volumes), holds
        placed today, holds in total. A limit of 0 means no holds at all."""
        wanted = request.volume_key
        mine = [volume_of(hold) for hold in self.title_holds]
        same_volume = sum(1 for volume in mine if volume == wanted)
        other_volumes = {volume for volume in mine if volume != wanted}
        per_record, per_volumes = rules["holds_per_record"], rules["holds_per_record_volumes"]
        if per_record == 0 or per_volumes == 0:
            return R.NoReservesAllowed()
        if same_volume >= per_record:
            return R.TooManyHoldsForThisRecord(limit=per_record)
        if same_volume == 0 and len(other_volumes) >= per_volumes:
            return R.TooManyVolumesForThisRecord(limit=per_volumes)
        per_day = rules["holds_per_day"]
        if per_day is not None and self.placed_today >= per_day:
            return R.TooManyReservesToday(limit=per_day)
        allowed = rules["reservesallowed"]
        if allowed == 0:
            return R.NoReservesAllowed()
        if allowed is not None and self.live_count >= allowed:
            return R.TooManyReserves(limit=allowed)
        return None

    def policy_refusal(self, request: HoldRequest) -> R.HoldRefused | None:
        """The patron's standing, then the rules copy by copy: allowed when one copy allows."""
        refusal = self.patron_refusal()
        if refusal is not None:
            return refusal
        scope = self.scope(request)
        if not scope:
            return R.NotReservable("No copy of this title can be put on hold." if request.item is None
                                   else "This copy cannot be put on hold (withdrawn, lost or not for loan).")
        first: R.HoldRefused | None = None
        for item in scope:
            refusal = self.item_refusal(item, request, scope)
            if refusal is None:
                return None
            first = first or refusal
        return first

    def refusal(self, request: HoldRequest, *, override: bool = False) -> R.HoldRefused | None:
        """Why this hold may not be placed, or None. ``override`` (staff, AllowHoldPolicyOverride
        on) sets the policy refusals aside, never the ones about what was asked."""
        refusal = self.request_refusal(request)
        if refusal is not None or override:
            return refusal
        return self.policy_refusal(request)

    def choices(self, pickup_library_code: str | None) -> list[ItemChoice]:
        """Each holdable copy with why it could not be held on its own (None: it can). What
        does not depend on the copy (the patron, the pickup library) is judged once."""
        general = self.request_refusal(HoldRequest(pickup_library_code=pickup_library_code))
        if isinstance(general, R.ItemHoldRequired):
            general = None
        general = general or self.patron_refusal()
        held = {hold.item_id for hold in self.title_holds if hold.item_id is not None}
        result = []
        for item in self.items:
            if not is_holdable(item):
                continue
            refusal = general
            if refusal is None and item.id in held:
                refusal = R.ItemAlreadyOnHold()
            if refusal is None and self.channel == "opac" and self.rules_for(item)["opacitemholds"] == "no":
                refusal = R.ItemHoldsNotAllowed()
            if refusal is None:
                request = HoldRequest(item=item, pickup_library_code=pickup_library_code)
                refusal = self.item_refusal(item, request, [item])
            result.append(ItemChoice(item=item, refusal=refusal, available=self.is_available(item)))
        return result
