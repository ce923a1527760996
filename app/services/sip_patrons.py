"""Patrons as self-check kiosks see them: the PIN check (AD) with its rate limits, the patron's
standing in the terms of the SIP2 patron status, the counts and lists of the patron
information answer, and blocking / re-enabling a card from a kiosk.

The standing is the circulation service's (``patron_standing``: the blocks a checkout would
meet), plus the hold limit of the holds rules; nothing here decides a loan or a hold on its own."""
from __future__ import annotations

import collections
import datetime as dt
import enum
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models import AccountLine, Hold, HoldStatus, Item, Loan, Patron, PatronRestriction, RestrictionType, Title
from app.models.hold import LIVE_STATUSES
from app.services import fines
from app.services.audit import record_audit
from app.services.circulation import Code, patron_standing
from app.services.rules import effective_rules
from app.services.settings import get_preference

from .sip_accounts import VerifiedSecrets

# ---------------------------------------------------------------------------------------------
# PINs


class PinCheck(enum.StrEnum):
    NOT_GIVEN = "not_given"  # no AD field: nothing to check
    VALID = "valid"
    INVALID = "invalid"
    PAUSED = "paused"  # too many wrong PINs lately: not even checked

    @property
    def ok(self) -> bool:
        return self is PinCheck.VALID


@dataclass(frozen=True)
class PinPolicy:
    max_patron_failures: int = 5
    max_connection_failures: int = 10
    lock_seconds: float = 900.0

    @classmethod
    def from_config(cls, config: Any) -> "PinPolicy":
        return cls(int(config["SIP2_PIN_MAX_FAILURES"]), int(config["SIP2_PIN_MAX_FAILURES_CONNECTION"]),
                   float(config["SIP2_PIN_LOCK_SECONDS"]))


@dataclass
class FailureWindow:
    """Moments of recent failures; ``paused`` once ``limit`` of them fall in the last ``seconds``."""

    moments: collections.deque[float] = field(default_factory=collections.deque)

    def _trim(self, now: float, seconds: float) -> None:
        while self.moments and self.moments[0] <= now - seconds:
            self.moments.popleft()

    def paused(self, now: float, limit: int, seconds: float) -> bool:
        self._trim(now, seconds)
        return len(self.moments) >= limit

    def add(self, now: float, seconds: float) -> None:
        self._trim(now, seconds)
        self.moments.append(now)


class PinGuard:
    """Checks patron PINs for one SIP2 server. Wrong PINs are counted per patron (in this
    process: every SIP2 listener of a deployment runs in the one worker process) and per
    connection (the caller's window); past either limit the check answers PAUSED without
    verifying until the failures are ``lock_seconds`` old. Correct PINs are remembered for a
    few minutes (``VerifiedSecrets``), so a kiosk sending the PIN with every message costs one
    argon2 verification per patron session."""

    def __init__(self, policy: PinPolicy | None = None, verified: VerifiedSecrets | None = None,
                 monotonic: Any = time.monotonic):
        self.policy = policy or PinPolicy()
        self.verified = verified or VerifiedSecrets()
        self._monotonic = monotonic
        self._patrons: dict[int, FailureWindow] = {}
        self._lock = threading.Lock()

    def check(self, patron: Patron, pin: str | None, connection: FailureWindow, *,
              allow_empty: bool = False) -> PinCheck:
        """The PIN ``pin`` (None: not sent) against the patron's password. An empty PIN is valid
        only when ``allow_empty`` (the account allows it); it never counts as a failure."""
        if pin is None:
            return PinCheck.NOT_GIVEN
        if pin == "":
            return PinCheck.VALID if allow_empty else PinCheck.INVALID
        policy, now = self.policy, self._monotonic()
        with self._lock:
            window = self._patrons.get(patron.id)
            if connection.paused(now, policy.max_connection_failures, policy.lock_seconds) or (
                    window is not None and window.paused(now, policy.max_patron_failures, policy.lock_seconds)):
                return PinCheck.PAUSED
        if self.verified.verify(("patron", patron.id), patron.password_hash, pin):
            with self._lock:
                self._patrons.pop(patron.id, None)
            return PinCheck.VALID
        with self._lock:
            connection.add(now, policy.lock_seconds)
            self._patrons.setdefault(patron.id, FailureWindow()).add(now, policy.lock_seconds)
            if len(self._patrons) > 10_000:
                self._forget_old_failures(now)
        return PinCheck.INVALID

    def _forget_old_failures(self, now: float) -> None:
        for patron_id in [pid for pid, window in self._patrons.items()
                          if not window.paused(now, 1, self.policy.lock_seconds)]:
            del self._patrons[patron_id]

    def end_session(self, patron: Patron) -> None:
        """The patron left the kiosk: the next one must prove the PIN again."""
        self.verified.forget(("patron", patron.id))


