"""Holds benchmarks on a seeded database (issue 4's targets):

- 50 placements on one title from 50 threads at once (each its own boundary, as 50 web workers):
  positions must come out exactly 1..50 (the run stops otherwise); prints the wall time and the
  p95 of one placement.
- A title with 500 holds and 200 items: p95 of the staff queue page, the OPAC title page and the
  OPAC place-hold form (target <= 300 ms).
- Reordering one hold in that queue (the htmx request answering with the whole queue): p95
  (target <= 200 ms).
- The three daily hold jobs (expire, resume, long waiting) over every hold of the database, as
  they run today and as they run 120 days later when most dates have come (target <= 60 s at L).

Registered as the ``holds`` benchmark; or run alone on an already seeded database:
``python -m bench.holds --url sqlite:///bench/.cache/bench-S.db``. The run adds a title, items,
patrons and holds, and its last step changes the statuses of many holds: use a bench database."""
from __future__ import annotations

import datetime as dt
import random
import re
import statistics
import sys
import threading
import time
from typing import Callable, Iterator

from sqlalchemy import func, insert, select

from . import Figure, percentile, registered

PATRONS_PLACING = 50
QUEUE_HOLDS = 500
QUEUE_ITEMS = 200
PAGE_SAMPLES = 60
MOVE_SAMPLES = 100
TARGET_PAGE_P95_MS = 300.0
TARGET_MOVE_P95_MS = 200.0
TARGET_JOBS_SECONDS = 60.0
STAFF_LOGIN, STAFF_PASSWORD = "bench-holds-admin", "bench-holds-password"
READER_PASSWORD = "bench-reader"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def p95(samples: list[float]) -> float:
    return percentile(samples, 95)


def _fresh_patrons(session, count: int, prefix: str) -> list[int]:
    from app.models import Library, Patron, PatronCategory
    from app.services.passwords import hash_password

    library = session.scalar(select(Library.code).where(Library.is_pickup_location.is_(True)).order_by(Library.code))
    category = session.scalar(select(PatronCategory.code).order_by(PatronCategory.code))
    secret = hash_password(READER_PASSWORD)
    stamp = int(time.time() * 1000) % 10_000_000
    rows = [dict(cardnumber=f"{prefix}{stamp}-{n}", userid=f"{prefix}{stamp}-{n}", surname=f"Bench{n}",
                 firstname=prefix, library_code=library, category_code=category, password_hash=secret,
                 dateexpiry=dt.date.today() + dt.timedelta(days=365)) for n in range(count)]
    session.execute(insert(Patron), rows)
    return list(session.scalars(select(Patron.id).where(Patron.firstname == prefix,
                                                        Patron.cardnumber.like(f"{prefix}{stamp}-%"))))


def _new_title(session, items: int, name: str) -> int:
    from app.models import Item, ItemType, Library, Title

    title = Title(title=name, author="Bench")
    session.add(title)
    session.flush()
    libraries = list(session.scalars(select(Library.code).order_by(Library.code)))
    item_type = session.scalar(select(ItemType.code).order_by(ItemType.code))
    stamp = int(time.time() * 1000) % 10_000_000
    session.execute(insert(Item), [dict(
        barcode=f"BH{stamp}-{title.id}-{n}", title_id=title.id, home_library_code=libraries[n % len(libraries)],
        holding_library_code=libraries[n % len(libraries)], item_type_code=item_type, callnumber=f"BENCH {n}")
        for n in range(items)])
    return title.id


