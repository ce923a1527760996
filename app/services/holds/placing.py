"""Placing holds: title-level, on a volume, or on a copy, for the OPAC, the staff site and the
API alike. The checks run inside the placing transaction, under the patron's and the title's
row locks, so parallel attempts by one patron never pass a limit and parallel placements on one
title never share a position."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import Hold, HoldHistory, HoldStatus, Item, Library, Patron, Title
from app.services.activity import record_activity
from app.services.audit import record_audit
from app.services.settings import get_preference

from . import refusals as R
from .policy import STAFF_CHANNELS, HoldRequest, ItemChoice, PlacementPolicy
from .queue import lock_title, next_queue_key, queue_changed


def lock_patron(session: Session, patron_id: int) -> Patron:
    """The patron row re-read under ``SELECT ... FOR UPDATE``: one patron's placements take turns
    (the limits count holds on every title). Always taken before a title's lock."""
    stmt = (select(Patron).where(Patron.id == patron_id).with_for_update(of=Patron, key_share=True)
            .execution_options(populate_existing=True))
    return session.scalars(stmt).one()


def pickup_libraries(session: Session) -> list[Library]:
    """The libraries flagged as pickup locations, by name."""
    return list(session.scalars(select(Library).where(Library.is_pickup_location.is_(True)).order_by(Library.name)))


def may_choose_pickup(session: Session, channel: str) -> bool:
    """Staff always choose; patrons when ``OPACAllowUserToChooseBranch`` is on."""
    return channel != "opac" or bool(get_preference(session, "OPACAllowUserToChooseBranch"))


def may_override(session: Session, channel: str) -> bool:
    return channel in STAFF_CHANNELS and bool(get_preference(session, "AllowHoldPolicyOverride"))


def resolve_pickup(session: Session, patron: Patron, requested: str | None, channel: str) -> str:
    """The pickup library of a new hold: the one asked for, or the patron's home library (the
    only one a patron may use when they may not choose)."""
    if not may_choose_pickup(session, channel):
        if requested and requested != patron.library_code:
            raise R.PickupChoiceNotAllowed()
        return patron.library_code
    return requested or patron.library_code


def default_not_needed_after(session: Session, on: dt.date) -> dt.date | None:
    days = get_preference(session, "DefaultHoldExpirationdatePeriod")
    return on + dt.timedelta(days=days) if days else None


@dataclass
class HoldOptions:
    """What the place-hold form offers a patron (or staff for a patron) on a title."""

    title: Title
    patron: Patron
    refusal: R.HoldRefused | None  # why no title-level hold can be placed now
    pickup_libraries: list[Library]
    may_choose_pickup: bool
    pickup_library_code: str
    item_choice: str  # no | yes | force
    volumes: list[str]
    copies: list[ItemChoice] = field(default_factory=list)
    may_override: bool = False
    default_not_needed_after: dt.date | None = None

    @property
    def offers_copies(self) -> bool:
        return self.item_choice in ("yes", "force") and bool(self.copies)


def hold_options(session: Session, patron: Patron, title: Title, *, channel: str = "opac",
                 pickup_library_code: str | None = None) -> HoldOptions:
    """The choices and the standing refusal for a place-hold form; changes nothing."""
    policy = PlacementPolicy(session, patron, title, channel=channel)
    choose = may_choose_pickup(session, channel)
    pickup = pickup_library_code if choose and pickup_library_code else patron.library_code
    request = HoldRequest(pickup_library_code=pickup)
    refusal = policy.request_refusal(request)
    if isinstance(refusal, R.ItemHoldRequired):
        refusal = None  # the form asks for a copy
    refusal = refusal or policy.policy_refusal(request)
    item_choice = "yes" if channel != "opac" else policy.item_choice()
    return HoldOptions(
        title=title, patron=patron, refusal=refusal, pickup_libraries=pickup_libraries(session),
        may_choose_pickup=choose, pickup_library_code=pickup, item_choice=item_choice, volumes=policy.volumes,
        copies=policy.choices(pickup) if item_choice != "no" and (refusal is None or channel != "opac") else [],
        may_override=may_override(session, channel),
        default_not_needed_after=default_not_needed_after(session, clock.today()),
    )


def place_hold(session: Session, patron: Patron, title: Title, actor: Patron | None, *,
               pickup_library_code: str | None = None, item: Item | None = None, volume: str | None = None,
               not_needed_after: dt.date | None = None, notes: str | None = None, channel: str = "opac",
               override: bool = False) -> Hold:
    """Place a hold at the end of the title's queue, or raise the HoldRefused that says why not.

    ``item`` makes it an item-level hold, ``volume`` a hold on the copies with that enumchron.
    ``override`` (staff channels, when AllowHoldPolicyOverride is on) sets the rules aside but
    never what was asked (pickup location, copy of another title...); the override is audited."""
    on = clock.today()
    if not_needed_after is not None and not_needed_after <= on:
        raise R.InvalidDate("The \"not needed after\" date must be after today.")
    patron = lock_patron(session, patron.id)
    title = lock_title(session, title.id)
    pickup = resolve_pickup(session, patron, pickup_library_code, channel)
    policy = PlacementPolicy(session, patron, title, channel=channel, on=on)
    request = HoldRequest(item=item, volume=volume or None, pickup_library_code=pickup)
    refusal = policy.refusal(request)
    overridden: R.HoldRefused | None = None
    if refusal is not None:
        if not (override and refusal.overridable and may_override(session, channel)):
            raise refusal
        overridden = refusal
        refusal = policy.refusal(request, override=True)
        if refusal is not None:
            raise refusal
    actor_id = actor.id if actor else None
    hold = Hold(patron_id=patron.id, title_id=title.id, item_id=item.id if item else None,
                volume=volume or None, pickup_library_code=pickup, status=HoldStatus.QUEUED,
                queue_key=next_queue_key(session, title.id), placed_at=clock.now(),
                not_needed_after=not_needed_after or default_not_needed_after(session, on),
                notes=notes or None, placed_by_id=actor_id, channel=channel)
    reason = "placed" if overridden is None else f"placed, rules overridden ({overridden.code})"
    hold.history.append(HoldHistory(from_status=None, to_status=HoldStatus.QUEUED, actor_id=actor_id,
                                    reason=reason, at=hold.placed_at))
    session.add(hold)
    queue_changed(title)
    session.flush()
    if channel != "opac" or overridden is not None:
        record_audit(session, actor_id=actor_id, channel=channel, module="HOLDS",
                     action="PLACE" if overridden is None else "OVERRIDE", object_type="hold", object_id=hold.id,
                     info={"title_id": title.id, "patron_id": patron.id,
                           **({"codes": [overridden.code]} if overridden is not None else {})})
    record_activity(session, patron.id, "hold", hold.placed_at)  # written after the caller's commit
    return hold