PIN_MESSAGES = {
    PinCheck.INVALID: "Invalid PIN.",
    PinCheck.PAUSED: "Too many wrong PINs: please try again later or ask at the desk.",
}

# ---------------------------------------------------------------------------------------------
# Standing: the 14 positions of the SIP2 patron status


@dataclass
class SipStanding:
    """What the patron status of 24, 26 and 64 reports, and the reasons as messages."""

    charge_denied: bool = False
    renewal_denied: bool = False
    recall_denied: bool = False
    hold_denied: bool = False
    card_lost: bool = False
    too_many_charged: bool = False
    too_many_overdue: bool = False
    excessive_fines: bool = False
    messages: list[str] = field(default_factory=list)
    balance: Decimal = Decimal("0")
    fee_limit: Decimal | None = None
    loan_limit: int | None = None
    hold_limit: int | None = None

    @property
    def patron_status(self) -> str:
        flags = (self.charge_denied, self.renewal_denied, self.recall_denied, self.hold_denied, self.card_lost,
                 self.too_many_charged, self.too_many_overdue, False, False, False, self.excessive_fines,
                 self.excessive_fines, False, False)
        return "".join("Y" if flag else " " for flag in flags)


UNKNOWN_PATRON_STATUS = "YYYY" + " " * 10  # every privilege denied (Koha's answer for an unknown card)


def sip_standing(session: Session, patron: Patron, library_code: str, on: dt.date | None = None, *,
                 loans: int | None = None) -> SipStanding:
    """The patron's standing: the blocks a checkout would meet (the circulation service's
    check) deny charging, renewing and recalls; those and a balance over ``maxoutstanding``
    deny holds (the holds rules' standing check); the loan limit is the ``maxissueqty`` rule
    for the patron's category at ``library_code`` (``loans``: the patron's loan count, when the
    caller already counted them)."""
    day = on or clock.today()
    outcome = patron_standing(session, patron, day)
    blocked = bool(outcome.blocks)
    standing = SipStanding(charge_denied=blocked, renewal_denied=blocked, recall_denied=blocked,
                           card_lost=patron.card_lost, messages=[m.text for m in outcome.blocks])
    standing.balance = fines.balance(session, patron)
    standing.fee_limit = get_preference(session, "noissuescharge")
    standing.excessive_fines = outcome.has(Code.FINES_OVER_LIMIT)
    hold_debt_limit = get_preference(session, "maxoutstanding")
    standing.hold_denied = standing.balance > hold_debt_limit or any(
        m.code is not Code.FINES_OVER_LIMIT for m in outcome.blocks)
    rules = effective_rules(session, library_code, patron.category_code, None, ["maxissueqty", "reservesallowed"])
    standing.loan_limit, standing.hold_limit = rules["maxissueqty"], rules["reservesallowed"]
    if standing.loan_limit is not None and (loan_count(session, patron) if loans is None else loans) >= standing.loan_limit:
        standing.too_many_charged = standing.charge_denied = True
        standing.messages.append(f"The patron has reached the limit of {standing.loan_limit} loans.")
    standing.too_many_overdue = any(r.restriction_type is RestrictionType.OVERDUES
                                    for r in patron.active_restrictions(day))
    return standing


# ---------------------------------------------------------------------------------------------
# Patron information: counts and item lists

SUMMARY_LISTS = ("hold", "overdue", "charged", "fine", "recall", "unavailable_hold")
WAITING = (HoldStatus.PULLED, HoldStatus.LONG_WAITING)
UNAVAILABLE = tuple(status for status in LIVE_STATUSES if status not in WAITING)


def loan_count(session: Session, patron: Patron) -> int:
    """How many items the patron has on loan."""
    return session.scalar(select(func.count(Loan.id)).where(Loan.patron_id == patron.id)) or 0


