"""Two desks scanning one item at the same instant: exactly one checkout succeeds. Each thread
is its own boundary (``db.unit_of_work``), as two web workers would be. On PostgreSQL the item
row lock decides; on SQLite BEGIN IMMEDIATE serialises the writers; the unique loan per item is
the last line either way."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import Item, Loan, Patron
from app.services import fines
from app.services.circulation import Code, check_in, check_out

DESKS = 6


def _run_together(work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[n] = work(n)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def scene(make, session):
    make.library("CPL")
    patrons = [make.patron() for _ in range(DESKS)]
    item = make.item()
    session.commit()
    return [p.id for p in patrons], item.id


def _checkout_at_desk(patron_id: int, item_id: int) -> tuple[bool, list[str]]:
    with db.unit_of_work() as s:
        outcome = check_out(s, s.get(Patron, patron_id), s.get(Item, item_id), "CPL", None)
        return outcome.ok, [m.code.value for m in outcome.messages]


def test_concurrent_checkouts_of_one_item_cannot_both_succeed(scene, session):
    patron_ids, item_id = scene
    results = _run_together(lambda n: _checkout_at_desk(patron_ids[n], item_id), DESKS)
    winners = [r for r in results if r[0]]
    assert len(winners) == 1, results
    for ok, codes in results:
        if not ok:
            assert codes == [Code.ON_LOAN_TO_ANOTHER_PATRON.value] or Code.CHECKED_OUT_CONCURRENTLY.value in codes
    assert session.scalar(select(func.count()).select_from(Loan)) == 1


def test_concurrent_overrides_leave_exactly_one_loan(scene, session):
    """Every desk agrees to check the item in from whoever has it: the checkouts take turns,
    each closing the previous one, and one loan is left."""
    patron_ids, item_id = scene

    def work(n: int) -> bool:
        with db.unit_of_work() as s:
            return check_out(s, s.get(Patron, patron_ids[n]), s.get(Item, item_id), "CPL", None,
                             confirmed=[Code.ON_LOAN_TO_ANOTHER_PATRON]).ok

    assert all(_run_together(work, DESKS))
    assert session.scalar(select(func.count()).select_from(Loan)) == 1


def test_concurrent_check_ins_close_the_loan_once(scene, session):
    patron_ids, item_id = scene
    _checkout_at_desk(patron_ids[0], item_id)

    def work(_n: int) -> bool:
        with db.unit_of_work() as s:
            return check_in(s, s.get(Item, item_id), "CPL", None).was_on_loan

    assert sorted(_run_together(work, 4)) == [False, False, False, True]


def test_a_check_in_and_the_borrowers_own_checkout_of_the_copy_take_turns(scene, session):
    """The book drop checks the copy in while its borrower scans it at the self-check: the
    checkout locks the patron then waits for the copy, the check-in holds the copy and writes
    the patron's loan history. Neither may wait for the other in a circle (a deadlock)."""
    patron_ids, item_id = scene

    def work(n: int):
        if n == 0:
            with db.unit_of_work() as s:
                return check_in(s, s.get(Item, item_id), "CPL", None).was_on_loan
        return _checkout_at_desk(patron_ids[0], item_id)

    for _ in range(8):
        if session.scalar(select(Loan.id).where(Loan.item_id == item_id)) is None:
            _checkout_at_desk(patron_ids[0], item_id)
        session.rollback()
        _run_together(work, 2)  # a deadlock would be raised here
        session.rollback()
    assert session.scalar(select(func.count()).select_from(Loan)) <= 1


def test_concurrent_payments_apply_each_cent_once(make, session):
    patron = make.patron()
    fee = fines.add_manual_fee(session, patron, "4.00", None, description="Fee")
    session.commit()

    def work(_n: int) -> None:
        with db.unit_of_work() as s:
            fines.pay_fees(s, s.get(Patron, patron.id), "1.00", "cash", None)

    _run_together(work, 4)
    session.expire_all()
    assert session.get(type(fee), fee.id).amount_outstanding == 0
    assert fines.balance(session, patron) == 0


def test_the_database_refuses_a_second_open_loan_for_one_item(make, session):
    make.library("CPL")
    first, second = make.patron(), make.patron()
    item = make.item()
    now = clock.now()
    session.add(Loan(patron_id=first.id, item_id=item.id, library_code="CPL", issued_at=now,
                     due_at=now + dt.timedelta(days=1)))
    session.flush()
    session.add(Loan(patron_id=second.id, item_id=item.id, library_code="CPL", issued_at=now,
                     due_at=now + dt.timedelta(days=1)))
    with pytest.raises(IntegrityError):
        session.flush()
