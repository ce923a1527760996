"""Patron import (Koha's CSV): columns, options, every kind of bad row, attribute replacement,
patron lists, welcome emails and all-or-nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import (
    AttributeType,
    AuthorisedValue,
    Patron,
    PatronAttribute,
    PatronList,
    PatronRestriction,
    Privacy,
)
from app.services.mail import read_outbox
from app.services.passwords import verify_password
from app.services.patron_import import ImportFileRefused, ImportOptions, import_patrons
from app.services.notices.sending import send_pending_notices
from app.services.settings import set_preference


def csv_bytes(header: str, *rows: str, bom: bool = False) -> bytes:
    text = "\r\n".join((header, *rows)) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


@pytest.fixture
def library(make, session):
    make.library("CPL")
    make.library("MPL")
    make.category("PT", enrolment_period_months=24, default_privacy=Privacy.NEVER_KEEP)
    make.category("ST")
    session.add_all([
        AttributeType(code="INSTID", description="Institution id", unique_id=True),
        AttributeType(code="MAJOR", description="Major", repeatable=True, authorised_value_category="MAJORS"),
        AttributeType(code="LANG", description="Language"),
        AuthorisedValue(category="MAJORS", value="ART"),
        AuthorisedValue(category="MAJORS", value="DESIGN"),
        AuthorisedValue(category="MAJORS", value="FILM"),
    ])
    session.commit()
    return session


@pytest.fixture
def outbox(app):
    folder = app.config["MAIL_OUTBOX_DIR"]
    import pathlib

    for path in pathlib.Path(folder).glob("*.eml"):
        path.unlink()
    return folder


def run(app, data: bytes, **options):
    """Import as a boundary would: commit when applied, roll back otherwise."""
    with app.app_context(), db.unit_of_work() as session:
        result = import_patrons(session, data, ImportOptions(**options), None)
        if not result.applied:
            session.rollback()
    return result


def fresh(session) -> None:
    """See what the import committed: end the test session's transaction and forget what it loaded."""
    session.rollback()
    session.expire_all()


def patron(session, cardnumber) -> Patron:
    fresh(session)
    return session.scalars(select(Patron).where(Patron.cardnumber == cardnumber)).one()


def count(session, model=Patron) -> int:
    fresh(session)
    return session.scalar(select(func.count()).select_from(model))


HEADER = "cardnumber,surname,firstname,branchcode,categorycode,email,dateofbirth,userid,patron_attributes"


def test_new_patrons_get_every_column_and_the_category_automatic_values(app, library):
    data = csv_bytes(
        "cardnumber,surname,firstname,B_address,B_city,branchcode,categorycode,dateofbirth,lost,gonenoaddress,"
        "sort1,sort2,privacy,checkprevcheckout,contactname,relationship",
        '1001,Okafor,"Ada, Jr",1 Side St,Dayton,CPL,PT,1990-02-03,1,0,STU,ART,,yes,Ignored Name,',
        bom=True)
    result = run(app, data)
    assert result.summary == "1 created, 0 overwritten, 0 ignored, 0 malformed"
    p = patron(library, "1001")
    assert (p.surname, p.firstname, p.b_address, p.b_city) == ("Okafor", "Ada, Jr", "1 Side St", "Dayton")
    assert p.dateofbirth == dt.date(1990, 2, 3) and p.card_lost and not p.gonenoaddress
    assert (p.sort1, p.sort2, p.checkprevcheckout) == ("STU", "ART", "yes")
    assert p.dateenrolled == clock.today()
    assert p.dateexpiry.year * 12 + p.dateexpiry.month == clock.today().year * 12 + clock.today().month + 24
    assert p.privacy is Privacy.NEVER_KEEP  # the category's default
    assert p.password_hash is None
    assert result.header.not_stored == ["contactname"]


def test_dates_in_the_configured_format_and_iso(app, library):
    with app.app_context(), db.unit_of_work() as session:
        set_preference(session, "dateformat", "us", None)
    data = csv_bytes("cardnumber,surname,branchcode,categorycode,dateofbirth,dateexpiry",
                     "1,A,CPL,PT,12/31/1999,2030-01-15", "2,B,CPL,PT,31/12/1999,")
    result = run(app, data)
    assert [str(b) for b in result.bad_rows] == [
        "line 3: dateofbirth: '31/12/1999' is not a date (YYYY-MM-DD or MM/DD/YYYY)"]
    assert result.created == 0 and count(library) == 0
    result = run(app, data, skip_bad_rows=True)
    assert result.summary == "1 created, 0 overwritten, 0 ignored, 1 malformed"
    p = patron(library, "1")
    assert (p.dateofbirth, p.dateexpiry) == (dt.date(1999, 12, 31), dt.date(2030, 1, 15))


