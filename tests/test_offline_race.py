"""An offline batch applied while desks keep lending and checking in the same patrons' and items'
copies: everything takes turns (no deadlock, no lost or doubled loan), and every offline action
still ends applied or failed with its reason. On PostgreSQL the batch locks its patrons, then its
items, as a desk checkout does; on SQLite BEGIN IMMEDIATE serialises the writers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Item, Loan, LoanHistory, OfflineStatus, Patron, PendingOfflineOperation
from app.services.circulation import Code, check_in, check_out
from app.services.offline import process_offline_operations, upload_koc

from .test_circulation_race import _run_together
from .test_offline_fixtures import issue, koc_text, ret

CARDS = [f"2352900000020{n}" for n in range(4)]
BARCODES = [f"3999900000020{n:02d}" for n in range(12)]


def _desk(work) -> None:
    with db.unit_of_work() as s:
        work(s)


def _lend(barcode: str, card: str) -> None:
    _desk(lambda s: check_out(s, s.scalar(select(Patron).where(Patron.cardnumber == card)),
                              s.scalar(select(Item).where(Item.barcode == barcode)), "CPL", None,
                              confirmed=[Code.ON_LOAN_TO_ANOTHER_PATRON]))


def _return(barcode: str) -> None:
    _desk(lambda s: check_in(s, s.scalar(select(Item).where(Item.barcode == barcode)), "CPL", None))


def test_an_offline_batch_and_busy_desks_take_turns_and_lose_nothing(make, session):
    make.library("CPL")
    for card in CARDS:
        make.patron(cardnumber=card)
    for barcode in BARCODES:
        make.item(barcode=barcode)
    start = clock.now() - dt.timedelta(hours=1)  # this morning's outage: nothing falls overdue

    def at(minutes: int) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    lines = [issue(at(n), CARDS[n % 4], BARCODES[n]) for n in range(8)]
    lines += [ret(at(30 + n), BARCODES[n]) for n in range(4)]
    upload_koc(session, koc_text(*lines), "race.koc")
    session.commit()

    def process(_n: int) -> None:
        with db.unit_of_work() as s:
            process_offline_operations(s, None, batch_size=3, checkpoint=s.commit)

    work = [
        process,
        lambda _n: [_lend(BARCODES[n], CARDS[n % 4]) for n in range(8, 12)],  # the same patrons, other copies
        lambda _n: [_lend(BARCODES[n], CARDS[(n + 1) % 4]) for n in range(4, 8)],  # copies the file lends too
        lambda _n: [_return(BARCODES[n]) for n in range(4)],  # copies the file lends and returns
    ]
    _run_together(lambda n: work[n](n), len(work))

    session.rollback()
    operations = session.scalars(select(PendingOfflineOperation)).all()
    assert len(operations) == 12
    assert {op.status for op in operations} <= {OfflineStatus.APPLIED, OfflineStatus.FAILED}
    assert not [op.result for op in operations if op.outcome == "error"]
    assert all(op.result for op in operations)
    applied = [op for op in operations if op.status is OfflineStatus.APPLIED]
    assert applied  # the batch was not shut out
    lent_by_desk = session.scalar(select(func.count()).select_from(Loan).join(Item).where(
        Item.barcode.in_(BARCODES[8:])))
    assert lent_by_desk == 4  # the desk's own checkouts all went through
    for barcode in BARCODES:  # each copy's loans, ended and open, never overlap
        item_id = session.scalar(select(Item.id).where(Item.barcode == barcode))
        spans = sorted(session.execute(select(LoanHistory.issued_at, LoanHistory.returned_at)
                                       .where(LoanHistory.item_id == item_id)).all())
        open_loan = session.scalar(select(Loan.issued_at).where(Loan.item_id == item_id))
        ends = [returned for _issued, returned in spans]
        starts = [issued for issued, _returned in spans][1:] + ([open_loan] if open_loan else [])
        assert all(end <= start for end, start in zip(ends, starts)), (barcode, spans, open_loan)
