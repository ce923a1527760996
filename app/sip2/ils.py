"""The ILS side of one SIP2 message, in the spirit of Koha's ILS portability layer: the request's
fields read leniently, the account's library and actor, patron and item lookups, PIN checks,
dates in the kiosk's terms, idempotent answers, and the item facts every response shares.
It holds no library rule: handlers call the services for those."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession, joinedload

from app import clock
from app.models import Item, Loan, Patron, SipItemProperties
from app.services.circulation import Outcome, find_patron
from app.services.sip_patrons import PinCheck, PinGuard
from app.services.sip_transactions import RequestIdentity, claim, is_retry, keep_answer, kept_answer, release

from . import codec
from .codec import Message
from .dispatch import Response
from .session import AccountGrant, Session

# SIP2 media types (CK) that are magnetic: audio tape, video tape, diskette, and books with one.
MAGNETIC_MEDIA = frozenset({"004", "005", "007", "008", "010"})
SECURITY_MARKER_TATTLE_TAPE = "02"  # what Koha and Evergreen always report


@dataclass(frozen=True)
class SipSettings:
    """Deployment settings the handlers need."""

    currency: str = "USD"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SipSettings":
        return cls(currency=str(config.get("SIP2_CURRENCY") or "USD"))


class Ils:
    """Everything a handler asks of the library for one request on one connection."""

    def __init__(self, connection: Session, request: Message, db: DbSession, pins: PinGuard,
                 settings: SipSettings | None = None):
        if connection.grant is None:
            raise RuntimeError("handlers run only on logged-in connections")
        self.connection = connection
        self.grant: AccountGrant = connection.grant
        self.request = request
        self.db = db
        self.pins = pins
        self.settings = settings or SipSettings()
        self.now = clock.now()
        self._kept: dict[RequestIdentity, Any] = {}
        self._loans: dict[int, Loan | None] = {}
        self._properties: dict[int, str | None] = {}

    # --- the request -----------------------------------------------------------------------
    def field(self, code: str) -> str | None:
        """A variable field's value without surrounding blanks; None when absent."""
        value = self.request.get(code)
        return None if value is None else value.strip()

    def flag(self, code: str) -> bool:
        """A Y/N variable field (BO, BI...): only Y means yes."""
        return (self.field(code) or "").upper() == "Y"

    def fixed(self, name: str) -> str:
        return self.request.fixed.get(name, "")

    def fixed_flag(self, name: str) -> bool:
        return self.fixed(name).upper() == "Y"

    def request_date(self, name: str = "transaction_date") -> dt.datetime | None:
        """A fixed date of the request, or None when blank or unreadable (Koha's own tests send
        the literal placeholder "YYYYMMDDZZZZHHMMSS": it must not fail the transaction)."""
        try:
            return codec.parse_date(self.fixed(name), clock.timezone())
        except codec.InvalidDate:
            return None

    @property
    def language(self) -> str:
        language = self.fixed("language")
        return language if len(language) == 3 and language.isdigit() else "000"

    # --- who and what ----------------------------------------------------------------------
    @property
    def library_code(self) -> str:
        return self.grant.library_code

    @property
    def institution_id(self) -> str:
        return self.grant.institution_id

    @property
    def terminal(self) -> str:
        return self.grant.location or self.grant.login

    @cached_property
    def actor(self) -> Patron | None:
        """The staff patron the account acts as (recorded as the actor of its transactions)."""
        return self.db.get(Patron, self.grant.actor_id) if self.grant.actor_id is not None else None

    def patron(self, code: str = "AA") -> Patron | None:
        return find_patron(self.db, self.field(code))

    def item(self, code: str = "AB") -> Item | None:
        """The item with barcode ``code``, read in one statement with what answers about it
        name: its title, its open loan (``loan_of``) and the kiosk's item properties
        (``properties_of``)."""
        barcode = self.field(code)
        if not barcode:
            return None
        row = self.db.execute(
            select(Item, Loan, SipItemProperties.properties)
            .outerjoin(Loan, Loan.item_id == Item.id)
            .outerjoin(SipItemProperties, SipItemProperties.item_id == Item.id)
            .where(Item.barcode == barcode).options(joinedload(Item.title))).first()
        if row is None:
            return None
        item, loan, properties = row
        self._loans[item.id], self._properties[item.id] = loan, properties
        return item

    def loan_of(self, item: Item) -> Loan | None:
        """The item's open loan as ``item()`` read it (read now for an item found another way)."""
        if item.id not in self._loans:
            self._loans[item.id] = self.db.scalar(select(Loan).where(Loan.item_id == item.id))
        return self._loans[item.id]

    def properties_of(self, item: Item) -> str | None:
        """The item properties (CH) a kiosk stored for the item, as ``item()`` read them."""
        if item.id not in self._properties:
            self._properties[item.id] = self.db.scalar(
                select(SipItemProperties.properties).where(SipItemProperties.item_id == item.id))
        return self._properties[item.id]

    def check_pin(self, patron: Patron) -> PinCheck:
        """AD against the patron's password, under the connection's and the patron's limits."""
        return self.pins.check(patron, self.request.get("AD"), self.connection.pin_failures,
                               allow_empty=self.grant.allow_empty_pin)

    # --- answers ---------------------------------------------------------------------------
    def date(self, moment: dt.datetime | None = None) -> str:
        """An 18-character date in the library's local time (now by default)."""
        return codec.format_date(moment or self.now, clock.timezone())

    def shown(self, code: str) -> bool:
        """Whether the account may send this patron field (address, e-mail... are hidden by default)."""
        return code not in self.grant.hidden_fields

    def identity(self, item_ref: str | None) -> RequestIdentity:
        return RequestIdentity.of(self.grant.account_id, self.request.code, self.field("AA"), item_ref,
                                  self.fixed("transaction_date"), dated=self.request_date() is not None)

    def previous_answer(self, item_ref: str | None) -> Response | None:
        """The answer already given to this very request (a retry after a lost answer); else
        the request's identity is claimed until its answer is kept or ``release_claims``."""
        identity = self.identity(item_ref)
        claimed = self._kept[identity] = claim(self.db, identity, now=self.now)
        if not is_retry(claimed.earlier, identity, now=self.now):
            return None
        answer = claimed.earlier.response
        return Response(answer["code"], answer["fixed"], [tuple(pair) for pair in answer["fields"]])

    def keep_answer(self, item_ref: str | None, response: Response) -> Response:
        """Keep the answer to a request that changed something, for its retries."""
        identity = self.identity(item_ref)
        answer = {"code": response.code, "fixed": dict(response.fixed),
                  "fields": [[code, value] for code, value in response.fields if value is not None]}
        replacing = self._kept[identity] if identity in self._kept else kept_answer(self.db, identity)
        keep_answer(self.db, identity, answer, replacing=replacing, now=self.now)
        return response

    def release_claims(self) -> None:
        """Give back the identities of requests whose answer was not kept (refusals)."""
        for claimed in self._kept.values():
            release(self.db, claimed)

    # --- item facts ------------------------------------------------------------------------
    @staticmethod
    def media_type(item: Item | None) -> str | None:
        media = item.item_type.sip_media_type if item is not None and item.item_type is not None else None
        return media if media and len(media) == 3 and media.isdigit() else None

    def magnetic_media(self, item: Item | None) -> str:
        """Y/N, or U when the account does not report magnetic media (or the item is unknown)."""
        if item is None or not self.grant.supports_magnetic_media:
            return "U"
        return codec.yes_no(self.media_type(item) in MAGNETIC_MEDIA)

    def security_inhibit(self) -> str | None:
        """CI: sent only to accounts that support it; Carrel never asks a kiosk to ignore security."""
        return "N" if self.grant.supports_security_inhibit else None


def screen_messages(outcome: Outcome | None, *extra: str | None) -> list[tuple[str, str | None]]:
    """AF fields: the outcome's messages as a patron may read them (blocks and confirmations
    first; never another patron's name: the kiosk screen faces the public), then ``extra``."""
    texts: list[str] = []
    if outcome is not None:
        ordered = outcome.blocks + outcome.confirmations + outcome.alerts
        texts.extend(message.patron_text for message in ordered)
    texts.extend(text for text in extra if text)
    return [("AF", text) for text in dict.fromkeys(texts)]


def af(*texts: str | None) -> list[tuple[str, str | None]]:
    return [("AF", text) for text in texts if text]


def fields(*groups: Iterable[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    return [pair for group in groups for pair in group]
