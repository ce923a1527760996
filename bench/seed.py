"""Seeding time and the size of the seeded database."""
from __future__ import annotations

import time
from typing import Iterator

from app.extensions import db
from app.services.seed import DEFAULT_SEED, seed_database, size_named

from . import Context, Figure, benchmark
from .database import database_megabytes


@benchmark("seed")
def seed_benchmark(ctx: Context) -> Iterator[Figure]:
    size = size_named(ctx.size)
    started = time.perf_counter()
    with ctx.app.app_context(), db.unit_of_work(write=True) as session:
        result = seed_database(session, size, DEFAULT_SEED, echo=ctx.log, checkpoint=session.commit)
    seconds = time.perf_counter() - started  # the final commit included
    ctx.notes["seed_counts"] = result.counts
    yield f"seed_{ctx.size}_seconds", seconds, "s"
    yield f"seed_{ctx.size}_db_size", database_megabytes(db.engine, ctx.url), "MB"
