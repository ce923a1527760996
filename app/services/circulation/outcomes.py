"""What a circulation action answers: typed codes in three kinds (blocks refuse, confirmations
wait for staff to agree, alerts inform), each with a human message. The staff pages, SIP2 and the
offline processor render the same outcome their own way."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from app.models import AccountLine, Item, Loan, LoanHistory, Patron

    from ..holds_hooks import HoldMatch


class Kind(enum.StrEnum):
    BLOCK = "block"
    CONFIRM = "confirm"
    ALERT = "alert"


class Code(enum.StrEnum):
    # Who and what
    UNKNOWN_PATRON = "unknown_patron"
    UNKNOWN_ITEM = "unknown_item"
    # The patron
    PATRON_EXPIRED = "patron_expired"
    PATRON_RESTRICTED = "patron_restricted"
    PATRON_CARD_LOST = "patron_card_lost"
    PATRON_GONE_NO_ADDRESS = "patron_gone_no_address"
    FINES_OVER_LIMIT = "fines_over_limit"
    TOO_MANY_LOANS = "too_many_loans"
    PATRON_OWES_FINES = "patron_owes_fines"
    PATRON_EXPIRES_SOON = "patron_expires_soon"
    LAST_LOAN_ALLOWED = "last_loan_allowed"
    # The item
    ITEM_WITHDRAWN = "item_withdrawn"
    ITEM_LOST = "item_lost"
    ITEM_NOT_FOR_LOAN = "item_not_for_loan"
    ITEM_DAMAGED = "item_damaged"
    LOST_ITEM_FOUND = "lost_item_found"
    # Loans and holds at checkout
    ON_LOAN_TO_ANOTHER_PATRON = "on_loan_to_another_patron"
    ALREADY_ON_LOAN_TO_PATRON = "already_on_loan_to_patron"
    CHECKED_OUT_CONCURRENTLY = "checked_out_concurrently"
    WAITING_FOR_ANOTHER_PATRON = "waiting_for_another_patron"
    ON_HOLD_FOR_ANOTHER_PATRON = "on_hold_for_another_patron"
    HOLD_FILLED = "hold_filled"
    PREVIOUS_LOAN_CHECKED_IN = "previous_loan_checked_in"
    RENEWED = "renewed"
    # Renewals
    NOT_ON_LOAN = "not_on_loan"
    TOO_MANY_RENEWALS = "too_many_renewals"
    ON_HOLD = "on_hold"
    OVERDUE_NOT_RENEWABLE = "overdue_not_renewable"
    # Check-in
    OVERDUE_FINE_CHARGED = "overdue_fine_charged"
    HOLD_FOUND = "hold_found"
    HOLD_FOUND_TRANSFER = "hold_found_transfer"
    TRANSFER_HOME = "transfer_home"
    BELONGS_ELSEWHERE = "belongs_elsewhere"
    TRANSFER_ARRIVED = "transfer_arrived"
    IN_TRANSIT_ELSEWHERE = "in_transit_elsewhere"


MESSAGES: dict[Code, str] = {
    Code.UNKNOWN_PATRON: "No patron has card number {card!r}.",
    Code.UNKNOWN_ITEM: "No item has barcode {barcode!r}.",
    Code.PATRON_EXPIRED: "The patron's card expired on {expired_on}.",
    Code.PATRON_RESTRICTED: "The patron is restricted{until}: {reason}.",
    Code.PATRON_CARD_LOST: "The patron's card is reported lost.",
    Code.PATRON_GONE_NO_ADDRESS: "The patron has no valid address (gone, no address).",
    Code.FINES_OVER_LIMIT: "The patron owes {balance}, more than the limit of {limit}.",
    Code.TOO_MANY_LOANS: "The patron has {count} loans; the limit is {limit}.",
    Code.PATRON_OWES_FINES: "The patron owes {balance}.",
    Code.PATRON_EXPIRES_SOON: "The patron's card expires on {expires_on}.",
    Code.LAST_LOAN_ALLOWED: "This is the last loan the patron is allowed ({limit}).",
    Code.ITEM_WITHDRAWN: "The item is withdrawn.",
    Code.ITEM_LOST: "The item is marked lost.",
    Code.ITEM_NOT_FOR_LOAN: "The item is not for loan.",
    Code.ITEM_DAMAGED: "The item is damaged.",
    Code.LOST_ITEM_FOUND: "The item was marked lost; it is now found.",
    Code.ON_LOAN_TO_ANOTHER_PATRON: "The item is on loan to {patron_name} (due {due}). Check it in first?",
    Code.ALREADY_ON_LOAN_TO_PATRON: "The item is already on loan to this patron. Renew it?",
    Code.CHECKED_OUT_CONCURRENTLY: "The item was checked out at another desk at the same moment.",
    Code.WAITING_FOR_ANOTHER_PATRON: "The item is waiting on the hold shelf for {patron_name} at {library}.",
    Code.ON_HOLD_FOR_ANOTHER_PATRON: "The item is on hold for {patron_name} (pickup at {library}).",
    Code.HOLD_FILLED: "This checkout fills the patron's hold.",
    Code.PREVIOUS_LOAN_CHECKED_IN: "Checked in from {patron_name} first.",
    Code.RENEWED: "Renewed: now due {due}.",
    Code.NOT_ON_LOAN: "The item was not on loan.",
    Code.TOO_MANY_RENEWALS: "Renewed {count} times already; the limit is {limit}.",
    Code.ON_HOLD: "Another patron has a hold this item could fill.",
    Code.OVERDUE_NOT_RENEWABLE: "The loan is overdue and overdue loans may not be renewed.",
    Code.OVERDUE_FINE_CHARGED: "Returned {days} day(s) late: fine of {amount} charged.",
    Code.HOLD_FOUND: "Hold found for {patron_name}: put the item on the hold shelf.",
    Code.HOLD_FOUND_TRANSFER: "Hold found for {patron_name}: send the item to {library}.",
    Code.TRANSFER_HOME: "The item belongs to {library}: send it home.",
    Code.BELONGS_ELSEWHERE: "The item belongs to {library}.",
    Code.TRANSFER_ARRIVED: "Transfer received from {library}.",
    Code.IN_TRANSIT_ELSEWHERE: "The item is in transit to {library}: send it on.",
}


# What a patron-facing screen (a self-check kiosk) says instead, for the messages that name
# another patron: the person at the kiosk must not learn who else borrowed or wants the book.
PATRON_FACING: dict[Code, str] = {
    Code.ON_LOAN_TO_ANOTHER_PATRON: "The item is on loan to another patron.",
    Code.WAITING_FOR_ANOTHER_PATRON: "The item is waiting for another patron.",
    Code.ON_HOLD_FOR_ANOTHER_PATRON: "The item is on hold for another patron.",
    Code.PREVIOUS_LOAN_CHECKED_IN: "The item was checked in from its previous loan first.",
    Code.HOLD_FOUND: "Thank you: this item is wanted by another patron.",
    Code.HOLD_FOUND_TRANSFER: "Thank you: this item is wanted by another patron.",
}


@dataclass(frozen=True)
class Message:
    code: Code
    kind: Kind
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def text(self) -> str:
        try:
            return MESSAGES[self.code].format(**self.data)
        except (KeyError, IndexError):
            return MESSAGES[self.code].split("{")[0].rstrip(" :(") + "."

    @property
    def patron_text(self) -> str:
        """The text for a screen the patron reads: never another patron's name."""
        return PATRON_FACING.get(self.code) or self.text


