"""``flask carrel patrons import``: the page's options on the command line, the summary line
last, every bad row as ``line N: reason``, and the exit status."""
from __future__ import annotations

import pathlib

from sqlalchemy import func, select

from app.models import Patron, PatronList
from app.services.mail import read_outbox

from .test_import_patrons import csv_bytes, fresh, library, outbox  # noqa: F401  (fixtures)


def write(tmp_path: pathlib.Path, data: bytes) -> str:
    path = tmp_path / "patrons.csv"
    path.write_bytes(data)
    return str(path)


def count(session) -> int:
    fresh(session)
    return session.scalar(select(func.count()).select_from(Patron))


def test_import_command_creates_patrons_and_ends_with_the_summary(runner, library, tmp_path, outbox):
    path = write(tmp_path, csv_bytes("cardnumber,surname,email", "1,A,a@example.org", "2,B,"))
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--default", "branchcode=CPL",
                                 "--default", "categorycode=PT", "--patron-list", "Fall", "--welcome-email"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "2 created, 0 overwritten, 0 ignored, 0 malformed"
    assert any(line.startswith("Patron list created: Fall (") for line in lines)
    assert "Welcome emails queued: 1" in result.output
    assert read_outbox(outbox) == []  # the notices sender delivers it
    assert runner.invoke(args=["carrel", "jobs", "run", "send-notices"]).exit_code == 0
    assert [m["To"] for m in read_outbox(outbox)] == ["a@example.org"]
    assert count(library) == 2
    assert library.scalar(select(func.count()).select_from(PatronList)) == 1


def test_bad_rows_are_listed_and_stop_the_file_unless_skipped(runner, library, tmp_path):
    path = write(tmp_path, csv_bytes("cardnumber,surname,branchcode,categorycode",
                                     "1,A,CPL,PT", "2,,CPL,PT", "3,C,XXX,PT", "4,D,CPL,PT"))
    result = runner.invoke(args=["carrel", "patrons", "import", path])
    assert result.exit_code == 1
    assert "line 3: surname is required\nline 4: unknown library code 'XXX'\n" in result.output
    assert result.output.strip().splitlines()[-1] == "0 created, 0 overwritten, 0 ignored, 2 malformed"
    assert count(library) == 0
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--dry-run"])
    assert result.exit_code == 1 and "Dry run: nothing was written. The file would create 2" in result.output
    assert count(library) == 0
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--skip-bad-rows"])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "2 created, 0 overwritten, 0 ignored, 2 malformed"
    assert count(library) == 2


def test_match_overwrite_and_attribute_options(runner, library, tmp_path, make):
    make.patron(cardnumber="77", userid="sam", surname="Old", library="CPL")
    library.commit()
    path = write(tmp_path, csv_bytes("userid,surname,patron_attributes", "sam,New,LANG:fr"))
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--match", "userid"])
    assert result.output.strip().splitlines()[-1] == "0 created, 0 overwritten, 1 ignored, 0 malformed"
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--match", "userid", "--overwrite",
                                 "--preserve-attributes"])
    assert result.output.strip().splitlines()[-1] == "0 created, 1 overwritten, 0 ignored, 0 malformed"
    fresh(library)
    sam = library.scalars(select(Patron).where(Patron.userid == "sam")).one()
    assert sam.surname == "New" and [(a.code, a.value) for a in sam.attributes] == [("LANG", "fr")]


def test_refused_files_and_bad_options_say_why(runner, library, tmp_path):
    path = write(tmp_path, csv_bytes("cardnumber,nickname", "1,x"))
    result = runner.invoke(args=["carrel", "patrons", "import", path])
    assert result.exit_code == 1 and "unknown column(s) in the header: nickname" in result.output
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--default", "nonsense"])
    assert result.exit_code == 2 and "is not COLUMN=VALUE" in result.output


def test_preserve_field_and_update_expiration_options(runner, library, tmp_path, make):
    import datetime as dt

    make.patron(cardnumber="88", surname="Keep", email="k@example.org", library="CPL", category="PT",
                dateexpiry=dt.date(2020, 1, 31))
    library.commit()
    path = write(tmp_path, csv_bytes("cardnumber,surname,email", "88,Changed,c@example.org"))
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--overwrite", "--preserve-field", "surname",
                                 "--update-expiration"])
    assert result.exit_code == 0, result.output
    assert "Existing values kept for: surname" in result.output
    assert "Expiry of matched patrons renewed from their current expiry date" in result.output
    fresh(library)
    p = library.scalars(select(Patron).where(Patron.cardnumber == "88")).one()
    assert (p.surname, p.email, p.dateexpiry) == ("Keep", "c@example.org", dt.date(2022, 1, 31))
    result = runner.invoke(args=["carrel", "patrons", "import", path, "--expiration-from-today"])
    assert result.exit_code == 2 and "goes with --update-expiration" in result.output
