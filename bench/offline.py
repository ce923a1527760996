"""Offline circulation (targets KOC-1, KOC-2, KOC-4).

- ``koc_10000_lines_seconds``: a 10,000-line .koc file of a busy outage day (checkouts of items
  on the shelf, returns of items out, a few payments, and the mistakes real files hold: unknown
  barcodes, returns of items not on loan), uploaded with "apply directly": read, queued and
  processed in time order with a commit per batch. Target <= 30 s. The same file uploaded again
  must change nothing (KOC-2): the run fails loudly if it does.
- ``offline_page_5000_transactions_kept``: in real Chromium, the built-in offline page records
  5,000 transactions, is reloaded, then the browser is closed and started again on the same
  profile; the figure is how many it still holds (target 5,000).
- ``offline_sync_<size>_seconds``: before that, the page's "Download records" brings every
  patron, item and open loan of the database into the browser's IndexedDB (no target: how
  long a workstation's daily synchronisation takes at this size).

Registered as the ``offline`` benchmark (``python -m bench --size S --only offline``), or run
alone on an already seeded database: ``python -m bench.offline --url postgresql+psycopg://...``."""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from dataclasses import dataclass

from sqlalchemy import func, select

from . import Context, benchmark

LINES = 10_000
TARGET_SECONDS = 30.0
TRANSACTIONS = 5_000


@dataclass
class KocFigures:
    lines: int
    seconds: float
    queue_seconds: float
    applied: int
    failed: int
    second_upload_changes: int
    cpu_seconds: float = 0.0  # this process's CPU time (SQLite's work included, a server's not)

    def lines_out(self) -> list[str]:
        return [f"BENCH koc_{self.lines}_lines_seconds {self.seconds:.1f} s",
                f"  read and queued in {self.queue_seconds:.1f} s, {self.applied} applied, {self.failed} failed, "
                f"{self.lines / self.seconds:.0f} lines/s; the same file again: {self.second_upload_changes} "
                f"changes (target <= {TARGET_SECONDS:.0f} s, 0 changes)",
                f"  CPU time of this process for it: {self.cpu_seconds:.1f} s ({self.lines / max(self.cpu_seconds, 1e-9):.0f} "
                "lines per CPU second: the wall time on a box shared with other work is longer)"]


def build_koc(session, lines: int = LINES, seed: int = 2602) -> str:
    """A plausible outage day ending now: the actions a busy desk would record, in time order."""
    from app import clock
    from app.models import Item, Loan, Patron
    from app.services.offline import koc_header
    from app.services.offline.koc import format_timestamp

    rng = random.Random(seed)
    cards = list(session.scalars(select(Patron.cardnumber).where(Patron.cardnumber.is_not(None))
                                 .order_by(func.random()).limit(5000)))
    out = dict(session.execute(select(Item.barcode, Loan.id).join(Loan, Loan.item_id == Item.id).limit(20000)).all())
    on_loan = list(out)
    shelf = list(session.scalars(select(Item.barcode).outerjoin(Loan, Loan.item_id == Item.id)
                                 .where(Loan.id.is_(None)).order_by(func.random()).limit(20000)))
    if not cards or not shelf:
        raise SystemExit("the database has no patrons or items: seed it first")
    start = clock.now() - dt.timedelta(hours=10)
    step = dt.timedelta(hours=9.5) / lines
    rows = [koc_header("kocDesktop", "2.4.0")]
    for n in range(lines):
        moment = format_timestamp(start + step * n + dt.timedelta(microseconds=rng.randint(0, 999) * 1000))
        roll = rng.random()
        if roll < 0.02:
            rows.append(f"{moment}\tissue\t{rng.choice(cards)}\tNO-SUCH-{n}")
        elif roll < 0.03:
            rows.append(f"{moment}\treturn\t{rng.choice(shelf)}")  # scanned in, never lent
        elif roll < 0.07:
            rows.append(f"{moment}\tpayment\t{rng.choice(cards)}\t{rng.choice(('0.50', '1.00', '2.50'))}")
        elif roll < 0.55 and shelf:
            barcode = shelf.pop()
            rows.append(f"{moment}\tissue\t{rng.choice(cards)}\t{barcode}")
            on_loan.append(barcode)
        elif on_loan:
            barcode = on_loan.pop(rng.randrange(len(on_loan)))
            rows.append(f"{moment}\treturn\t{barcode}")
            shelf.insert(0, barcode)
    return "\n".join(rows) + "\n"


