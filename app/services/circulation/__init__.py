"""Circulation: check out, check in, renew. Each function is one use case: it flushes, never
commits, takes the actor as an argument, and returns a typed outcome (blocks, confirmations,
alerts) that the staff desk, SIP2 and the offline processor each render their own way."""
from .checkin import check_in
from .checkout import check_out
from .outcomes import CheckInOutcome, CheckOutOutcome, Code, Kind, Message, Outcome, RenewalOutcome
from .checks import Locked, patron_standing
from .queries import find_item, find_patron, loans_for_patron, open_transfer, overdue_loans, search_patrons
from .renewals import renew_loan, renewal_refusals

__all__ = [
    "CheckInOutcome", "CheckOutOutcome", "Code", "Kind", "Message", "Outcome", "RenewalOutcome",
    "check_in", "check_out", "find_item", "find_patron", "loans_for_patron", "overdue_loans",
    "open_transfer", "patron_standing", "renew_loan", "renewal_refusals", "search_patrons",
]
