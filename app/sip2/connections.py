"""A database connection per SIP2 worker thread, kept from one message to the next.

Kiosks send a steady trickle of short messages, each its own unit of work. Taken from the pool,
every one of them paid a checkout, a checkin and, on PostgreSQL, the pool's pre-ping: one round
trip in eight or so, and round trips are what a message waits for. A connection kept by its
thread between messages sits idle outside any transaction, so it holds no lock and no snapshot.

A connection the database dropped while it sat idle (a restart, an idle timeout) is noticed by
the next message that uses it; ``ConnectionLost`` tells the dispatcher to answer that message on
a new connection (``Dispatcher.handle``)."""
from __future__ import annotations

import threading

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app.extensions import db


class ConnectionLost(Exception):
    """The database connection was found broken before the unit of work could commit: nothing
    was written, the message may be answered again on a new connection."""


def lost(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class HeldConnections:
    """Each worker thread's connection; ``close()`` closes them all (once the threads are done)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._held: set[Connection] = set()
        self._lock = threading.Lock()

    def get(self) -> Connection:
        """This thread's connection, opened again when it was lost or belongs to an engine
        that has since been replaced."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is not None and (connection.closed or connection.invalidated or connection.engine is not db.engine):
            self.drop()
            connection = None
        if connection is None:
            assert db.engine is not None
            connection = db.engine.connect()
            self._local.connection = connection
            with self._lock:
                self._held.add(connection)
        return connection

    def drop(self) -> None:
        """Close and forget this thread's connection (the next message opens another)."""
        connection: Connection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._held.discard(connection)
            _close(connection)

    def held(self) -> list[Connection]:
        with self._lock:
            return list(self._held)

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, set()
        for connection in held:
            _close(connection)


def _close(connection: Connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a connection already broken has nothing left to close
        pass