def _state(session) -> tuple:
    from app.models import AccountLine, Loan, LoanHistory

    return (session.scalar(select(func.count()).select_from(Loan)),
            session.scalar(select(func.count()).select_from(LoanHistory)),
            session.scalar(select(func.coalesce(func.sum(Loan.renewals_count), 0))),
            session.scalar(select(func.count()).select_from(AccountLine)))


def measure_koc(app, lines: int = LINES, log=print) -> KocFigures:
    from app.extensions import db
    from app.services.offline import upload_koc

    with app.app_context():
        with db.unit_of_work(write=False) as session:
            text = build_koc(session, lines)
        log(f"offline: a {lines:,}-line .koc file built ({len(text) / 1e6:.1f} MB)")
        started, cpu_started = time.perf_counter(), time.process_time()
        with db.unit_of_work() as session:
            queued_at = []
            upload = upload_koc(session, text, "bench.koc", apply=True,
                                checkpoint=lambda: (session.commit(), queued_at.append(time.perf_counter())))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        with db.unit_of_work(write=False) as session:
            before = _state(session)
        with db.unit_of_work() as session:
            again = upload_koc(session, text, "bench-again.koc", apply=True, checkpoint=session.commit)
        with db.unit_of_work(write=False) as session:
            after = _state(session)
    changes = sum(abs(a - b) for a, b in zip(after, before)) + again.applied + again.added
    return KocFigures(lines, seconds, (queued_at[0] - started) if queued_at else seconds, upload.applied,
                      upload.failed, changes, cpu_seconds)


# Through the page's own recording function; 20 desks' worth at a time, to keep the run short.
RECORD_SCRIPT = """async (n) => {
  for (let i = 0; i < n; i += 20) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 20); j++) {
      batch.push(window.CarrelOffline.record({action: "return", barcode: "BENCH-" + j}));
    }
    await Promise.all(batch);
  }
  return (await window.CarrelOffline.counts()).waiting;
}"""


def _bench_staff(app) -> tuple[str, str]:
    from app.extensions import db
    from app.models import Library, Patron, Permission, StaffPermission
    from app.services.passwords import hash_password
    from app.services.settings import set_preference

    login, password = "bench-offline", "bench-offline-pw"
    with app.app_context(), db.unit_of_work() as session:
        if session.scalar(select(Patron).where(Patron.userid == login)) is None:
            library = session.scalar(select(Library.code).order_by(Library.code).limit(1))
            category = session.scalar(select(Patron.category_code).limit(1))
            staff = Patron(userid=login, surname="Bench", library_code=library, category_code=category,
                           password_hash=hash_password(password))
            staff.permissions.append(StaffPermission(permission=Permission.OFFLINE_CIRCULATION))
            session.add(staff)
        set_preference(session, "AllowOfflineCirculation", True, actor_id=None)
    return login, password


