"""The pending queue: each action once (by fingerprint), whatever is uploaded twice or overlaps,
and actions from several files and workstations applied in the order they happened."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models import LoanHistory, OfflineAction, OfflineStatus
from app.services.offline import (
    DUPLICATE,
    QUEUED,
    OfflineRecord,
    enqueue_offline_operations,
    offline_fingerprint,
    read_transactions,
)

from .test_circulation_fixtures import MONDAY, desk, frozen  # noqa: F401
from .test_offline_fixtures import at, issue, offline, payment, ret  # noqa: F401

CARD, BARCODE = "23529000000001", "39999000000001"


def _world(offline):
    desk = offline.desk
    second = desk.make.patron(cardnumber="23529000000002", surname="Second")
    item2 = desk.make.item(barcode="39999000000002")
    desk.check_out(checked_out_at=MONDAY - dt.timedelta(days=20))  # a fine to pay later
    desk.check_in(returned_at=at(0))
    return second, item2


def test_the_same_file_uploaded_twice_changes_nothing_the_second_time(offline):
    _world(offline)
    lines = [issue(at(10), CARD, BARCODE), payment(at(11), CARD, "1.00"), issue(at(12), "23529000000002", "39999000000002"),
             ret(at(20), BARCODE), issue(at(25), "23529000000002", BARCODE)]
    first = offline.upload(*lines, apply=True)
    assert (first.applied, first.failed, first.queued.duplicates) == (5, 0, 0)
    before = offline.counts()
    second = offline.upload(*lines, source="renamed-copy.koc", apply=True)
    assert (second.added, second.applied, second.failed, second.queued.duplicates) == (0, 0, 0, 5)
    assert second.summary_line == "0 applied, 0 failed, 5 duplicates ignored"
    assert offline.process().results == []
    assert offline.counts() == before


def test_overlapping_files_queue_only_the_new_lines(offline):
    _world(offline)
    morning = [issue(at(10), CARD, BARCODE), ret(at(20), BARCODE)]
    whole_day = morning + [issue(at(30), "23529000000002", BARCODE)]  # the tool appended to the old file
    offline.upload(*morning, source="monday.koc")
    offline.process()
    before = offline.counts()
    upload = offline.upload(*whole_day, source="monday-evening.koc", apply=True)
    assert (upload.added, upload.queued.duplicates, upload.applied) == (1, 2, 1)
    after = offline.counts()
    assert after["loans"] == before["loans"] + 1 and after["history"] == before["history"]
    assert after["renewals"] == 0


def test_a_line_repeated_inside_one_file_is_queued_once(offline):
    upload = offline.upload(ret(at(10), BARCODE), ret(at(10), BARCODE))
    assert upload.queued.statuses == [QUEUED, DUPLICATE] and upload.added == 1


def test_a_repeated_payment_is_never_paid_twice(offline):
    _world(offline)
    offline.upload(payment(at(11), CARD, "1.00"), apply=True)
    before = offline.counts()
    offline.upload(payment(at(11), CARD, "1.00"), apply=True)
    offline.upload(payment(at(11), CARD, "1.0"), source="other.koc", apply=True)  # the same amount, written otherwise
    assert offline.counts() == before


def test_two_files_are_merged_by_time_not_by_upload_order(offline):
    desk = offline.desk
    second, _ = _world(offline)
    # The evening desk's file arrives first; the morning desk's file, with earlier actions, second.
    offline.upload(ret(at(60), BARCODE), issue(at(120), "23529000000002", BARCODE), source="evening.koc")
    offline.upload(issue(at(30), CARD, BARCODE), source="morning.koc")
    summary = offline.process()
    assert (summary.applied, summary.failed) == (3, 0)
    assert [r.source.split(" ")[0] for r in summary.results] == ["morning.koc", "evening.koc", "evening.koc"]
    history = desk.session.scalars(select(LoanHistory).order_by(LoanHistory.id)).all()[-1]
    assert (history.patron_id, history.issued_at, history.returned_at) == (desk.patron.id, at(30), at(60))
    assert desk.loan_of().patron_id == second.id and desk.loan_of().issued_at == at(120)


def test_in_file_order_the_same_actions_would_conflict_so_order_matters(offline):
    """The same three actions processed one file at a time (as Koha does) lose the morning loan."""
    desk = offline.desk
    _world(offline)
    offline.upload(ret(at(60), BARCODE), issue(at(120), "23529000000002", BARCODE), source="evening.koc")
    offline.process()
    offline.upload(issue(at(30), CARD, BARCODE), source="morning.koc")
    late = offline.process(include_failed=False)
    assert late.failed == 1 and late.results[0].outcome == "lent_later"
    assert offline.by_barcode(BARCODE)[0].outcome == "not_on_loan"  # the evening return found nothing to close
    assert desk.loan_of().issued_at == at(120)


def test_browser_and_koc_actions_are_merged_by_time(offline):
    desk = offline.desk
    good, _ = read_transactions([
        {"id": "a", "workstation": "browser-front", "action": "return", "time": at(45).isoformat(), "barcode": BARCODE}])
    enqueue_offline_operations(offline.session, [t.record for t in good], library_code="CPL")
    offline.upload(issue(at(15), CARD, BARCODE))
    summary = offline.process()
    assert [r.outcome for r in summary.results] == ["checked_out", "checked_in"]
    assert desk.loan_of() is None


def test_a_browser_transaction_sent_again_is_recognised_by_its_fingerprint(offline):
    data = {"id": "a", "workstation": "browser-front", "action": "return", "time": "2024-03-04T08:45:00.123Z",
            "barcode": BARCODE}
    for expected in ([QUEUED], [DUPLICATE]):
        good, _ = read_transactions([data])
        assert enqueue_offline_operations(offline.session, [t.record for t in good]).statuses == expected
    op = offline.operations()[0]
    assert op.fingerprint == offline_fingerprint("browser-front", dt.datetime(2024, 3, 4, 8, 45, 0, 123000,
                                                                               tzinfo=dt.timezone.utc),
                                                 OfflineAction.RETURN, None, BARCODE, None)
    assert (op.workstation, op.source, op.status) == ("browser-front", "browser", OfflineStatus.PENDING)


def test_the_fingerprint_covers_workstation_time_action_patron_item_and_amount():
    moment = dt.datetime(2024, 3, 4, 8, 0, tzinfo=dt.timezone.utc)
    base = ("ws", moment, OfflineAction.ISSUE, "card", "barcode", None)
    variants = [("ws2",) + base[1:], (base[0], moment + dt.timedelta(milliseconds=1)) + base[2:],
                base[:2] + (OfflineAction.RETURN,) + base[3:], base[:3] + ("card2",) + base[4:],
                base[:4] + ("barcode2", None), base[:5] + (1,)]
    prints = {offline_fingerprint(*v) for v in [base, *variants]}
    assert len(prints) == 7


def test_unreadable_browser_transactions_are_refused_with_a_reason():
    good, refused = read_transactions([
        {"id": "1", "workstation": "w", "action": "lend", "time": "2024-03-04T08:00:00Z"},
        {"id": "2", "workstation": "w", "action": "issue", "time": "2024-03-04T08:00:00Z", "barcode": "b"},
        {"id": "3", "workstation": "w", "action": "return", "time": "yesterday", "barcode": "b"},
        {"id": "4", "workstation": "w", "action": "return", "time": "2024-03-04T08:00:00", "barcode": "b"},
        {"id": "5", "workstation": "w", "action": "payment", "time": "2024-03-04T08:00:00Z", "card": "c", "amount": "x"},
        {"id": "6", "workstation": "w", "action": "issue", "time": "2024-03-04T08:00:00Z", "card": "c", "barcode": "b",
         "due": "soon"},
        {"workstation": "w", "action": "return", "time": "2024-03-04T08:00:00Z", "barcode": "b"},
        {"id": "8", "action": "return", "time": "2024-03-04T08:00:00Z", "barcode": "b"},
        {"id": "9", "workstation": "w", "action": "return", "time": "2999-01-01T00:00:00Z", "barcode": "b"},
        "not even an object",
        {"id": "ok", "workstation": "w", "action": "return", "time": "2024-03-04T08:00:00Z", "barcode": "b"},
    ])
    assert [t.id for t in good] == ["ok"]
    reasons = {r.id: r.reason for r in refused}
    assert reasons["1"] == "unknown action 'lend'"
    assert reasons["2"] == "no card number"
    assert "not an ISO 8601 timestamp" in reasons["3"]
    assert "has no time zone" in reasons["4"]
    assert "is not a number" in reasons["5"]
    assert "is not a date" in reasons["6"]
    assert reasons[""] == "a transaction without an id"
    assert reasons["8"] == "no workstation id"
    assert "in the future" in reasons["9"]
    assert len(refused) == 10


def test_two_uploads_racing_with_the_same_lines_queue_each_once(offline):
    from app.extensions import db

    record = OfflineRecord(workstation="koc", source="a.koc", occurred_at=at(5), action=OfflineAction.RETURN,
                           barcode=BARCODE)
    offline.session.commit()
    with db.unit_of_work() as other:  # another upload got there first, between our look-up and our insert
        enqueue_offline_operations(other, [record])
    from app.services.offline import queue

    real = queue._known_fingerprints
    queue._known_fingerprints = lambda session, prints: set()
    try:
        result = enqueue_offline_operations(offline.session, [record, OfflineRecord(
            workstation="koc", source="a.koc", occurred_at=at(6), action=OfflineAction.RETURN, barcode=BARCODE)])
    finally:
        queue._known_fingerprints = real
    assert result.statuses == [DUPLICATE, QUEUED] and len(result.added) == 1
    assert len(offline.operations()) == 2