@dataclass
class Outcome:
    """The messages of one action, in the order they were found."""

    messages: list[Message] = field(default_factory=list)
    # Confirmations staff agreed to, and blocks a no_block (offline) action went past.
    overridden: list[Message] = field(default_factory=list)

    def block(self, code: Code, **data: Any) -> None:
        self.messages.append(Message(code, Kind.BLOCK, data))

    def confirm(self, code: Code, **data: Any) -> None:
        self.messages.append(Message(code, Kind.CONFIRM, data))

    def alert(self, code: Code, **data: Any) -> None:
        self.messages.append(Message(code, Kind.ALERT, data))

    def of_kind(self, kind: Kind) -> list[Message]:
        return [m for m in self.messages if m.kind is kind]

    @property
    def blocks(self) -> list[Message]:
        return self.of_kind(Kind.BLOCK)

    @property
    def confirmations(self) -> list[Message]:
        return self.of_kind(Kind.CONFIRM)

    @property
    def alerts(self) -> list[Message]:
        return self.of_kind(Kind.ALERT)

    @property
    def codes(self) -> list[Code]:
        return [m.code for m in self.messages]

    def has(self, code: Code) -> bool:
        return code in self.codes

    def set_aside(self, kinds: tuple[Kind, ...] = (Kind.BLOCK, Kind.CONFIRM)) -> list[Message]:
        """Move the messages of these kinds to ``overridden`` (the action goes ahead past them)."""
        moved = [m for m in self.messages if m.kind in kinds]
        self.messages = [m for m in self.messages if m.kind not in kinds]
        self.overridden.extend(moved)
        return moved


@dataclass
class CheckOutOutcome(Outcome):
    """A checkout: ``loan`` is set when it happened (or ``renewed`` when it became a renewal).
    Blocks and unconfirmed confirmations leave nothing changed."""

    patron: "Patron | None" = None
    item: "Item | None" = None
    barcode: str | None = None
    loan: "Loan | None" = None
    renewed: bool = False

    @property
    def ok(self) -> bool:
        return self.loan is not None

    @property
    def due_at(self) -> dt.datetime | None:
        return self.loan.due_at if self.loan is not None else None

    @property
    def needs_confirmation(self) -> bool:
        return not self.ok and not self.blocks and bool(self.confirmations)


@dataclass
class CheckInOutcome(Outcome):
    """A check-in: ``history`` is the closed loan (None when the item was not on loan)."""

    item: "Item | None" = None
    barcode: str | None = None
    history: "LoanHistory | None" = None
    patron: "Patron | None" = None
    fine: "AccountLine | None" = None
    hold: "HoldMatch | None" = None
    transfer_to: str | None = None
    returned_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.item is not None

    @property
    def was_on_loan(self) -> bool:
        return self.history is not None


@dataclass
class RenewalOutcome(Outcome):
    """A renewal: ``renewed`` with the new ``due_at``, or the blocks that refused it."""

    loan: "Loan | None" = None
    renewed: bool = False
    due_at: dt.datetime | None = None
    fine: "AccountLine | None" = None

    @property
    def ok(self) -> bool:
        return self.renewed