class _Server:
    """The app on a free port of 127.0.0.1, in a thread, quiet."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *_args, **_kw) -> None:
                pass

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-offline", daemon=True)

    def __enter__(self) -> "_Server":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass
class PageFigures:
    kept_after_reload: int
    kept_after_restart: int
    record_seconds: float  # to record the transactions
    sync_seconds: float  # to download every patron, item and loan into the browser
    synced: str  # what the page says it holds


def measure_page(app, transactions: int = TRANSACTIONS, log=print) -> PageFigures:
    """Synchronise the whole database into the browser, record ``transactions``, then count them
    after a reload and after a browser restart (offline)."""
    import tempfile

    from playwright.sync_api import expect, sync_playwright

    login, password = _bench_staff(app)
    chromium_args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]
    with _Server(app) as server, tempfile.TemporaryDirectory(prefix="carrel-bench-profile-") as profile, \
            sync_playwright() as playwright:
        def start():
            return playwright.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", args=chromium_args, headless=True,
                base_url=f"http://127.0.0.1:{server.port}", bypass_csp=True)  # lets the script below run

        def count(page) -> int:
            page.goto("/staff/offline/page#synchronise")
            expect(page.locator("#offline-app")).to_have_attribute("data-ready", "true", timeout=60000)
            return int(page.locator("#waiting-count").inner_text().split()[0])

        context = start()
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/staff/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/")
        count(page)
        started = time.perf_counter()
        page.click("#sync-download")
        expect(page.locator("#sync-message")).to_contain_text("Records downloaded", timeout=600_000)
        sync_seconds = time.perf_counter() - started
        synced = ", ".join(f"{page.locator(f'#count-{kind}').inner_text()} {kind}" for kind in ("patrons", "items", "loans"))
        log(f"offline: {synced} synchronised into the browser in {sync_seconds:.1f} s")
        started = time.perf_counter()
        page.evaluate(RECORD_SCRIPT, transactions)
        seconds = time.perf_counter() - started
        log(f"offline: {transactions:,} transactions recorded in {seconds:.1f} s")
        page.reload()
        after_reload = count(page)
        context.close()
        context = start()
        context.set_offline(True)  # restarted with the server out of reach: the page comes from the cache
        after_restart = count(context.pages[0] if context.pages else context.new_page())
        context.close()
    return PageFigures(after_reload, after_restart, seconds, sync_seconds, synced)


@benchmark("offline")
def offline_benchmark(ctx: Context):
    figures = measure_koc(ctx.app, log=ctx.log)
    for line in figures.lines_out()[1:]:
        ctx.log(line.strip())
    if figures.second_upload_changes:
        raise SystemExit(f"the second upload changed {figures.second_upload_changes} things")
    yield f"koc_{LINES}_lines_seconds", figures.seconds, "s"
    page = measure_page(ctx.app, log=ctx.log)
    ctx.log(f"offline: {page.kept_after_reload:,} kept through a reload, {page.kept_after_restart:,} through a "
            f"browser restart (target {TRANSACTIONS:,})")
    yield f"offline_page_{TRANSACTIONS}_transactions_kept", min(page.kept_after_reload, page.kept_after_restart), \
        "transactions"
    yield f"offline_sync_{ctx.size}_seconds", page.sync_seconds, "s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.offline", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded database (it is changed)")
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--only", choices=["koc", "page"], help="one of the two measurements")
    args = parser.parse_args(argv)
    from app import create_app

    app = create_app({"DATABASE_URL": args.url, "ENV": "production", "SECRET_KEY": "bench-offline",
                      "RUN_SCHEDULER": False})
    failed = False
    if args.only != "page":
        figures = measure_koc(app, args.lines)
        for line in figures.lines_out():
            print(line)
        failed = figures.second_upload_changes != 0
    if args.only != "koc":
        page = measure_page(app)
        kept = min(page.kept_after_reload, page.kept_after_restart)
        print(f"BENCH offline_page_{TRANSACTIONS}_transactions_kept {kept} transactions")
        print(f"  {page.kept_after_reload} after a reload, {page.kept_after_restart} after a browser restart "
              f"(offline); recorded in {page.record_seconds:.1f} s")
        print(f"BENCH offline_sync_seconds {page.sync_seconds:.1f} s")
        print(f"  {page.synced} downloaded into the browser")
        failed = failed or kept < TRANSACTIONS
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
