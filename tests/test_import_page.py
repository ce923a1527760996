"""Staff page Tools > Import patrons: the form, a background job followed by htmx polling, the
report on the page and as a download, options from the form, the header download."""
from __future__ import annotations

import io
import pathlib
import re

from sqlalchemy import func, select

from app.jobs import run_job
from app.models import ImportJobStatus, Patron, PatronImportJob, PatronList
from app.services.mail import read_outbox
from app.services.patron_import.jobs import run_queued_imports, wait_for

from .conftest import csrf_token_from, login_as
from .test_import_patrons import csv_bytes, fresh, library, outbox  # noqa: F401  (fixtures)


def staff_client(app, make, session, *permissions):
    make.staff(*permissions, userid="importer", password="pw", library="CPL")
    session.commit()
    client = app.test_client()
    assert login_as(client, "importer", "pw", staff=True).status_code == 302
    return client


def upload(client, data: bytes, name="patrons.csv", **fields):
    token = csrf_token_from(client.get("/staff/tools/import-patrons").get_data(as_text=True))
    form = {"csrf_token": token, "file": (io.BytesIO(data), name), **fields}
    return client.post("/staff/tools/import-patrons", data=form, content_type="multipart/form-data")


def finished_job(client, response) -> tuple[int, str]:
    assert response.status_code == 303, response.get_data(as_text=True)
    job_id = int(re.search(r"/import-patrons/(\d+)$", response.headers["Location"]).group(1))
    wait_for(job_id)
    return job_id, client.get(response.headers["Location"]).get_data(as_text=True)


def test_tools_landing_page_and_nav(app, make, session, library):
    client = staff_client(app, make, session, "import")
    page = client.get("/staff/tools/").get_data(as_text=True)
    assert 'href="/staff/tools/"' in page and "Import patrons" in page
    form = client.get("/staff/tools/import-patrons").get_data(as_text=True)
    for words in ("Field to use for record matching", "Ignore this one, keep the existing one",
                  "Replace only included patron attributes", "Create a patron list", "Send the welcome email",
                  "Dry run", "Skip bad rows", 'name="default-sort1"'):
        assert words in form


def test_upload_runs_in_the_background_and_shows_the_report(app, make, session, library):
    client = staff_client(app, make, session, "import")
    data = csv_bytes("cardnumber,surname,branchcode,categorycode", "1,A,CPL,PT", "2,,CPL,PT", "3,C,XXX,PT")
    job_id, page = finished_job(client, upload(client, data, skip_bad_rows="1"))
    assert "1 created, 0 overwritten, 0 ignored, 2 malformed" in page
    assert "line 3: surname is required" in page and "line 4: unknown library code &#39;XXX&#39;" in page
    fragment = client.get(f"/staff/tools/import-patrons/{job_id}/progress", headers={"HX-Request": "true"})
    assert "hx-trigger" not in fragment.get_data(as_text=True)  # finished: polling stops
    report = client.get(f"/staff/tools/import-patrons/{job_id}/report.txt")
    assert report.headers["Content-Disposition"].startswith("attachment")
    text = report.get_data(as_text=True)
    assert text.startswith("1 created, 0 overwritten, 0 ignored, 2 malformed\n")
    assert "line 3: surname is required\nline 4: unknown library code 'XXX'\n" in text
    fresh(session)
    job = session.get(PatronImportJob, job_id)
    assert job.status is ImportJobStatus.DONE and job.file_data is None  # the file is not kept
    assert "2 malformed" in client.get("/staff/tools/").get_data(as_text=True)