def concurrent_placements(app, log) -> Iterator[Figure]:
    """50 threads place a hold on one new title at the same instant."""
    from app.extensions import db
    from app.models import Patron, Title
    from app.services import holds

    with app.app_context(), db.unit_of_work() as session:
        patron_ids = _fresh_patrons(session, PATRONS_PLACING, "place")
        title_id = _new_title(session, 2, "Bench: fifty at once")
    barrier = threading.Barrier(PATRONS_PLACING)
    timings: list[float] = []
    errors: list[BaseException] = []

    def place(patron_id: int) -> None:
        try:
            barrier.wait(timeout=60)
            started = time.perf_counter()
            with app.app_context(), db.unit_of_work() as s:
                patron = s.get(Patron, patron_id)
                holds.place_hold(s, patron, s.get(Title, title_id), patron, channel="opac")
            timings.append((time.perf_counter() - started) * 1000)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=place, args=(pid,)) for pid in patron_ids]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    wall = time.perf_counter() - started
    with app.app_context(), db.unit_of_work(write=False) as session:
        positions = sorted(holds.positions_for(session, [title_id]).values())
    if errors or positions != list(range(1, PATRONS_PLACING + 1)):
        raise SystemExit(f"concurrent placements broke the queue: {errors[:3]} positions {positions}")
    log(f"  50 concurrent placements: positions 1..50 exact, {wall:.2f} s wall, one placement p95 {p95(timings):.0f} ms")
    yield "holds_place_50_concurrent_seconds", wall, "s"
    yield "holds_place_p95_ms", p95(timings), "ms"


def _queue_title(app) -> tuple[int, list[int], int]:
    """A title with 200 items and 500 holds (some suspended), written in bulk: its id, the hold
    ids, and a patron with no hold on it."""
    from app.extensions import db
    from app.models import Hold, HoldHistory, HoldStatus, Library

    with app.app_context(), db.unit_of_work() as session:
        patron_ids = _fresh_patrons(session, QUEUE_HOLDS + 1, "queue")
        reader = patron_ids.pop()  # holds nothing yet: the place-hold form weighs every copy
        title_id = _new_title(session, QUEUE_ITEMS, "Bench: five hundred holds")
        pickups = list(session.scalars(select(Library.code).where(Library.is_pickup_location.is_(True))))
        now = dt.datetime.now(dt.timezone.utc)
        rng = random.Random(4)
        rows = []
        for n, patron_id in enumerate(patron_ids, start=1):
            suspended = rng.random() < 0.1
            rows.append(dict(patron_id=patron_id, title_id=title_id, pickup_library_code=rng.choice(pickups),
                             status=HoldStatus.SUSPENDED if suspended else HoldStatus.QUEUED, queue_key=n,
                             placed_at=now - dt.timedelta(minutes=QUEUE_HOLDS - n), channel="opac",
                             lowest_priority=False, anonymized=False, created_at=now, updated_at=now))
        session.execute(insert(Hold), rows)
        hold_ids = list(session.scalars(select(Hold.id).where(Hold.title_id == title_id).order_by(Hold.queue_key)))
        session.execute(insert(HoldHistory), [dict(hold_id=h, at=now, from_status=None, to_status=HoldStatus.QUEUED,
                                                   reason="placed") for h in hold_ids])
    return title_id, hold_ids, reader


