"""The one clock every service reads. Tests move it with ``freeze(...)``."""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Iterator
from zoneinfo import ZoneInfo

_frozen: dt.datetime | None = None
_zone: ZoneInfo = ZoneInfo("UTC")


def set_timezone(name: str) -> None:
    global _zone
    _zone = ZoneInfo(name)


def timezone() -> ZoneInfo:
    return _zone


def now() -> dt.datetime:
    """Current time, timezone-aware in UTC."""
    return _frozen if _frozen is not None else dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """The library-local date."""
    return now().astimezone(_zone).date()


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(_zone)


@contextlib.contextmanager
def freeze(moment: dt.datetime) -> Iterator[None]:
    """Pin ``now()`` to ``moment`` (naive values are taken as UTC)."""
    global _frozen
    previous = _frozen
    _frozen = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    try:
        yield
    finally:
        _frozen = previous