def test_unknown_columns_are_refused_by_name(app, library):
    with pytest.raises(ImportFileRefused, match="unknown column.*favourite_colour, shoe size"):
        run(app, csv_bytes("cardnumber,surname,favourite_colour,shoe size", "1,A,red,9"))
    with pytest.raises(ImportFileRefused, match="empty"):
        run(app, b"")
    with pytest.raises(ImportFileRefused, match="named twice"):
        run(app, csv_bytes("surname,surname", "A,B"))


def test_every_kind_of_bad_row_is_listed_and_nothing_is_written(app, library, make):
    make.patron(cardnumber="EXIST1", userid="taken", library="CPL")
    other = make.patron(cardnumber="EXIST2", library="CPL")
    library.add(PatronAttribute(patron_id=other.id, code="INSTID", value="I-TAKEN"))
    library.commit()
    rows = [
        "2001,Good,Row,CPL,PT,,,good1,",                    # 2 fine
        "2002,,NoSurname,CPL,PT,,,,",                         # 3
        "2003,X,Y,NOPE,PT,,,,",                               # 4
        "2004,X,Y,CPL,NOPE,,,,",                              # 5
        "2005,X,Y,CPL,PT,,not-a-date,,",                      # 6
        "2001,Dup,Card,CPL,PT,,,,",                           # 7 card again
        "2007,X,Y,CPL,PT,,,good1,",                           # 8 userid again
        "2008,X,Y,CPL,PT,,,taken,",                           # 9 userid in database
        "2009,X,Y,CPL,PT,,,,NOSUCH:1",                        # 10
        "2010,X,Y,CPL,PT,,,,LANG:fr,LANG:en",                 # 11 (unquoted: field count)
        '2011,X,Y,CPL,PT,,,,"LANG:fr,LANG:en"',               # 12 non-repeatable
        "2012,X,Y,CPL,PT,,,,MAJOR:MATHS",                     # 13 not authorised
        "2013,X,Y,CPL,PT,,,,INSTID:I-TAKEN",                  # 14 unique in use
        "2014,X,Y",                                           # 15 field count
        ",,,,,,,,",                                           # 16 every required field
        "2016,X,Y,CPL,PT,,,," + "x" * 80,                     # 17 bad attribute format
    ]
    data = csv_bytes(HEADER, *rows) + b"2017,Caf\xe9,Y,CPL,PT,,,,\r\n"
    result = run(app, data)
    assert not result.applied and result.refused
    assert result.summary == "0 created, 0 overwritten, 0 ignored, 16 malformed"
    got = {b.line: "; ".join(b.reasons) for b in result.bad_rows}
    assert got == {
        3: "surname is required",
        4: "unknown library code 'NOPE'",
        5: "unknown patron category code 'NOPE'",
        6: "dateofbirth: 'not-a-date' is not a date (YYYY-MM-DD)",
        7: "cardnumber 2001 is also on line 2",
        8: "userid good1 is also on line 2",
        9: "userid taken belongs to another patron",
        10: "unknown attribute type NOSUCH",
        11: "10 values but the header names 9 columns",
        12: "attribute LANG is not repeatable",
        13: "attribute MAJOR: 'MATHS' is not an authorised value",
        14: "attribute INSTID I-TAKEN belongs to another patron",
        15: "3 values but the header names 9 columns",
        16: "surname is required; branchcode is required; categorycode is required",
        17: "patron_attributes element '" + "x" * 80 + "' is not CODE:value",
        18: "not valid UTF-8 (save the file as UTF-8)",
    }
    assert count(library) == 2  # the two made above, nothing imported
    result = run(app, data, skip_bad_rows=True)
    assert result.summary == "1 created, 0 overwritten, 0 ignored, 16 malformed"
    assert patron(library, "2001").userid == "good1"


