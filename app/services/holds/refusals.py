"""Why a hold action was refused: one exception class per business refusal, each with a stable
``code`` (Koha's where Koha has one, so the API can answer with the same ``error_code``) and a
sentence for people (the class docstring, unless a more precise one is given). Pages, the API
and SIP2 all render the same refusal."""
from __future__ import annotations

from typing import Any


class HoldRefused(Exception):
    """The hold action was refused."""

    code: str = "refused"
    # Policy refusals (the rules matrix, the patron's standing) that staff may override when
    # AllowHoldPolicyOverride is on; never the ones about what was asked or the hold's state.
    overridable: bool = False

    def __init__(self, message: str | None = None, **details: Any):
        self.message = message or (type(self).__doc__ or "").strip()
        self.details = details
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}: {self.message}>"


class PolicyRefusal(HoldRefused):
    """The library's rules do not allow this hold."""

    overridable = True


# --- the patron's standing (Koha's can_place_holds) -------------------------------------------

class PatronExpired(PolicyRefusal):
    """The patron's card has expired."""

    code = "patronExpired"


class PatronRestricted(PolicyRefusal):
    """The patron's account is restricted."""

    code = "patronRestricted"


class CardLost(PolicyRefusal):
    """The patron's card is reported lost."""

    code = "cardLost"


class BadAddress(PolicyRefusal):
    """The library has no valid address for the patron."""

    code = "badAddress"


class Debt(PolicyRefusal):
    """The patron owes more than the library allows for placing holds."""

    code = "debt"


# --- the rules matrix (Koha's CanItemBeReserved statuses) --------------------------------------

class NoReservesAllowed(PolicyRefusal):
    """The library's rules allow no holds on this title for this patron."""

    code = "noReservesAllowed"


class TooManyReserves(PolicyRefusal):
    """The patron has as many holds as the library allows."""

    code = "tooManyReserves"


class TooManyHoldsForThisRecord(PolicyRefusal):
    """The patron already has as many holds on this title (the same volume) as allowed."""

    code = "tooManyHoldsForThisRecord"


class TooManyVolumesForThisRecord(PolicyRefusal):
    """The patron already has holds on as many different volumes of this title as allowed."""

    code = "tooManyVolumesForThisRecord"


class TooManyReservesToday(PolicyRefusal):
    """The patron has placed as many holds today as the library allows."""

    code = "tooManyReservesToday"


class NotReservable(PolicyRefusal):
    """No copy of this title can be put on hold."""

    code = "notReservable"


class CannotReserveFromOtherBranches(PolicyRefusal):
    """Copies of this title can only be held by patrons of the library they belong to."""

    code = "cannotReserveFromOtherBranches"


class Damaged(PolicyRefusal):
    """The copy is damaged and cannot be put on hold."""

    code = "damaged"


class AlreadyPossession(PolicyRefusal):
    """The patron already has this copy on loan."""

    code = "alreadypossession"


class OnShelfHoldsNotAllowed(PolicyRefusal):
    """A copy is on the shelf: the library takes no holds on copies that can be borrowed now."""

    code = "onShelfHoldsNotAllowed"


class PickupNotAllowed(PolicyRefusal):
    """The library's rules do not let copies of this title be picked up there."""

    code = "pickupNotAllowed"


# --- what was asked ---------------------------------------------------------------------------

class ItemAlreadyOnHold(HoldRefused):
    """The patron already has a hold on this copy."""

    code = "itemAlreadyOnHold"


class LibraryNotPickupLocation(HoldRefused):
    """That library is not a pickup location."""

    code = "libraryNotPickupLocation"


class PickupChoiceNotAllowed(HoldRefused):
    """Holds are picked up at the patron's home library."""

    code = "pickupChoiceNotAllowed"


class ItemNotOfTitle(HoldRefused):
    """That copy belongs to another title."""

    code = "itemNotOfTitle"


class VolumeNotFound(HoldRefused):
    """This title has no such volume."""

    code = "volumeNotFound"


class InvalidDate(HoldRefused):
    """The date must be after today."""

    code = "invalidDate"


class OpacHoldsDisabled(HoldRefused):
    """Holds cannot be placed online: please ask the library."""

    code = "opacHoldsDisabled"


class ItemHoldsNotAllowed(HoldRefused):
    """Holds on a particular copy are not taken online: hold the title instead."""

    code = "itemHoldsNotAllowed"


class ItemHoldRequired(HoldRefused):
    """Choose the copy you want to hold."""

    code = "itemHoldRequired"


# --- managing holds ---------------------------------------------------------------------------

class QueueChanged(HoldRefused):
    """The queue changed since the page was loaded: nothing was moved. Check the new order."""

    code = "queueChanged"


class HoldFound(HoldRefused):
    """A copy is already set aside for this hold."""

    code = "holdFound"


class HoldNotInQueue(HoldRefused):
    """The hold is no longer in the queue."""

    code = "holdNotInQueue"


class WrongStatus(HoldRefused):
    """The hold's status does not allow that."""

    code = "wrongStatus"


class HoldsManagementNotAllowed(HoldRefused):
    """Holds cannot be managed online: please ask the library."""

    code = "holdsManagementNotAllowed"


class SuspensionNotAllowed(HoldRefused):
    """Holds cannot be suspended online: please ask the library."""

    code = "suspensionNotAllowed"


class SuspendUntilNotAllowed(HoldRefused):
    """The library does not resume suspended holds on a date."""

    code = "suspendUntilNotAllowed"


def _all_refusals() -> tuple[type[HoldRefused], ...]:
    found: list[type[HoldRefused]] = []
    pending = [HoldRefused]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if "code" in vars(sub):
                found.append(sub)
    return tuple(found)


ALL_REFUSALS = _all_refusals()
REFUSALS_BY_CODE: dict[str, type[HoldRefused]] = {r.code: r for r in ALL_REFUSALS}
