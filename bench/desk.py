"""The staff circulation desk under load (issue 3's targets): 20 librarians at once, each logged
in with a staff account of their own at their own library, scanning items for a patron of their
own, half a second between scans by default (``--think``): a round checks out every item of
their pile through the desk's htmx endpoint (POST /staff/circulation/patrons/<id>/checkout), then
checks each one in on the check-in page (POST /staff/circulation/checkin). Real HTTP on
127.0.0.1 against the production shape (gunicorn, one threaded worker per core, as
bench/search.py runs it) or werkzeug in process.

The target (WEB-1 in targets-and-risks.md) is set with FOLIO's think-time profile: 20 users make
about 1.9 check-outs and 1.9 check-ins a second. Half a second between scans is ten times that
(about 39 scans a second), so the default figure is what a librarian feels at a desk far busier
than the target's. ``--think 0`` runs the librarians back to back instead: they then saturate the
server, latency is 20 / throughput, and the figure measures CPU per scan more than waiting.

Figures (``BENCH <name> <value> <unit>``):
  desk_checkout_p95_ms, desk_checkout_p50_ms   one scan at the desk until its row came back
  desk_checkin_p95_ms, desk_checkin_p50_ms     one scan on the check-in page
  desk_errors                                  HTTP errors, refusals, rows that were not loans

Registered as the ``desk`` benchmark (``python -m bench --size M --only desk``); or alone on an
already seeded database: ``python -m bench.desk --url sqlite:///bench/.cache/bench-M.db``. The
setup writes to the database it is given (bench staff accounts, a bench patron category with its
rules, patrons moved into it): use a benchmark database, never a library's. Targets: check-out
p95 <= 150 ms, check-in p95 <= 100 ms at 20 users on the M dataset."""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import random
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urlencode

from . import Context, Figure, benchmark, percentile
from .search import SERVERS

USERS = 20
ITEMS_PER_USER = 5
ROUNDS = 10  # timed rounds per user, after one warm-up round
THINK_SECONDS = 0.5  # ten times the target's think-time profile (see above); 0: back to back
STAFF_PREFIX = "bench-desk-"
STAFF_PASSWORD = "bench-desk-password"
CATEGORY = "BENCHDESK"
TARGET_CHECKOUT_P95_MS = 150.0
TARGET_CHECKIN_P95_MS = 100.0
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class DeskPlan:
    login: str
    patron_id: int
    items: list[str]


@dataclass
class DeskFigures:
    users: int
    think: float = 0.0
    server: str = ""
    checkouts: list[float] = field(default_factory=list)
    checkins: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    percentile = staticmethod(percentile)

    def figures(self) -> list[Figure]:
        return [("desk_checkout_p95_ms", self.percentile(self.checkouts, 95), "ms"),
                ("desk_checkout_p50_ms", self.percentile(self.checkouts, 50), "ms"),
                ("desk_checkin_p95_ms", self.percentile(self.checkins, 95), "ms"),
                ("desk_checkin_p50_ms", self.percentile(self.checkins, 50), "ms"),
                ("desk_errors", float(len(self.errors)), "errors")]

    def summary(self) -> str:
        scans = len(self.checkouts) + len(self.checkins)
        return (f"desk: {self.users} librarians, {len(self.checkouts)} check-outs and {len(self.checkins)} check-ins "
                f"in {self.seconds:.1f} s ({scans / max(self.seconds, 1e-9):.0f} scans/s, "
                f"{f'{self.think:.1f} s between scans' if self.think else 'back to back'}), check-out max "
                f"{max(self.checkouts, default=0):.0f} ms, check-in max {max(self.checkins, default=0):.0f} ms, "
                f"{self.server}; errors {self.errors[:3]} (targets: check-out p95 <= {TARGET_CHECKOUT_P95_MS:.0f} ms, "
                f"check-in p95 <= {TARGET_CHECKIN_P95_MS:.0f} ms)")


# ---------------------------------------------------------------------------------------------
# Setup