def summary_counts(session: Session, patron: Patron, now: dt.datetime) -> dict[str, int]:
    """How many entries each patron information list has (recalls: Carrel has none), counted
    in one statement."""
    def count(column, *conditions):
        return select(func.count(column)).where(*conditions).scalar_subquery()

    mine_held, mine_lent = Hold.patron_id == patron.id, Loan.patron_id == patron.id
    waiting, unavailable, loans, overdue, fines_owed = session.execute(select(
        count(Hold.id, mine_held, Hold.status.in_(WAITING)),
        count(Hold.id, mine_held, Hold.status.in_(UNAVAILABLE)),
        count(Loan.id, mine_lent),
        count(Loan.id, mine_lent, Loan.due_at < now),
        count(AccountLine.id, AccountLine.patron_id == patron.id, AccountLine.debit_type.is_not(None),
              AccountLine.amount_outstanding > 0),
    )).one()
    return {"hold": waiting or 0, "overdue": overdue or 0, "charged": loans or 0, "fine": fines_owed or 0,
            "recall": 0, "unavailable_hold": unavailable or 0}


def summary_list(session: Session, patron: Patron, which: str, now: dt.datetime, start: int, end: int) -> list[str]:
    """Entries ``start``..``end`` (1-based, inclusive) of one patron information list: item
    barcodes for loans and waiting holds, "amount description" for fines, titles for holds not
    yet available."""
    if which not in SUMMARY_LISTS:
        raise ValueError(f"no patron information list {which!r}")
    offset, limit = max(start, 1) - 1, max(end - max(start, 1) + 1, 0)
    if limit == 0 or which == "recall":
        return []
    if which in ("charged", "overdue"):
        stmt = select(Item.barcode).join(Loan, Loan.item_id == Item.id).where(Loan.patron_id == patron.id)
        if which == "overdue":
            stmt = stmt.where(Loan.due_at < now)
        stmt = stmt.order_by(Loan.due_at, Loan.id)
    elif which == "hold":
        stmt = (select(Item.barcode).join(Hold, Hold.allocated_item_id == Item.id)
                .where(Hold.patron_id == patron.id, Hold.status.in_(WAITING)).order_by(Hold.waiting_since, Hold.id))
    elif which == "unavailable_hold":
        stmt = (select(Title.title, Title.subtitle).join(Hold, Hold.title_id == Title.id)
                .where(Hold.patron_id == patron.id, Hold.status.in_(UNAVAILABLE)).order_by(Hold.placed_at, Hold.id))
        return [f"{title}: {subtitle}" if subtitle else title
                for title, subtitle in session.execute(stmt.offset(offset).limit(limit))]
    else:
        stmt = (select(AccountLine.amount_outstanding, AccountLine.description)
                .where(AccountLine.patron_id == patron.id, AccountLine.debit_type.is_not(None),
                       AccountLine.amount_outstanding > 0).order_by(AccountLine.created_at, AccountLine.id))
        return [f"{fines.money(amount)} {description or 'Fee'}"
                for amount, description in session.execute(stmt.offset(offset).limit(limit))]
    return list(session.scalars(stmt.offset(offset).limit(limit)))


# ---------------------------------------------------------------------------------------------
# Block and enable

SELF_CHECK_BLOCK = "Blocked at a self-check"


def block_patron(session: Session, patron: Patron, actor: Patron | None, *, reason: str, card_retained: bool,
                 terminal: str) -> PatronRestriction:
    """Block the patron's card as a kiosk asked (01): a manual restriction, open-ended, saying
    which kiosk, why, and whether it kept the card. Staff lift it like any other restriction;
    a kiosk lifts only its own kind (``enable_patron``)."""
    comment = f"{SELF_CHECK_BLOCK} ({terminal})" + (f": {reason.strip()}" if reason.strip() else "")
    if card_retained:
        comment += "; card retained by the machine"
    restriction = PatronRestriction(patron_id=patron.id, restriction_type=RestrictionType.MANUAL, comment=comment,
                                    created_by_id=actor.id if actor else None)
    session.add(restriction)
    session.flush()
    record_audit(session, actor_id=actor.id if actor else None, channel="sip2", module="PATRONS", action="BLOCK",
                 object_type="patron", object_id=patron.id, info={"restriction_id": restriction.id})
    session.expire(patron, ["restrictions"])
    return restriction


def enable_patron(session: Session, patron: Patron, actor: Patron | None) -> int:
    """Lift the blocks kiosks set on the patron (25); restrictions staff set stay. Returns how
    many were lifted."""
    lifted = [r for r in patron.restrictions if r.restriction_type is RestrictionType.MANUAL
              and (r.comment or "").startswith(SELF_CHECK_BLOCK)]
    for restriction in lifted:
        patron.restrictions.remove(restriction)
    session.flush()
    if lifted:
        record_audit(session, actor_id=actor.id if actor else None, channel="sip2", module="PATRONS",
                     action="UNBLOCK", object_type="patron", object_id=patron.id, info={"lifted": len(lifted)})
    return len(lifted)
