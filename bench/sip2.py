"""SIP2 under load (issue 5's targets): a listener in a process of its own (what ``flask carrel
sip2 serve`` runs) and an asyncio load generator opening N persistent kiosk connections on
127.0.0.1, each with its own account, patron and items, sending a steady mix of patron
information, checkout, item information, renewal and checkin.

Figures (``BENCH <name> <value> <unit>``):
  sip2_p50_ms, sip2_p95_ms, sip2_p99_ms   latency of every transaction of the steady load
  sip2_errors                             timeouts, dropped connections, 96s and refusals
  sip2_reconnect_storm_seconds            N kiosks dropping and reconnecting at once to the
                                          running listener, all logged in
  sip2_cold_login_storm_seconds           the same on a listener just started: every account's
                                          password checked with argon2 (not a target, for scale)
  sip2_patron_info_500_loans_p95_ms       63 with the full charged list of a patron with 500 loans
  sip2_listener_rss_mb                    the listener process's peak resident memory

Registered as the ``sip2`` benchmark (bench/__init__.py ``load_benchmarks`` must import this
module); or alone on an already seeded database:
``python -m bench.sip2 --url sqlite:///bench/.cache/bench-M.db --size M``. Bounded: N kiosks
(150 at M), R transactions/s (50), S seconds (180 at M), loopback only. The setup writes to the
database it is given (bench accounts, a bench patron category with its rules, PINs, 500 loans):
use a benchmark database, never a library's."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator

from . import Context, Figure, benchmark, percentile

KIOSKS = {"demo": 20, "S": 50, "M": 150, "L": 150}
RATE = {"demo": 20.0, "S": 50.0, "M": 50.0, "L": 50.0}
SECONDS = {"demo": 20, "S": 60, "M": 180, "L": 180}
ITEMS_PER_KIOSK = 4
HEAVY_LOANS = 500
HEAVY_REQUESTS = 40
PIN = "2602"
PASSWORD = "bench-kiosk-pass"
CATEGORY = "BENCHSIP"
INSTITUTION = "BENCHSIP"
TIMEOUT = 10.0
LOGIN_TIMEOUT = 60.0  # a login storm is measured, not cut short
TARGETS = "targets: p50 <= 25 ms, p95 <= 80 ms, p99 <= 200 ms, no errors, storm <= 5 s, 500 loans p95 <= 300 ms, RSS <= 300 MB"


@dataclass
class KioskPlan:
    login: str
    card: str
    items: list[str]


@dataclass
class Plan:
    kiosks: list[KioskPlan]
    heavy_card: str


@dataclass
class Figures:
    kiosks: int
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    storm_cold: float = 0.0
    storm_warm: float = 0.0
    heavy: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the listener's CPU time during the steady load

    percentile = staticmethod(percentile)

    def figures(self) -> list[Figure]:
        return [("sip2_p50_ms", self.percentile(self.latencies, 50), "ms"),
                ("sip2_p95_ms", self.percentile(self.latencies, 95), "ms"),
                ("sip2_p99_ms", self.percentile(self.latencies, 99), "ms"),
                ("sip2_errors", float(len(self.errors)), "errors"),
                ("sip2_reconnect_storm_seconds", self.storm_warm, "s"),
                ("sip2_cold_login_storm_seconds", self.storm_cold, "s"),
                ("sip2_patron_info_500_loans_p95_ms", self.percentile(self.heavy, 95), "ms"),
                ("sip2_listener_rss_mb", self.rss_mb, "MB")]

    def summary(self) -> str:
        done = len(self.latencies)
        kinds = ", ".join(f"{kind} p50 {self.percentile(v, 50):.0f} / p95 {self.percentile(v, 95):.0f} ms"
                          for kind, v in self.by_kind.items())
        return (f"sip2: {self.kiosks} kiosks, {done} transactions in {self.seconds:.0f} s ({done / self.seconds:.1f}/s, "
                f"asked {self.rate:.0f}/s), max {max(self.latencies, default=0):.1f} ms; listener CPU "
                f"{self.cpu_seconds * 1000 / max(done, 1):.1f} ms per transaction; {kinds}; errors {self.errors[:3]}; "
                f"{TARGETS}")


# ---------------------------------------------------------------------------------------------
# Setup, in the benchmark's process


def prepare(app, kiosks: int) -> Plan:
    """Bench accounts (one per kiosk, one password), patrons in good standing in a bench
    category whose rules allow the load (many loans and renewals, no fines), free items on
    titles nobody holds, and a patron with 500 loans."""
    from sqlalchemy import delete, exists, func, select

    from app import clock
    from app.extensions import db
    from app.models import (AccountLine, Hold, Item, ItemTransfer, ItemType, Library, Loan, Patron, PatronCategory,
                            PatronRestriction, SipAccount, SipInstitution)
    from app.models.hold import LIVE_STATUSES
    from app.services.passwords import hash_password
    from app.services.rules import set_rule

    now, today = clock.now(), clock.today()
    with app.app_context(), db.unit_of_work() as session:
        libraries = list(session.scalars(select(Library.code).order_by(Library.code)))
        if not libraries:
            raise SystemExit("the database has no libraries: seed it first")
        if session.get(SipInstitution, INSTITUTION) is None:
            session.add(SipInstitution(id=INSTITUTION, name="Benchmark self-checks", checkin_ok=True, checkout_ok=True,
                                       renewal_ok=True, status_update_ok=False, offline_ok=True))
        session.execute(delete(SipAccount).where(SipAccount.login.like("bench-kiosk-%")))
        secret = hash_password(PASSWORD)
        session.add_all(SipAccount(login=f"bench-kiosk-{n:03d}", password_hash=secret, institution_id=INSTITUTION,
                                   library_code=libraries[0]) for n in range(kiosks))
        if session.get(PatronCategory, CATEGORY) is None:
            session.add(PatronCategory(code=CATEGORY, description="Benchmark kiosk patrons"))
            session.flush()
        for library in libraries:
            for name, value in (("maxissueqty", "1000"), ("renewalsallowed", "1000"), ("issuelength", "14"),
                                ("renewalperiod", "14"), ("fine", "0")):
                set_rule(session, library, CATEGORY, "*", name, value)
        good = (select(Patron.id).where(
            Patron.cardnumber.is_not(None), Patron.card_lost.is_(False), Patron.gonenoaddress.is_(False),
            Patron.anonymized.is_(False), (Patron.dateexpiry.is_(None)) | (Patron.dateexpiry > today + dt.timedelta(days=30)),
            ~exists().where(Loan.patron_id == Patron.id), ~exists().where(AccountLine.patron_id == Patron.id),
            ~exists().where(PatronRestriction.patron_id == Patron.id), ~exists().where(Hold.patron_id == Patron.id))
            .order_by(Patron.id).limit(kiosks + 1))
        patron_ids = list(session.scalars(good))
        if len(patron_ids) < kiosks + 1:
            raise SystemExit(f"only {len(patron_ids)} patrons in good standing without loans; need {kiosks + 1}")
        pin = hash_password(PIN)
        patrons = list(session.scalars(select(Patron).where(Patron.id.in_(patron_ids)).order_by(Patron.id)))
        for patron in patrons:
            patron.category_code, patron.password_hash = CATEGORY, pin
        free = (select(Item.id, Item.barcode).join(ItemType, ItemType.code == Item.item_type_code).where(
            Item.home_library_code == libraries[0], Item.holding_library_code == libraries[0],  # no transfers home
            Item.withdrawn.is_(False), Item.lost == 0, Item.not_for_loan == 0, Item.damaged.is_(False),
            ItemType.not_for_loan.is_(False), ~exists().where(Loan.item_id == Item.id),
            ~exists().where(ItemTransfer.item_id == Item.id, ItemTransfer.arrived_at.is_(None)),
            ~exists().where(Hold.title_id == Item.title_id, Hold.status.in_(LIVE_STATUSES)))
            .order_by(Item.id).limit(kiosks * ITEMS_PER_KIOSK + HEAVY_LOANS))
        items = session.execute(free).all()
        if len(items) < kiosks * ITEMS_PER_KIOSK + HEAVY_LOANS:
            raise SystemExit("not enough free items for the benchmark")
        heavy = patrons[-1]
        session.add_all(Loan(patron_id=heavy.id, item_id=item_id, library_code=libraries[0],
                             issued_at=now - dt.timedelta(days=1), due_at=now + dt.timedelta(days=13), channel="desk")
                        for item_id, _barcode in items[kiosks * ITEMS_PER_KIOSK:])
        plan = Plan([KioskPlan(f"bench-kiosk-{n:03d}", patrons[n].cardnumber,
                               [barcode for _id, barcode in items[n * ITEMS_PER_KIOSK:(n + 1) * ITEMS_PER_KIOSK]])
                     for n in range(kiosks)], heavy.cardnumber)
        loans = session.scalar(select(func.count(Loan.id)).where(Loan.patron_id == heavy.id))
        assert loans == HEAVY_LOANS, loans
    return plan


# ---------------------------------------------------------------------------------------------
# The listener, in a process of its own


def serve(url: str, connections: int) -> int:
    """Run the listener until stdin closes; print "READY <port>" once it listens."""
    import logging

    from app import create_app
    from app.sip2.server import Limits, SipServer

    logging.basicConfig(level=logging.WARNING)
    app = create_app({"DATABASE_URL": url, "ENV": "production", "SECRET_KEY": "bench-sip2", "RUN_SCHEDULER": False})
    logging.getLogger("carrel").setLevel(logging.WARNING)  # a line per login would drown the figures
    limits = Limits(max_message=16384, idle_timeout=900, login_timeout=120, max_per_address=connections * 2 + 10)
    with SipServer(app, ["tcp:127.0.0.1:0"], limits=limits) as server:
        print(f"READY {server.addresses[0][1]}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.stdin.close())
        try:
            sys.stdin.read()
        except (ValueError, OSError):
            pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---------------------------------------------------------------------------------------------
# The kiosks


def sip_date() -> str:
    return dt.datetime.now().strftime("%Y%m%d    %H%M%S")


class Kiosk:
    def __init__(self, plan: KioskPlan):
        self.plan = plan
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.step = 0

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)

    async def ask(self, text: str, timeout: float = TIMEOUT) -> bytes:
        assert self.reader is not None and self.writer is not None
        self.writer.write(text.encode() + b"\r")
        await self.writer.drain()
        return (await asyncio.wait_for(self.reader.readuntil(b"\r"), timeout))[:-1]

    async def login(self) -> bytes:
        return await self.ask(f"9300CN{self.plan.login}|CO{PASSWORD}|CPBENCH|", LOGIN_TIMEOUT)

    async def warm_up(self) -> bytes:
        """The patron's first PIN check (argon2) happens here, before the timed load."""
        return await self.ask(f"63001{sip_date()}          AOBENCH|AA{self.plan.card}|AC|AD{PIN}|", LOGIN_TIMEOUT)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = self.reader = None

    def next_request(self) -> tuple[str, str, bytes]:
        """(what, request, expected answer prefix): patron information, checkout, item
        information, renewal, checkin, each item in turn."""
        card, step = self.plan.card, self.step
        item = self.plan.items[(step // 5) % len(self.plan.items)]
        self.step += 1
        blank = " " * 18
        kind = step % 5
        if kind == 0:
            return "patron information", f"63001{sip_date()}          AOBENCH|AA{card}|AC|AD{PIN}|", b"64"
        if kind == 1:
            return "checkout", f"11YN{sip_date()}{blank}AOBENCH|AA{card}|AB{item}|AC|AD{PIN}|", b"121"
        if kind == 2:
            return "item information", f"17{sip_date()}AOBENCH|AB{item}|AC|", b"1804"
        if kind == 3:
            return "renew", f"29NN{sip_date()}{blank}AOBENCH|AA{card}|AD{PIN}|AB{item}|AC|", b"301Y"
        return "checkin", f"09N{sip_date()}{sip_date()}APBENCH|AOBENCH|AB{item}|AC|", b"101"


async def storm(kiosks: list[Kiosk], port: int, errors: list[str]) -> float:
    """Every kiosk connects and logs in at once; seconds until the last one is in."""
    started = time.perf_counter()

    async def one(kiosk: Kiosk) -> None:
        try:
            await kiosk.connect(port)
            answer = await kiosk.login()
            if answer != b"941":
                errors.append(f"login {kiosk.plan.login}: {answer[:40]!r}")
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            errors.append(f"login {kiosk.plan.login}: {type(exc).__name__}")

    await asyncio.gather(*(one(kiosk) for kiosk in kiosks))
    return time.perf_counter() - started


async def steady_load(kiosks: list[Kiosk], rate: float, seconds: float, figures: Figures) -> None:
    interval = len(kiosks) / rate
    deadline = time.perf_counter() + seconds
    rng = random.Random(2602)

    async def run(kiosk: Kiosk, offset: float) -> None:
        next_at = time.perf_counter() + offset
        while True:
            pause = next_at - time.perf_counter()
            if next_at >= deadline:
                return
            if pause > 0:
                await asyncio.sleep(pause)
            what, request, expected = kiosk.next_request()
            started = time.perf_counter()
            try:
                answer = await kiosk.ask(request)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
                figures.errors.append(f"{what}: {type(exc).__name__}")
                return
            elapsed = (time.perf_counter() - started) * 1000
            figures.latencies.append(elapsed)
            figures.by_kind.setdefault(what, []).append(elapsed)
            if not answer.startswith(expected):
                figures.errors.append(f"{what}: {answer[:60]!r}")
            next_at += interval * rng.uniform(0.5, 1.5)

    await asyncio.gather(*(run(kiosk, rng.uniform(0, interval)) for kiosk in kiosks))


async def heavy_patron(port: int, card: str, figures: Figures) -> None:
    kiosk = Kiosk(KioskPlan("bench-kiosk-000", card, []))
    await kiosk.connect(port)
    try:
        await kiosk.login()
        for _ in range(HEAVY_REQUESTS):
            started = time.perf_counter()
            answer = await kiosk.ask(f"63001{sip_date()}  Y       AOBENCH|AA{card}|AC|AD{PIN}|")
            figures.heavy.append((time.perf_counter() - started) * 1000)
            if answer.count(b"|AU") != HEAVY_LOANS:
                figures.errors.append(f"500 loans: {answer.count(b'|AU')} items listed")
    finally:
        await kiosk.close()


async def drive(plan: Plan, port: int, pid: int, rate: float, seconds: float, log) -> Figures:
    figures = Figures(len(plan.kiosks), rate, seconds)
    kiosks = [Kiosk(k) for k in plan.kiosks]
    peak = [0.0]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_mb(pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    try:
        figures.storm_cold = await storm(kiosks, port, figures.errors)
        warmed = time.perf_counter()
        for answer in await asyncio.gather(*(k.warm_up() for k in kiosks), return_exceptions=True):
            if not (isinstance(answer, bytes) and answer.startswith(b"64")):
                figures.errors.append(f"warm-up: {answer!r:.60}")
        log(f"sip2: {len(kiosks)} kiosks logged in at once (cold) in {figures.storm_cold:.2f} s, their patrons' "
            f"first PIN checks took {time.perf_counter() - warmed:.2f} s; steady load for {seconds:.0f} s")
        started, cpu = time.perf_counter(), cpu_seconds(pid)
        await steady_load(kiosks, rate, seconds, figures)
        figures.seconds = time.perf_counter() - started
        figures.cpu_seconds = cpu_seconds(pid) - cpu
        await asyncio.gather(*(k.close() for k in kiosks))
        figures.storm_warm = await storm(kiosks, port, figures.errors)
        log(f"sip2: {len(kiosks)} kiosks reconnected at once in {figures.storm_warm:.2f} s")
        await heavy_patron(port, plan.heavy_card, figures)
        await asyncio.gather(*(k.close() for k in kiosks))
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    figures.rss_mb = peak[0]
    return figures


def measure(app, url: str, size: str, *, kiosks: int | None = None, rate: float | None = None,
            seconds: float | None = None, log=print) -> Figures:
    count = kiosks or KIOSKS.get(size, 150)
    plan = prepare(app, count)
    listener = subprocess.Popen([sys.executable, "-m", "bench.sip2", "serve", "--url", url, "--connections", str(count)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        line = listener.stdout.readline() if listener.stdout else ""
        if not line.startswith("READY"):
            raise SystemExit(f"the SIP2 listener did not start: {line!r}")
        port = int(line.split()[1])
        return asyncio.run(drive(plan, port, listener.pid, rate or RATE.get(size, 50.0),
                                 seconds or SECONDS.get(size, 180), log))
    finally:
        if listener.stdin:
            listener.stdin.close()
        try:
            listener.wait(30)
        except subprocess.TimeoutExpired:
            listener.kill()
            listener.wait()
        if listener.stdout:
            listener.stdout.close()


@benchmark("sip2")
def sip2_benchmark(ctx: Context) -> Iterator[Figure]:
    figures = measure(ctx.app, ctx.url, ctx.size, log=ctx.log)
    ctx.log(figures.summary())
    yield from figures.figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sip2", description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["run", "serve"], default="run")
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded benchmark database")
    parser.add_argument("--size", default="M", help="sets the defaults: demo, S, M or L")
    parser.add_argument("--kiosks", type=int)
    parser.add_argument("--rate", type=float, help="transactions per second, all kiosks together")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--connections", type=int, default=150, help="serve: connections to allow")
    args = parser.parse_args(argv)
    if args.mode == "serve":
        return serve(args.url, args.connections)
    from app import create_app

    from . import format_figure

    app = create_app({"DATABASE_URL": args.url, "ENV": "production", "SECRET_KEY": "bench-sip2", "RUN_SCHEDULER": False})
    figures = measure(app, args.url, args.size, kiosks=args.kiosks, rate=args.rate, seconds=args.seconds,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    for figure in figures.figures():
        print(format_figure(*figure), flush=True)
    print(figures.summary(), file=sys.stderr)
    return 0 if not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