def prepare(app, users: int, items_per_user: int) -> list[DeskPlan]:
    """A staff account with the circulate permission per librarian, each at one of the seeded
    libraries; for each a patron in good standing (moved to a bench category whose rules allow
    the load, no fines) and a pile of free items of that library on titles nobody holds."""
    from sqlalchemy import delete, exists, select

    from app import clock
    from app.extensions import db
    from app.models import (AccountLine, Hold, Item, ItemTransfer, ItemType, Library, Loan, Patron, PatronCategory,
                            PatronRestriction, Permission, StaffPermission)
    from app.models.hold import LIVE_STATUSES
    from app.services.passwords import hash_password
    from app.services.rules import set_rule

    today = clock.today()
    with app.app_context(), db.unit_of_work() as session:
        libraries = list(session.scalars(select(Library.code).order_by(Library.code)))
        if not libraries:
            raise SystemExit("the database has no libraries: seed it first")
        if session.get(PatronCategory, CATEGORY) is None:
            session.add(PatronCategory(code=CATEGORY, description="Benchmark desk patrons"))
            session.flush()
        for library in libraries:
            for name, value in (("maxissueqty", "1000"), ("issuelength", "14"), ("fine", "0")):
                set_rule(session, library, CATEGORY, "*", name, value)
        staff_category = session.scalar(select(Patron.category_code).join(StaffPermission).limit(1))
        secret = hash_password(STAFF_PASSWORD)
        staff_ids = []
        for n in range(users):
            login = f"{STAFF_PREFIX}{n:02d}"
            library = libraries[n % len(libraries)]
            staff = session.scalar(select(Patron).where(Patron.userid == login))
            if staff is None:
                staff = Patron(userid=login, surname="Desk", firstname=f"Bench {n:02d}", library_code=library,
                               category_code=staff_category or CATEGORY, password_hash=secret)
                staff.permissions.append(StaffPermission(permission=Permission.CIRCULATE))
                session.add(staff)
                session.flush()
            staff.library_code, staff.password_hash = library, secret
            staff_ids.append(staff.id)
        # Items a previous run left on loan are checked in by the run itself; start clean.
        session.execute(delete(Loan).where(Loan.patron_id.in_(
            select(Patron.id).where(Patron.category_code == CATEGORY))))
        good = (select(Patron.id).where(
            Patron.cardnumber.is_not(None), Patron.card_lost.is_(False), Patron.gonenoaddress.is_(False),
            Patron.anonymized.is_(False), Patron.id.not_in(staff_ids),
            (Patron.dateexpiry.is_(None)) | (Patron.dateexpiry > today + dt.timedelta(days=60)),
            ~exists().where(Loan.patron_id == Patron.id), ~exists().where(AccountLine.patron_id == Patron.id),
            ~exists().where(PatronRestriction.patron_id == Patron.id), ~exists().where(Hold.patron_id == Patron.id),
            ~exists().where(StaffPermission.patron_id == Patron.id))
            .order_by(Patron.id.desc()).limit(users))
        patron_ids = list(session.scalars(good))
        if len(patron_ids) < users:
            raise SystemExit(f"only {len(patron_ids)} patrons in good standing without loans; need {users}")
        for patron in session.scalars(select(Patron).where(Patron.id.in_(patron_ids))):
            patron.category_code = CATEGORY
        plans = []
        taken: set[int] = set()
        for n in range(users):
            library = libraries[n % len(libraries)]
            free = (select(Item.id, Item.barcode).join(ItemType, ItemType.code == Item.item_type_code).where(
                Item.home_library_code == library, Item.holding_library_code == library,
                Item.withdrawn.is_(False), Item.lost == 0, Item.not_for_loan == 0, Item.damaged.is_(False),
                ItemType.not_for_loan.is_(False), ~exists().where(Loan.item_id == Item.id),
                ~exists().where(ItemTransfer.item_id == Item.id, ItemTransfer.arrived_at.is_(None),
                                ItemTransfer.cancelled_at.is_(None)),
                ~exists().where(Hold.title_id == Item.title_id, Hold.status.in_(LIVE_STATUSES)))
                .order_by(Item.id.desc()).limit(items_per_user + len(taken)))
            pile = [(item_id, barcode) for item_id, barcode in session.execute(free) if item_id not in taken]
            pile = pile[:items_per_user]
            if len(pile) < items_per_user:
                raise SystemExit(f"not enough free items at library {library}")
            taken.update(item_id for item_id, _ in pile)
            plans.append(DeskPlan(f"{STAFF_PREFIX}{n:02d}", patron_ids[n], [barcode for _, barcode in pile]))
    return plans


def _text_of(html: str) -> str:
    """The words of an answer, for an error line."""
    return re.sub(r"<[^>]+>|\s+", " ", html).strip()[:160]


# ---------------------------------------------------------------------------------------------
# A librarian: one keep-alive connection, a session cookie, the CSRF token of that session


