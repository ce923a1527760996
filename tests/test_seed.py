"""The seed command: what people rely on in the demo library (the demo logins, clean demo
patrons, available demo items, the kiosk and API accounts), holds in every status with sound
queues, --if-empty, atomicity and determinism."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from app import clock
from app.extensions import db as carrel_db
from app.models import (
    AccountLine,
    ApiClient,
    AuditEntry,
    Base,
    Hold,
    HoldHistory,
    HoldStatus,
    Item,
    Library,
    Loan,
    Patron,
    PatronCategory,
    PatronRestriction,
    SipAccount,
    SystemPreference,
    Title,
    TransportCost,
)
from app.models.hold import FOUND_STATUSES, LIVE_STATUSES, TRANSITIONS
from app.services.passwords import verify_password
from app.services.seed import text
from app.services.seed.catalogue import _compose_title
from app.services.seed.state import FICTION

from .conftest import login_as

DEMO_CARDS = [f"235290000000{n:02d}" for n in range(1, 61)]
DEMO_BARCODES = [f"39999{n:09d}" for n in range(1, 41)]


def run_seed(runner, *args: str):
    result = runner.invoke(args=["carrel", "seed", "--size", "demo", *args])
    assert result.exit_code == 0, result.output
    return result


def empty_database() -> None:
    carrel_db.session.remove()
    with carrel_db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def title_sample(session) -> list[tuple]:
    return session.execute(
        select(Title.id, Title.title, Title.subtitle, Title.author, Title.isbn, Title.subjects)
        .where(Title.id % 97 == 3).order_by(Title.id)).all()


def test_demo_seed_gives_what_people_rely_on(runner, app, session):
    """One seed, three sets of checks (a demo seed takes seconds: the module seeds as few times
    as it can, since every test starts from empty tables)."""
    result = run_seed(runner)
    assert "seeded size demo" in result.output
    check_demo_logins(app)
    check_demo_data(session)
    check_holds(session)


def check_demo_logins(app) -> None:
    staff = app.test_client()
    response = login_as(staff, "admin", "admin", staff=True)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    assert staff.get("/staff/").status_code == 200
    patron = app.test_client()
    response = login_as(patron, "23529000000001", "patron")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account")
    assert "23529000000001" in patron.get("/account").get_data(as_text=True)
    assert login_as(app.test_client(), "patron60", "patron").status_code == 302


def check_demo_data(session) -> None:
    # Demo patrons: at CPL, category PT, valid, unrestricted, nothing out, nothing owed
    patrons = session.scalars(select(Patron).where(Patron.cardnumber.in_(DEMO_CARDS))).all()
    assert sorted(p.cardnumber for p in patrons) == DEMO_CARDS
    assert {p.userid for p in patrons} == {f"patron{n}" for n in range(1, 61)}
    assert {(p.library_code, p.category_code) for p in patrons} == {("CPL", "PT")}
    assert not any(p.is_expired() or p.is_restricted() for p in patrons)
    assert len({p.password_hash for p in patrons}) == 1 and verify_password(patrons[0].password_hash, "patron")
    ids = [p.id for p in patrons]
    assert count(session, Loan, Loan.patron_id.in_(ids)) == 0
    assert count(session, Hold, Hold.patron_id.in_(ids)) == 0
    assert count(session, AccountLine, AccountLine.patron_id.in_(ids)) == 0
    assert count(session, PatronRestriction, PatronRestriction.patron_id.in_(ids)) == 0
    # Generated data keeps out of the demo ranges and has no passwords
    assert count(session, Patron, Patron.cardnumber.like("23529%")) == 61  # 60 patrons and admin
    assert count(session, Patron, Patron.userid.like("patron%")) == 60
    assert count(session, Patron, Patron.password_hash.is_not(None)) == 61
    assert count(session, Patron) == 1000
    # Admin
    admin = session.scalar(select(Patron).where(Patron.userid == "admin"))
    assert admin.category_code == "ST" and admin.library_code == "CPL"
    assert admin.permission_names == {"superlibrarian"}
    # Demo items: on the shelf at CPL, loanable books, ten copies of one title
    items = session.scalars(select(Item).where(Item.barcode.in_(DEMO_BARCODES))).all()
    assert len(items) == 40 and count(session, Item, Item.barcode.like("39999%")) == 40
    for item in items:
        assert (item.home_library_code, item.holding_library_code, item.item_type_code) == ("CPL", "CPL", "BK")
        assert not (item.is_lost or item.withdrawn or item.damaged or item.is_not_for_loan)
    item_ids = [i.id for i in items]
    assert count(session, Loan, Loan.item_id.in_(item_ids)) == 0
    assert count(session, Hold, Hold.allocated_item_id.in_(item_ids)) == 0
    assert count(session, Hold, Hold.item_id.in_(item_ids)) == 0
    (top_title, top), (_, second) = Counter(i.title_id for i in items).most_common(2)
    assert top == 10 and second < 10
    assert session.get(Title, top_title).title == "The Left Hand of Darkness"
    # Kiosk and API client
    kiosk = session.scalar(select(SipAccount).where(SipAccount.login == "kiosk"))
    assert verify_password(kiosk.password_hash, "kiosk") and not verify_password(kiosk.password_hash, "wrong")
    assert (kiosk.institution_id, kiosk.library_code, kiosk.error_detection, kiosk.enabled) == ("CPL", "CPL", False, True)
    institution = kiosk.institution
    assert all((institution.checkin_ok, institution.checkout_ok, institution.renewal_ok,
                institution.status_update_ok, institution.offline_ok))
    client = session.get(ApiClient, "demo-client")
    assert verify_password(client.secret_hash, "demo-secret") and client.patron_id == admin.id and client.active
    # Reference data
    codes = set(session.scalars(select(Library.code)))
    assert codes == {"CPL", "MPL", "FFL", "FPL", "IPT"}
    assert {"PT", "ST", "J", "S"} <= set(session.scalars(select(PatronCategory.code)))
    assert count(session, TransportCost, TransportCost.from_library_code != TransportCost.to_library_code) == 20
    assert session.get(SystemPreference, "LibraryName").value == "Centerville Public Library"
    assert count(session, AuditEntry, AuditEntry.module == "SEED", AuditEntry.action == "COMPLETE") == 1
    assert all(text.isbn13_is_valid(isbn) for isbn in session.scalars(select(Title.isbn).where(Title.isbn.is_not(None))))
    assert count(session, Item, Item.enumchron.like("v.%")) > 0
    assert count(session, Loan, Loan.due_at < func.current_timestamp()) > 0  # some overdue
    # New rows still get ids after the seed's own (PostgreSQL sequences moved past them)
    session.add(Title(title="Catalogued after the seed"))
    session.flush()


def check_holds(session) -> None:
    """Holds in every status; per title, live holds have queue keys 1..n; found holds have a
    copy of their title, pickup details that fit their status, and a history the model allows."""
    statuses = dict(session.execute(select(Hold.status, func.count()).group_by(Hold.status)).all())
    assert set(statuses) == set(HoldStatus)
    assert sum(statuses.values()) == 300
    live = session.execute(select(Hold.title_id, Hold.queue_key).where(Hold.status.in_(LIVE_STATUSES))).all()
    keys: dict[int, list[int]] = {}
    for title_id, key in live:
        keys.setdefault(title_id, []).append(key)
    assert all(sorted(k) == list(range(1, len(k) + 1)) for k in keys.values())
    for hold in session.scalars(select(Hold)):
        if hold.status in FOUND_STATUSES:
            assert hold.allocated_item_id is not None and hold.source_library_code is not None
            assert session.get(Item, hold.allocated_item_id).title_id == hold.title_id
        if hold.status in (HoldStatus.PULLED, HoldStatus.LONG_WAITING):
            assert hold.waiting_since >= hold.placed_at
            waiting_day = clock.local(hold.waiting_since).date()
            assert hold.pickup_deadline == waiting_day + dt.timedelta(days=7)
            assert (hold.pickup_deadline >= clock.today()) == (hold.status == HoldStatus.PULLED)
        if hold.status == HoldStatus.FILLED:
            assert hold.queue_key is None and hold.finished_at is not None
        history = hold.history
        assert history[0].from_status is None and history[0].to_status == HoldStatus.QUEUED
        assert history[-1].to_status == hold.status
        assert all(h.to_status in TRANSITIONS[h.from_status] for h in history[1:])
        assert [h.at for h in history] == sorted(h.at for h in history)
    allocated = session.scalars(select(Hold.allocated_item_id).where(Hold.status.in_(FOUND_STATUSES))).all()
    assert len(allocated) == len(set(allocated))
    assert count(session, Loan, Loan.item_id.in_(allocated)) == 0
    assert count(session, HoldHistory) >= 300


def test_if_empty_leaves_a_seeded_database_alone(runner, session):
    run_seed(runner)
    before = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    result = run_seed(runner, "--if-empty")
    assert "nothing seeded" in result.output
    session.expire_all()
    after = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    assert after == before
    refused = runner.invoke(args=["carrel", "seed", "--size", "demo"])
    assert refused.exit_code != 0 and "already has libraries" in refused.output
    # A seed that never wrote its completion record is reported, not taken for a seeded library
    with carrel_db.engine.begin() as conn:
        conn.execute(delete(AuditEntry.__table__).where(AuditEntry.module == "SEED"))
    half = runner.invoke(args=["carrel", "seed", "--size", "demo", "--if-empty"])
    assert half.exit_code != 0 and "did not finish" in half.output


def test_a_failed_demo_seed_leaves_the_database_empty(runner, session, monkeypatch):
    import app.services.seed.runner as seed_runner

    real = seed_runner.seed_patrons

    def broken(*args, **kwargs):
        real(*args, **kwargs)  # reference data, demo accounts and patrons are written...
        raise RuntimeError("disk full")  # ...then the seed fails

    monkeypatch.setattr(seed_runner, "seed_patrons", broken)
    result = runner.invoke(args=["carrel", "seed", "--size", "demo"])
    assert result.exit_code != 0
    assert count(session, Library) == 0 and count(session, Title) == 0 and count(session, Patron) == 0


def test_same_seed_same_titles(runner, session):
    run_seed(runner)
    first = title_sample(session)
    assert len(first) > 15
    session.rollback()
    empty_database()
    run_seed(runner, "--seed", "2602")
    assert title_sample(session) == first


def test_another_seed_composes_other_titles():
    from app.services.seed import size_named
    from app.services.seed.state import SeedState

    def titles(seed: int) -> list[str]:
        state = SeedState(size=size_named("demo"), seed=seed, now=clock.now(), zone=clock.timezone())
        rng = state.rng("titles")
        return [_compose_title(rng, state, n, FICTION, 100)[0]["title"] for n in range(16, 40)]

    assert titles(2602) == titles(2602)
    assert titles(2602) != titles(7)


def test_isbn13_check_digits():
    assert text.isbn13_is_valid("9780441478125")  # The Left Hand of Darkness, Ace
    assert not text.isbn13_is_valid("9780441478126")
    numbers = random.Random(1).sample(range(10**8), 500)
    isbns = [text.isbn13(n) for n in numbers]
    assert all(text.isbn13_is_valid(i) for i in isbns) and len(set(isbns)) == 500


def test_seed_refuses_a_database_without_tables(runner, monkeypatch):
    import sqlalchemy

    class NoTables:
        def has_table(self, name):
            return False

    monkeypatch.setattr(sqlalchemy, "inspect", lambda engine: NoTables())  # as before `flask carrel migrate`
    result = runner.invoke(args=["carrel", "seed", "--size", "demo"])
    assert result.exit_code != 0 and "flask carrel migrate" in result.output


@pytest.mark.parametrize("size", ["s", "M"])
def test_size_names_are_case_insensitive(size):
    from app.services.seed import size_named

    assert size_named(size).name == size.upper()
