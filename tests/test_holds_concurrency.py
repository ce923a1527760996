"""Holds placed, moved and cancelled at the same instant from many workstations. Each thread is
its own boundary (``db.unit_of_work``), as separate web workers would be. On PostgreSQL the
patron's and the title's row locks decide (run with CARREL_TEST_DATABASE_URL); on SQLite
BEGIN IMMEDIATE serialises the writers; the unique queue key per title is the last line either
way."""
from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Hold, Patron, Title
from app.models.hold import LIVE_STATUSES
from app.services import holds
from app.services.holds import refusals as R
from app.services.rules import set_rule


def run_together(work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[n] = work(n)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def place(patron_id: int, title_id: int) -> int | str:
    """Place a hold in a boundary of its own: the hold id, or the refusal's code."""
    try:
        with db.unit_of_work() as s:
            patron = s.get(Patron, patron_id)
            return holds.place_hold(s, patron, s.get(Title, title_id), patron).id
    except R.HoldRefused as refusal:
        return refusal.code


def queue_positions(session, title_id: int) -> list[int]:
    session.rollback()
    session.expire_all()
    return sorted(holds.positions_for(session, [title_id]).values())


def test_fifty_simultaneous_placements_on_one_title_get_positions_one_to_fifty(make, session):
    make.library("CPL")
    patrons = [make.patron().id for _ in range(50)]
    title = make.item().title
    session.commit()
    hold_ids = run_together(lambda n: place(patrons[n], title.id), 50)
    assert all(isinstance(hold_id, int) for hold_id in hold_ids), hold_ids
    assert len(set(hold_ids)) == 50
    assert queue_positions(session, title.id) == list(range(1, 51))
    keys = session.scalars(select(Hold.queue_key).where(Hold.title_id == title.id)).all()
    assert sorted(keys) == list(range(1, 51))
    assert session.get(Title, title.id).hold_queue_version == 50


def test_twenty_parallel_attempts_by_one_patron_never_pass_the_limit(make, session):
    make.library("CPL")
    set_rule(session, "*", "*", "*", "reservesallowed", 5)
    patron = make.patron()
    titles = [make.item().title.id for _ in range(20)]
    session.commit()
    results = run_together(lambda n: place(patron.id, titles[n]), 20)
    assert sum(isinstance(r, int) for r in results) == 5
    assert sorted(r for r in results if isinstance(r, str)) == ["tooManyReserves"] * 15
    assert session.scalar(select(func.count(Hold.id)).where(Hold.patron_id == patron.id)) == 5


def test_twenty_parallel_attempts_on_one_title_give_one_hold(make, session):
    make.library("CPL")
    patron = make.patron()
    title = make.item().title
    session.commit()
    results = run_together(lambda n: place(patron.id, title.id), 20)
    assert sum(isinstance(r, int) for r in results) == 1
    assert {r for r in results if isinstance(r, str)} == {"tooManyHoldsForThisRecord"}


def test_simultaneous_moves_cancels_and_placements_keep_the_queue_whole(make, session):
    make.library("CPL")
    title = make.item().title
    first = [make.patron() for _ in range(12)]
    newcomers = [make.patron().id for _ in range(6)]
    placed = [holds.place_hold(session, p, title, None).id for p in first]
    session.commit()
    rng = random.Random(7)
    moves = [(rng.choice(placed), rng.choice(["top", "bottom", "up", "down", rng.randint(1, 12)])) for _ in range(12)]

    def work(n: int):
        if n < 12:
            hold_id, to = moves[n]
            try:
                with db.unit_of_work() as s:
                    return holds.move_hold(s, s.get(Hold, hold_id), to, None).to_position
            except R.HoldRefused as refusal:
                return refusal.code
        if n < 18:
            return place(newcomers[n - 12], title.id)
        with db.unit_of_work() as s:
            return holds.cancel_hold(s, s.get(Hold, placed[n - 18]), None).id

    results = run_together(work, 21)
    assert all(not isinstance(r, str) or r == "holdNotInQueue" for r in results), results
    live = session.scalar(select(func.count(Hold.id)).where(Hold.title_id == title.id, Hold.status.in_(LIVE_STATUSES)))
    assert live == 12 + 6 - 3
    assert queue_positions(session, title.id) == list(range(1, live + 1))
    keys = session.scalars(select(Hold.queue_key).where(Hold.title_id == title.id)).all()
    assert len(keys) == len(set(keys)) == 18


@pytest.mark.parametrize("count", [8])
def test_simultaneous_moves_of_one_hold_with_the_same_stale_position_move_it_once(make, session, count):
    make.library("CPL")
    title = make.item().title
    placed = [holds.place_hold(session, make.patron(), title, None).id for _ in range(count)]
    session.commit()

    def work(_n: int):
        try:
            with db.unit_of_work() as s:
                return holds.move_hold(s, s.get(Hold, placed[-1]), "up", None, expected_position=count).to_position
        except R.QueueChanged:
            return "queueChanged"

    results = run_together(work, count)
    assert sorted(results, key=str) == sorted([count - 1] + ["queueChanged"] * (count - 1), key=str)
    session.rollback()
    session.expire_all()
    assert holds.positions_for(session, [title.id])[placed[-1]] == count - 1
