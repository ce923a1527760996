"""A fresh database for a benchmark run and its size on disk."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, MetaData, text

from app.models import Base

CACHE = Path(__file__).resolve().parent / ".cache"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def default_url(size: str) -> str:
    return f"sqlite:///{CACHE / f'bench-{size}.db'}"


def remove_sqlite_files(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def drop_everything(engine: Engine) -> None:
    """Every table Carrel knows, plus whatever else the schema holds (alembic_version...)."""
    Base.metadata.drop_all(engine)
    leftovers = MetaData()
    leftovers.reflect(engine)
    leftovers.drop_all(engine)


def fresh_schema(engine: Engine, url: str, log) -> str:
    """Create the schema: Alembic migrations when ``migrations/`` exists and upgrades cleanly,
    otherwise ``Base.metadata.create_all``. Returns how it was made."""
    if url.startswith("sqlite:///"):
        CACHE.mkdir(exist_ok=True)
        engine.dispose()
        remove_sqlite_files(url)
    else:
        drop_everything(engine)
    if (MIGRATIONS / "env.py").exists():
        from app.migrate import upgrade_to_head

        try:
            upgrade_to_head(url)
            return "alembic upgrade head"
        except Exception as error:  # a migration being written: fall back, say so
            log(f"migrations failed ({type(error).__name__}: {error}); using create_all")
            drop_everything(engine)
    Base.metadata.create_all(engine)
    return "create_all"


def database_megabytes(engine: Engine, url: str) -> float:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = url.removeprefix("sqlite:///")
        total = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
        return total / 1e6
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return conn.scalar(text("SELECT pg_database_size(current_database())")) / 1e6
    with engine.connect() as conn:  # MariaDB / MySQL
        return float(conn.scalar(text(
            "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()"
        )) or 0) / 1e6
