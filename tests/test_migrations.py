"""The Alembic migrations build exactly the models' schema.

Each test migrates a scratch database of its own, never the session-wide test database that
conftest fills with ``create_all``: a temporary file on SQLite; on PostgreSQL (or MariaDB) a
database created next to the one CARREL_TEST_DATABASE_URL names, and dropped afterwards."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.pool import NullPool

from app.migrate import MIGRATIONS, alembic_config, upgrade_to_head
from app.models import Base
from app.services.search import include_object

SCRATCH_DATABASE = "carrel_migration_check"
VERSION_TABLE = "alembic_version"


def _scratch_name() -> str:
    """One scratch database per test process: several people (and xdist workers) may run the
    suite against one server at once, and a shared name would let one run drop another's."""
    return f"{SCRATCH_DATABASE}_{os.getpid()}"


def _drop_database(conn, backend: str, name: str) -> None:
    if backend == "postgresql":
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def scratch_url(tmp_path):
    """URL of an empty database for this test alone."""
    configured = os.environ.get("CARREL_TEST_DATABASE_URL")
    if not configured:
        yield "sqlite:///" + str(tmp_path / "migrations.db")
        return
    url = make_url(configured)
    backend = url.get_backend_name()
    if backend not in ("postgresql", "mysql", "mariadb"):
        pytest.skip(f"no scratch database support for {backend}")
    name = _scratch_name()
    server = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with server.connect() as conn:
            _drop_database(conn, backend, name)
            extra = "" if backend == "postgresql" else " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
            conn.execute(text(f"CREATE DATABASE {quoted}{extra}"))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            _drop_database(conn, backend, name)
        server.dispose()


@pytest.fixture
def scratch_engine(scratch_url):
    """An engine on the scratch database for inspecting it; disposed before the database is dropped."""
    engine = create_engine(scratch_url, poolclass=NullPool)
    yield engine
    engine.dispose()


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}"
    return heads[0]


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _schema_differences(engine: Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True, "include_object": include_object,
        })
        return compare_metadata(context, Base.metadata)


def _tables(engine: Engine) -> set[str]:
    """Every table but Alembic's own, the search index's (SQLite FTS5 shadow tables) included."""
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names()) - {VERSION_TABLE}


def _model_tables(engine: Engine) -> set[str]:
    return {name for name in _tables(engine) if include_object(None, name, "table", True, None)}


# --- the revision scripts ----------------------------------------------------------------------

def test_one_linear_history_starting_at_0001_initial():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = list(script.walk_revisions())
    assert revisions[-1].revision == "0001_initial"
    assert revisions[-1].down_revision is None
    assert script.get_heads() == [revisions[0].revision]


def test_revision_scripts_do_not_import_the_models():
    """Custom types render as plain SQLAlchemy types, so old revisions keep working when
    app/models changes."""
    for path in sorted((Path(MIGRATIONS) / "versions").glob("*.py")):
        source = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+app\.models\b", source, re.M), path.name
        assert "UTCDateTime" not in source and "StrEnumType" not in source, path.name


# --- upgrade, downgrade, idempotence -----------------------------------------------------------

def test_upgrade_head_builds_exactly_the_models_schema(scratch_url, scratch_engine):
    upgrade_to_head(scratch_url)

    assert _current_revision(scratch_engine) == _head()
    assert _model_tables(scratch_engine) == set(Base.metadata.tables)
    # Tables, columns, types, nullability, server defaults, indexes, unique constraints, foreign keys.
    assert _schema_differences(scratch_engine) == []
    # The same check through env.py's own settings (compare_type, render_item): `alembic check`.
    command.check(alembic_config(scratch_url))


def test_upgrade_head_creates_the_models_check_constraints(scratch_url, scratch_engine):
    """Autogenerate does not compare CHECK constraints: compare their names here."""
    upgrade_to_head(scratch_url)
    expected = {
        (table.name, constraint.name)
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if constraint.__class__.__name__ == "CheckConstraint"
    }
    assert expected, "the models declare check constraints"
    with scratch_engine.connect() as conn:
        inspector = inspect(conn)
        found = {
            (table, check["name"])
            for table in Base.metadata.tables
            for check in inspector.get_check_constraints(table)
        }
    assert expected <= found


def test_downgrade_to_base_leaves_no_tables(scratch_url, scratch_engine):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")

    assert _tables(scratch_engine) == set()
    assert _current_revision(scratch_engine) is None
    if scratch_engine.dialect.name == "postgresql":
        with scratch_engine.connect() as conn:
            assert inspect(conn).get_sequence_names() == []
    # and back up again, as a deployment rolling forward after a rollback would
    command.upgrade(config, "head")
    assert _schema_differences(scratch_engine) == []


def test_second_upgrade_is_a_no_op(scratch_url, scratch_engine):
    upgrade_to_head(scratch_url)
    with scratch_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO libraries (code, name, is_pickup_location, created_at, updated_at) "
            "VALUES ('KEEP', 'Kept library', :yes, '2024-01-02 03:04:05', '2024-01-02 03:04:05')"
        ), {"yes": True})

    database = make_url(scratch_url).database
    writes: list[str] = []

    def _record(conn, _cursor, statement, _parameters, _context, _executemany):
        if conn.engine.url.database == database and re.match(
            r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b", statement, re.I
        ):
            writes.append(statement)

    event.listen(Engine, "before_cursor_execute", _record)
    try:
        upgrade_to_head(scratch_url)
    finally:
        event.remove(Engine, "before_cursor_execute", _record)

    assert writes == []
    assert _current_revision(scratch_engine) == _head()
    with scratch_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM libraries WHERE code = 'KEEP'")).scalar_one() == "Kept library"


# --- the command an administrator runs ---------------------------------------------------------

def test_flask_carrel_migrate_upgrades_the_configured_database(app, runner, monkeypatch, scratch_url, scratch_engine):
    monkeypatch.setitem(app.config, "DATABASE_URL", scratch_url)

    result = runner.invoke(args=["carrel", "migrate"])
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output
    assert _current_revision(scratch_engine) == _head()
    assert _schema_differences(scratch_engine) == []

    again = runner.invoke(args=["carrel", "migrate"])
    assert again.exit_code == 0, again.output
    assert _current_revision(scratch_engine) == _head()
