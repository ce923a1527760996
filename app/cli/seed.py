"""Seed command (demo library and S/M/L data sets)."""
from __future__ import annotations

import click

from . import carrel

SIZE_NAMES = ("demo", "S", "M", "L")


@carrel.command("seed")
@click.option("--size", "size_name", type=click.Choice(SIZE_NAMES, case_sensitive=False), default="demo",
              show_default=True, help="demo (5 libraries, 2,000 titles) up to L (50 libraries, 1M titles).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has libraries.")
@click.option("--seed", "seed_value", type=int, default=None, help="Random seed (default 2602): same seed, same data.")
def seed_command(size_name: str, if_empty: bool, seed_value: int | None) -> None:
    """Fill an empty, migrated database with a plausible library and the demo accounts."""
    from sqlalchemy import inspect

    from app.extensions import db
    from app.services.seed import COMPLETE, DEFAULT_SEED, EMPTY, INCOMPLETE, seed_database, seed_status, size_named

    if not inspect(db.engine).has_table("libraries"):
        raise click.ClickException("the database has no tables: run `flask carrel migrate` first")
    with db.unit_of_work(write=False) as session:
        status = seed_status(session)
    if status == INCOMPLETE:
        raise click.ClickException(
            "an earlier seed did not finish (libraries and the demo admin exist but no completion record): "
            "empty the database (drop it and run `flask carrel migrate`) and seed again")
    if status != EMPTY:
        if if_empty:
            what = "a completed seed" if status == COMPLETE else "libraries"
            click.echo(f"the database already has {what}: nothing seeded")
            return
        raise click.ClickException("the database already has libraries: seed only an empty database "
                                   "(or pass --if-empty to skip when it is not empty)")
    size = size_named(size_name)
    with db.unit_of_work(write=True) as session:
        result = seed_database(session, size, DEFAULT_SEED if seed_value is None else seed_value,
                               echo=click.echo, checkpoint=session.commit)
    click.echo(f"seeded size {result.size} (seed {result.seed}) in {result.seconds:.1f} s:")
    width = max(len(name) for name in result.counts)
    for name, count in result.counts.items():
        if count:
            click.echo(f"  {name:<{width}} {count:>10,}")
