"""Loan ids are never reused, so a new loan never takes the id of one already in history and
fines (Koha's bug 18242)."""
from __future__ import annotations

from sqlalchemy import select

from app.models import LoanHistory
from app.services.circulation import check_in, check_out


def test_a_new_loan_never_reuses_the_id_of_a_returned_one(make, session):
    staff = make.staff()
    patron = make.patron()
    item = make.item()
    first = check_out(session, patron, item, "CPL", staff).loan
    first_id = first.id
    check_in(session, item, "CPL", staff)
    second = check_out(session, patron, item, "CPL", staff).loan
    session.commit()
    assert second.id > first_id
    assert session.scalar(select(LoanHistory.loan_id)) == first_id
