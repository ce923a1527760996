"""The seed's workflow end to end (CCA's semester load, ../shared/seeds/001): their script's CSV
(csv.DictWriter, their columns, attributes UNIVID/STUID/STUDENTMAJ) imported on Tools > Import
patrons with their settings (match on username, ignore existing, replace only included
attributes, a patron list, welcome emails), then their card-number sync through the REST API
(client credentials, GET /patrons?userid=...&_match=exact, PUT back minus Koha's read-only fields)."""
from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.jobs import run_job
from app.models import AttributeType, Patron, PatronAttribute, PatronList
from app.services.api_keys import create_api_key
from app.services.mail import read_outbox

from .test_import_page import finished_job, staff_client, upload
from .test_import_patrons import fresh, outbox  # noqa: F401  (fixtures)

KOHA_FIELDS = ["branchcode", "cardnumber", "categorycode", "dateenrolled", "dateexpiry", "email", "firstname",
               "patron_attributes", "surname", "userid", "phone", "borrowernotes"]
PATRON_READ_ONLY_FIELDS = ("anonymized", "expired", "restricted", "updated_on")


def cca_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=KOHA_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def test_semester_load_then_card_number_sync(app, make, session, outbox):
    make.library("SF")
    make.category("UGRD", enrolment_period_months=12)
    make.category("STAFF")
    session.add_all([AttributeType(code="UNIVID", description="Universal ID", unique_id=True),
                     AttributeType(code="STUID", description="Student ID", unique_id=True),
                     AttributeType(code="STUDENTMAJ", description="Major")])
    existing = make.patron(userid="returning", cardnumber="1000009", surname="Back", library="SF", category="UGRD")
    session.add(PatronAttribute(patron_id=existing.id, code="UNIVID", value="1000009"))
    session.commit()
    student = {"branchcode": "SF", "categorycode": "UGRD", "dateenrolled": "2023-08-20", "dateexpiry": "2023-12-12",
               "email": "ada@cca.edu", "firstname": "Ada", "surname": "Okafor", "userid": "aokafor",
               "cardnumber": "1000001", "patron_attributes": "UNIVID:1000001,STUID:2000001,STUDENTMAJ:ANIMA"}
    staff = {**student, "categorycode": "STAFF", "email": "sam@cca.edu", "firstname": "Sam", "surname": "Lee",
             "userid": "slee", "cardnumber": "1000002", "patron_attributes": "UNIVID:1000002"}
    returning = {**student, "userid": "returning", "cardnumber": "1000009", "surname": "Changed",
                 "patron_attributes": "UNIVID:1000009"}
    client = staff_client(app, make, session, "import")
    _job, page = finished_job(client, upload(client, cca_csv([student, staff, returning]), name="fall-2023.csv",
                                             match="userid", matched="ignore", attributes="preserve",
                                             patron_list="1", welcome_email="1"))
    assert "2 created, 0 overwritten, 1 ignored, 0 malformed" in page
    fresh(session)
    ada = session.scalars(select(Patron).where(Patron.userid == "aokafor")).one()
    assert sorted((a.code, a.value) for a in ada.attributes) == [
        ("STUDENTMAJ", "ANIMA"), ("STUID", "2000001"), ("UNIVID", "1000001")]
    assert session.get(Patron, existing.id).surname == "Back"  # ignored, kept
    (patron_list,) = session.scalars(select(PatronList)).all()
    assert patron_list.name.startswith("fall-2023.csv (") and len(patron_list.entries) == 2
    run_job(app, "send-notices")
    assert sorted(m["To"] for m in read_outbox(outbox)) == ["ada@cca.edu", "sam@cca.edu"]

    # patch_prox_num.py, with a key of a staff member who may edit patrons
    fresh(session)  # the notices job wrote since this session last read
    owner = make.staff("patrons", userid="apiowner", password="pw", library="SF")
    key = create_api_key(session, owner, "prox sync", owner)
    session.commit()
    token = client.post("/api/v1/oauth/token", data={"client_id": key.client.client_id, "client_secret": key.secret,
                                                     "grant_type": "client_credentials"}).get_json()["access_token"]
    http = {"Accept": "application/json", "Authorization": "Bearer " + token, "Content-Type": "application/json"}
    patrons = client.get("/api/v1/patrons?userid=aokafor&_match=exact", headers=http).get_json()
    assert isinstance(patrons, list) and len(patrons) == 1
    koha = patrons[0]
    koha["statistics_2"] = koha["cardnumber"]
    koha["cardnumber"] = "77001"
    for field in PATRON_READ_ONLY_FIELDS:
        koha.pop(field)
    response = client.put(f"/api/v1/patrons/{koha['patron_id']}", json=koha, headers=http)
    assert response.status_code == 200, response.get_json()
    fresh(session)
    ada = session.get(Patron, ada.id)
    assert (ada.cardnumber, ada.sort2, ada.email, ada.dateexpiry.isoformat()) == (
        "77001", "1000001", "ada@cca.edu", "2023-12-12")
    assert len(ada.attributes) == 3  # the PUT without extended_attributes leaves them alone
    missing = client.get("/api/v1/patrons?userid=nobody&_match=exact", headers=http)
    assert missing.status_code == 200 and missing.get_json() == []
