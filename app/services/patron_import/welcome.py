"""The welcome email to patrons an import created (Koha's WELCOME notice, ACCTDETAILS in older
versions): queued as WELCOME notices in the import's own transaction (template editable per
library under Administration > Notices), so a rolled-back import mails no one; the notices
sender delivers them after the commit."""
from __future__ import annotations

from .options import ImportResult


def mail_note(result: ImportResult) -> str | None:
    """The report's line about welcome emails, or None when none were asked for."""
    if not result.applied or not result.welcome:
        return None
    return f"Welcome emails queued: {result.welcome_queued} (sent by the notices sender)"
