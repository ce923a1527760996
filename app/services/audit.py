"""One place that writes the audit log. Callers pass ids and counts, never personal data."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models import AuditEntry


def record_audit(session: Session, *, actor_id: int | None, channel: str, module: str, action: str,
                 object_type: str | None = None, object_id: Any = None, info: dict[str, Any] | None = None) -> None:
    session.add(AuditEntry(actor_id=actor_id, channel=channel, module=module, action=action,
                           object_type=object_type, object_id=None if object_id is None else str(object_id),
                           info=info))
