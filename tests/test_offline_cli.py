"""``flask carrel offline upload FILE --queue|--apply``, ``process`` and ``patron-file``: the
same services as the staff pages, with a summary line and every failed or malformed line."""
from __future__ import annotations

import sqlite3

from sqlalchemy import select

from app.models import Loan, OfflineStatus, PendingOfflineOperation

from .test_circulation_fixtures import desk, frozen  # noqa: F401
from .test_offline_fixtures import at, issue, koc_text, offline, ret  # noqa: F401

CARD, BARCODE = "23529000000001", "39999000000001"


def _file(tmp_path, *lines, name="monday.koc"):
    path = tmp_path / name
    path.write_text(koc_text(*lines))
    return str(path)


def _statuses(session):
    session.rollback()
    return [op.status for op in session.scalars(select(PendingOfflineOperation).order_by(PendingOfflineOperation.id))]


def test_upload_queue_then_process(runner, desk, tmp_path):
    desk.make.staff("offline_circulation", userid="offline-staff")
    desk.session.commit()
    path = _file(tmp_path, issue(at(1), CARD, BARCODE), "garbage line", ret(at(2), "no-such-item"))
    result = runner.invoke(args=["carrel", "offline", "upload", path, "--queue", "--library", "CPL",
                                 "--staff", "offline-staff"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2 added to the pending queue",
        "0 applied, 1 failed, 0 duplicates ignored",
        "line 3: expected TAB-separated fields: a timestamp, an action and its arguments",
    ]
    assert _statuses(desk.session) == [OfflineStatus.PENDING, OfflineStatus.PENDING]
    result = runner.invoke(args=["carrel", "offline", "process"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "1 applied, 1 failed, 0 duplicates ignored",
        "line 4: No item has barcode no-such-item. [monday.koc (kocDesktop 2.4.0)]",
    ]
    assert runner.invoke(args=["carrel", "offline", "process"]).output.startswith("0 applied, 0 failed")
    retried = runner.invoke(args=["carrel", "offline", "process", "--retry-failed"])
    assert retried.output.startswith("0 applied, 1 failed")


def test_upload_apply_twice_changes_nothing_the_second_time(runner, desk, tmp_path):
    desk.session.commit()
    path = _file(tmp_path, issue(at(1), CARD, BARCODE), issue(at(2), "nobody", BARCODE))
    first = runner.invoke(args=["carrel", "offline", "upload", path, "--apply"])
    assert first.output.splitlines() == ["1 applied, 1 failed, 0 duplicates ignored",
                                         "line 3: No patron has card number nobody."]
    second = runner.invoke(args=["carrel", "offline", "upload", path, "--apply"])
    assert second.output.splitlines() == ["0 applied, 0 failed, 2 duplicates ignored"]
    desk.session.rollback()
    loans = desk.session.scalars(select(Loan)).all()
    assert len(loans) == 1 and loans[0].library_code == "CPL" and loans[0].renewals_count == 0


def test_unknown_staff_or_library_is_refused(runner, desk, tmp_path):
    desk.session.commit()
    path = _file(tmp_path, ret(at(1), BARCODE))
    result = runner.invoke(args=["carrel", "offline", "upload", path, "--staff", "nobody"])
    assert result.exit_code != 0 and "no staff member 'nobody'" in result.output
    result = runner.invoke(args=["carrel", "offline", "upload", path, "--library", "XYZ"])
    assert result.exit_code != 0 and "no library with code 'XYZ'" in result.output
    assert _statuses(desk.session) == []


def test_patron_file_command(runner, desk, tmp_path):
    desk.check_out()
    desk.session.commit()
    out = tmp_path / "borrowers.db"
    result = runner.invoke(args=["carrel", "offline", "patron-file", str(out)])
    assert result.exit_code == 0 and result.output == f"wrote {out}: 2 patrons, 1 loans\n"
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM borrowers WHERE address IS NULL AND dateofbirth IS NULL").fetchone() == (2,)
    again = runner.invoke(args=["carrel", "offline", "patron-file", str(out)])
    assert again.exit_code != 0 and "exists (overwrite it with --force)" in again.output
    assert runner.invoke(args=["carrel", "offline", "patron-file", str(out), "--force"]).exit_code == 0