def test_matching_patrons_are_ignored_or_overwritten_keeping_absent_columns(app, library, make):
    make.patron(cardnumber="3001", surname="Old", firstname="Keep", email="old@example.org", phone="555",
                library="CPL", userid="u3001")
    library.commit()
    data = csv_bytes("cardnumber,surname,email,branchcode,categorycode", "3001,New,,MPL,PT", "3002,Fresh,,CPL,PT")
    result = run(app, data)
    assert result.summary == "1 created, 0 overwritten, 1 ignored, 0 malformed"
    assert patron(library, "3001").surname == "Old"
    result = run(app, csv_bytes("cardnumber,surname,email,branchcode,categorycode", "3001,New,,MPL,PT"), overwrite=True)
    assert result.summary == "0 created, 1 overwritten, 0 ignored, 0 malformed"
    p = patron(library, "3001")
    assert (p.surname, p.library_code, p.email) == ("New", "MPL", None)  # a blank cell clears, as in Koha
    assert (p.firstname, p.phone, p.userid) == ("Keep", "555", "u3001")  # absent columns kept


def test_match_on_userid_and_on_a_unique_attribute(app, library, make):
    a = make.patron(cardnumber="4001", userid="ana", library="CPL")
    library.add(PatronAttribute(patron_id=a.id, code="INSTID", value="S-1"))
    library.commit()
    result = run(app, csv_bytes("userid,cardnumber,surname", "ana,4999,Renamed"), match="userid", overwrite=True)
    assert result.summary == "0 created, 1 overwritten, 0 ignored, 0 malformed"
    assert patron(library, "4999").surname == "Renamed"
    result = run(app, csv_bytes("patron_attributes,firstname", "INSTID:S-1,Ana"), match="INSTID", overwrite=True,
                 preserve_attributes=True)
    assert result.summary == "0 created, 1 overwritten, 0 ignored, 0 malformed"
    assert patron(library, "4999").firstname == "Ana"
    result = run(app, csv_bytes("patron_attributes,firstname", "INSTID:S-1,Anna"), match="patron_attribute_INSTID",
                 overwrite=True, preserve_attributes=True)  # Koha's form value for the same choice
    assert result.overwritten == 1 and patron(library, "4999").firstname == "Anna"
    with pytest.raises(ImportFileRefused, match="not a unique identifier"):
        run(app, csv_bytes("surname", "A"), match="LANG")
    with pytest.raises(ImportFileRefused, match="cannot match on 'nothing'"):
        run(app, csv_bytes("surname", "A"), match="nothing")


def _attributes(session, cardnumber):
    fresh(session)
    p = session.scalars(select(Patron).where(Patron.cardnumber == cardnumber)).one()
    return sorted((a.code, a.value) for a in p.attributes)


def test_attribute_replacement_rules(app, library, make):
    p = make.patron(cardnumber="5001", library="CPL")
    library.add_all([PatronAttribute(patron_id=p.id, code="MAJOR", value="ART"),
                     PatronAttribute(patron_id=p.id, code="LANG", value="fr")])
    library.commit()
    header = "cardnumber,patron_attributes"
    run(app, csv_bytes(header, '5001,"MAJOR:FILM,MAJOR:DESIGN"'), overwrite=True, preserve_attributes=True)
    assert _attributes(library, "5001") == [("LANG", "fr"), ("MAJOR", "DESIGN"), ("MAJOR", "FILM")]
    run(app, csv_bytes(header, "5001,"), overwrite=True, preserve_attributes=True)  # nothing named: nothing changes
    assert _attributes(library, "5001") == [("LANG", "fr"), ("MAJOR", "DESIGN"), ("MAJOR", "FILM")]
    run(app, csv_bytes("cardnumber,surname", "5001,Same"), overwrite=True)  # no column: attributes kept
    assert _attributes(library, "5001") == [("LANG", "fr"), ("MAJOR", "DESIGN"), ("MAJOR", "FILM")]
    run(app, csv_bytes(header, "5001,LANG:en"), overwrite=True)  # replace all
    assert _attributes(library, "5001") == [("LANG", "en")]
    run(app, csv_bytes(header, "5001,"), overwrite=True)  # an empty cell wipes them, as in Koha
    assert _attributes(library, "5001") == []


def test_defaults_fill_empty_cells_and_missing_columns(app, library):
    data = csv_bytes("cardnumber,surname,branchcode", "6001,A,", "6002,B,MPL")
    result = run(app, data, defaults={"branchcode": "CPL", "categorycode": "PT", "sort1": "NEW"})
    assert result.created == 2
    assert (patron(library, "6001").library_code, patron(library, "6002").library_code) == ("CPL", "MPL")
    assert patron(library, "6001").sort1 == "NEW"
    with pytest.raises(ImportFileRefused, match="default for categorycode"):
        run(app, data, defaults={"categorycode": "NOPE"})


