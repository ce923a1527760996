"""Last seen under a mixed load (targets: at most 1,000 lastseen writes, <= 1 ms p95 added per
request).

1,000 distinct patrons of the seeded database make 50,000 requests, one after another in one
process: OPAC pages (the account page of a logged-in patron, now and then a real login), SIP2
transactions through the real dispatcher and handlers (patron status, patron information,
checkout, checkin) and desk checkouts and check-ins through the staff site, with every trigger
on. Every other request runs as if tracking were off (the triggers it would check read as
empty), so the end-to-end comparison of the two halves is taken under the same load, on the
same data, at the same moments. Figures:

- ``lastseen_writes_for_1000_patrons_50000_requests``: rows the tracking wrote;
- ``lastseen_overhead_p95_ms``: p95 over the tracked requests of the time spent in the tracking
  (the in-process check, the preference, the conditional update after the commit), measured
  inside each request;
- ``lastseen_end_to_end_p95_difference_ms``: p95 of the tracked requests less p95 of the
  untracked ones.

Registered as the ``activity`` benchmark (``python -m bench --size S --only activity``); or alone
on a seeded database: ``python -m bench.activity --url sqlite:///... [--requests N]``."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, update

from . import Context, benchmark

PATRONS = 1_000
REQUESTS = 50_000
TARGET_WRITES = 1_000
TARGET_P95_MS = 1.0
PIN = "2602"
KIOSK, KIOSK_PASSWORD, INSTITUTION = "bench-activity", "bench-kiosk-pass", "BENCHACT"
# Share of each request kind in the mix
MIX = (("opac_page", 400), ("opac_login", 5), ("sip_status", 145), ("sip_information", 110), ("sip_checkout", 90),
       ("sip_checkin", 90), ("desk_checkout", 80), ("desk_checkin", 80))
FIRST_VISIT = ("sip_status",) * 4 + ("sip_information",) * 4 + ("opac_login",)  # every patron comes at least once


@dataclass
class Run:
    label: str
    latencies: list[float] = field(default_factory=list)  # ms per request
    tracking: list[float] = field(default_factory=list)  # ms per request spent in the tracking
    kinds: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    writes: int = 0
    seconds: float = 0.0


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else (values[0] if values else 0.0)


def _prepare(app, patrons: int, rng: random.Random) -> dict:
    """Patrons who may borrow (a known PIN and password, last seen cleared), items on the shelf,
    a staff member for the desk, a SIP2 account."""
    from app import clock
    from app.extensions import db
    from app.models import (AccountLine, Item, Library, Loan, Patron, PatronRestriction, Permission, SipAccount,
                            SipInstitution, StaffPermission)
    from app.models.patron import CategoryType, PatronCategory
    from app.services.passwords import hash_password

    with app.app_context(), db.unit_of_work() as session:
        library = session.scalar(select(Library.code).order_by(Library.code).limit(1))
        today = clock.today()
        owing = select(AccountLine.patron_id).where(AccountLine.amount_outstanding > 0)
        candidates = session.scalars(
            select(Patron.id).join(PatronCategory, PatronCategory.code == Patron.category_code)
            .where(Patron.library_code == library, Patron.dateexpiry > today, Patron.card_lost.is_(False),
                   Patron.gonenoaddress.is_(False), PatronCategory.category_type != CategoryType.STAFF,
                   Patron.id.not_in(select(PatronRestriction.patron_id)), Patron.id.not_in(owing))
            .order_by(Patron.id).limit(patrons * 5)).all()
        if len(candidates) < patrons:
            raise SystemExit(f"only {len(candidates)} patrons can borrow at {library}: seed a bigger size")
        chosen = sorted(rng.sample(candidates, patrons))
        secret = hash_password(PIN)
        session.execute(update(Patron).where(Patron.id.in_(chosen)).values(password_hash=secret, lastseen=None)
                        .execution_options(synchronize_session=False))
        cards = dict(session.execute(select(Patron.id, Patron.cardnumber).where(Patron.id.in_(chosen))).all())
        on_loan = select(Loan.item_id)
        items = session.scalars(select(Item.barcode).where(
            Item.holding_library_code == library, Item.home_library_code == library, Item.lost == 0,
            Item.withdrawn.is_(False), Item.not_for_loan == 0, Item.id.not_in(on_loan))
            .order_by(Item.id).limit(4_000)).all()
        staff = session.scalar(select(Patron).where(Patron.userid == "bench-desk"))
        if staff is None:
            staff = Patron(userid="bench-desk", cardnumber="BENCHDESK", surname="Desk", library_code=library,
                           category_code=session.scalar(select(PatronCategory.code).where(
                               PatronCategory.category_type == CategoryType.STAFF).limit(1)) or "S",
                           dateenrolled=today, password_hash=secret)
            staff.permissions.append(StaffPermission(permission=Permission.CIRCULATE))
            session.add(staff)
        if session.get(SipInstitution, INSTITUTION) is None:
            session.add(SipInstitution(id=INSTITUTION, name="Bench", checkin_ok=True, checkout_ok=True, renewal_ok=True))
            session.flush()
            session.add(SipAccount(login=KIOSK, password_hash=hash_password(KIOSK_PASSWORD), institution_id=INSTITUTION,
                                   library_code=library, actor_id=staff.id, checked_in_ok=True))
        session.flush()
        return {"patrons": chosen, "cards": cards, "items": list(items), "staff_id": staff.id, "library": library}


class Load:
    """The clients of one run: an OPAC session per patron, a staff desk, a SIP2 connection."""

    def __init__(self, app, world: dict):
        from app.sip2.dispatch import Dispatcher
        from app.sip2.session import Session as SipSession

        self.app, self.world = app, world
        self.opac: dict[int, object] = {}
        self.identifier = self._identifier()
        self.desk = self._logged_in(world["staff_id"], "staff")
        page = self.desk.get("/staff/circulation/").get_data(as_text=True)
        self.token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        self.dispatcher = Dispatcher(app)
        self.sip = SipSession(peer="bench")
        self._sip(f"9300CN{KIOSK}|CO{KIOSK_PASSWORD}|CPBENCH|", expect="941")
        self.shelf = list(world["items"])
        self.out: list[str] = []  # barcodes lent during the run, to be returned

    def _sip(self, message: str, expect: str | None = None) -> bool:
        reply = self.dispatcher.handle(self.sip, message.encode())
        data = (reply.data or b"").decode(errors="replace")
        if expect is not None and not data.startswith(expect):
            raise RuntimeError(f"SIP2 {message[:2]} answered {data[:40]!r}")
        return bool(data) and not data.startswith("96")

    def _identifier(self) -> str:
        """What flask-login's strong session protection expects of a test client's session."""
        from flask_login.utils import _create_identifier

        client = self.app.test_client()
        with client:
            client.get("/login")
            return _create_identifier()

    def _logged_in(self, patron_id: int, interface: str):
        """A client with a logged-in session, without paying a password check per patron (the
        OPAC login is measured by its own requests in the mix)."""
        client = self.app.test_client()
        with client.session_transaction() as session:
            session.update({"_user_id": str(patron_id), "_fresh": True, "_id": self.identifier, "interface": interface})
        return client

    def _client(self, patron_id: int):
        client = self.opac.get(patron_id)
        if client is None:
            client = self.opac[patron_id] = self._logged_in(patron_id, "opac")
        return client

    def request(self, kind: str, patron_id: int) -> bool:
        from app import clock
        from app.sip2 import codec

        card = self.world["cards"][patron_id]
        now = codec.format_date(clock.now(), clock.timezone())
        if kind == "opac_page":
            return self._client(patron_id).get("/account").status_code == 200
        if kind == "opac_login":
            client = self.app.test_client()
            page = client.get("/login").get_data(as_text=True)
            token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            return client.post("/login", data={"login": card, "password": PIN, "csrf_token": token}).status_code == 302
        if kind == "sip_status":
            return self._sip(f"23001{now}AO{INSTITUTION}|AA{card}|AC|AD{PIN}|")
        if kind == "sip_information":
            return self._sip(f"63001{now}{' ' * 10}AO{INSTITUTION}|AA{card}|AC|AD{PIN}|")
        if kind in ("sip_checkout", "desk_checkout"):
            if not self.shelf:
                return False
            barcode = self.shelf.pop()
            if kind == "sip_checkout":
                reply = self.dispatcher.handle(self.sip, f"11NN{now}{' ' * 18}AO{INSTITUTION}|AA{card}|AB{barcode}|AC|AD{PIN}|".encode())
                ok = (reply.data or b"").startswith(b"121")
            else:
                response = self.desk.post(f"/staff/circulation/patrons/{patron_id}/checkout", data={"barcode": barcode},
                                          headers={"X-CSRFToken": self.token, "HX-Request": "true"})
                ok = response.status_code == 200 and b"refused" not in response.data
            if ok:
                self.out.append(barcode)
            else:
                self.shelf.insert(0, barcode)  # try other copies first (this one may be on hold)
            return ok
        if not self.out:
            return False
        barcode = self.out.pop(0)
        self.shelf.insert(0, barcode)
        if kind == "sip_checkin":
            return self._sip(f"09N{now}{now}APBENCH|AO{INSTITUTION}|AB{barcode}|AC|")
        return self.desk.post("/staff/circulation/checkin", data={"barcode": barcode},
                              headers={"X-CSRFToken": self.token, "HX-Request": "true"}).status_code == 200


def _sequence(world: dict, requests: int, rng: random.Random) -> list[tuple[str, int]]:
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    patrons = world["patrons"]
    first = [(rng.choice(FIRST_VISIT), p) for p in patrons]
    rest = [(rng.choice(kinds), rng.choice(patrons)) for _ in range(requests - len(first))]
    sequence = first + rest
    rng.shuffle(sequence)
    return sequence


def _run(app, world: dict, sequence: list[tuple[str, int]], log) -> tuple[Run, Run]:
    """The sequence with every trigger on, every other request as if tracking were off."""
    from app.extensions import db
    from app.services import activity
    from app.services.settings import ACTIVITY_TRIGGERS, set_preference

    with app.app_context(), db.unit_of_work() as session:
        set_preference(session, "TrackLastPatronActivityTriggers", ",".join(ACTIVITY_TRIGGERS), actor_id=None)
    activity.default_tracker.forget()
    activity.default_tracker.reset_counters()
    load, on, off = Load(app, world), Run("tracking on"), Run("tracking off")
    tracker = activity.default_tracker
    enabled = activity._enabled_triggers
    started = time.perf_counter()
    try:
        for n, (kind, patron_id) in enumerate(sequence, 1):
            run = on if n % 2 else off
            activity._enabled_triggers = enabled if run is on else (lambda _target: frozenset())
            before = tracker.stats().seconds
            t0 = time.perf_counter()
            ok = load.request(kind, patron_id)
            run.latencies.append((time.perf_counter() - t0) * 1000)
            run.tracking.append((tracker.stats().seconds - before) * 1000)
            run.kinds[kind] += 1
            if not ok:
                run.failures[kind] += 1
            if n % 5000 == 0:
                log(f"activity bench: {n:,} requests, {time.perf_counter() - started:.0f} s")
    finally:
        activity._enabled_triggers = enabled
    for barcode in list(load.out):  # give everything back
        load.request("sip_checkin", world["patrons"][0])
    on.seconds = off.seconds = time.perf_counter() - started
    on.writes = tracker.stats().writes
    return on, off


def measure(app, *, patrons: int = PATRONS, requests: int = REQUESTS, seed: int = 2602, log=print) -> list[str]:
    rng = random.Random(seed)
    world = _prepare(app, patrons, rng)
    sequence = _sequence(world, requests, rng)
    log(f"activity bench: {patrons} patrons, {requests:,} requests, {len(world['items'])} items at {world['library']}")
    _reset_lastseen(app, world)
    on, off = _run(app, world, sequence, log)
    return _lines(off, on, patrons, requests)


def _reset_lastseen(app, world: dict) -> None:
    from app.extensions import db
    from app.models import Patron

    with app.app_context(), db.unit_of_work() as session:
        session.execute(update(Patron).where(Patron.id.in_(world["patrons"])).values(lastseen=None)
                        .execution_options(synchronize_session=False))


def _lines(off: Run, on: Run, patrons: int, requests: int) -> list[str]:
    e2e = {r.label: (_p(r.latencies, 0.5), _p(r.latencies, 0.95), _p(r.latencies, 0.99)) for r in (off, on)}
    difference = e2e[on.label][1] - e2e[off.label][1]
    return [
        f"BENCH lastseen_writes_for_{patrons}_patrons_{requests}_requests {on.writes:.1f} writes",
        f"BENCH lastseen_overhead_p95_ms {_p(on.tracking, 0.95):.3f} ms",
        f"BENCH lastseen_end_to_end_p95_difference_ms {difference:.2f} ms",
        f"  tracking time per tracked request: p50 {_p(on.tracking, 0.5):.3f} ms, p99 {_p(on.tracking, 0.99):.3f} ms, "
        f"max {max(on.tracking):.1f} ms; untracked requests: p95 {_p(off.tracking, 0.95):.3f} ms",
        f"  end to end, p50/p95/p99 ms: untracked {e2e[off.label][0]:.2f}/{e2e[off.label][1]:.2f}/{e2e[off.label][2]:.2f}, "
        f"tracked {e2e[on.label][0]:.2f}/{e2e[on.label][1]:.2f}/{e2e[on.label][2]:.2f} (each over {len(on.latencies):,} "
        "requests of the same run, taken in turn)",
        f"  {on.seconds:.0f} s; requests {dict(on.kinds + off.kinds)}; refused or failed {dict(on.failures + off.failures)} "
        f"(target <= {TARGET_WRITES} writes, <= {TARGET_P95_MS} ms p95)",
    ]


@benchmark("activity")
def activity_benchmark(ctx: Context):
    lines = measure(ctx.app, log=ctx.log)
    for line in lines[3:]:
        ctx.log(line)
    for line in lines[:3]:
        name, value, unit = line.split()[1:4]
        yield name, float(value), unit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.activity", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a seeded database")
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--patrons", type=int, default=PATRONS)
    args = parser.parse_args(argv)
    from app import create_app

    app = create_app({"DATABASE_URL": args.url, "ENV": "development", "SECRET_KEY": "bench"})
    for line in measure(app, patrons=args.patrons, requests=args.requests,
                        log=lambda m: print(m, file=sys.stderr, flush=True)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
