"""Offline circulation: .koc files and the built-in page's transactions go into one pending
queue (each action once, by fingerprint), and are applied from it exactly, in time order,
through the circulation services. Also what a workstation downloads to work offline."""
from .fingerprint import KOC_WORKSTATION, offline_fingerprint
from .koc import InvalidOfflineRecord, KocFile, KocLineError, KocRecord, koc_header, koc_line, parse_koc
from .patron_file import PatronFileExists, PatronFileSummary, write_patron_file
from .processing import (
    ActionResult,
    OfflineOutcome,
    ProcessingSummary,
    ordered_operation_ids,
    process_offline_operations,
)
from .listing import OperationRow, describe_operations, operations_in_view, status_counts
from .queue import (
    DUPLICATE,
    QUEUED,
    EnqueueResult,
    OfflineRecord,
    delete_offline_operations,
    enqueue_offline_operations,
    records_from_koc,
)
from .transactions import BrowserTransaction, RefusedTransaction, read_transactions
from .upload import KocUpload, upload_koc

__all__ = [
    "ActionResult", "BrowserTransaction", "DUPLICATE", "OperationRow", "delete_offline_operations",
    "describe_operations", "operations_in_view", "status_counts", "EnqueueResult", "InvalidOfflineRecord", "KOC_WORKSTATION",
    "KocFile", "KocLineError", "KocRecord", "KocUpload", "OfflineOutcome", "OfflineRecord", "PatronFileExists",
    "PatronFileSummary", "ProcessingSummary", "QUEUED", "RefusedTransaction",
    "enqueue_offline_operations", "koc_header", "koc_line", "offline_fingerprint", "ordered_operation_ids",
    "parse_koc", "process_offline_operations", "read_transactions", "records_from_koc", "upload_koc",
    "write_patron_file",
]
