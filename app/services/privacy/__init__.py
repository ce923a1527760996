"""Privacy: anonymising history by each patron's choice, and purging inactive patrons with a dry
run first. Services flush, never commit; ``drive_purge`` and the anonymisation loop of the jobs
and the CLI run one unit of work per batch.

- ``selection``: who a purge takes and why the others are kept (``dry_run``, pages of both)
- ``purge``: purge runs in batches, erasing every copy of a patron's personal data
- ``anonymise``: loan history and finished holds by retention period and privacy choice"""
from __future__ import annotations

from .anonymise import (
    AnonymisationResult,
    anonymise_history_batch,
    anonymise_holds,
    anonymise_patron_history,
    audit_anonymisation,
    drive_anonymisation,
    set_privacy,
)
from .purge import (
    DEFAULT_BATCH_SIZE,
    cancel_purge,
    criteria_of,
    drive_purge,
    erase_patrons,
    months_before,
    purge_next_batch,
    scheduled_purge_criteria,
    start_purge,
    start_scheduled_purge,
    unfinished_runs,
)
from .selection import (
    DryRun,
    Exclusion,
    InvalidCriteria,
    KeptPatron,
    PurgeCriteria,
    SelectedPatron,
    count_purgeable,
    dry_run,
    kept_page,
    purgeable,
    would_purge_page,
)

__all__ = [
    "AnonymisationResult", "DEFAULT_BATCH_SIZE", "DryRun", "Exclusion", "InvalidCriteria", "KeptPatron",
    "PurgeCriteria", "SelectedPatron", "anonymise_history_batch", "anonymise_holds",
    "anonymise_patron_history", "audit_anonymisation", "cancel_purge", "count_purgeable", "criteria_of", "drive_anonymisation", "drive_purge", "dry_run",
    "erase_patrons", "kept_page", "months_before", "purge_next_batch", "purgeable", "scheduled_purge_criteria", "set_privacy", "start_purge", "start_scheduled_purge", "unfinished_runs",
    "would_purge_page",
]
