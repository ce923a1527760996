"""The identity of an offline action, so the same action uploaded twice (the same file, an
overlapping file, a browser re-sending after a lost answer) is recognised and applied once.

A fingerprint is the SHA-256 of the workstation, the moment (UTC, to the microsecond), the
action, the card number, the barcode and the amount (to the cent). Desktop .koc files carry no
workstation id, so all their lines share the workstation ``koc``: a line is identified by its
millisecond timestamp and what it did, whatever the file is called or whoever uploads it (two
tools doing the very same thing to the same item in the same millisecond is one action)."""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from app.models import OfflineAction

KOC_WORKSTATION = "koc"
SEPARATOR = "\x1f"  # the ASCII unit separator: never typed into a card number or barcode


def canonical_moment(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("an offline action's time must be timezone-aware")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def offline_fingerprint(workstation: str, occurred_at: dt.datetime, action: OfflineAction | str,
                        cardnumber: str | None, barcode: str | None, amount: Decimal | None) -> str:
    """64 hex characters identifying one offline action."""
    parts = [workstation.strip(), canonical_moment(occurred_at), OfflineAction(action).value,
             (cardnumber or "").strip(), (barcode or "").strip(),
             "" if amount is None else f"{Decimal(amount).quantize(Decimal('0.01')):.2f}"]
    return hashlib.sha256(SEPARATOR.join(parts).encode("utf-8")).hexdigest()
