"""Notice pages: the template editor (save, refuse a bad template and keep what was typed,
preview with a real patron, remove), category defaults, a patron's notices with their content
and a resend button, messaging preferences on the staff page and the OPAC, and the receipt."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import clock
from app.models import Loan, MessagingPreference, Notice, NoticeChannel, NoticeStatus, NoticeTemplate
from app.services.notices.queueing import queue_notice

from .conftest import csrf_token_from, login_as


def staff(client, make, session, *permissions, library="CPL"):
    make.library("CPL", name="Centerville")
    make.staff(*permissions, userid="clerk", password="pw", library=library, firstname="Clara", surname="Clerk",
               email="clara@example.org")
    session.commit()
    assert login_as(client, "clerk", "pw", staff=True).status_code == 302
    return client


def post(client, url, data, page_url=None, **kw):
    token = csrf_token_from(client.get(page_url or url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, **kw)


def test_the_editor_saves_a_library_template_and_refuses_a_broken_one(client, make, session):
    staff(client, make, session, "administration")
    page = client.get("/staff/admin/notices/")
    assert page.status_code == 200 and "HOLD_CANCELLATION" in page.get_data(as_text=True)
    edit_url = "/staff/admin/notices/HOLD?library=CPL"
    form = client.get(edit_url).get_data(as_text=True)
    assert "is waiting for you at" in form and "Carrel's default template" in form
    bad = post(client, "/staff/admin/notices/HOLD", {"library": "CPL", "subject": "Ready",
                                                     "body_text": "{{ patron.password_hash }}"}, edit_url)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "text body" in html and "{{ patron.password_hash }}" in html  # kept
    assert session.scalars(select(NoticeTemplate)).all() == []
    good = post(client, "/staff/admin/notices/HOLD", {"library": "CPL", "subject": "Ready: {{ title.title }}",
                                                      "body_text": "Hello {{ patron.firstname }}", "body_html": ""},
                edit_url)
    assert good.status_code == 302
    session.rollback()
    saved = session.scalars(select(NoticeTemplate)).one()
    assert (saved.event, saved.library_code, saved.subject, saved.body_html) == ("HOLD", "CPL", "Ready: {{ title.title }}", None)
    assert "A template saved for CPL" in client.get(edit_url).get_data(as_text=True)
    removed = post(client, "/staff/admin/notices/HOLD/reset", {"library": "CPL"}, edit_url)
    assert removed.status_code == 302
    session.rollback()
    assert session.scalars(select(NoticeTemplate)).all() == []


def test_the_preview_renders_the_unsaved_template_for_a_real_patron(client, make, session):
    staff(client, make, session, "administration")
    make.patron(cardnumber="555", firstname="Ursula", surname="Reader", library="CPL")
    session.commit()
    url = "/staff/admin/notices/WELCOME/preview"
    data = {"library": "*", "subject": "Hi {{ patron.firstname }}", "body_text": "Card {{ patron.cardnumber }}",
            "body_html": "<p>{{ patron.surname }}</p>", "preview_patron": "555"}
    fragment = post(client, url, data, "/staff/admin/notices/WELCOME", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert "Hi Ursula" in html and "Card 555" in html and '<div class="preview-html card"><p>Reader</p></div>' in html
    mine = post(client, url, {**data, "preview_patron": ""}, "/staff/admin/notices/WELCOME",
                headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Hi Clara" in mine  # blank: the member of staff previewing
    unknown = post(client, url, {**data, "preview_patron": "nobody"}, "/staff/admin/notices/WELCOME",
                   headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No patron has the card number or username" in unknown
    whole = post(client, url, data, "/staff/admin/notices/WELCOME").get_data(as_text=True)  # no JavaScript
    assert "<html" in whole and "Hi Ursula" in whole and 'value="Hi {{ patron.firstname }}"' in whole
    assert session.scalars(select(NoticeTemplate)).all() == []  # a preview saves nothing


def test_category_defaults_are_saved_and_bad_days_are_refused(client, make, session):
    staff(client, make, session, "administration")
    make.category("PT", description="Patron")
    session.commit()
    url = "/staff/admin/notices/defaults"
    assert "Patron (PT)" in client.get(url).get_data(as_text=True)
    bad = post(client, "/staff/admin/notices/defaults/PT", {"Advance_Notice_email": "on", "Advance_Notice_days": "99"}, url)
    assert bad.status_code == 400 and "from 0 to 30" in bad.get_data(as_text=True)
    ok = post(client, "/staff/admin/notices/defaults/PT", {"Hold_Filled_email": "on", "Advance_Notice_days": "4"}, url)
    assert ok.status_code == 302
    session.rollback()
    rows = {r.message_name: (r.email, r.days_in_advance) for r in session.scalars(select(MessagingPreference))}
    assert rows["Hold_Filled"] == (True, None) and rows["Advance_Notice"] == (False, 4)
    assert rows["Hold_Reminder"] == (False, None)


def test_a_patrons_notices_show_content_status_and_errors_and_can_be_resent(client, make, session):
    staff(client, make, session, "patrons")
    library = make.library("CPL")
    patron = make.patron(library="CPL", email="reader@example.org", firstname="Rita")
    sent = queue_notice(session, "WELCOME", patron, library, {})
    sent.status, sent.sent_at, sent.attempts = NoticeStatus.SENT, clock.now(), 1
    failed = queue_notice(session, "ODUE", patron, library, {"loans": []})
    failed.status, failed.attempts, failed.last_error = NoticeStatus.FAILED, 5, "SMTP 550: mailbox unavailable"
    session.commit()
    url = f"/staff/patrons/{patron.id}/notices"
    html = client.get(url).get_data(as_text=True)
    assert "Welcome to Centerville" in html and "Dear Rita" in html and "SMTP 550: mailbox unavailable" in html
    assert html.count(">Resend<") == 2 and "reader@example.org" in html
    resent = post(client, f"/staff/patrons/{patron.id}/notices/{failed.id}/resend", {}, url)
    assert resent.status_code == 302
    session.rollback()
    copy = session.scalars(select(Notice).where(Notice.resent_from_id == failed.id)).one()
    assert (copy.status, copy.attempts, copy.subject) == (NoticeStatus.PENDING, 0, failed.subject)
    other = make.patron(library="CPL")
    session.commit()
    assert post(client, f"/staff/patrons/{other.id}/notices/{failed.id}/resend", {}, url).status_code == 404


def test_staff_set_a_patrons_messaging_preferences(client, make, session):
    staff(client, make, session, "patrons")
    patron = make.patron(library="CPL", email="p@example.org")
    session.commit()
    url = f"/staff/patrons/{patron.id}/notices"
    response = post(client, f"/staff/patrons/{patron.id}/messaging", {"Hold_Filled_email": "on",
                                                                      "Advance_Notice_days": "3"}, url)
    assert response.status_code == 302
    session.rollback()
    rows = {r.message_name: r.email for r in session.scalars(select(MessagingPreference).where(
        MessagingPreference.patron_id == patron.id))}
    assert rows == {"Hold_Filled": True, "Hold_Reminder": False, "Hold_Cancelled": False, "Advance_Notice": False}


def test_a_printed_slip_is_shown_and_recorded_as_printed(client, make, session):
    staff(client, make, session, "patrons")
    library = make.library("CPL")
    patron = make.patron(library="CPL", email=None, firstname="Noel")
    slip = queue_notice(session, "ODUE", patron, library, {"loans": []})
    session.commit()
    assert slip.channel is NoticeChannel.PRINT
    url = f"/staff/patrons/{patron.id}/notices/{slip.id}/print"
    assert "Dear Noel" in client.get(url).get_data(as_text=True)
    assert post(client, f"/staff/patrons/{patron.id}/notices/{slip.id}/printed", {}, url).status_code == 302
    session.rollback()
    session.expire_all()
    assert session.get(Notice, slip.id).status is NoticeStatus.SENT


def test_the_desk_receipt_prints_and_emails(client, make, session):
    staff(client, make, session, "circulate")
    patron = make.patron(library="CPL", email="r@example.org", firstname="Rae")
    item = make.item(make.title(title="Dune"), library="CPL")
    session.add(Loan(item_id=item.id, patron_id=patron.id, library_code="CPL", issued_at=clock.now(),
                     due_at=clock.now() + dt.timedelta(days=14)))
    session.commit()
    url = f"/staff/patrons/{patron.id}/receipt"
    page = client.get(url).get_data(as_text=True)
    assert "Receipt for Rae" in page and "Dune" in page and item.barcode in page
    assert post(client, f"/staff/patrons/{patron.id}/receipt/email", {}, url).status_code == 302
    session.rollback()
    notice = session.scalars(select(Notice)).one()
    assert (notice.event, notice.to_address) == ("ISSUESLIP", "r@example.org") and "Dune" in notice.body_text


def test_patrons_choose_their_messages_in_the_opac(client, make, session):
    patron = make.patron(userid="reader", password="pw", email="me@example.org")
    session.commit()
    login_as(client, "reader", "pw")
    page = client.get("/account/messaging").get_data(as_text=True)
    assert "me@example.org" in page and "A loan is due soon" in page and "checked" in page
    bad = post(client, "/account/messaging", {"Advance_Notice_email": "on", "Advance_Notice_days": "x"})
    assert bad.status_code == 400 and 'value="x"' in bad.get_data(as_text=True)
    ok = post(client, "/account/messaging", {"Advance_Notice_email": "on", "Advance_Notice_days": "5"})
    assert ok.status_code == 302
    session.rollback()
    rows = {r.message_name: (r.email, r.days_in_advance) for r in session.scalars(select(MessagingPreference))}
    assert rows["Advance_Notice"] == (True, 5) and rows["Hold_Filled"] == (False, None)
    assert all(r.patron_id == patron.id for r in session.scalars(select(MessagingPreference)))
