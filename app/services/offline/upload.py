"""One .koc upload, as the staff page and the command line both do it: read the file, queue
its well-formed lines (duplicates ignored), and with ``apply`` process what was queued."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy.orm import Session

from app.models import Patron

from .koc import KocFile, parse_koc
from .processing import DEFAULT_BATCH, ProcessingSummary, process_offline_operations
from .queue import EnqueueResult, enqueue_offline_operations, records_from_koc


@dataclass
class KocUpload:
    source: str
    koc: KocFile
    queued: EnqueueResult
    processing: ProcessingSummary | None = None

    @property
    def added(self) -> int:
        return len(self.queued.added)

    @property
    def applied(self) -> int:
        return self.processing.applied if self.processing else 0

    @property
    def failed(self) -> int:
        """Malformed lines, and with ``apply`` the actions that failed."""
        return len(self.koc.errors) + (self.processing.failed if self.processing else 0)

    @property
    def summary_line(self) -> str:
        return f"{self.applied} applied, {self.failed} failed, {self.queued.duplicates} duplicates ignored"

    def problem_lines(self) -> list[tuple[int, str]]:
        """Every malformed line and every failed action, as (line number, reason), in file order."""
        problems = [(e.line_number, e.reason) for e in self.koc.errors]
        if self.processing:
            problems.extend((r.line_number or 0, r.message) for r in self.processing.failures)
        return sorted(problems)


def upload_koc(session: Session, data: str | bytes, source: str, *, apply: bool = False,
               uploaded_by: Patron | None = None, library_code: str | None = None,
               checkpoint: Callable[[], None] | None = None, batch_size: int = DEFAULT_BATCH) -> KocUpload:
    """Queue the file's actions; with ``apply``, process the ones this upload queued (in time
    order with nothing else: actions already pending from other files stay for staff)."""
    koc = parse_koc(data)
    queued = enqueue_offline_operations(session, records_from_koc(koc, source), uploaded_by=uploaded_by,
                                        library_code=library_code)
    upload = KocUpload(source, koc, queued)
    if apply:
        ids = [row.id for row in queued.added]
        if checkpoint is not None:
            checkpoint()  # the queue is safe before the first action is applied
        upload.processing = process_offline_operations(session, uploaded_by, ids=ids, checkpoint=checkpoint,
                                                       batch_size=batch_size)
    return upload
