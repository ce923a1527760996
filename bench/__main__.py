"""``python -m bench --size S|M|L [--only NAME ...] [--drop-after]``

Uses DATABASE_URL when set (PostgreSQL: its tables are dropped and recreated), otherwise a SQLite
file under bench/.cache/ that is recreated on every run."""
from __future__ import annotations

import argparse
import os
import sys
import time

from . import BENCHMARKS, Context, format_figure, load_benchmarks
from .database import default_url, drop_everything, fresh_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S", choices=["demo", "S", "M", "L"], type=lambda s: s if s == "demo" else s.upper())
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (seed always runs)")
    parser.add_argument("--drop-after", action="store_true", help="drop every table at the end (shared databases)")
    args = parser.parse_args(argv)
    load_benchmarks()
    unknown = set(args.only or ()) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(BENCHMARKS)}")

    from app import create_app
    from app.extensions import db

    url = os.environ.get("DATABASE_URL") or default_url(args.size)
    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": "bench"})
    ctx = Context(size=args.size, url=url, app=app)
    started = time.perf_counter()
    schema = fresh_schema(db.engine, url, ctx.log)
    ctx.log(f"bench: size {args.size} on {db.engine.url.render_as_string(hide_password=True)} (schema by {schema})")
    try:
        for name, function in BENCHMARKS.items():
            if args.only and name != "seed" and name not in args.only:
                continue
            for figure in function(ctx):
                print(format_figure(*figure), flush=True)
    finally:
        if args.drop_after:
            db.session.remove()
            drop_everything(db.engine)
        db.engine.dispose()
    ctx.log(f"bench: done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