class Librarian:
    def __init__(self, port: int, plan: DeskPlan):
        self.port, self.plan = port, plan
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.token = ""

    def _request(self, method: str, path: str, body: dict | None = None, htmx: bool = False) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "User-Agent": "bench-desk"}
        data = None
        if body is not None:
            data = urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if htmx:
            headers["HX-Request"] = "true"
            headers["X-CSRFToken"] = self.token
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # gunicorn closes a keep-alive connection idle for a few seconds (after the
                # warm-up): the request never reached it, send it again on a new connection.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def log_in(self) -> None:
        _status, page = self._request("GET", "/staff/login")
        token = CSRF.search(page).group(1)
        status, _ = self._request("POST", "/staff/login",
                                  {"login": self.plan.login, "password": STAFF_PASSWORD, "csrf_token": token})
        if status != 302:
            raise SystemExit(f"desk login {self.plan.login} failed: HTTP {status}")
        _status, page = self._request("GET", f"/staff/circulation/?patron_id={self.plan.patron_id}")
        self.token = CSRF.search(page).group(1)

    def check_out(self, barcode: str) -> tuple[float, str | None]:
        started = time.perf_counter()
        status, text = self._request("POST", f"/staff/circulation/patrons/{self.plan.patron_id}/checkout",
                                     {"barcode": barcode}, htmx=True)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or 'class="loan' not in text:
            return elapsed, f"check-out {barcode}: HTTP {status} {_text_of(text)!r}"
        return elapsed, None

    def check_in(self, barcode: str) -> tuple[float, str | None]:
        started = time.perf_counter()
        status, text = self._request("POST", "/staff/circulation/checkin", {"barcode": barcode}, htmx=True)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200 or "Checked in" not in text:
            return elapsed, f"check-in {barcode}: HTTP {status} {_text_of(text)!r}"
        return elapsed, None

    def work(self, rounds: int, figures: DeskFigures | None, think: float = 0.0) -> None:
        """``rounds`` times: check out the whole pile, then check it all in, ``think`` seconds
        between scans (each librarian starting at a random point of the pause)."""
        pause = random.Random(self.plan.login).uniform(0, think)
        for _ in range(rounds):
            for kind in ("checkout", "checkin"):
                for barcode in self.plan.items:
                    if think:
                        time.sleep(pause)
                        pause = think
                    try:
                        elapsed, error = self.check_out(barcode) if kind == "checkout" else self.check_in(barcode)
                    except (OSError, http.client.HTTPException) as exc:
                        elapsed, error = float("nan"), f"{kind} {barcode}: {type(exc).__name__}"
                    if figures is None:
                        continue
                    if error is not None:
                        figures.errors.append(error)
                    if elapsed == elapsed:
                        (figures.checkouts if kind == "checkout" else figures.checkins).append(elapsed)

    def close(self) -> None:
        self.connection.close()


def measure(app, *, users: int = USERS, items_per_user: int = ITEMS_PER_USER, rounds: int = ROUNDS,
            think: float = THINK_SECONDS, server: str = "gunicorn", workers: int | None = None,
            log=print) -> DeskFigures:
    plans = prepare(app, users, items_per_user)
    figures = DeskFigures(users, think)
    with SERVERS[server](app, app.config["DATABASE_URL"], workers) as running:
        figures.server = running.name
        librarians = [Librarian(running.port, plan) for plan in plans]
        with ThreadPoolExecutor(max_workers=users, thread_name_prefix="bench-desk") as pool:
            list(pool.map(Librarian.log_in, librarians))
            list(pool.map(lambda librarian: librarian.work(1, None), librarians))  # warm-up round
            log(f"desk: {users} librarians logged in and warmed up; {rounds} rounds of {items_per_user} items each")
            started = time.perf_counter()
            list(pool.map(lambda librarian: librarian.work(rounds, figures, think), librarians))
            figures.seconds = time.perf_counter() - started
        for librarian in librarians:
            librarian.close()
    if len(figures.checkouts) < 2:
        raise SystemExit(f"desk benchmark failed: {figures.errors[:3]}")
    return figures


@benchmark("desk")
def desk_benchmark(ctx: Context) -> Iterator[Figure]:
    figures = measure(ctx.app, log=ctx.log)
    ctx.log(figures.summary())
    yield from figures.figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.desk", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded benchmark database")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--items", type=int, default=ITEMS_PER_USER, help="items per librarian")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--think", type=float, default=THINK_SECONDS,
                        help=f"seconds a librarian pauses between scans (default {THINK_SECONDS}; 0: back to back)")
    parser.add_argument("--server", choices=sorted(SERVERS), default="gunicorn")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: one per core)")
    args = parser.parse_args(argv)
    from app import create_app

    from . import format_figure

    app = create_app({"DATABASE_URL": args.url, "ENV": "production", "SECRET_KEY": "bench-desk",
                      "RUN_SCHEDULER": False})
    figures = measure(app, users=args.users, items_per_user=args.items, rounds=args.rounds, think=args.think, server=args.server,
                      workers=args.workers, log=lambda m: print(m, file=sys.stderr, flush=True))
    for figure in figures.figures():
        print(format_figure(*figure), flush=True)
    print(figures.summary(), file=sys.stderr)
    return 0 if not figures.errors else 1


if __name__ == "__main__":
    sys.exit(main())
