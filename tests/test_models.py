"""Every model round-trips through the test database, and the database itself refuses what a
librarian would notice going wrong: two loans of one copy, two holds in one queue place,
duplicate cards and logins, malformed closed days, forbidden hold transitions, naive times."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    Time,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError, StatementError

from app import clock
from app.extensions import db as carrel_db
from app.models import (
    AccountLine,
    ApiClient,
    AttributeType,
    Base,
    ClosedDay,
    Hold,
    HoldHistory,
    HoldStatus,
    InvalidHoldTransition,
    Library,
    Loan,
    LoginThrottle,
    MessagingPreference,
    Patron,
    PatronList,
    SipInstitution,
    TransportCost,
)
from app.models.base import StrEnumType, UTCDateTime
from app.models.circulation import CreditType, DebitType
from app.models.hold import TRANSITIONS

# --- values for columns ------------------------------------------------------------------------

# An aware time away from UTC, with microseconds: it must come back as the same instant, in UTC.
KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))
BASE_TIME = dt.datetime(2024, 2, 29, 23, 45, 12, 345678, tzinfo=KOLKATA)
BASE_DATE = dt.date(2024, 2, 29)
JSON_VALUE = {"ids": [3, 1, 2], "count": 3, "label": "Ünïcode ✓", "nested": {"ok": True, "none": None}}


def _default(column):
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


def plausible_value(column, i: int, salt: int = 0):
    """A value of the column's type, different for each column index ``i`` (so swapped columns
    show) and different from the column's default (so a default cannot pass for a stored value).
    ``salt`` makes a second row of one model differ from the first (unique columns)."""
    kind = column.type
    i += 1000 * salt
    if isinstance(kind, UTCDateTime):
        return BASE_TIME + dt.timedelta(days=i, minutes=i)
    if isinstance(kind, StrEnumType):
        members = list(kind.enum_class)
        return next(m for m in reversed(members) if m != _default(column))
    if isinstance(kind, Boolean):
        return not _default(column) if isinstance(_default(column), bool) else True
    if isinstance(kind, Integer):
        return 100 + i
    if isinstance(kind, Float):  # before Numeric, its base class
        return 1234.5 + i
    if isinstance(kind, Numeric):
        scale = kind.scale or 0
        return Decimal(f"{1234 + i}.{'5' * scale}") if scale else Decimal(1234 + i)
    if isinstance(kind, DateTime):
        return BASE_TIME + dt.timedelta(days=i)
    if isinstance(kind, Date):
        return BASE_DATE + dt.timedelta(days=i)
    if isinstance(kind, Time):
        return dt.time(13, 45, 10 + i)
    if isinstance(kind, JSON):
        return JSON_VALUE
    if isinstance(kind, LargeBinary):
        return bytes(range(256)) + f"{column.key} {i}".encode()  # every byte value, NUL included
    if isinstance(kind, Text):
        return f"{column.key} {i}: Ünïcode ✓ – «text»\nsecond line"
    if isinstance(kind, String):
        value = f"{column.key}-{i}-é"
        length = kind.length or len(value)
        return value if len(value) <= length else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[salt:salt + length]
    raise AssertionError(f"no plausible value for {column} of type {kind!r}")


# --- parents every model can point at --------------------------------------------------------------

MODEL_OF_TABLE = {mapper.local_table.name: mapper.class_ for mapper in Base.registry.mappers}


class Parents:
    """Two rows of each table a foreign key points at, so two foreign keys to one table get
    different rows: the common ones built by hand, any other built by ``build_values`` on first
    use (a new model's parents need no code here)."""

    def __init__(self, session, rows: dict[str, list]):
        self.session, self._rows, self.building = session, rows, set()

    def rows(self, table: str) -> list:
        if table not in self._rows:
            model = MODEL_OF_TABLE[table]
            overrides = next(iter(VARIANTS.get(model, {None: {}}).values()))
            self.building.add(table)
            made = [model(**build_values(model, self, overrides, salt=salt)) for salt in (1, 2)]
            self.building.discard(table)
            self.session.add_all(made)
            self.session.flush()
            self._rows[table] = made
        return self._rows[table]


@pytest.fixture
def parents(make, session) -> Parents:
    libraries = [make.library("RTA"), make.library("RTB")]
    patrons = [make.patron(library="RTA"), make.patron(library="RTB")]
    titles = [make.title(), make.title()]
    items = [make.item(titles[0], library="RTA"), make.item(titles[1], library="RTB")]
    credit = AccountLine(patron_id=patrons[0].id, credit_type=CreditType.PAYMENT, amount=Decimal("-5"),
                         amount_outstanding=Decimal("0"))
    debit = AccountLine(patron_id=patrons[0].id, debit_type=DebitType.OVERDUE, amount=Decimal("5"),
                        amount_outstanding=Decimal("5"))
    others = {
        "attribute_types": [AttributeType(code="RT-ATTR", description="Round trip attribute")],
        "sip_institutions": [SipInstitution(id="RTINST", name="Round trip institution")],
        "api_clients": [ApiClient(client_id="rt-client", secret_hash="x", patron_id=patrons[0].id)],
        "account_lines": [credit, debit],
        "holds": [Hold(patron_id=patrons[0].id, title_id=titles[0].id, pickup_library_code="RTA", queue_key=1)],
        "patron_lists": [PatronList(name="Round trip list")],
    }
    for rows in others.values():
        session.add_all(rows)
    session.flush()
    return Parents(session, {
        "libraries": libraries, "patrons": patrons, "titles": titles, "items": items,
        "patron_categories": [make.category("PT")], "item_types": [make.item_type("BK")], **others,
    })


def _is_generated_key(column) -> bool:
    table = column.table
    return (column.primary_key and isinstance(column.type, Integer) and len(table.primary_key.columns) == 1
            and not column.foreign_keys and column.autoincrement in (True, "auto"))


def build_values(model, parents: Parents, overrides=None, salt: int = 0) -> dict:
    """Every column of ``model``: foreign keys from ``parents``, the rest from ``plausible_value``."""
    used: dict[str, itertools.cycle] = {}
    values = {}
    for i, prop in enumerate(inspect(model).column_attrs):
        column = prop.columns[0]
        if _is_generated_key(column):
            continue
        if column.foreign_keys:
            target = next(iter(column.foreign_keys)).column
            table = target.table.name
            if table in parents.building:  # a self-reference while building a parent row
                values[prop.key] = None
                continue
            parent = next(used.setdefault(table, itertools.cycle(parents.rows(table))))
            values[prop.key] = getattr(parent, inspect(type(parent)).get_property_by_column(target).key)
        else:
            values[prop.key] = plausible_value(column, i, salt)
    values.update(overrides or {})
    return values


# Overrides for CHECK constraints and the models that have two valid shapes.
VARIANTS = {
    ClosedDay: {"date": {"weekday": None}, "weekday": {"on_date": None, "weekday": 6}},
    AccountLine: {"debit": {"credit_type": None},
                  "credit": {"debit_type": None, "amount": Decimal("-7.250000")}},
    MessagingPreference: {"patron": {"category_code": None}, "category": {"patron_id": None}},
}
MODELS = sorted((mapper.class_ for mapper in Base.registry.mappers), key=lambda cls: cls.__name__)
CASES = [
    pytest.param(model, overrides, id=f"{model.__name__}-{name}" if name else model.__name__)
    for model in MODELS
    for name, overrides in (VARIANTS.get(model) or {None: {}}).items()
]


def test_every_table_has_a_model():
    assert {model.__table__.name for model in MODELS} == set(Base.metadata.tables)


@pytest.mark.parametrize(("model", "overrides"), CASES)
def test_model_round_trips(model, overrides, parents, session):
    values = build_values(model, parents, overrides)
    obj = model(**values)
    session.add(obj)
    session.commit()
    identity = inspect(obj).identity
    session.expire_all()

    with carrel_db.new_session() as other:
        loaded = other.get(model, identity)
        assert loaded is not None
        stored = {key: getattr(loaded, key) for key in values}

    for key, expected in values.items():
        got = stored[key]
        assert got == expected, f"{model.__name__}.{key}: wrote {expected!r}, read {got!r}"
        assert type(got) is type(expected) or isinstance(expected, dt.datetime), (key, type(got))
        if isinstance(expected, dt.datetime):
            assert got.utcoffset() == dt.timedelta(0), f"{model.__name__}.{key} came back as {got!r}"


# --- what the database refuses -------------------------------------------------------------------

def _loan(patron, item, **kw) -> Loan:
    now = clock.now()
    return Loan(patron_id=patron.id, item_id=item.id, library_code=item.holding_library_code,
                issued_at=now, due_at=now + dt.timedelta(days=21), **kw)


def _hold(patron, title, **kw) -> Hold:
    return Hold(patron_id=patron.id, title_id=title.id, pickup_library_code=patron.library_code, **kw)


def _refused(session, *objects) -> IntegrityError:
    session.add_all(objects)
    with pytest.raises(IntegrityError) as refused:
        session.flush()
    session.rollback()
    return refused.value


def test_second_open_loan_of_one_item_is_refused(make, session):
    item = make.item()
    first, second = make.patron(), make.patron()
    session.add(_loan(first, item))
    session.commit()

    _refused(session, _loan(second, item))
    assert session.scalar(select(func.count()).select_from(Loan)) == 1
    # another copy is fine
    session.add(_loan(second, make.item()))
    session.commit()


def test_two_holds_in_one_queue_place_are_refused(make, session):
    title, other_title = make.title(), make.title()
    a, b = make.patron(), make.patron()
    session.add(_hold(a, title, queue_key=1))
    session.commit()

    _refused(session, _hold(b, title, queue_key=1))
    # The same key on another title, and several holds that left the queue (NULL key), are fine.
    session.add_all([_hold(b, other_title, queue_key=1),
                     _hold(a, title, queue_key=None, status=HoldStatus.FILLED),
                     _hold(b, title, queue_key=None, status=HoldStatus.FILLED)])
    session.commit()


@pytest.mark.parametrize("column", ["cardnumber", "userid"])
def test_duplicate_card_number_or_login_is_refused(make, session, column):
    make.patron(**{column: "SAME-0001"})
    session.commit()

    with pytest.raises(IntegrityError):
        make.patron(**{column: "SAME-0001"})
    session.rollback()
    # Patrons without a card or login (NULL) may be many.
    make.patron(**{column: None})
    make.patron(**{column: None})
    session.commit()


@pytest.mark.parametrize(("on_date", "weekday", "allowed"), [
    (dt.date(2024, 12, 25), None, True),
    (None, 0, True),
    (None, 6, True),
    (dt.date(2024, 12, 25), 2, False),  # both
    (None, None, False),  # neither
    (None, 7, False),  # no such weekday
    (None, -1, False),
])
def test_closed_day_is_a_date_or_a_weekday(make, session, on_date, weekday, allowed):
    library = make.library("CD")
    session.commit()
    day = ClosedDay(library_code=library.code, on_date=on_date, weekday=weekday, description="Closed")
    if allowed:
        session.add(day)
        session.commit()
    else:
        _refused(session, day)


@pytest.mark.parametrize(("model", "values"), [
    (AccountLine, {"debit_type": None, "credit_type": None}),
    (AccountLine, {"debit_type": DebitType.LOST, "credit_type": CreditType.PAYMENT}),
    (TransportCost, {"cost": Decimal("-1")}),
    (LoginThrottle, {"failures": -1}),
], ids=["account-line-neither", "account-line-both", "negative-transport-cost", "negative-failures"])
def test_other_check_constraints_are_enforced(parents, session, model, values):
    _refused(session, model(**build_values(model, parents, values)))


# --- hold transitions ----------------------------------------------------------------------------

# DESIGN.md's allowed moves, written out independently of the model's table.
DESIGNED = {
    "queued": {"ready_to_pull", "expired", "suspended", "cancelled"},
    "ready_to_pull": {"pulled", "in_transit", "queued", "expired", "suspended", "cancelled"},
    "pulled": {"filled", "in_transit", "long_waiting", "expired", "cancelled"},
    "in_transit": {"pulled", "cancelled"},
    "long_waiting": {"filled", "cancelled", "suspended", "expired"},
    "filled": set(),
    "expired": {"queued"},
    "suspended": {"queued"},
    "cancelled": {"queued"},
}
PAIRS = list(itertools.product(HoldStatus, HoldStatus))


def test_transition_table_is_the_designed_one():
    assert {s.value: {t.value for t in targets} for s, targets in TRANSITIONS.items()} == DESIGNED


@pytest.fixture
def hold_setup(make, session):
    staff = make.staff("holds")
    patron = make.patron()
    title = make.title()
    session.commit()
    return staff, patron, title


@pytest.mark.parametrize(("from_status", "to_status"), [p for p in PAIRS if p[1] in TRANSITIONS[p[0]]],
                         ids=[f"{a}->{b}" for a, b in PAIRS if b in TRANSITIONS[a]])
def test_allowed_transition_is_made_and_recorded(hold_setup, session, from_status, to_status):
    staff, patron, title = hold_setup
    hold = _hold(patron, title, status=from_status, queue_key=7)
    session.add(hold)
    session.commit()
    moment = dt.datetime(2024, 6, 1, 9, 30, tzinfo=dt.timezone.utc)

    with clock.freeze(moment):
        entry = hold.transition(to_status, actor_id=staff.id, reason="because the test says so")
    assert hold.status is to_status and entry in hold.history
    session.commit()

    with carrel_db.new_session() as other:
        loaded = other.get(Hold, hold.id)
        assert loaded.status is to_status
        assert loaded.queue_key == 7  # a status change never moves the hold in its queue
        [recorded] = loaded.history
        assert (recorded.from_status, recorded.to_status) == (from_status, to_status)
        assert (recorded.actor_id, recorded.reason, recorded.at) == (staff.id, "because the test says so", moment)


@pytest.mark.parametrize(("from_status", "to_status"), [p for p in PAIRS if p[1] not in TRANSITIONS[p[0]]],
                         ids=[f"{a}->{b}" for a, b in PAIRS if b not in TRANSITIONS[a]])
def test_forbidden_transition_raises_and_records_nothing(hold_setup, session, from_status, to_status):
    staff, patron, title = hold_setup
    hold = _hold(patron, title, status=from_status, queue_key=7)
    session.add(hold)
    session.commit()

    with pytest.raises(InvalidHoldTransition) as refused:
        hold.transition(to_status, actor_id=staff.id, reason="not allowed")
    error = refused.value
    assert (error.hold_id, error.from_status, error.to_status) == (hold.id, from_status, to_status)
    assert hold.status is from_status and hold.history == []
    session.commit()
    assert session.scalar(select(func.count()).select_from(HoldHistory)) == 0


def test_allowed_and_forbidden_pairs_cover_all_81():
    assert len(PAIRS) == 81
    assert sum(len(targets) for targets in TRANSITIONS.values()) == sum(len(t) for t in DESIGNED.values())


# --- time ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "column"), [
    (Loan, "due_at"), (Hold, "placed_at"), (Patron, "lastseen"), (Library, "created_at"),
])
def test_naive_datetime_is_refused(parents, session, model, column):
    naive = dt.datetime(2024, 6, 1, 12, 0)
    session.add(model(**build_values(model, parents, {column: naive})))
    with pytest.raises(StatementError) as refused:
        session.flush()
    session.rollback()
    assert isinstance(refused.value.orig, ValueError)
    assert "naive datetime" in str(refused.value.orig)


def test_aware_datetime_comes_back_as_the_same_instant_in_utc(make, session):
    patron = make.patron()
    patron.lastseen = dt.datetime(2024, 3, 31, 2, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    session.commit()

    with carrel_db.new_session() as other:
        seen = other.get(Patron, patron.id).lastseen
        stored = other.execute(select(Patron.__table__.c.lastseen.cast(String))
                               .where(Patron.__table__.c.id == patron.id)).scalar_one()
    assert seen == dt.datetime(2024, 3, 31, 6, 30, tzinfo=dt.timezone.utc)
    assert seen.tzinfo is dt.timezone.utc
    assert stored.startswith("2024-03-31 06:30:00")  # stored as UTC wall time, not local time
