"""Patron import at scale (issue 7 targets): a 100,000-row Koha CSV (no passwords, 30% of the
card numbers already in the database, overwrite on) imported in <= 60 s on SQLite and <= 90 s on
PostgreSQL with a peak RSS <= 300 MB; the dry run of that file with one row in a hundred broken
(every bad row listed) in <= 60 s; the upload (storing the file in a job, what the page does before
it answers); rows with passwords (argon2 at the chosen settings) as rows per second; and the seed's
card-number sync through the REST API (GET by userid with _match=exact, then PUT) on the imported
patrons, p50 and p95 per call.

Each measurement runs in a child process (``python -m bench.patron_import --child ...``) so its
peak RSS is the import's alone. Registered as ``patron_import``
(``python -m bench --size S --only patron_import``), or alone on a scratch database:
``python -m bench.patron_import --url sqlite:///bench/.cache/import.db``."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from . import Context, Figure, benchmark

ROWS = 100_000
MATCHING = 0.30
PASSWORD_ROWS = 200
PREFIX = "IMPB"
CACHE = Path(__file__).resolve().parent / ".cache"
HEADER = ["cardnumber", "surname", "firstname", "title", "address", "city", "state", "zipcode", "country", "email",
          "phone", "dateofbirth", "branchcode", "categorycode", "dateenrolled", "dateexpiry", "sort1", "sort2",
          "userid", "patron_attributes"]
SURNAMES = ["Okafor", "Lee", "Garcia", "Nguyen", "Smith", "Kowalski", "Haddad", "Rossi", "Tanaka", "Dubois"]
FIRSTNAMES = ["Ada", "Sam", "Jo", "Mia", "Noor", "Luca", "Yuki", "Ines", "Omar", "Zoe"]


def card(n: int) -> str:
    return f"{PREFIX}{n:09d}"


BAD_EVERY = 100  # the dry run's file: one row in a hundred broken, five kinds in turn


def _break(row: list[str], kind: int, first_card: str) -> None:
    if kind == 0:
        row[1] = ""  # surname is required
    elif kind == 1:
        row[12] = "NOPE"  # unknown library
    elif kind == 2:
        row[11] = "1990-02-31"  # not a date
    elif kind == 3:
        row[0] = first_card  # a card number already on line 2
    else:
        row[19] = "NOSUCH:1"  # unknown attribute type


def write_csv(path: Path, rows: int, existing: int, passwords: bool = False, start: int = 0,
              bad_every: int = 0) -> int:
    """``rows`` rows; the first ``existing`` card numbers (spread through the file) are in the database;
    with ``bad_every`` every n-th row is broken. Returns how many rows are bad."""
    rng = random.Random(7)
    numbers = list(range(start, start + rows))
    rng.shuffle(numbers)
    header = HEADER + (["password"] if passwords else [])
    bad = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for index, n in enumerate(numbers):
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
            row = [card(n), rng.choice(SURNAMES), rng.choice(FIRSTNAMES), "", f"{n % 999} Main St", "Oakland", "CA",
                   "94610", "USA", f"p{n}@example.org", "555-0100", born.isoformat(), "CPL", "PT",
                   "2026-08-20", "2027-05-15", "STUDENT", "FALL", f"imp{n}", "MAJOR:ART,MAJOR:FILM"]
            if bad_every and index and index % bad_every == 0:
                _break(row, bad % 5, card(numbers[0]))
                bad += 1
            if passwords:
                row.append(f"pw-{n}-secret")
            writer.writerow(row)
    return bad


def prepare(url: str) -> None:
    """Reference data the file names and the patrons it matches (``MATCHING`` of ROWS)."""
    from sqlalchemy import delete, insert, select

    from app import clock, create_app
    from app.extensions import db
    from app.models import AttributeType, AuthorisedValue, Library, Patron, PatronCategory

    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench"})
    with app.app_context(), db.unit_of_work() as session:
        if session.get(Library, "CPL") is None:
            session.add(Library(code="CPL", name="Centerville"))
        if session.get(PatronCategory, "PT") is None:
            session.add(PatronCategory(code="PT", description="Patron"))
        if session.get(AttributeType, "MAJOR") is None:
            session.add(AttributeType(code="MAJOR", description="Major", repeatable=True,
                                      authorised_value_category="BENCHMAJOR"))
            session.add_all([AuthorisedValue(category="BENCHMAJOR", value=v) for v in ("ART", "FILM")])
        session.flush()
        session.execute(delete(Patron).where(Patron.cardnumber.like(f"{PREFIX}%")))
        now, today = clock.now(), clock.today()
        existing = int(ROWS * MATCHING)
        rows = [dict(cardnumber=card(n), surname="Existing", library_code="CPL", category_code="PT", privacy="default",
                     dateenrolled=today, created_at=now, updated_at=now) for n in range(existing)]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Patron), rows[start:start + 5000])
        assert session.scalar(select(Patron.id).where(Patron.cardnumber == card(0))) is not None
    db.engine.dispose()


def child(url: str, file: str, options: dict) -> None:
    """Run one import and print its figures as JSON (seconds, peak RSS, counts)."""
    import resource

    from app import create_app
    from app.extensions import db
    from app.services.patron_import import ImportOptions, import_patrons

    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench"})
    if options.pop("api_sync", False):
        api_sync(url)
        return
    if options.pop("upload", False):  # what the page's POST does before it answers: store the file in a job
        from app.services.patron_import.jobs import queue_import

        started = time.perf_counter()
        data = Path(file).read_bytes()
        with app.app_context(), db.unit_of_work() as session:
            queue_import(session, data, ImportOptions(**options), None)
            session.rollback()  # leave no job behind
        print(json.dumps({"seconds": time.perf_counter() - started, "bytes": len(data)}))
        return
    started = time.perf_counter()
    with app.app_context(), db.unit_of_work(write=not options.get("dry_run")) as session:
        result = import_patrons(session, file, ImportOptions(**options), None, channel="cli")
        if not result.applied:
            session.rollback()
    seconds = time.perf_counter() - started  # the commit included
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                      "peak_rss_mb": usage.ru_maxrss / 1024, "summary": result.summary, "rows": result.rows,
                      "to_create": result.to_create, "to_overwrite": result.to_overwrite,
                      "bad_rows": len(result.bad_rows)}))


SYNC_CALLS = 300


def api_sync(url: str) -> None:
    """The seed's card-number sync against the imported patrons, through the WSGI app: a token,
    then per patron GET /patrons?userid=...&_match=exact and a PUT of the object minus Koha's
    read-only fields with a new card number. Prints per-call latencies as JSON."""
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Patron, Permission, StaffPermission
    from app.services.api_keys import create_api_key

    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench"})
    with app.app_context(), db.unit_of_work() as session:
        owner = session.scalar(select(Patron).where(Patron.userid == "bench-api"))
        if owner is None:
            owner = Patron(userid="bench-api", surname="Bench", library_code="CPL", category_code="PT")
            session.add(owner)
            session.flush()
            session.add(StaffPermission(patron_id=owner.id, permission=Permission.PATRONS))
        key = create_api_key(session, owner, "bench", None)
        client_id, secret = key.client.client_id, key.secret
    client = app.test_client()
    token = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                     "client_secret": secret}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    rng = random.Random(11)
    gets, puts = [], []
    for n in rng.sample(range(ROWS), SYNC_CALLS):
        started = time.perf_counter()
        found = client.get(f"/api/v1/patrons?userid=imp{n}&_match=exact", headers=headers)
        gets.append(time.perf_counter() - started)
        (koha,) = found.get_json()
        koha["statistics_2"], koha["cardnumber"] = koha["cardnumber"], f"SYNC{n:09d}"
        for field in ("anonymized", "expired", "restricted", "updated_on"):
            koha.pop(field)
        started = time.perf_counter()
        response = client.put(f"/api/v1/patrons/{koha['patron_id']}", json=koha, headers=headers)
        puts.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(response.get_data(as_text=True))
    print(json.dumps({"get": sorted(gets), "put": sorted(puts)}))


def _run_child(url: str, file: Path, log, **options) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.patron_import", "--child", "--url", url, "--file", str(file),
                          "--options", json.dumps(options)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    if out.returncode:
        raise RuntimeError(out.stderr)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"  {options}: {str(figures)[:400]}")
    return figures


def measure(url: str, log) -> Iterator[Figure]:
    CACHE.mkdir(exist_ok=True)
    big, small = CACHE / "patrons-100k.csv", CACHE / "patrons-passwords.csv"
    broken = CACHE / "patrons-100k-bad.csv"
    log(f"patron_import: writing {ROWS:,} rows and preparing {int(ROWS * MATCHING):,} matching patrons")
    write_csv(big, ROWS, int(ROWS * MATCHING))
    bad = write_csv(broken, ROWS, int(ROWS * MATCHING), bad_every=BAD_EVERY)
    write_csv(small, PASSWORD_ROWS, 0, passwords=True, start=ROWS * 10)
    prepare(url)
    upload = _run_child(url, big, log, upload=True, overwrite=True, file_name=big.name)
    dry = _run_child(url, broken, log, dry_run=True, overwrite=True, file_name=broken.name)
    if dry["bad_rows"] != bad:
        raise RuntimeError(f"the dry run listed {dry['bad_rows']} bad rows, the file has {bad}")
    real = _run_child(url, big, log, overwrite=True, file_name=big.name)
    pw = _run_child(url, small, log, overwrite=True, file_name=small.name)
    sync = _run_child(url, big, log, api_sync=True)
    yield "import_100k_upload_seconds", upload["seconds"], "s"
    yield "import_100k_seconds", real["seconds"], "s"
    yield "import_100k_dry_run_seconds", dry["seconds"], "s"
    yield "import_100k_dry_run_bad_rows_listed", dry["bad_rows"], "rows"
    yield "import_100k_peak_rss_mb", max(real["peak_rss_mb"], dry["peak_rss_mb"]), "MB"
    yield "import_password_rows_per_second", PASSWORD_ROWS / pw["seconds"], "rows/s"
    # hashing is CPU-bound: rows per CPU-second, times the cores, is the rate on an idle machine
    yield "import_password_rows_per_cpu_second", PASSWORD_ROWS / pw["cpu_seconds"], "rows/cpu-s"
    for verb in ("get", "put"):
        times = sync[verb]
        yield f"api_sync_{verb}_p50_ms", times[len(times) // 2] * 1000, "ms"
        yield f"api_sync_{verb}_p95_ms", times[int(len(times) * 0.95)] * 1000, "ms"


@benchmark("patron_import")
def patron_import_benchmark(ctx: Context) -> Iterator[Figure]:
    from app.extensions import db

    db.session.remove()
    yield from measure(ctx.url, ctx.log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.patron_import")
    parser.add_argument("--url", required=True)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.url, args.file, json.loads(args.options))
        return 0
    from sqlalchemy import create_engine

    from app.models import Base

    engine = create_engine(args.url)
    Base.metadata.create_all(engine)
    engine.dispose()
    from . import format_figure

    for figure in measure(args.url, lambda m: print(m, file=sys.stderr, flush=True)):
        print(format_figure(*figure), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
