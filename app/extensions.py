"""Extensions, created unbound and bound to an app in ``create_app``."""
from __future__ import annotations

import contextlib
import contextvars
import threading
from typing import Any, Callable, Iterator

from flask import Flask
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool

# Set for a unit of work that will write: SQLite then opens it with BEGIN IMMEDIATE, so two
# writers queue on the busy timeout instead of failing half-way with "database is locked".
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("carrel_write_intent", default=False)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


# Database connections one process may hold at once (kept, plus opened on demand). Each SIP2
# worker thread keeps one of them (app/sip2/connections.py). SQLite gets fewer: its writers take
# turns on one lock, and more connections sleeping on its busy timeout only slow them down.
POOL_SIZE, POOL_OVERFLOW = 10, 20
SQLITE_POOL_SIZE, SQLITE_POOL_OVERFLOW = 5, 10


def pool_capacity(engine: Engine) -> int | None:
    """How many connections the engine's pool gives out at most (None: one shared connection)."""
    if isinstance(engine.pool, StaticPool):
        return None
    if engine.dialect.name == "sqlite":
        return SQLITE_POOL_SIZE + SQLITE_POOL_OVERFLOW
    return POOL_SIZE + POOL_OVERFLOW


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine with Carrel's per-dialect settings (SQLite pragmas, pool pre-ping elsewhere)."""
    if url.startswith("sqlite"):
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool  # one connection, shared
        else:
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW)
        engine = create_engine(url, echo=echo, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


_listen_lock = threading.Lock()


def listen_to_every_session(*listeners: tuple[str, Callable[..., Any]]) -> None:
    """Attach ``(event name, function)`` listeners to every ORM session, each once per process
    however many apps ``create_app`` builds (tests build several)."""
    with _listen_lock:
        for name, function in listeners:
            if not event.contains(Session, name, function):
                event.listen(Session, name, function)


def flush_if_pending(session: Session, model: type) -> None:
    """Flush, as a query's autoflush would, when the session holds unwritten rows of ``model``
    (new, changed or deleted) that a read from memory must take into account; otherwise leave
    the other pending writes to be flushed together later."""
    if session.autoflush and any(isinstance(row, model) for rows in (session.new, session.dirty, session.deleted)
                                 for row in rows):
        session.flush()


class Database:
    """The engine and a thread-scoped session; each boundary (request, SIP2 message, job run)
    uses one session and commits once."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory = sessionmaker(expire_on_commit=False)
        self.session: scoped_session[Session] = scoped_session(self._factory)

    def init_app(self, app: Flask) -> None:
        if self.engine is not None:
            self.session.remove()
            self.engine.dispose()
        self.engine = make_engine(app.config["DATABASE_URL"], app.config.get("SQLALCHEMY_ECHO", False))
        self._factory.configure(bind=self.engine)
        app.extensions["carrel_db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc):
            self.session.remove()
            _write_intent.set(False)

    @property
    def dialect(self) -> str:
        assert self.engine is not None
        return self.engine.dialect.name

    def new_session(self) -> Session:
        """A session outside the thread scope (SIP2 connections, job threads)."""
        return self._factory()

    @contextlib.contextmanager
    def unit_of_work(self, write: bool = True, bind: Connection | None = None) -> Iterator[Session]:
        """One boundary: a fresh session, committed at the end or rolled back on error; on
        ``bind`` (a connection its caller keeps between boundaries) instead of a pooled one."""
        token = _write_intent.set(write)
        session = self._factory() if bind is None else self._factory(bind=bind)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            _write_intent.reset(token)

    @staticmethod
    def declare_write_intent(value: bool = True) -> None:
        """Called at the start of a request that will write (POST, PUT, PATCH, DELETE)."""
        _write_intent.set(value)


db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
