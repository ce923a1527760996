"""Alembic environment for Carrel.

The database URL comes from the Alembic config's ``sqlalchemy.url`` (``app.migrate.alembic_config``
sets it from the app's ``DATABASE_URL``). The custom column types render as plain SQLAlchemy types
so migration scripts never import the models. Objects autogenerate cannot describe (the
full-text search index of ``app.services.search``) are left out of comparisons.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, event, pool

from app.models import Base
from app.models.base import StrEnumType, UTCDateTime
from app.services import search

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Render UTCDateTime as ``sa.DateTime()`` and StrEnumType as ``sa.String(length=N)``."""
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime()"
        if isinstance(obj, StrEnumType):
            return f"sa.String(length={obj.impl.length})"
    return False


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave migration-managed DDL that the models do not declare out of autogenerate."""
    return search.include_object(obj, name, type_, reflected, compare_to)


def _options(dialect_name: str) -> dict:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": render_item,
        "include_object": include_object,
        # SQLite cannot ALTER most things: later revisions use "move and copy" batch operations.
        "render_as_batch": dialect_name == "sqlite",
    }


def _sqlite_transactional_ddl(engine) -> None:
    """pysqlite runs DDL outside any transaction; take over BEGIN as Carrel's engine does, so a
    failed migration on SQLite rolls back whole. Foreign keys stay OFF (SQLite's default) here:
    batch migrations drop and recreate tables, which with foreign keys on would cascade deletes."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``) instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    dialect_name = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(dialect_name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    if engine.dialect.name == "sqlite":
        _sqlite_transactional_ddl(engine)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_options(engine.dialect.name))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
