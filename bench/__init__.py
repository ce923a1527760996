"""Carrel benchmarks: ``python -m bench --size S|M|L`` (``make bench SIZE=...``).

Each benchmark is a function registered with ``@benchmark(name)``; it receives a ``Context`` and
yields ``(figure name, value, unit)`` tuples, printed as ``BENCH <name> <value> <unit>``.
Every module of this package is imported (``seed`` first, then the others by name), so a new
benchmark is just a new module. Benchmarks run in that order on one fresh database: later ones
find a seeded library of the chosen size."""
from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterator

from flask import Flask

Figure = tuple[str, float, str]
BenchmarkFunction = Callable[["Context"], Iterator[Figure]]
BENCHMARKS: dict[str, BenchmarkFunction] = {}


@dataclass
class Context:
    size: str
    url: str
    app: Flask
    notes: dict = field(default_factory=dict)  # what one benchmark leaves for the next

    @staticmethod
    def log(message: str) -> None:
        """Progress for people; stdout carries only the BENCH lines."""
        print(message, file=sys.stderr, flush=True)


def benchmark(name: str) -> Callable[[BenchmarkFunction], BenchmarkFunction]:
    def register(function: BenchmarkFunction) -> BenchmarkFunction:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHMARKS[name] = function
        return function

    return register


def format_figure(name: str, value: float, unit: str) -> str:
    return f"BENCH {name} {value:.1f} {unit}"


def percentile(values: list[float], p: int) -> float:
    """The p-th percentile (inclusive method); the value itself for one sample, NaN for none."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def run_standalone(prog: str, doc: str, run_all: Callable[[Flask, Callable[[str], None]], Iterator[Figure]],
                   argv: list[str] | None = None) -> int:
    """A benchmark module run alone on an already seeded database (``--url``): its figures as
    BENCH lines, the scheduler off."""
    from app import create_app

    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded database")
    args = parser.parse_args(argv)
    app = create_app({"DATABASE_URL": args.url, "ENV": "production", "SECRET_KEY": f"bench-{prog}",
                      "RUN_SCHEDULER": False})
    for figure in run_all(app, Context.log):
        print(format_figure(*figure), flush=True)
    return 0


def registered(name: str, doc: str, run_all: Callable[[Flask, Callable[[str], None]], Iterator[Figure]]
               ) -> Callable[[list[str] | None], int]:
    """Register a module's ``run_all`` as benchmark ``name`` and return the module's ``main``
    (the same figures alone on an already seeded database, see ``run_standalone``)."""
    @benchmark(name)
    def run_registered(ctx: Context) -> Iterator[Figure]:
        yield from run_all(ctx.app, ctx.log)

    return lambda argv=None: run_standalone(f"python -m bench.{name}", doc, run_all, argv)


def load_benchmarks() -> None:
    """Import every module of this package, ``seed`` first (the others need its data): each
    registers its benchmarks with ``@benchmark``, in import order. A module that fails to import
    is reported on stderr and skipped, so one broken benchmark does not stop the others."""
    import importlib
    import pkgutil

    from . import seed  # noqa: F401

    for name in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if name in ("__main__", "seed", "database"):
            continue
        try:
            importlib.import_module(f"{__name__}.{name}")
        except Exception as error:  # noqa: BLE001 - reported, the run goes on
            print(f"bench: skipping module {name} ({type(error).__name__}: {error})", file=sys.stderr)
