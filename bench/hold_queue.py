"""Holds queue benchmarks (issue 6's targets):

- the full rebuild (staging batches, then the one-transaction swap) over every title with holds
  to fill: wall time and the process's peak RSS (target at L: <= 30 s SQLite, <= 20 s
  PostgreSQL, <= 500 MB); then a second rebuild, which should change nothing;
- the per-title update: p95 of the time ``refresh_marked_titles`` adds to a transaction that
  moved a copy of a title with holds (target <= 50 ms);
- the single holds report for the library with the most copies to pull (target <= 1 s for
  about 5,000 rows at L; the row count is printed beside it).

Registered as ``hold_queue``; or alone on a seeded database (it changes holds and items: use a
bench database): ``python -m bench.hold_queue --url sqlite:///bench/.cache/bench-S.db``."""
from __future__ import annotations

import random
import re
import resource
import statistics
import sys
import time
from typing import Callable, Iterator

from sqlalchemy import func, select

from . import Figure, registered

UPDATE_SAMPLES = 200
REPORT_ROWS = 5000  # the busiest library at L; smaller sizes are topped up with synthetic holds
REPORT_SAMPLES = 5
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_all(app, log: Callable[[str], None]) -> Iterator[Figure]:
    from app.extensions import db
    from app.models import Hold, HoldStatus, Item, Library
    from app.services.hold_queue.maintenance import mark_title, refresh_marked_titles
    from app.services.hold_queue.rebuild import rebuild_hold_queue
    from app.services.settings import set_preference

    dialect = db.engine.dialect.name
    with app.app_context():
        with db.unit_of_work() as session:
            set_preference(session, "RealTimeHoldsQueue", False, actor_id=None)
        before = _peak_mb()
        started = time.perf_counter()
        result = rebuild_hold_queue(db.unit_of_work, on_batch=lambda done, total: log(f"rebuild: {done}/{total} titles"))
        seconds = time.perf_counter() - started
        log(f"rebuild: {result}")
        yield f"hold_queue_rebuild_{dialect}_seconds", round(seconds, 2), "s"
        yield f"hold_queue_rebuild_{dialect}_holds_planned", result.holds, "holds"
        yield f"hold_queue_rebuild_{dialect}_holds_changed", result.changed, "holds"
        yield f"hold_queue_rebuild_{dialect}_peak_rss", round(max(before, _peak_mb()), 1), "MB"
        started = time.perf_counter()
        again = rebuild_hold_queue(db.unit_of_work)
        yield f"hold_queue_rebuild_again_{dialect}_seconds", round(time.perf_counter() - started, 2), "s"
        yield f"hold_queue_rebuild_again_{dialect}_holds_changed", again.changed, "holds"

        with db.unit_of_work() as session:
            set_preference(session, "RealTimeHoldsQueue", True, actor_id=None)
            titles = list(session.scalars(select(Hold.title_id).where(Hold.status.in_(
                (HoldStatus.QUEUED, HoldStatus.READY_TO_PULL))).distinct()))
            libraries = list(session.scalars(select(Library.code)))
        rng = random.Random(6)
        samples: list[float] = []
        for title_id in rng.sample(titles, min(UPDATE_SAMPLES, len(titles))):
            with db.unit_of_work() as session:
                item = session.scalar(select(Item).where(Item.title_id == title_id).order_by(Item.id).limit(1))
                if item is None:
                    continue
                item.holding_library_code = rng.choice(libraries)  # a copy moved
                mark_title(session, title_id)
                session.flush()
                started = time.perf_counter()
                refresh_marked_titles(session)
                samples.append((time.perf_counter() - started) * 1000)
        if len(samples) >= 2:
            yield f"hold_queue_update_{dialect}_p95", round(statistics.quantiles(samples, n=100)[94], 2), "ms"
            yield f"hold_queue_update_{dialect}_p50", round(statistics.median(samples), 2), "ms"

        with db.unit_of_work() as session:
            set_preference(session, "RealTimeHoldsQueue", False, actor_id=None)
            busiest, rows = session.execute(
                select(Hold.source_library_code, func.count(Hold.id)).where(Hold.status == HoldStatus.READY_TO_PULL)
                .group_by(Hold.source_library_code).order_by(func.count(Hold.id).desc()).limit(1)).one()
        if rows < REPORT_ROWS:
            rows += _top_up(session_factory=db.unit_of_work, library=busiest, wanted=REPORT_ROWS - rows)
            log(f"report: topped up to {rows} rows with synthetic ready-to-pull holds")
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    client.post("/staff/login", data={"login": "admin", "password": "admin", "csrf_token": token})
    times = []
    for _ in range(REPORT_SAMPLES):
        started = time.perf_counter()
        response = client.get(f"/staff/holds/report?library={busiest}")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    log(f"report for {busiest}: {rows} rows")
    yield f"hold_queue_report_{dialect}_rows", rows, "rows"
    yield f"hold_queue_report_{dialect}_median", round(statistics.median(times) * 1000, 1), "ms"
    yield f"hold_queue_report_{dialect}_max", round(max(times) * 1000, 1), "ms"


def _top_up(session_factory, library: str, wanted: int) -> int:
    """Add up to ``wanted`` ready-to-pull holds on free copies shelved at ``library`` (queue keys
    far above the seed's), so the report can be timed at L's size on a smaller data set."""
    from sqlalchemy import insert

    from app.models import Hold, HoldStatus, Item, Loan, Patron

    with session_factory() as session:
        taken = select(Hold.allocated_item_id).where(Hold.allocated_item_id.is_not(None))
        items = session.execute(select(Item.id, Item.title_id).where(
            Item.holding_library_code == library, Item.lost == 0, Item.withdrawn.is_(False),
            Item.id.not_in(taken), Item.id.not_in(select(Loan.item_id))).limit(wanted)).all()
        patrons = list(session.scalars(select(Patron.id).limit(500)))
        pickups = list(session.scalars(select(Hold.pickup_library_code).distinct()))
        rows = [dict(patron_id=patrons[n % len(patrons)], title_id=title_id, pickup_library_code=pickups[n % len(pickups)],
                     status=HoldStatus.READY_TO_PULL, queue_key=900_000 + n, allocated_item_id=item_id,
                     source_library_code=library, channel="bench")
                for n, (item_id, title_id) in enumerate(items)]
        if rows:
            session.execute(insert(Hold), rows)
    return len(rows)


main = registered("hold_queue", __doc__, run_all)


if __name__ == "__main__":
    sys.exit(main())