def _login(client, path: str, login: str, password: str) -> str:
    page = client.get(path).get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post(path, data={"login": login, "password": password, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"bench login failed at {path}: {response.status_code}")
    return CSRF.search(client.get("/staff/" if "staff" in path else "/account").get_data(as_text=True)).group(1)


def _timed(samples: int, request: Callable[[], object]) -> list[float]:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = request()
        timings.append((time.perf_counter() - started) * 1000)
        if getattr(response, "status_code", 200) >= 400:
            raise SystemExit(f"bench request failed: {response.status_code}")
    return timings


def pages_and_moves(app, log) -> Iterator[Figure]:
    from app.extensions import db
    from app.models import Hold, Patron, Permission, StaffPermission
    from app.services import holds
    from app.services.passwords import hash_password

    title_id, hold_ids, reader_id = _queue_title(app)
    with app.app_context(), db.unit_of_work() as session:
        admin = session.scalar(select(Patron).where(Patron.userid == STAFF_LOGIN))
        if admin is None:
            library = session.get(Patron, reader_id).library_code
            admin = Patron(userid=STAFF_LOGIN, cardnumber=STAFF_LOGIN, surname="Bench", library_code=library,
                           category_code=session.get(Patron, reader_id).category_code,
                           password_hash=hash_password(STAFF_PASSWORD))
            admin.permissions.append(StaffPermission(permission=Permission.SUPERLIBRARIAN))
            session.add(admin)
        reader_card = session.get(Patron, reader_id).cardnumber
    staff = app.test_client()
    token = _login(staff, "/staff/login", STAFF_LOGIN, STAFF_PASSWORD)
    opac = app.test_client()
    _login(opac, "/login", reader_card, READER_PASSWORD)
    figures = {
        "staff queue page": _timed(PAGE_SAMPLES, lambda: staff.get(f"/staff/holds/titles/{title_id}")),
        "OPAC title page": _timed(PAGE_SAMPLES, lambda: opac.get(f"/titles/{title_id}")),
        "OPAC place-hold form": _timed(PAGE_SAMPLES, lambda: opac.get(f"/titles/{title_id}/hold")),
    }
    for name, timings in figures.items():
        log(f"  {name} (500 holds, 200 items): p50 {statistics.median(timings):.0f} ms, p95 {p95(timings):.0f} ms")
    yield "holds_title_page_p95_ms", p95(figures["staff queue page"]), "ms"
    yield "holds_opac_title_page_p95_ms", p95(figures["OPAC title page"]), "ms"
    yield "holds_place_form_p95_ms", p95(figures["OPAC place-hold form"]), "ms"

    rng = random.Random(7)
    moves: list[float] = []
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    for _ in range(MOVE_SAMPLES):
        hold_id = rng.choice(hold_ids)
        with app.app_context(), db.unit_of_work(write=False) as session:
            current = holds.position_of(session, session.get(Hold, hold_id))
        target = rng.choice(["top", "bottom", "up", "down", str(rng.randint(1, QUEUE_HOLDS))])
        data = {"csrf_token": token, "expected_position": str(current), "where": "title",
                **({"to": target} if not target.isdigit() else {"to": "", "position": target})}
        started = time.perf_counter()
        response = staff.post(f"/staff/holds/{hold_id}/move", data=data, headers=headers)
        moves.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or b"is now number" not in response.data:
            raise SystemExit(f"bench move failed: {response.status_code} {response.data[:300]!r}")
    with app.app_context(), db.unit_of_work(write=False) as session:
        positions = sorted(holds.positions_for(session, [title_id]).values())
    if positions != list(range(1, QUEUE_HOLDS + 1)):
        raise SystemExit("the queue lost its order during the moves")
    log(f"  reorder one hold in 500 (answer: the whole queue): p50 {statistics.median(moves):.0f} ms, "
        f"p95 {p95(moves):.0f} ms (targets: pages p95 <= {TARGET_PAGE_P95_MS:.0f} ms, moves <= {TARGET_MOVE_P95_MS:.0f} ms)")
    yield "holds_reorder_p95_ms", p95(moves), "ms"


def daily_jobs(app, log) -> Iterator[Figure]:
    from app import clock
    from app.extensions import db
    from app.jobs import run_job
    from app.models import Hold

    with app.app_context(), db.unit_of_work(write=False) as session:
        total = session.scalar(select(func.count(Hold.id)))
    ids = ("resume-suspended-holds", "expire-holds", "handle-long-waiting-holds")
    for label, days in (("today", 0), ("in 120 days", 120)):
        moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
        started = time.perf_counter()
        with clock.freeze(moment):
            counts = {job_id: run_job(app, job_id) for job_id in ids}
        seconds = time.perf_counter() - started
        log(f"  daily hold jobs {label} over {total:,} holds: {seconds:.1f} s, changed {counts} "
            f"(target <= {TARGET_JOBS_SECONDS:.0f} s at L)")
        yield ("holds_daily_jobs_seconds" if days == 0 else "holds_daily_jobs_busy_seconds"), seconds, "s"


def run_all(app, log) -> Iterator[Figure]:
    yield from concurrent_placements(app, log)
    yield from pages_and_moves(app, log)
    yield from daily_jobs(app, log)


main = registered("holds", __doc__, run_all)


if __name__ == "__main__":
    sys.exit(main())
