"""OPAC keyword search under load (targets WEB-2): 20 concurrent users, each searching one
random word taken from real titles of the seeded database, back to back (no think time), against
the real web endpoint (/search) on 127.0.0.1. Prints ``BENCH opac_search_p95_ms <v> ms``.

The server is the production shape, gunicorn with one threaded worker per core (``--server
gunicorn``, the default), or werkzeug's threaded server inside this process (``--server
werkzeug``): one Python process, so one core's worth of Python for 20 users.

Registered as the ``opac_search`` benchmark (``python -m bench --size L --only opac_search``);
or run alone on an already seeded database: ``python -m bench.search --url postgresql+psycopg://...``."""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import random
import signal
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select

from . import Context, benchmark

FIGURE = "opac_search_p95_ms"
TARGET_P95_MS = 300.0
TARGET_P50_MS = 100.0
USERS = 20
REQUESTS_PER_USER = 50
WARMUP_REQUESTS = 100
WORD = re.compile(r"[^\W\d_]{3,}")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SearchFigures:
    users: int
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    per_second: float
    titles: int
    server: str

    def lines(self) -> list[str]:
        return [
            f"BENCH {FIGURE} {self.p95_ms:.1f} ms",
            f"  p50 {self.p50_ms:.1f} ms, max {self.max_ms:.1f} ms, {self.per_second:.0f} searches/s, "
            f"{self.requests} searches by {self.users} users, {self.errors} errors, {self.titles:,} titles, {self.server} "
            f"(target p95 <= {TARGET_P95_MS:.0f} ms, p50 <= {TARGET_P50_MS:.0f} ms)",
        ]


def sample_words(session, count: int, rng: random.Random) -> list[str]:
    """``count`` words drawn from randomly chosen titles (title and subtitle), as typed."""
    from app.models import Title

    low, high = session.execute(select(func.min(Title.id), func.max(Title.id))).one()
    if low is None:
        raise SystemExit("the database has no titles: seed it first (flask carrel seed --size L)")
    words: list[str] = []
    while len(words) < count:
        ids = [rng.randint(low, high) for _ in range(200)]
        for title, subtitle in session.execute(select(Title.title, Title.subtitle).where(Title.id.in_(ids))):
            found = WORD.findall(f"{title} {subtitle or ''}")
            if found:
                words.append(rng.choice(found))
    rng.shuffle(words)
    return words[:count]


class _WerkzeugServer:
    """The app on a real port, werkzeug's threaded server, in a thread of this process."""

    name = "werkzeug (threaded, in process)"

    def __init__(self, app, _url: str, _workers: int | None = None):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *_args, **_kw) -> None:  # a line per search would drown the figure
                pass

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-search-server", daemon=True)

    def __enter__(self) -> "_WerkzeugServer":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _GunicornServer:
    """``gunicorn wsgi:app`` in a child process, as production runs the web (DESIGN: processes)."""

    threads = 8

    def __init__(self, _app, url: str, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.name = f"gunicorn ({self.workers} workers x {self.threads} threads)"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._url = url
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "_GunicornServer":
        env = dict(os.environ, DATABASE_URL=self._url, SECRET_KEY="bench-search", CARREL_ENV="production",
                   CARREL_RUN_SCHEDULER="false", CARREL_RUN_SIP2="false")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "gthread",
             "--threads", str(self.threads), "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
             "--preload", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True)  # its own group: see __exit__
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SystemExit(f"gunicorn exited with status {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("gunicorn did not start listening within 60 s")

    def __exit__(self, *_exc) -> None:
        """Quick shutdown (nothing is in flight), then the whole process group is killed: a
        worker stuck in a database call outlives a killed master and would load the box for
        every later benchmark."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # every worker is gone already


SERVERS = {"gunicorn": _GunicornServer, "werkzeug": _WerkzeugServer}


def _user(port: int, queries: list[str], timings: list[float], errors: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for query in queries:
            started = time.perf_counter()
            try:
                connection.request("GET", "/search?" + urlencode({"q": query}))
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{query!r}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            timings.append((time.perf_counter() - started) * 1000)
            if response.status != 200 or b"took too long" in body:
                errors.append(f"{query!r}: HTTP {response.status}")
    finally:
        connection.close()


def measure(app, *, users: int = USERS, requests_per_user: int = REQUESTS_PER_USER, warmup: int = WARMUP_REQUESTS,
            seed: int = 2602, server: str = "gunicorn", workers: int | None = None) -> SearchFigures:
    """Search figures for ``app`` (its database seeded): a warm-up, then ``users`` threads each
    searching ``requests_per_user`` random title words back to back."""
    from app.extensions import db
    from app.models import Title

    rng = random.Random(seed)
    with db.unit_of_work(write=False) as session:
        titles = session.scalar(select(func.count(Title.id)))
        words = sample_words(session, users * requests_per_user + warmup, rng)
    first, words = words[:warmup], words[warmup:]
    timings: list[float] = []
    errors: list[str] = []
    with SERVERS[server](app, app.config["DATABASE_URL"], workers) as running:
        with ThreadPoolExecutor(max_workers=users, thread_name_prefix="bench-user") as pool:
            for n in range(users):  # every worker process warms up (templates, connections)
                pool.submit(_user, running.port, first[n::users], [], [])
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=users, thread_name_prefix="bench-user") as pool:
            for n in range(users):
                pool.submit(_user, running.port, words[n::users], timings, errors)
        elapsed = time.perf_counter() - started
    if len(timings) < 2:
        raise SystemExit(f"search benchmark failed: {errors[:3]}")
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return SearchFigures(users=users, requests=len(timings), errors=len(errors), p50_ms=statistics.median(timings),
                         p95_ms=cuts[94], max_ms=max(timings), per_second=len(timings) / elapsed, titles=titles,
                         server=running.name)


def run(url: str, *, users: int = USERS, requests_per_user: int = REQUESTS_PER_USER, server: str = "gunicorn",
        echo=print) -> SearchFigures:
    """Measure against the seeded database at ``url`` and print the figure."""
    from app import create_app

    app = create_app({"DATABASE_URL": url, "ENV": "production", "SECRET_KEY": "bench-search",
                      "RUN_SCHEDULER": False})
    figures = measure(app, users=users, requests_per_user=requests_per_user, server=server)
    for line in figures.lines():
        echo(line)
    return figures


@benchmark("opac_search")
def opac_search_benchmark(ctx: Context):
    figures = measure(ctx.app)
    ctx.log(figures.lines()[1].strip())
    yield FIGURE, figures.p95_ms, "ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded database")
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--requests", type=int, default=REQUESTS_PER_USER, help="searches per user")
    parser.add_argument("--server", choices=sorted(SERVERS), default="gunicorn")
    args = parser.parse_args(argv)
    figures = run(args.url, users=args.users, requests_per_user=args.requests, server=args.server)
    return 0 if figures.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