def test_privilege_and_state_columns_are_never_applied(app, library):
    data = csv_bytes("cardnumber,surname,branchcode,categorycode,flags,lastseen,login_attempts,anonymized,"
                     "updated_on,borrowernumber,secret",
                     "7001,A,CPL,PT,1,2020-01-01,9,1,2020-01-01,42,s3cret")
    result = run(app, data)
    assert result.created == 1
    p = patron(library, "7001")
    assert (p.permissions, p.lastseen, p.login_attempts, p.anonymized) == ([], None, 0, False)
    assert result.header.protected == ["flags", "lastseen", "login_attempts", "anonymized", "updated_on",
                                       "borrowernumber", "secret"]


def test_passwords_are_hashed_and_replaced_on_overwrite_only_when_asked(app, library, make):
    make.staff("patrons", cardnumber="8002", password="staffpass", library="CPL")
    library.commit()
    data = csv_bytes("cardnumber,surname,branchcode,categorycode,password", "8001,A,CPL,PT,first-pw",
                     "8003,B,CPL,PT,ab")
    result = run(app, data, skip_bad_rows=True)
    assert [str(b) for b in result.bad_rows] == ["line 3: password is shorter than 3 characters"]
    assert verify_password(patron(library, "8001").password_hash, "first-pw")
    run(app, csv_bytes("cardnumber,password", "8001,second-pw", "8002,hijack"), overwrite=True)
    assert verify_password(patron(library, "8001").password_hash, "first-pw")
    run(app, csv_bytes("cardnumber,password", "8001,second-pw", "8002,hijack"), overwrite=True,
        overwrite_passwords=True)
    assert verify_password(patron(library, "8001").password_hash, "second-pw")
    assert verify_password(patron(library, "8002").password_hash, "staffpass")  # never for staff


def test_patron_list_holds_only_the_new_patrons(app, library, make):
    make.patron(cardnumber="9001", library="CPL")
    library.commit()
    data = csv_bytes("cardnumber,surname,branchcode,categorycode", "9001,A,CPL,PT", "9002,B,CPL,PT", "9003,C,CPL,PT")
    result = run(app, data, overwrite=True, patron_list="fall.csv")
    assert result.summary == "2 created, 1 overwritten, 0 ignored, 0 malformed"
    fresh(library)
    lists = library.scalars(select(PatronList)).all()
    assert len(lists) == 1 and lists[0].name.startswith("fall.csv (")
    assert sorted(e.patron.cardnumber for e in lists[0].entries) == ["9002", "9003"]
    assert run(app, data, patron_list="again").patron_list_id is None  # nothing created: no list


def test_welcome_emails_go_to_new_patrons_after_the_commit(app, library, make, outbox):
    make.patron(cardnumber="9101", email="old@example.org", library="CPL")
    library.commit()
    data = csv_bytes("cardnumber,surname,firstname,branchcode,categorycode,email,userid",
                     "9101,Old,O,CPL,PT,old@example.org,", "9102,New,Nia,CPL,PT,nia@example.org,nia",
                     "9103,NoMail,N,CPL,PT,,")
    result = run(app, data, overwrite=True, welcome_email=True)
    assert result.welcome_queued == 1  # a WELCOME notice, queued in the import's transaction
    assert read_outbox(outbox) == []  # nothing is sent by the service itself
    with app.app_context():
        outcome = send_pending_notices(lambda: db.unit_of_work(write=True), app.config)
    assert outcome.sent == 1
    (message,) = read_outbox(outbox)
    assert message["To"] == "nia@example.org" and message["Subject"] == "Welcome to Library CPL"
    body = message.get_body(("plain",)).get_content()
    assert "Dear Nia New" in body and "nia" in body


def test_dry_run_counts_without_writing(app, library, make):
    make.patron(cardnumber="9201", library="CPL")
    library.commit()
    data = csv_bytes("cardnumber,surname,branchcode,categorycode", "9201,A,CPL,PT", "9202,B,CPL,PT", "9203,,CPL,PT")
    result = run(app, data, overwrite=True, dry_run=True)
    assert not result.applied
    assert (result.to_create, result.to_overwrite, result.malformed) == (1, 1, 1)
    assert result.summary == "0 created, 0 overwritten, 0 ignored, 1 malformed"
    assert count(library) == 1


