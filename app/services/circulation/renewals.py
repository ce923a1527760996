"""Renewals: allowed by the rules (how many, whether overdue loans may be), refused while another
patron's hold waits on the title or while the patron is blocked.

The new due date is the renewal period counted from the later of now and the current due date,
so renewing early never shortens a loan; closed days are handled as at checkout. Renewing an
overdue loan charges the fine run up so far (status "renewed")."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app import clock
from app.models import Loan, Patron
from app.services import fines
from app.services.activity import record_activity
from app.services.holds_hooks import holds_blocking_renewal

from .checkin import fine_policy
from .checks import check_patron_standing, lock_item
from .due_dates import control_library, due_date_after, loan_rules
from .outcomes import Code, RenewalOutcome

RENEWAL_RULES = ["renewalsallowed", "renewalperiod", "overdue_renewals", "skip_closed_days"]


def renewal_refusals(session: Session, loan: Loan, *, at: dt.datetime | None = None) -> RenewalOutcome:
    """Why this loan may not be renewed now (no blocks: it may). Changes nothing."""
    moment = at or clock.now()
    outcome = RenewalOutcome(loan=loan)
    patron: Patron = loan.patron
    rules = loan_rules(session, patron, loan.item, loan.library_code, RENEWAL_RULES)
    if loan.renewals_count >= rules["renewalsallowed"]:
        outcome.block(Code.TOO_MANY_RENEWALS, count=loan.renewals_count, limit=rules["renewalsallowed"])
    if loan.is_overdue(moment) and not rules["overdue_renewals"]:
        outcome.block(Code.OVERDUE_NOT_RENEWABLE)
    if holds_blocking_renewal(session, loan):
        outcome.block(Code.ON_HOLD)
    standing = RenewalOutcome()
    check_patron_standing(session, patron, standing, clock.local(moment).date())
    outcome.messages.extend(standing.blocks)  # owing a little is no reason to refuse a renewal
    return outcome


def renewed_due_at(session: Session, loan: Loan, at: dt.datetime) -> dt.datetime:
    rules = loan_rules(session, loan.patron, loan.item, loan.library_code, RENEWAL_RULES)
    return due_date_after(session, max(at, loan.due_at), rules["renewalperiod"],
                          control_library(session, loan.patron, loan.item, loan.library_code),
                          rules["skip_closed_days"])


def renew_loan(session: Session, loan: Loan, actor: Patron | None, *, renewed_at: dt.datetime | None = None,
               no_block: bool = False) -> RenewalOutcome:
    """Renew the loan if the rules allow (``no_block``: whatever they say, for offline
    renewals), returning the new due date or the refusals."""
    at = renewed_at or clock.now()
    item = lock_item(session, loan.item_id)  # with its title, which the answer names
    session.refresh(loan)
    outcome = renewal_refusals(session, loan, at=at)
    if outcome.blocks:
        if not no_block:
            return outcome
        outcome.set_aside()
    if loan.is_overdue(at):
        policy = fine_policy(session, loan, loan.patron, item)
        if policy is not None:
            outcome.fine, calculation = fines.charge_overdue_fine(
                session, loan, at, policy, library_code=loan.library_code, actor=actor, status="renewed")
            if outcome.fine is not None:
                outcome.alert(Code.OVERDUE_FINE_CHARGED, days=calculation.days_late,
                              amount=fines.money(outcome.fine.amount))
    loan.due_at = renewed_due_at(session, loan, at)
    loan.renewals_count += 1
    loan.last_renewed_at = at
    item.renewals_count += 1
    session.flush()
    outcome.renewed, outcome.due_at = True, loan.due_at
    outcome.alert(Code.RENEWED, due=clock.local(loan.due_at).date().isoformat())
    record_activity(session, loan.patron_id, "renewal", at)
    return outcome
