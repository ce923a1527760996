"""The library's policy (system preferences, the circulation rules matrix and the libraries'
closed days) cached per process, never served stale.

Why this shape. A checkout reads a dozen preferences and the rules cascade three or four times;
read from the database each time, that was a third of a SIP2 transaction's statements (and every
due date read its library's closed days again). A cache per request cannot span requests, and a
plain process cache would go stale when an admin edits the policy in another process (another
web worker, the SIP2 worker, another machine). So:

- Every edit of any of these tables changes the token of the one-row table ``policy_generation``
  in the edit's own transaction. Session events do it (ORM adds, changes and deletes of
  preference, rule and closed-day rows, and bulk UPDATE/DELETE/INSERT statements on their
  tables), so no edit path can forget it; the token is random, so two edits in two processes are
  never mistaken for one.
- A unit of work reads the token once (a primary-key lookup), on its first policy read. The same
  token as the process's copy: the copy is used; otherwise the tables are read again (a few
  hundred small rows) and become the process's copy. The snapshot stays in ``session.info`` until
  the transaction ends, so one transaction sees one consistent policy and the next one sees every
  edit committed before it started.
- A transaction that edits the policy reads its own uncommitted rows from the database from then
  on and never publishes them to the process (it may still roll back).

Writes that bypass a Session (raw SQL in psql, Core statements on a bare connection) are not seen
until the next edit through a Session: call ``bump_generation`` after such a write. The services
parse and memoise on the snapshot (``memo``); nothing here knows what a preference or a rule
means."""
from __future__ import annotations

import datetime as dt
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState, Session

from app.extensions import listen_to_every_session
from app.models import CirculationRule, ClosedDay, PolicyGeneration, SystemPreference

POLICY_MODELS = (SystemPreference, CirculationRule, ClosedDay)
POLICY_TABLES = frozenset(model.__table__ for model in POLICY_MODELS)
_SNAPSHOT = "carrel_policy_snapshot"  # session.info keys
_EDITED = "carrel_policy_edited"  # this transaction changed the policy: read it from the database
_PENDING = "carrel_policy_pending"  # a flush under way carries policy rows

Cell = tuple[str, str, str]
ClosedDayRow = tuple[dt.date | None, int | None]  # (on_date, weekday): one of them set


@dataclass(frozen=True)
class PolicySnapshot:
    """The stored policy as text: preferences by name, rules by (library, category, item type)
    cell then by name, closed days by library. ``memo`` holds what services derived from it
    (typed values, cascades, calendars)."""

    token: str | None
    preferences: Mapping[str, str]
    rules: Mapping[Cell, Mapping[str, str]]
    closed_days: Mapping[str, tuple[ClosedDayRow, ...]] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)


_process_copies: "weakref.WeakKeyDictionary[Engine, PolicySnapshot]" = weakref.WeakKeyDictionary()


TOKEN_QUERY = select(PolicyGeneration.token).where(PolicyGeneration.id == 1)


def policy_snapshot(session: Session, *, token: str | None = None) -> PolicySnapshot:
    """The policy this unit of work sees (see the module docstring for when it is read).
    ``token``: the generation token, when the caller read it in a statement of its own (see
    ``token_needed``), which saves the lookup."""
    snapshot = session.info.get(_SNAPSHOT)
    if snapshot is not None:
        return snapshot
    if session.info.get(_EDITED):
        snapshot = _read(session, token=None)
    else:
        if token is None:
            token = session.scalar(TOKEN_QUERY)
        engine = _engine_of(session)
        snapshot = _process_copies.get(engine)
        if snapshot is None or snapshot.token != token:
            snapshot = _read(session, token)
            _process_copies[engine] = snapshot
    session.info[_SNAPSHOT] = snapshot
    return snapshot


def token_needed(session: Session) -> bool:
    """Whether this unit of work has yet to read the token: a caller about to send a statement
    anyway may carry ``TOKEN_QUERY.scalar_subquery()`` in it and pass the value to
    ``policy_snapshot`` (one round trip fewer for a short transaction on a server database)."""
    return _SNAPSHOT not in session.info and not session.info.get(_EDITED)


def bump_generation(connection: Connection) -> None:
    """Give the policy a new token in ``connection``'s transaction: every process reads the
    policy again from the first unit of work that starts after it commits."""
    table = PolicyGeneration.__table__
    token = uuid.uuid4().hex
    if connection.execute(update(table).where(table.c.id == 1).values(token=token)).rowcount:
        return
    try:
        with connection.begin_nested():  # two first-ever edits at once: one inserts, the other updates
            connection.execute(insert(table).values(id=1, token=token))
    except IntegrityError:
        connection.execute(update(table).where(table.c.id == 1).values(token=token))


def forget_process_copies() -> None:
    """Drop every process copy (tests of the cache itself)."""
    _process_copies.clear()


def install() -> None:
    """Listen to every session for policy edits and transaction ends (once per process; called
    by ``create_app``, before any unit of work could edit the policy)."""
    listen_to_every_session(("before_flush", _note_policy_rows), ("after_flush", _bump_after_flush),
                            ("do_orm_execute", _bump_on_bulk_statement),
                            ("after_transaction_end", _forget_at_transaction_end))


# ---------------------------------------------------------------------------------------------


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _read(session: Session, token: str | None) -> PolicySnapshot:
    preferences = {name: value for name, value in session.execute(
        select(SystemPreference.name, SystemPreference.value))}
    rules: dict[Cell, dict[str, str]] = {}
    for library, category, item_type, name, value in session.execute(select(
            CirculationRule.library_code, CirculationRule.category_code, CirculationRule.item_type_code,
            CirculationRule.rule_name, CirculationRule.rule_value)):
        rules.setdefault((library, category, item_type), {})[name] = value
    closed: dict[str, list[ClosedDayRow]] = {}
    for library, on_date, weekday in session.execute(
            select(ClosedDay.library_code, ClosedDay.on_date, ClosedDay.weekday)):
        closed.setdefault(library, []).append((on_date, weekday))
    return PolicySnapshot(token, preferences, rules, {library: tuple(rows) for library, rows in closed.items()})


def _edited(session: Session) -> None:
    bump_generation(session.connection())
    session.info[_EDITED] = True
    session.info.pop(_SNAPSHOT, None)


def _note_policy_rows(session: Session, _flush_context, _instances) -> None:
    for collection in (session.new, session.dirty, session.deleted):
        if any(isinstance(row, POLICY_MODELS) for row in collection):
            session.info[_PENDING] = True
            return


def _bump_after_flush(session: Session, _flush_context) -> None:
    if session.info.pop(_PENDING, False):
        _edited(session)


def _bump_on_bulk_statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and getattr(state.statement, "table", None) in POLICY_TABLES:
        _edited(state.session)


def _forget_at_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the unit of work's own transaction, not a savepoint
        session.info.pop(_SNAPSHOT, None)
        session.info.pop(_EDITED, None)
        session.info.pop(_PENDING, None)
