"""Process commands: ``serve`` (the all-in-one development process behind ``make run``),
``worker`` (production: scheduler and SIP2 listeners), ``sip2 serve`` (SIP2 only) and
``jobs list`` / ``jobs run ID``."""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import carrel

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.sip2.server import SipServer

DEMO_PATRON = "patron 23529000000001 / patron"
DEMO_STAFF = "admin / admin"
DEMO_KIOSK = "kiosk / kiosk, institution CPL"


class BackgroundServices:
    """The SIP2 listeners and the scheduler of one process, started and stopped together."""

    def __init__(self, app: Flask, *, sip2: bool, scheduler: bool):
        self.app = app
        self.want_sip2 = sip2
        self.want_scheduler = scheduler
        self.sip2: SipServer | None = None
        self.scheduler: BackgroundScheduler | None = None

    def start(self) -> "BackgroundServices":
        from app.jobs import start_scheduler
        from app.sip2.server import SipServer

        try:
            if self.want_sip2:
                self.sip2 = SipServer(self.app).start()
                self.app.config["RUN_SIP2"] = True
            if self.want_scheduler:
                self.scheduler = start_scheduler(self.app)
                self.app.config["RUN_SCHEDULER"] = True
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
            self.app.config["RUN_SCHEDULER"] = False
        if self.sip2 is not None:
            self.sip2.stop()
            self.sip2 = None
            self.app.config["RUN_SIP2"] = False

    def sip2_addresses(self) -> Iterator[str]:
        for host, port in self.sip2.addresses if self.sip2 else ():
            yield f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def __enter__(self) -> "BackgroundServices":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def wait_for_signal(stop: threading.Event | None = None,
                    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> signal.Signals | None:
    """Block until one of ``signals`` arrives (or ``stop`` is set); the previous handlers are
    restored afterwards. Returns the signal received."""
    stop = stop or threading.Event()
    received: list[signal.Signals] = []

    def _handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signal.Signals(signum))
        stop.set()

    previous = {sig: signal.signal(sig, _handler) for sig in signals}
    try:
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0] if received else None


def _services_option(name: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(f"--{name}/--no-{name}", default=True, show_default=True, help=help_text)


@carrel.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="web server address")
@click.option("--port", default=5000, show_default=True, type=int, help="web server port")
@_services_option("sip2", "run the SIP2 listeners (CARREL_SIP2_LISTENERS)")
@_services_option("scheduler", "run the scheduled jobs")
def serve_command(host: str, port: int, sip2: bool, scheduler: bool) -> None:
    """Development: web, SIP2 listeners and scheduler in one process (what `make run` starts)."""
    from werkzeug.serving import run_simple

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    base = f"http://{host}:{port}"
    with BackgroundServices(app, sip2=sip2, scheduler=scheduler) as services:
        click.echo(f"OPAC {base}/ ({DEMO_PATRON})")
        click.echo(f"Staff {base}/staff/ ({DEMO_STAFF})")
        for address in services.sip2_addresses():
            click.echo(f"SIP2 {address} ({DEMO_KIOSK})")
        if scheduler:
            click.echo("Scheduler running: " + ", ".join(_job_ids()))
        # SIGTERM stops cleanly too; SIGINT is set explicitly because a shell's background job inherits it ignored.
        previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    click.echo("stopped")


@carrel.command("worker")
@_services_option("sip2", "run the SIP2 listeners (CARREL_SIP2_LISTENERS)")
@_services_option("scheduler", "run the scheduled jobs")
def worker_command(sip2: bool, scheduler: bool) -> None:
    """Production: the scheduler and the SIP2 listeners, until SIGTERM or SIGINT."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with BackgroundServices(app, sip2=sip2, scheduler=scheduler) as services:
        for address in services.sip2_addresses():
            click.echo(f"SIP2 listening on {address}")
        if scheduler:
            click.echo("Scheduler running: " + ", ".join(_job_ids()))
        received = wait_for_signal()
        click.echo(f"{received.name if received else 'stop'} received, stopping")
    click.echo("stopped")


sip2_group = AppGroup("sip2", help="SIP2 self-check server.")
carrel.add_command(sip2_group)


@sip2_group.command("serve")
def sip2_serve_command() -> None:
    """The SIP2 listeners alone, until SIGTERM or SIGINT."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with BackgroundServices(app, sip2=True, scheduler=False) as services:
        for address in services.sip2_addresses():
            click.echo(f"SIP2 listening on {address}")
        wait_for_signal()
    click.echo("stopped")


jobs_group = AppGroup("jobs", help="Scheduled jobs.")
carrel.add_command(jobs_group)


def _job_ids() -> list[str]:
    from app.jobs import JOBS

    return list(JOBS)


@jobs_group.command("list")
def jobs_list_command() -> None:
    """Every job with its id and how often the scheduler runs it."""
    from app.jobs import JOBS

    for job in JOBS.values():
        click.echo(f"{job.id:32} every {job.every}  {job.description}")


@jobs_group.command("run")
@click.argument("job_id")
def jobs_run_command(job_id: str) -> None:
    """Run one job now (under its database lock, as the scheduler would)."""
    from app.jobs import JOBS, run_job

    if job_id not in JOBS:
        raise click.BadParameter(f"no job {job_id!r}; known: {', '.join(JOBS)}", param_hint="JOB_ID")
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    count = run_job(app, job_id)
    if count is None:
        click.echo(f"{job_id}: skipped, another process is running it")
    else:
        click.echo(f"{job_id}: {count} removed")
