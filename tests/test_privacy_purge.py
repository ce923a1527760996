"""Purging inactive patrons: who is selected (never-seen patrons by enrolment), every exclusion
with its reason, the dry run equal to the real run, every copy of personal data gone, and a
purge interrupted between batches resumed."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import (
    AccountLine,
    ApiClient,
    ApiToken,
    AttributeType,
    AuditEntry,
    DebitType,
    CreditType,
    Hold,
    HoldHistory,
    HoldStatus,
    ImportJobStatus,
    Loan,
    LoanHistory,
    LoginThrottle,
    Notice,
    NoticeChannel,
    NoticeStatus,
    Patron,
    PatronAttribute,
    PatronImportJob,
    PatronList,
    PatronListEntry,
    PatronRestriction,
    PendingOfflineOperation,
    PurgeRun,
    PurgeStatus,
    SipAccount,
    SipInstitution,
    SipTransaction,
)
from app.models.offline import OfflineAction
from app.services.audit import record_audit
from app.services.privacy import (
    Exclusion,
    InvalidCriteria,
    PurgeCriteria,
    count_purgeable,
    drive_purge,
    dry_run,
    kept_page,
    purge_next_batch,
    start_purge,
    would_purge_page,
)

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone.utc)
SINCE = dt.date(2025, 6, 15)  # inactive for a year
LONG_AGO = dt.datetime(2024, 1, 10, 10, 0, tzinfo=dt.timezone.utc)
RECENTLY = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _now():
    with clock.freeze(NOW):
        yield


def inactive_patron(make, **kw):
    kw.setdefault("lastseen", LONG_AGO)
    kw.setdefault("dateenrolled", dt.date(2020, 1, 1))
    return make.patron(password=None, **kw)


def ids_that_would_go(session, criteria: PurgeCriteria) -> set[int]:
    return {selected.patron.id for selected in would_purge_page(session, criteria, per_page=10_000)}


def purge_all(criteria: PurgeCriteria, batch_size: int = 200) -> PurgeRun:
    with db.unit_of_work() as unit:
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="cli", batch_size=batch_size).id
    return drive_purge(db.unit_of_work, run_id)


def remaining(session) -> set[int]:
    session.rollback()
    return set(session.scalars(select(Patron.id)))


# --- selection --------------------------------------------------------------------------------

def test_patrons_last_seen_before_the_date_are_selected_and_recent_ones_kept(make, session):
    old = inactive_patron(make)
    recent = inactive_patron(make, lastseen=RECENTLY)
    criteria = PurgeCriteria(SINCE)
    assert ids_that_would_go(session, criteria) == {old.id}
    summary = dry_run(session, criteria)
    assert (summary.would_purge, summary.recently_active, summary.in_scope) == (1, 1, 2)
    assert recent.id not in {kept.patron.id for kept in kept_page(session, criteria)}  # counted, not listed


def test_patrons_never_seen_are_selected_by_their_enrolment_date_not_skipped(make, session):
    enrolled_long_ago = inactive_patron(make, lastseen=None, dateenrolled=dt.date(2019, 5, 1))
    enrolled_recently = inactive_patron(make, lastseen=None, dateenrolled=dt.date(2026, 1, 5))
    no_date = inactive_patron(make, lastseen=None, dateenrolled=None, created_at=LONG_AGO)
    selected = {s.patron.id: s.why for s in would_purge_page(session, PurgeCriteria(SINCE))}
    assert set(selected) == {enrolled_long_ago.id, no_date.id}
    assert selected[enrolled_long_ago.id] == "never seen, enrolled 2019-05-01"
    assert selected[no_date.id] == "never seen, created 2024-01-10"
    assert enrolled_recently.id not in selected


def _lend(session, patron, make):
    session.add(Loan(patron_id=patron.id, item_id=make.item().id, library_code="CPL", issued_at=LONG_AGO,
                     due_at=LONG_AGO + dt.timedelta(days=14)))


def _owe(session, patron, amount: str):
    debit = Decimal(amount) > 0
    session.add(AccountLine(patron_id=patron.id, amount=Decimal(amount), amount_outstanding=Decimal(amount),
                            debit_type=DebitType.MANUAL if debit else None, credit_type=None if debit else CreditType.CREDIT))


def _history(session, patron, make, returned_at):
    session.add(LoanHistory(loan_id=10_000 + patron.id, patron_id=patron.id, item_id=make.item().id,
                            issued_at=returned_at - dt.timedelta(days=10), due_at=returned_at,
                            returned_at=returned_at, patron_category_code=patron.category_code, item_type_code="BK"))


EXCLUSIONS = [
    (Exclusion.STAFF, lambda s, p, m: m.staff("circulate", password=None, lastseen=LONG_AGO, category="PT")),
    (Exclusion.STAFF, lambda s, p, m: inactive_patron(m, category="ST")),
    (Exclusion.CURRENT_LOANS, lambda s, p, m: _lend(s, p, m)),
    (Exclusion.OWES_MONEY, lambda s, p, m: _owe(s, p, "2.50")),
    (Exclusion.IN_CREDIT, lambda s, p, m: _owe(s, p, "-1.00")),
    (Exclusion.GUARANTOR, lambda s, p, m: inactive_patron(m, guarantor_id=p.id)),
    (Exclusion.RECENT_LOAN, lambda s, p, m: _history(s, p, m, RECENTLY)),
    (Exclusion.RECENT_HOLD, lambda s, p, m: s.add(Hold(patron_id=p.id, title_id=m.title().id, pickup_library_code="CPL",
                                                       queue_key=1, placed_at=RECENTLY))),
]


@pytest.mark.parametrize("reason,setup", EXCLUSIONS, ids=[f"{r.value}-{i}" for i, (r, _s) in enumerate(EXCLUSIONS)])
def test_each_exclusion_keeps_an_inactive_patron_and_says_why(make, session, reason, setup):
    patron = inactive_patron(make)
    made = setup(session, patron, make)
    session.flush()
    kept_one = made if reason is Exclusion.STAFF else patron  # the staff cases make their own patron
    criteria = PurgeCriteria(SINCE)
    assert kept_one.id not in ids_that_would_go(session, criteria)
    kept = {k.patron.id: k for k in kept_page(session, criteria)}
    assert reason in kept[kept_one.id].reasons and reason.words in kept[kept_one.id].why
    assert dry_run(session, criteria).by_reason[reason] >= 1


def test_an_old_loan_does_not_keep_a_patron(make, session):
    patron = inactive_patron(make)
    _history(session, patron, make, LONG_AGO)
    session.flush()
    assert patron.id in ids_that_would_go(session, PurgeCriteria(SINCE))


def test_only_the_chosen_categories_and_libraries(make, session):
    make.library("FPL")
    adult = inactive_patron(make, category="PT")
    child = inactive_patron(make, category="J")
    elsewhere = inactive_patron(make, category="PT", library="FPL")
    assert ids_that_would_go(session, PurgeCriteria(SINCE, categories=("PT",))) == {adult.id, elsewhere.id}
    assert ids_that_would_go(session, PurgeCriteria(SINCE, libraries=("FPL",))) == {elsewhere.id}
    assert ids_that_would_go(session, PurgeCriteria(SINCE, ("PT", "J"), ("CPL",))) == {adult.id, child.id}


def test_criteria_must_be_in_the_past_and_name_known_codes(make, session):
    make.category("PT")
    with pytest.raises(InvalidCriteria, match="past"):
        PurgeCriteria(NOW.date()).check(session)
    with pytest.raises(InvalidCriteria, match="category NOPE"):
        PurgeCriteria(SINCE, categories=("PT", "NOPE")).check(session)


# --- the purge --------------------------------------------------------------------------------

def test_the_dry_run_lists_exactly_who_the_purge_deletes(make, session):
    goners = [inactive_patron(make) for _ in range(7)] + [inactive_patron(make, lastseen=None)]
    keepers = [inactive_patron(make, lastseen=RECENTLY), make.staff(password=None, lastseen=LONG_AGO)]
    owing = inactive_patron(make)
    _owe(session, owing, "1")
    session.commit()
    criteria = PurgeCriteria(SINCE)
    before = remaining(session)
    listed = ids_that_would_go(session, criteria)
    assert listed == {p.id for p in goners}
    assert dry_run(session, criteria).would_purge == len(listed)
    run = purge_all(criteria, batch_size=3)
    assert before - remaining(session) == listed
    assert {k.id for k in keepers} | {owing.id} <= remaining(session)
    assert (run.status, run.purged, run.selected, run.batches) == (PurgeStatus.FINISHED, 8, 8, 3)


def test_a_purge_erases_every_copy_of_personal_data(make, session):
    patron = inactive_patron(make, cardnumber="23529000123456", userid="leaving")
    other = inactive_patron(make, lastseen=RECENTLY)
    staff = make.staff(password=None)
    session.add(AttributeType(code="SCHOOL", description="School"))
    session.flush()
    title = make.title()
    session.add_all([
        PatronRestriction(patron_id=patron.id, comment="Lost a book"),
        PatronAttribute(patron_id=patron.id, code="SCHOOL", value="Hill Street"),
        PatronList(name="Leaving's list", owner_id=patron.id),
        LoginThrottle(key=f"account:{patron.id}", failures=2, window_started_at=LONG_AGO),
        ApiClient(client_id="leaving-app", secret_hash="x", patron_id=patron.id),
        PendingOfflineOperation(fingerprint="f1", workstation="desk", source="a.koc", occurred_at=LONG_AGO,
                                action=OfflineAction.RETURN, cardnumber="23529000123456", barcode="1"),
        Hold(patron_id=patron.id, title_id=title.id, pickup_library_code="CPL", queue_key=1, placed_at=LONG_AGO,
             status=HoldStatus.QUEUED, notes="Please call me", placed_by_id=patron.id),
        Hold(patron_id=patron.id, title_id=make.title().id, pickup_library_code="CPL", queue_key=None,
             placed_at=LONG_AGO, status=HoldStatus.FILLED, finished_at=LONG_AGO, notes="my note"),
        AccountLine(patron_id=patron.id, amount=Decimal("1"), amount_outstanding=Decimal("0"),
                    debit_type=DebitType.MANUAL, note="paid in coins"),
    ])
    session.flush()
    session.add(ApiToken(token_hash="t" * 64, client_id="leaving-app", expires_at=NOW))
    session.add(Notice(patron_id=patron.id, event="WELCOME", channel=NoticeChannel.EMAIL, to_address="l@example.org",
                       subject="Welcome, Leaving", body_text="Dear Leaving", status=NoticeStatus.SENT, attempts=1,
                       queued_at=LONG_AGO, next_attempt_at=LONG_AGO))
    kiosk = SipAccount(login="k", password_hash="x", institution_id="CPL", library_code="CPL")
    session.add_all([SipInstitution(id="CPL", name="Centerville"), kiosk,
                     PatronImportJob(file_name="old.csv", options={}, status=ImportJobStatus.DONE, created_at=LONG_AGO,
                                     file_data=b"cardnumber,surname\n23529000123456,Leaving", report="line 2: ok"),
                     PatronImportJob(file_name="new.csv", options={}, status=ImportJobStatus.DONE, created_at=NOW,
                                     file_data=b"cardnumber,surname", report="ok")])
    session.flush()
    session.add(SipTransaction(account_id=kiosk.id, message_code="11", patron_ref="23529000123456", item_ref="1",
                               transaction_date="20260615    120000", response={"AE": "Leaving"}))
    shared = PatronList(name="Book club", owner_id=staff.id)
    session.add(shared)
    session.flush()
    session.add_all([PatronListEntry(patron_list_id=shared.id, patron_id=patron.id),
                     PatronListEntry(patron_list_id=shared.id, patron_id=other.id)])
    _history(session, patron, make, LONG_AGO)
    record_audit(session, actor_id=patron.id, channel="opac", module="AUTH", action="SUCCESS",
                 object_type="patron", object_id=patron.id)
    record_audit(session, actor_id=staff.id, channel="staff", module="HOLDS", action="PLACE", object_type="hold",
                 object_id=1, info={"title_id": title.id, "patron_id": patron.id})
    record_audit(session, actor_id=staff.id, channel="staff", module="HOLDS", action="PLACE", object_type="hold",
                 object_id=2, info={"title_id": title.id, "patron_id": other.id})
    session.commit()
    version = title.hold_queue_version

    run = purge_all(PurgeCriteria(SINCE))
    session.rollback()
    assert run.purged == 1 and remaining(session) == {other.id, staff.id}
    gone = [PatronRestriction, PatronAttribute, PatronList, ApiClient, ApiToken]
    assert {model.__name__: session.scalar(select(func.count()).select_from(model)) for model in gone} == \
        {"PatronRestriction": 0, "PatronAttribute": 0, "PatronList": 1, "ApiClient": 0, "ApiToken": 0}
    assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 0
    assert [e.patron_id for e in session.scalars(select(PatronListEntry))] == [other.id]
    history = session.scalars(select(LoanHistory)).one()
    assert (history.patron_id, history.anonymized, history.patron_category_code, history.item_type_code) == \
        (None, True, "PT", "BK")
    holds = session.scalars(select(Hold)).all()
    assert [(h.status, h.patron_id, h.anonymized, h.notes) for h in holds] == [(HoldStatus.FILLED, None, True, None)]
    assert session.scalar(select(func.count()).select_from(HoldHistory)) == 0
    session.refresh(title)
    assert title.hold_queue_version == version + 1
    line = session.scalars(select(AccountLine)).one()
    assert (line.patron_id, line.note, line.amount) == (None, None, Decimal("1"))
    assert session.scalars(select(PendingOfflineOperation.cardnumber)).one() is None
    entries = {e.object_id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.module.in_(["AUTH", "HOLDS"])))}
    assert None in entries and entries[None].actor_id is None  # the login: nobody named any more
    assert entries["1"].info == {"title_id": title.id}
    assert entries["2"].info == {"title_id": title.id, "patron_id": other.id}
    assert session.scalar(select(func.count()).select_from(SipTransaction)) == 0
    assert [(j.file_name, j.file_data is None, j.report is None) for j in
            session.scalars(select(PatronImportJob).order_by(PatronImportJob.id))] == [("old.csv", True, True),
                                                                                      ("new.csv", False, False)]
    report = session.scalars(select(AuditEntry).where(AuditEntry.action == "PURGE")).one()
    assert report.info["purged"] == 1 and report.info["loans_anonymised"] == 1
    assert report.info["live_holds_deleted"] == 1 and report.info["holds_anonymised"] == 1
    assert report.info["notices_deleted"] == 1 and session.scalar(select(func.count()).select_from(Notice)) == 0
    assert "23529000123456" not in str(report.info) and "leaving" not in str(report.info).lower()


def test_a_patron_who_borrows_after_the_dry_run_is_kept(make, session):
    patron = inactive_patron(make)
    session.commit()
    criteria = PurgeCriteria(SINCE)
    assert ids_that_would_go(session, criteria) == {patron.id}
    with db.unit_of_work() as unit:
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="cli").id
    session.rollback()  # a fresh snapshot before writing (SQLite)
    _lend(session, patron, make)
    session.commit()
    run = drive_purge(db.unit_of_work, run_id)
    assert (run.purged, run.status) == (0, PurgeStatus.FINISHED)
    assert patron.id in remaining(session)


def test_an_interrupted_purge_resumes_where_it_stopped(make, session, monkeypatch):
    patron_ids = {inactive_patron(make).id for _ in range(10)}
    session.commit()
    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(SINCE)
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="cli", batch_size=3).id
    with db.unit_of_work() as unit:
        assert purge_next_batch(unit, run_id) == 3

    from app.services.privacy import purge as purge_module

    real_erase = purge_module.erase_patrons

    def crash_half_way(unit, ids):
        real_erase(unit, ids)
        raise KeyboardInterrupt  # the process is killed in the middle of the second batch

    monkeypatch.setattr(purge_module, "erase_patrons", crash_half_way)
    with pytest.raises(KeyboardInterrupt):
        drive_purge(db.unit_of_work, run_id)
    monkeypatch.setattr(purge_module, "erase_patrons", real_erase)
    session.rollback()
    run = session.get(PurgeRun, run_id)
    assert (run.status, run.purged, run.batches) == (PurgeStatus.RUNNING, 3, 1)
    assert len(remaining(session)) == 7  # the second batch rolled back whole

    run = drive_purge(db.unit_of_work, run_id)
    assert (run.status, run.purged, run.batches) == (PurgeStatus.FINISHED, 10, 4)
    assert remaining(session).isdisjoint(patron_ids)


def test_every_foreign_key_to_patrons_is_indexed_so_deleting_a_patron_never_scans_a_table():
    from app.models import Base

    def leads_an_index(table, column) -> bool:
        firsts = [list(index.columns)[0] for index in table.indexes]
        firsts += [list(c.columns)[0] for c in table.constraints if getattr(c, "columns", None) and
                   c.__class__.__name__ in ("PrimaryKeyConstraint", "UniqueConstraint")]
        return column in firsts

    unindexed = [f"{fk.parent.table.name}.{fk.parent.name}" for table in Base.metadata.sorted_tables
                 for fk in table.foreign_keys if fk.column.table.name == "patrons" and not leads_an_index(table, fk.parent)]
    assert unindexed == [], "index these (a purge checks every referring row): " + ", ".join(unindexed)


def test_every_foreign_key_to_patrons_says_what_deleting_a_patron_does_to_it():
    """A reference with no ON DELETE rule would make the purge fail on the first patron it names;
    only a current loan may stop a deletion (the purge never selects a patron who has one)."""
    from app.models import Base

    silent = [f"{fk.parent.table.name}.{fk.parent.name}" for table in Base.metadata.sorted_tables
              for fk in table.foreign_keys if fk.column.table.name == "patrons"
              and (fk.ondelete or "").upper() not in ("CASCADE", "SET NULL")]
    assert silent == ["loans.patron_id"], "say ON DELETE CASCADE or SET NULL for: " + ", ".join(silent)


def test_batches_shrink_when_they_hold_the_database_too_long_and_grow_back(make, session, monkeypatch):
    """A batch holds the write lock while it runs: on a slow or busy machine the next ones are
    smaller, so a kiosk waits at most about ``batch_seconds`` behind one."""
    from app.services.privacy import purge as purge_module

    patron_ids = {inactive_patron(make).id for _ in range(45)}
    session.commit()
    with db.unit_of_work() as unit:
        criteria = PurgeCriteria(SINCE)
        run_id = start_purge(unit, criteria, selected=count_purgeable(unit, criteria),
                             actor_id=None, channel="cli", batch_size=20).id
    sizes: list[int] = []
    purged = [0]

    def seen(run) -> None:
        sizes.append(run.purged - purged[0])
        purged[0] = run.purged

    real_erase = purge_module.erase_patrons
    clock_now = [0.0]  # the purge's clock: each batch's erase takes 0.02 s of it, however fast the machine

    def slow_erase(unit, ids):
        clock_now[0] += 0.02
        return real_erase(unit, ids)

    monkeypatch.setattr(purge_module, "MIN_BATCH_SIZE", 10)
    monkeypatch.setattr(purge_module, "time", SimpleNamespace(monotonic=lambda: clock_now[0], sleep=lambda _seconds: None))
    monkeypatch.setattr(purge_module, "erase_patrons", slow_erase)
    run = drive_purge(db.unit_of_work, run_id, batch_seconds=0.005, on_batch=seen)
    assert sizes[:4] == [20, 10, 10, 5] and run.purged == 45  # halved to the floor of 10, then the rest
    assert remaining(session).isdisjoint(patron_ids)
    assert purge_module.next_batch_size(10, 0.001, 0.1, 20) == 20  # quick batches grow back, to the run's size
    assert purge_module.next_batch_size(200, 0.8, 0.1, 200) == 100  # never more than halved at once
