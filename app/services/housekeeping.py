"""Housekeeping: removing rows nobody needs any more. Each function deletes only what has
certainly lapsed, so running it twice changes nothing the second time."""
from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_
from sqlalchemy.orm import Session

from app.models import ApiToken, LoginThrottle


def purge_expired_api_tokens(session: Session, *, now: dt.datetime) -> int:
    """Delete API bearer tokens that expired before ``now``; returns how many."""
    result = cast(CursorResult[Any], session.execute(delete(ApiToken).where(ApiToken.expires_at < now)))
    return result.rowcount or 0


def purge_stale_login_throttles(session: Session, *, now: dt.datetime, window: dt.timedelta) -> int:
    """Delete failed-login counters whose counting window has passed and which lock nothing
    (authentication restarts such a counter at zero anyway); returns how many."""
    result = cast(CursorResult[Any], session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.window_started_at < now - window)
        .where(or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now))
    ))
    return result.rowcount or 0