def test_a_running_job_is_polled_with_a_progress_bar(app, make, session, library):
    client = staff_client(app, make, session, "import")
    from app.extensions import db
    from app.services.patron_import import ImportOptions
    from app.services.patron_import.jobs import queue_import

    with app.app_context(), db.unit_of_work() as s:
        job_id = queue_import(s, csv_bytes("surname", "A", "B"), ImportOptions(), None).id
    fragment = client.get(f"/staff/tools/import-patrons/{job_id}/progress", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in html and "<progress" in html and "of about 2 rows" in html
    assert run_queued_imports(app) == 1
    fresh(session)
    assert session.get(PatronImportJob, job_id).summary == "0 created, 0 overwritten, 0 ignored, 2 malformed"


def test_form_options_reach_the_import(app, make, session, library, outbox):
    client = staff_client(app, make, session, "import")
    make.patron(cardnumber="100", surname="Old", library="CPL")
    session.commit()
    data = csv_bytes("cardnumber,surname,email", "100,Renamed,", "101,New,new@example.org")
    _job_id, page = finished_job(client, upload(
        client, data, name="fall.csv", matched="overwrite", attributes="replace", **{
            "default-branchcode": "MPL", "default-categorycode": "PT", "default-sort1": "FALL"},
        patron_list="1", welcome_email="1"))
    assert "1 created, 1 overwritten, 0 ignored, 0 malformed" in page
    assert "Welcome emails queued: 1" in page
    fresh(session)
    new = session.scalars(select(Patron).where(Patron.cardnumber == "101")).one()
    assert (new.library_code, new.sort1) == ("MPL", "FALL")
    assert session.scalars(select(PatronList)).one().name.startswith("fall.csv (")
    run_job(app, "send-notices")
    assert [m["To"] for m in read_outbox(outbox)] == ["new@example.org"]


def test_bad_files_and_dry_runs(app, make, session, library):
    client = staff_client(app, make, session, "import")
    token = csrf_token_from(client.get("/staff/tools/import-patrons").get_data(as_text=True))
    response = client.post("/staff/tools/import-patrons", data={"csrf_token": token})
    assert response.status_code == 400 and "Choose a CSV file" in response.get_data(as_text=True)
    _job, page = finished_job(client, upload(client, csv_bytes("cardnumber,colour", "1,red")))
    assert "The file was not imported: unknown column(s) in the header: colour" in page
    _job, page = finished_job(client, upload(client, csv_bytes("cardnumber,surname,branchcode,categorycode",
                                                               "1,A,CPL,PT"), dry_run="1"))
    assert "Dry run: nothing was written. The file would create 1" in page
    fresh(session)
    assert session.scalar(select(func.count()).select_from(Patron)) == 1  # the importer only


def test_sample_header_download(app, make, session, library):
    client = staff_client(app, make, session, "import")
    response = client.get("/staff/tools/import-patrons/sample.csv")
    header = response.get_data(as_text=True).strip()
    assert header.startswith("cardnumber,surname,firstname") and header.endswith("guarantor_relationship,guarantor_id")
    sample = pathlib.Path(__file__).resolve().parents[2] / "shared" / "samples" / "koha_patron_import_header.csv"
    if sample.exists():  # every column of Koha's own sample header is known
        assert set(sample.read_text().strip().split(",")) <= set(header.split(","))


def test_preserve_and_renewal_options_from_the_form(app, make, session, library):
    import datetime as dt

    from app import clock

    client = staff_client(app, make, session, "import")
    form = client.get("/staff/tools/import-patrons").get_data(as_text=True)
    assert "Preserve existing values of overwritten patrons" in form and "Renew from today" in form
    make.patron(cardnumber="300", surname="Kept", library="CPL", category="PT", dateexpiry=dt.date(2020, 1, 1))
    session.commit()
    data = csv_bytes("cardnumber,surname,sort1", "300,Changed,FALL")
    _job, page = finished_job(client, upload(client, data, matched="overwrite", preserve_existing="surname",
                                             update_expiry="now"))
    assert "0 created, 1 overwritten" in page and "Existing values kept for: surname" in page
    fresh(session)
    p = session.scalars(select(Patron).where(Patron.cardnumber == "300")).one()
    assert (p.surname, p.sort1) == ("Kept", "FALL")
    assert p.dateexpiry.year * 12 + p.dateexpiry.month == clock.today().year * 12 + clock.today().month + 24


def test_the_scheduler_runs_forgotten_uploads_and_reports_imports_whose_process_died(app, make, session, library):
    import datetime as dt

    from app import clock
    from app.extensions import db
    from app.services.patron_import import ImportOptions
    from app.services.patron_import.jobs import queue_import

    with app.app_context(), db.unit_of_work() as s:
        forgotten = queue_import(s, csv_bytes("cardnumber,surname,branchcode,categorycode", "1,A,CPL,PT"),
                                 ImportOptions(), None).id
        dead = queue_import(s, csv_bytes("surname", "B"), ImportOptions(), None)
        dead.status, dead.started_at = ImportJobStatus.RUNNING, clock.now() - dt.timedelta(hours=1)
        dead.heartbeat_at, dead_id = clock.now() - dt.timedelta(hours=1), dead.id
    assert run_job(app, "run-queued-imports") == 1
    fresh(session)
    assert session.get(PatronImportJob, forgotten).summary == "1 created, 0 overwritten, 0 ignored, 0 malformed"
    died = session.get(PatronImportJob, dead_id)
    assert died.status is ImportJobStatus.FAILED and "nothing was written" in died.error
