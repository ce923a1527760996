"""Notices benchmarks (issue 10's targets):

- Queuing adds <= 2 ms to the triggering transaction: staff cancel holds, one transaction each
  (lock the title, change status, audit, commit), for patrons with an email address; the same
  run with the notice hook switched off is the baseline. Figures: the p50 of each run, their
  difference, and the hook's own time (render, preference and dedupe reads, the insert flushed)
  at p50 and p95.
- The sender delivers 10,000 queued messages to a local SMTP sink in <= 60 s: an aiosmtpd
  server in its own process counts what it receives; the sender runs as the scheduled job does
  (batches claimed and recorded in their own transactions, one SMTP connection).

Registered as the ``notices`` benchmark; alone on a seeded database:
``python -m bench.notices --url sqlite:///bench/.cache/bench-S.db`` (it adds holds and notices,
and removes the notices it queued)."""
from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import sys
import time
from typing import Callable, Iterator

from sqlalchemy import delete, func, insert, select

from . import Context, Figure, benchmark

CANCELS = 300
MESSAGES = 10_000
TARGET_OVERHEAD_MS = 2.0
TARGET_SEND_SECONDS = 60.0


def _pct(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def _sink(port: int, ready, count) -> None:
    """An SMTP server that accepts and counts every message (a child process)."""
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_holds(app, count: int) -> tuple[list[int], int]:
    """``count`` queued holds, each on a title of its own, for patrons with an email address."""
    from app.extensions import db
    from app.models import Hold, Library, Patron, Title

    with app.app_context(), db.unit_of_work(write=True) as session:
        patrons = session.scalars(select(Patron.id).where(Patron.email.is_not(None)).order_by(Patron.id).limit(count)).all()
        titles = session.scalars(select(Title.id).order_by(Title.id.desc()).limit(count)).all()
        pickup = session.scalar(select(Library.code).where(Library.is_pickup_location.is_(True)).order_by(Library.code))
        top = session.scalar(select(func.max(Hold.queue_key))) or 0
        staff = session.scalar(select(Patron.id).where(Patron.userid == "admin"))
        rows = [dict(patron_id=p, title_id=t, pickup_library_code=pickup, queue_key=top + 1000 + n, status="queued",
                     channel="staff") for n, (p, t) in enumerate(zip(patrons, titles))]
        session.execute(insert(Hold), rows)
        ids = session.scalars(select(Hold.id).where(Hold.queue_key > top + 999).order_by(Hold.id)).all()
    return list(ids), staff


def _cancel_all(app, hold_ids: list[int], staff_id: int) -> tuple[list[float], list[float], list[float]]:
    """Cancel each hold in its own transaction, the notice hook on for every other one (so a
    change of load on the machine touches both alike). Returns the transaction times without
    and with the hook, and the hook's own times (its queries, rendering and insert, flushed)."""
    from app.extensions import db
    from app.models import Hold, Patron
    from app.services import notices
    from app.services.holds import lifecycle

    original = notices.hold_cancelled
    hook: list[float] = []
    state = {"on": False}

    def switched(*args, **kwargs):
        if not state["on"]:
            return None
        args[0].flush()  # the cancellation's own writes are not the hook's
        started = time.perf_counter()
        result = original(*args, **kwargs)
        args[0].flush()  # the insert is part of what queuing costs
        hook.append((time.perf_counter() - started) * 1000)
        return result

    lifecycle.notices.hold_cancelled = switched
    without: list[float] = []
    with_hook: list[float] = []
    try:
        with app.app_context():
            for n, hold_id in enumerate(hold_ids):
                state["on"] = n % 2 == 1
                started = time.perf_counter()
                with db.unit_of_work(write=True) as session:
                    lifecycle.cancel_hold(session, session.get(Hold, hold_id), session.get(Patron, staff_id),
                                          reason="bench", channel="staff")
                (with_hook if state["on"] else without).append((time.perf_counter() - started) * 1000)
    finally:
        lifecycle.notices.hold_cancelled = original
    return without, with_hook, hook


def measure_queuing(app, log: Callable[[str], None]) -> Iterator[Figure]:
    hold_ids, staff = _make_holds(app, 2 * CANCELS + 40)
    if len(hold_ids) < 2 * CANCELS + 40 or staff is None:
        log(f"notices: not enough patrons with email or titles ({len(hold_ids)} holds); queuing not measured")
        return
    log(f"notices: cancelling {2 * CANCELS} holds, the notice hook on for every other one")
    _cancel_all(app, hold_ids[:40], staff)  # warm-up
    without, with_hook, hook = _cancel_all(app, hold_ids[40:], staff)
    yield "notices_cancel_txn_without_p50_ms", statistics.median(without), "ms"
    yield "notices_cancel_txn_with_p50_ms", statistics.median(with_hook), "ms"
    yield "notices_queue_overhead_p50_ms", statistics.median(with_hook) - statistics.median(without), "ms"
    yield "notices_queue_hook_p50_ms", statistics.median(hook), "ms"
    yield "notices_queue_hook_p95_ms", _pct(hook, 95), "ms"
    log(f"notices: target <= {TARGET_OVERHEAD_MS} ms added to the transaction")


def _queue_messages(app, count: int) -> int:
    """``count`` pending email notices (rendered once, inserted in bulk); the first new id."""
    from app import clock
    from app.extensions import db
    from app.models import Notice, NoticeChannel, NoticeStatus, Patron
    from app.services.notices.queueing import render_notice

    with app.app_context(), db.unit_of_work(write=True) as session:
        patrons = session.scalars(select(Patron).where(Patron.email.is_not(None)).order_by(Patron.id).limit(200)).all()
        rendered = [render_notice(session, "WELCOME", p, p.library, {}) for p in patrons]
        now = clock.now()
        first = (session.scalar(select(func.max(Notice.id))) or 0) + 1
        rows = []
        for n in range(count):
            patron, text = patrons[n % len(patrons)], rendered[n % len(patrons)]
            rows.append(dict(id=first + n, patron_id=patron.id, event="WELCOME", channel=NoticeChannel.EMAIL,
                             library_code=patron.library_code, to_address=patron.email, subject=text.subject,
                             body_text=text.body_text, body_html=text.body_html, status=NoticeStatus.PENDING,
                             attempts=0, queued_at=now, next_attempt_at=now))
        for start in range(0, len(rows), 2000):
            session.execute(insert(Notice), rows[start:start + 2000])
    return first


def measure_sending(app, log: Callable[[str], None]) -> Iterator[Figure]:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        log("notices: aiosmtpd is not installed (pip install '.[test]'); sending not measured")
        return
    from app.extensions import db
    from app.models import Notice, NoticeStatus
    from app.services.notices.sending import send_pending_notices

    with app.app_context(), db.unit_of_work(write=True) as session:  # earlier runs' leftovers
        session.execute(delete(Notice).where(Notice.status.in_((NoticeStatus.PENDING, NoticeStatus.SENDING))))
    first = _queue_messages(app, MESSAGES)
    port = _free_port()
    context = multiprocessing.get_context("spawn")
    ready, count = context.Event(), context.Value("i", 0)
    sink = context.Process(target=_sink, args=(port, ready, count), daemon=True)
    sink.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        config = {**app.config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port,
                  "SMTP_TLS": False, "SMTP_SSL": False, "SMTP_USER": ""}
        log(f"notices: sending {MESSAGES} queued notices to an SMTP sink on port {port}")
        started = time.perf_counter()
        with app.app_context():
            result = send_pending_notices(lambda: db.unit_of_work(write=True), config)
        seconds = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.join(10)
    if result.sent != MESSAGES or count.value != MESSAGES:
        raise RuntimeError(f"sent {result.sent}, the sink received {count.value}, expected {MESSAGES}")
    yield "notices_send_10000_seconds", seconds, "s"
    yield "notices_send_per_second", MESSAGES / seconds, "msg/s"
    log(f"notices: target <= {TARGET_SEND_SECONDS} s")
    with app.app_context(), db.unit_of_work(write=True) as session:
        session.execute(delete(Notice).where(Notice.id >= first))


def measure(app, log: Callable[[str], None]) -> Iterator[str]:
    from . import format_figure

    for figure in [*measure_queuing(app, log), *measure_sending(app, log)]:
        yield format_figure(*figure)


@benchmark("notices")
def notices_benchmark(ctx: Context) -> Iterator[Figure]:
    yield from measure_queuing(ctx.app, ctx.log)
    yield from measure_sending(ctx.app, ctx.log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notices", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a seeded database (holds and notices are added)")
    args = parser.parse_args(argv)
    from app import create_app

    app = create_app({"DATABASE_URL": args.url, "ENV": "development", "SECRET_KEY": "bench"})
    for line in measure(app, lambda m: print(m, file=sys.stderr, flush=True)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
