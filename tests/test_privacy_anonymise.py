"""Anonymising history respects each patron's privacy choice: keep forever is never touched,
default is anonymised after the retention period, never keep at return (loans) and whatever
the age (finished holds); switching to never keep anonymises at once."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import AuditEntry, Hold, HoldHistory, HoldStatus, LoanHistory, Privacy
from app.services.privacy import drive_anonymisation, set_privacy

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.timezone.utc)
OLD = NOW - dt.timedelta(days=400)
NEW = NOW - dt.timedelta(days=10)


@pytest.fixture(autouse=True)
def _now():
    with clock.freeze(NOW):
        yield


def history(session, make, patron, returned_at) -> LoanHistory:
    row = LoanHistory(loan_id=next(_loan_ids), patron_id=patron.id, item_id=make.item().id, issued_at=returned_at,
                      due_at=returned_at, returned_at=returned_at, patron_category_code=patron.category_code,
                      item_type_code="BK")
    session.add(row)
    session.flush()
    return row


def hold(session, make, patron, status: HoldStatus, finished_at=None) -> Hold:
    row = Hold(patron_id=patron.id, title_id=make.title().id, pickup_library_code="CPL", status=status,
               queue_key=None if status is HoldStatus.FILLED else 1, placed_at=OLD, finished_at=finished_at,
               notes="leave it at the desk")
    session.add(row)
    session.flush()
    return row


_loan_ids = iter(range(50_000, 10_000_000))


def owners(session, rows) -> list:
    session.rollback()
    session.expire_all()
    return [session.get(type(row), row.id).patron_id for row in rows]


def anonymise(days: int | None):
    return drive_anonymisation(db.unit_of_work, days, actor_id=None, channel="job", batch_size=2)


def test_each_privacy_choice_is_respected_by_the_retention_period(make, session):
    keeper = make.patron(privacy=Privacy.KEEP_FOREVER)
    ordinary = make.patron(privacy=Privacy.DEFAULT)
    private = make.patron(privacy=Privacy.NEVER_KEEP)
    rows = [history(session, make, keeper, OLD), history(session, make, ordinary, OLD),
            history(session, make, ordinary, NEW), history(session, make, private, NEW)]
    holds = [hold(session, make, keeper, HoldStatus.FILLED, OLD), hold(session, make, ordinary, HoldStatus.CANCELLED, OLD),
             hold(session, make, ordinary, HoldStatus.EXPIRED, NEW), hold(session, make, private, HoldStatus.FILLED, NEW),
             hold(session, make, ordinary, HoldStatus.QUEUED)]
    session.commit()
    keeper_id, ordinary_id = keeper.id, ordinary.id
    result, done = anonymise(365)
    assert done and (result.loans, result.holds) == (2, 2)
    assert owners(session, rows) == [keeper_id, None, ordinary_id, None]
    assert owners(session, holds) == [keeper_id, None, ordinary_id, None, ordinary_id]
    anonymised = session.get(Hold, holds[1].id)
    assert (anonymised.anonymized, anonymised.notes) == (True, None)
    kept_stats = session.get(LoanHistory, rows[1].id)
    assert (kept_stats.anonymized, kept_stats.patron_category_code, kept_stats.item_type_code) == (True, "PT", "BK")
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "ANONYMISE")).one()
    assert audit.info == {"loans": 2, "holds": 2, "older_than_days": 365}
    assert anonymise(365) == (anonymise(365)[0], True) and anonymise(365)[0].total == 0  # idempotent


def test_without_a_retention_period_only_never_keep_patrons_lose_their_history(make, session):
    ordinary = make.patron()
    private = make.patron(privacy=Privacy.NEVER_KEEP)
    rows = [history(session, make, ordinary, OLD), history(session, make, private, OLD)]
    holds = [hold(session, make, private, HoldStatus.CANCELLED, OLD)]
    session.commit()
    ordinary_id = ordinary.id
    anonymise(0)
    assert owners(session, rows) == [ordinary_id, None]
    assert owners(session, holds) == [None]


def test_never_keep_anonymises_a_loan_at_return(make, session):
    from app.services import circulation

    private = make.patron(privacy=Privacy.NEVER_KEEP)
    item = make.item()
    librarian = make.staff()
    assert circulation.check_out(session, private, item, "CPL", librarian).ok
    outcome = circulation.check_in(session, item, "CPL", librarian)
    assert (outcome.history.patron_id, outcome.history.anonymized) == (None, True)


def test_an_anonymised_hold_keeps_no_trace_of_the_patron_but_keeps_the_staff(make, session):
    patron = make.patron(privacy=Privacy.DEFAULT)
    librarian = make.staff()
    mine = hold(session, make, patron, HoldStatus.CANCELLED, OLD)
    mine.placed_by_id = patron.id
    session.add_all([HoldHistory(hold_id=mine.id, actor_id=patron.id, to_status=HoldStatus.QUEUED, at=OLD),
                     HoldHistory(hold_id=mine.id, actor_id=librarian.id, to_status=HoldStatus.CANCELLED, at=OLD)])
    by_staff = hold(session, make, patron, HoldStatus.EXPIRED, OLD)
    by_staff.placed_by_id = librarian.id
    session.commit()
    librarian_id = librarian.id
    anonymise(30)
    session.rollback()
    session.expire_all()
    assert [(h.patron_id, h.placed_by_id) for h in session.scalars(select(Hold).order_by(Hold.id))] == \
        [(None, None), (None, librarian_id)]
    assert sorted(session.scalars(select(HoldHistory.actor_id)), key=str) == sorted([None, librarian_id], key=str)


def test_switching_to_never_keep_anonymises_existing_history_at_once(make, session):
    patron = make.patron()
    rows = [history(session, make, patron, NEW)]
    holds = [hold(session, make, patron, HoldStatus.FILLED, NEW), hold(session, make, patron, HoldStatus.QUEUED)]
    result = set_privacy(session, patron, Privacy.NEVER_KEEP, actor_id=patron.id, channel="opac")
    session.commit()
    patron_id = patron.id
    assert (result.loans, result.holds) == (1, 1)
    assert owners(session, rows) == [None]
    assert owners(session, holds) == [None, patron_id]
    again = set_privacy(session, session.get(type(patron), patron_id), Privacy.NEVER_KEEP, actor_id=None, channel="opac")
    assert again.total == 0


def test_a_new_patron_takes_the_category_default_unless_a_choice_is_given(make, session):
    from app.services.patron_import.records import create_patron

    make.library("CPL")
    make.category("KID", default_privacy=Privacy.NEVER_KEEP)
    make.category("PT", default_privacy=Privacy.KEEP_FOREVER)
    kid = create_patron(session, {"surname": "Young", "library_code": "CPL", "category_code": "KID"}, None)
    adult = create_patron(session, {"surname": "Elder", "library_code": "CPL", "category_code": "PT"}, None)
    chose = create_patron(session, {"surname": "Chooser", "library_code": "CPL", "category_code": "KID",
                                    "privacy": Privacy.DEFAULT}, None)
    assert (kid.privacy, adult.privacy, chose.privacy) == (Privacy.NEVER_KEEP, Privacy.KEEP_FOREVER, Privacy.DEFAULT)
