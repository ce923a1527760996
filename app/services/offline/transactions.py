"""Transactions recorded by the built-in offline page, as the page uploads them (JSON), read
into queue records. Each carries the page's own id so the answer can say, per transaction,
whether it was queued, was already there (a re-send), or was refused and why."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from app import clock
from app.models import OfflineAction
from app.services.circulation.due_dates import end_of_day

from .koc import BARCODE_MAX, CARDNUMBER_MAX, InvalidOfflineRecord, parse_amount
from .queue import OfflineRecord

BROWSER_SOURCE = "browser"
WORKSTATION_MAX = 80
ID_MAX = 64
MAX_PER_UPLOAD = 1000


@dataclass(frozen=True)
class BrowserTransaction:
    id: str
    record: OfflineRecord


@dataclass(frozen=True)
class RefusedTransaction:
    id: str
    reason: str


def _text(data: dict[str, Any], key: str, longest: int, what: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidOfflineRecord(f"no {what}")
        return None
    if not isinstance(value, str):
        raise InvalidOfflineRecord(f"the {what} must be text")
    value = value.strip()
    if len(value) > longest:
        raise InvalidOfflineRecord(f"the {what} is longer than {longest} characters")
    return value


def _moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidOfflineRecord(f"time {text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidOfflineRecord(f"time {text!r} has no time zone")
    return moment.astimezone(dt.timezone.utc)


def due_at_from_date(day: dt.date) -> dt.datetime:
    """A due date chosen offline: 23:59 library-local on that day, as loans fall due."""
    return end_of_day(day)


def _due(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return due_at_from_date(dt.date.fromisoformat(text[:10]))
    except ValueError:
        raise InvalidOfflineRecord(f"due date {text!r} is not a date like 2024-03-18") from None


def read_transaction(data: Any) -> OfflineRecord:
    """One transaction from the page, or InvalidOfflineRecord with the reason."""
    if not isinstance(data, dict):
        raise InvalidOfflineRecord("not a transaction object")
    workstation = _text(data, "workstation", WORKSTATION_MAX, "workstation id")
    try:
        action = OfflineAction(str(data.get("action", "")).strip().lower())
    except ValueError:
        raise InvalidOfflineRecord(f"unknown action {data.get('action')!r}") from None
    occurred_at = _moment(_text(data, "time", 40, "time"))
    if occurred_at > clock.now() + dt.timedelta(days=1):
        raise InvalidOfflineRecord(f"time {data.get('time')} is in the future: check the workstation's clock")
    card = barcode = None
    amount: Decimal | None = None
    due_at = None
    if action in (OfflineAction.ISSUE, OfflineAction.PAYMENT):
        card = _text(data, "card", CARDNUMBER_MAX, "card number")
    if action in (OfflineAction.ISSUE, OfflineAction.RETURN):
        barcode = _text(data, "barcode", BARCODE_MAX, "barcode")
    if action is OfflineAction.ISSUE:
        due_at = _due(_text(data, "due", 40, "due date", required=False))
    if action is OfflineAction.PAYMENT:
        amount = parse_amount(str(data.get("amount", "")))
    return OfflineRecord(workstation=workstation, source=BROWSER_SOURCE, occurred_at=occurred_at, action=action,
                         cardnumber=card, barcode=barcode, amount=amount, due_at=due_at)


def read_transactions(payload: Iterable[Any]) -> tuple[list[BrowserTransaction], list[RefusedTransaction]]:
    """Every transaction of an upload: the readable ones and, for the others, why not."""
    good: list[BrowserTransaction] = []
    refused: list[RefusedTransaction] = []
    for data in payload:
        tid = str(data.get("id", "")).strip()[:ID_MAX] if isinstance(data, dict) else ""
        if not tid:
            refused.append(RefusedTransaction("", "a transaction without an id"))
            continue
        try:
            good.append(BrowserTransaction(tid, read_transaction(data)))
        except InvalidOfflineRecord as error:
            refused.append(RefusedTransaction(tid, str(error)))
    return good, refused