def test_debarred_becomes_a_restriction_once(app, library):
    data = csv_bytes("cardnumber,surname,branchcode,categorycode,debarred,debarredcomment",
                     "9301,A,CPL,PT,2031-01-01,Lost books", "9302,B,CPL,PT,9999-12-31,")
    run(app, data)
    run(app, data, overwrite=True)
    fresh(library)
    rows = sorted((r.patron.cardnumber, r.expiration, r.comment) for r in library.scalars(select(PatronRestriction)))
    assert rows == [("9301", dt.date(2031, 1, 1), "Lost books"), ("9302", None, None)]
    assert patron(library, "9301").is_restricted()


def test_a_failure_while_writing_leaves_nothing_behind(app, library, monkeypatch):
    from app.services.patron_import import apply

    calls = []

    def explode(self, plans):
        calls.append(len(plans))
        raise RuntimeError("disk full")

    monkeypatch.setattr(apply.Writer, "_restrictions", explode)
    data = csv_bytes("cardnumber,surname,branchcode,categorycode", *(f"{n},S{n},CPL,PT" for n in range(10000, 10050)))
    with pytest.raises(RuntimeError):
        run(app, data)
    assert calls and count(library) == 0


def test_preserved_columns_keep_their_value_on_overwrite(app, library, make):
    make.patron(cardnumber="9401", surname="Kept", email="kept@example.org", phone="555", library="CPL",
                password="old-secret")
    library.commit()
    data = csv_bytes("cardnumber,surname,email,phone,password,branchcode,categorycode,debarred",
                     "9401,,new@example.org,,new-secret,CPL,PT,2031-01-01", "9402,New,n@example.org,,pw-1234,CPL,PT,")
    result = run(app, data, overwrite=True, overwrite_passwords=True,
                 preserve_fields=("surname", "phone", "password", "debarred"))
    assert result.summary == "1 created, 1 overwritten, 0 ignored, 0 malformed"  # a blank preserved surname is fine
    p = patron(library, "9401")
    assert (p.surname, p.email, p.phone) == ("Kept", "new@example.org", "555")
    assert verify_password(p.password_hash, "old-secret") and not p.is_restricted()
    assert patron(library, "9402").surname == "New"  # new patrons take every column
    with pytest.raises(ImportFileRefused, match="cannot preserve column"):
        run(app, data, overwrite=True, preserve_fields=("flags",))


def test_expiry_of_matched_patrons_renewed_from_today_or_from_their_expiry(app, library, make):
    today = clock.today()
    make.patron(cardnumber="9501", library="CPL", category="PT", dateexpiry=dt.date(2020, 6, 30))
    make.patron(cardnumber="9502", library="CPL", category="PT", dateexpiry=dt.date(2020, 6, 30))
    library.commit()
    data = csv_bytes("cardnumber,surname,dateexpiry", "9501,A,2021-01-01")
    run(app, data, overwrite=True, update_expiry="dateexpiry")
    assert patron(library, "9501").dateexpiry == dt.date(2022, 6, 30)  # PT enrols for 24 months
    run(app, csv_bytes("cardnumber,surname", "9502,B"), overwrite=True, update_expiry="now")
    renewed = patron(library, "9502").dateexpiry
    assert renewed.year * 12 + renewed.month == today.year * 12 + today.month + 24
    run(app, data, overwrite=True)  # without the option the file's date applies
    assert patron(library, "9501").dateexpiry == dt.date(2021, 1, 1)


def test_after_a_large_import_card_lookups_still_use_the_index(app, library, dialect, monkeypatch):
    """PostgreSQL plans from statistics, so a large import refreshes them (else lookups planned
    for an empty table scan it); SQLite plans from the indexes alone."""
    import app.services.patron_import as service
    from sqlalchemy import text

    monkeypatch.setattr(service, "ANALYZE_AFTER_ROWS", 20)
    run(app, csv_bytes("cardnumber,surname,branchcode,categorycode", *(f"{n},S{n},CPL,PT" for n in range(11000, 11030))))
    with app.app_context(), db.unit_of_work(write=False) as session:
        if dialect == "postgresql":
            assert session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'patrons'")) >= 30
        else:
            plan = " ".join(str(row[-1]) for row in session.execute(
                text("EXPLAIN QUERY PLAN SELECT id FROM patrons WHERE cardnumber = '11005'")))
            assert "USING" in plan and "INDEX" in plan, plan
