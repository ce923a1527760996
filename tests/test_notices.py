"""Notices: each event queues the right notice once, in the event's own transaction; templates
render with a real patron; the sandbox refuses everything outside the allowed fields; patron
preferences and category defaults decide; patrons without email get a printable slip."""
from __future__ import annotations

import datetime as dt

import pytest
from jinja2.exceptions import SecurityError
from sqlalchemy import func, select

from app import clock
from app.models import Hold, HoldStatus, Loan, Notice, NoticeChannel, NoticeLoan, NoticeStatus
from app.services import notices
from app.services.circulation import check_in
from app.services.holds.jobs import expire_holds, handle_long_waiting_holds
from app.services.holds.lifecycle import cancel_hold
from app.services.notices.events import EVENTS
from app.services.notices.fields import patron_fields
from app.services.notices.preferences import InvalidMessagingPreference, set_category_defaults, set_patron_choices
from app.services.notices.receipts import NoEmailAddress, email_receipt, render_receipt
from app.services.notices.sandbox import Fields, TemplateProblem, render_part
from app.services.notices.scheduled import queue_scheduled_notices
from app.services.notices.templates import (
    check_template,
    default_template,
    reset_template,
    save_template,
    template_for,
)
from app.services.rules import set_rule
from app.services.settings import set_preference

NOON = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def _noon():
    with clock.freeze(NOON):
        yield


class Desk:
    def __init__(self, session, make):
        self.session, self.make = session, make
        make.library("PIK", name="Pickup Branch", email="pickup@library.example.org", phone="555-0100")
        self.title = make.title(title="The Left Hand of Darkness", author="Le Guin")
        self.librarian = make.staff(library="PIK")
        self._key = 0

    def hold(self, patron, **kw):
        self._key += 1
        hold = Hold(patron_id=patron.id, title_id=self.title.id, pickup_library_code="PIK", queue_key=self._key,
                    status=kw.pop("status", HoldStatus.QUEUED), **kw)
        self.session.add(hold)
        self.session.flush()
        return hold

    def trapped_hold(self, patron):
        item = self.make.item(self.title, library="PIK")
        hold = self.hold(patron)
        check_in(self.session, item, "PIK", self.librarian)
        assert hold.status is HoldStatus.PULLED
        return hold, item

    def loan(self, patron, due_at, **kw):
        item = self.make.item(self.title, library="PIK", **kw)
        loan = Loan(item_id=item.id, patron_id=patron.id, library_code="PIK", issued_at=due_at - dt.timedelta(days=14),
                    due_at=due_at)
        self.session.add(loan)
        self.session.flush()
        return loan

    def notices(self, event=None):
        stmt = select(Notice).order_by(Notice.id)
        if event:
            stmt = stmt.where(Notice.event == event)
        return self.session.scalars(stmt).all()


@pytest.fixture
def desk(session, make):
    return Desk(session, make)


def test_a_hold_pulled_at_its_pickup_library_queues_one_hold_ready_notice(desk, make):
    patron = make.patron(library="PIK", firstname="Genly", surname="Ai", email="genly@example.org")
    hold, item = desk.trapped_hold(patron)
    (notice,) = desk.notices()
    assert (notice.event, notice.channel, notice.status, notice.to_address) == (
        "HOLD", NoticeChannel.EMAIL, NoticeStatus.PENDING, "genly@example.org")
    assert notice.subject == "The Left Hand of Darkness is waiting for you at Pickup Branch"
    assert "Dear Genly Ai" in notice.body_text and hold.pickup_deadline.isoformat() in notice.body_text
    assert item.barcode in notice.body_text and "<strong>The Left Hand of Darkness</strong>" in notice.body_html
    assert notices.hold_ready(desk.session, hold) is None  # the same wait is never told twice
    assert len(desk.notices()) == 1


def test_a_hold_sent_from_elsewhere_is_told_when_it_arrives_not_when_it_leaves(desk, make):
    make.library("AAA")
    patron = make.patron(library="PIK", email="p@example.org")
    item = make.item(desk.title, library="AAA")
    hold = desk.hold(patron)
    check_in(desk.session, item, "AAA", desk.librarian)
    assert hold.status is HoldStatus.IN_TRANSIT and desk.notices() == []
    check_in(desk.session, item, "PIK", desk.librarian)
    assert [n.event for n in desk.notices()] == ["HOLD"]


def test_a_patron_without_email_gets_a_printable_slip_for_the_holds_report(desk, make):
    patron = make.patron(library="PIK", email=None)
    desk.trapped_hold(patron)
    (slip,) = desk.session.scalars(notices.slips_to_print("PIK")).all()
    assert slip.channel is NoticeChannel.PRINT and slip.to_address is None and slip.patron_id == patron.id
    assert desk.session.scalars(notices.slips_to_print("AAA")).all() == []
    assert notices.mark_printed(desk.session, [slip]) == 1
    assert slip.status is NoticeStatus.SENT and slip.printed_at is not None
    assert desk.session.scalars(notices.slips_to_print("PIK")).all() == []


def test_staff_cancelling_a_hold_tells_the_patron_why_but_a_patron_cancelling_is_not_told(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    hold = desk.hold(patron)
    cancel_hold(desk.session, hold, desk.librarian, reason="item withdrawn")
    (notice,) = desk.notices("HOLD_CANCELLATION")
    assert "was cancelled" in notice.body_text and "Reason: item withdrawn" in notice.body_text
    assert notice.subject == "Your hold on The Left Hand of Darkness has been cancelled"
    own = desk.hold(patron)
    cancel_hold(desk.session, own, patron, channel="opac")
    assert len(desk.notices("HOLD_CANCELLATION")) == 1


def test_an_expired_hold_says_it_expired_and_why(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    desk.hold(patron, not_needed_after=dt.date(2026, 3, 1))
    assert expire_holds(desk.session, clock.today()) == 1
    (notice,) = desk.notices("HOLD_CANCELLATION")
    assert "has expired" in notice.body_text and "not needed after 2026-03-01" in notice.body_text
    assert expire_holds(desk.session, clock.today()) == 0 and len(desk.notices()) == 1


def test_a_hold_cancelled_for_waiting_too_long_is_told(desk, make):
    set_preference(desk.session, "LongWaitingHoldsAction", "cancel", actor_id=None)
    patron = make.patron(library="PIK", email="p@example.org")
    hold, _item = desk.trapped_hold(patron)
    with clock.freeze(NOON + dt.timedelta(days=30)):
        handle_long_waiting_holds(desk.session, clock.today())
    assert hold.status is HoldStatus.CANCELLED
    (notice,) = desk.notices("HOLD_CANCELLATION")
    assert "waited too long on the pickup shelf" in notice.body_text


def test_hold_reminder_after_n_days_on_the_shelf_once(desk, make):
    set_preference(desk.session, "HoldReminderDays", "3", actor_id=None)
    patron = make.patron(library="PIK", email="p@example.org")
    desk.trapped_hold(patron)
    with clock.freeze(NOON + dt.timedelta(days=2)):
        assert queue_scheduled_notices(desk.session, clock.today()).reminders == 0
    with clock.freeze(NOON + dt.timedelta(days=3)):
        assert queue_scheduled_notices(desk.session, clock.today()).reminders == 1
        assert queue_scheduled_notices(desk.session, clock.today()).reminders == 0
    (reminder,) = desk.notices("HOLD_REMINDER")
    assert "since 2026-03-10" in reminder.body_text


def test_due_soon_follows_the_patrons_days_in_advance(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    desk.loan(patron, NOON + dt.timedelta(days=2))
    desk.loan(patron, NOON + dt.timedelta(days=5))
    result = queue_scheduled_notices(desk.session, clock.today())
    (notice,) = desk.notices("PREDUE")
    assert result.due_soon == 1 and notice.subject == "1 item due soon"
    set_patron_choices(desk.session, patron, {"Advance_Notice_email": "on", "Advance_Notice_days": "5",
                                              "Hold_Filled_email": "on"})
    assert queue_scheduled_notices(desk.session, clock.today()).due_soon == 1  # only the loan not yet told
    assert len(desk.notices("PREDUE")) == 2
    assert queue_scheduled_notices(desk.session, clock.today()).total == 0


def test_a_patron_who_turned_due_soon_off_gets_none(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    set_patron_choices(desk.session, patron, {"Hold_Filled_email": "on"})
    desk.loan(patron, NOON + dt.timedelta(days=1))
    assert queue_scheduled_notices(desk.session, clock.today()).due_soon == 0


def test_overdue_levels_follow_the_rules_matrix_and_each_is_sent_once(desk, make):
    set_rule(desk.session, "*", "*", "*", "overdue_delay1", "3")
    set_rule(desk.session, "*", "*", "*", "overdue_delay2", "10")
    set_rule(desk.session, "*", "*", "*", "overdue_delay3", "")
    set_rule(desk.session, "*", "ST", "*", "overdue_delay1", "")  # staff get no first notice
    patron = make.patron(library="PIK", email="p@example.org")
    loans = [desk.loan(patron, NOON - dt.timedelta(days=4)), desk.loan(patron, NOON - dt.timedelta(days=5))]
    desk.loan(patron, NOON - dt.timedelta(days=1))  # not overdue enough
    assert queue_scheduled_notices(desk.session, clock.today()).overdue == 1
    (first,) = desk.notices("ODUE")
    assert first.subject == "Overdue: 2 items to return"
    assert {nl.loan_id for nl in desk.session.scalars(select(NoticeLoan))} == {loan.id for loan in loans}
    assert queue_scheduled_notices(desk.session, clock.today()).overdue == 0
    with clock.freeze(NOON + dt.timedelta(days=6)):
        assert queue_scheduled_notices(desk.session, clock.today()).overdue == 2  # ODUE for the third, ODUE2
        (second,) = desk.notices("ODUE2")
        assert "second notice" in second.body_text and "11 days overdue" in second.body_text
    with clock.freeze(NOON + dt.timedelta(days=60)):
        assert queue_scheduled_notices(desk.session, clock.today()).overdue == 1  # the third reaches ODUE2
        assert queue_scheduled_notices(desk.session, clock.today()).overdue == 0
    assert desk.notices("ODUE3") == []


def test_a_long_overdue_loan_gets_only_the_highest_level_reached(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    desk.loan(patron, NOON - dt.timedelta(days=40))  # defaults: 7, 14, 28 days
    queue_scheduled_notices(desk.session, clock.today())
    assert [n.event for n in desk.notices()] == ["ODUE3"]


def test_a_renewed_loan_that_goes_overdue_again_is_told_again(desk, make):
    patron = make.patron(library="PIK", email="p@example.org")
    loan = desk.loan(patron, NOON - dt.timedelta(days=8))
    queue_scheduled_notices(desk.session, clock.today())
    loan.due_at = NOON - dt.timedelta(days=7, hours=1)  # renewed, then overdue again
    desk.session.flush()
    queue_scheduled_notices(desk.session, clock.today())
    assert [n.event for n in desk.notices()] == ["ODUE", "ODUE"]


def test_welcome_is_queued_once_per_new_patron(desk, make):
    patron = make.patron(library="PIK", email="new@example.org", firstname="Nia", surname="New")
    assert notices.queue_welcome_notices(desk.session, [patron.id]) == 1
    assert notices.queue_welcome_notices(desk.session, [patron.id]) == 0
    (notice,) = desk.notices("WELCOME")
    assert notice.subject == "Welcome to Pickup Branch" and patron.cardnumber in notice.body_text


def test_receipt_lists_todays_checkouts_and_checkins(desk, make):
    from app.services.circulation import check_out
    patron = make.patron(library="PIK", email="r@example.org", firstname="Rae")
    lent = make.item(desk.title, library="PIK")
    assert check_out(desk.session, patron, lent, "PIK", desk.librarian).loan is not None
    returned = make.item(desk.title, library="PIK")
    check_out(desk.session, patron, returned, "PIK", desk.librarian)
    check_in(desk.session, returned, "PIK", desk.librarian)
    receipt = render_receipt(desk.session, patron, desk.session.get(type(patron.library), "PIK"))
    checked_out, _, checked_in = receipt.body_text.partition("Checked in today")
    assert lent.barcode in checked_out and returned.barcode in checked_in
    notice = email_receipt(desk.session, patron, patron.library)
    assert notice.event == "ISSUESLIP" and notice.to_address == "r@example.org"
    with pytest.raises(NoEmailAddress):
        email_receipt(desk.session, make.patron(library="PIK", email=None), patron.library)


def test_category_defaults_and_patron_choices_decide_what_comes_by_email(desk, make):
    make.category("PT")
    set_category_defaults(desk.session, "PT", {"Hold_Filled_email": ""})  # category default: off
    quiet = make.patron(library="PIK", email="q@example.org")
    desk.trapped_hold(quiet)
    assert desk.notices("HOLD") == []
    keen = make.patron(library="PIK", email="k@example.org")
    set_patron_choices(desk.session, keen, {"Hold_Filled_email": "on"})
    desk.trapped_hold(keen)
    assert [n.to_address for n in desk.notices("HOLD")] == ["k@example.org"]
    with pytest.raises(InvalidMessagingPreference):
        set_patron_choices(desk.session, keen, {"Advance_Notice_email": "on", "Advance_Notice_days": "-1"})


def test_each_event_queues_nothing_extra_when_the_transaction_rolls_back(app, make, session):
    patron = make.patron(library="CPL", email="p@example.org")
    session.commit()
    hold = Hold(patron_id=patron.id, title_id=make.title().id, pickup_library_code="CPL", queue_key=1)
    session.add(hold)
    session.flush()
    cancel_hold(session, hold, make.staff())
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


# --- templates ------------------------------------------------------------------------------

def test_every_event_ships_a_default_that_renders_with_a_real_patron(desk, make):
    patron = make.patron(library="PIK", firstname="Therem", surname="Estraven", email="t@example.org")
    for event in EVENTS:
        rendered = check_template(default_template(event.code), patron, patron.library)
        assert rendered.subject and "Therem" in rendered.body_text + rendered.subject + (rendered.body_html or "") \
            or event.code == "ISSUESLIP" and "Therem Estraven" in rendered.body_text


def test_a_library_template_wins_over_the_one_for_every_library(desk, make):
    make.library("AAA", name="Annex")
    save_template(desk.session, "HOLD", "*", subject="All: {{ title.title }}", body_text="Hi {{ patron.firstname }}",
                  body_html="", actor=desk.librarian)
    save_template(desk.session, "HOLD", "PIK", subject="Pickup: {{ title.title }}",
                  body_text="Come to {{ library.name }}", body_html="<p>{{ library.name }}</p>", actor=desk.librarian)
    assert template_for(desk.session, "HOLD", "PIK").subject.startswith("Pickup")
    assert template_for(desk.session, "HOLD", "AAA").subject.startswith("All")
    patron = make.patron(library="PIK", email="p@example.org")
    desk.trapped_hold(patron)
    (notice,) = desk.notices("HOLD")
    assert notice.subject == "Pickup: The Left Hand of Darkness" and notice.body_text == "Come to Pickup Branch\n"
    assert reset_template(desk.session, "HOLD", "PIK")
    assert template_for(desk.session, "HOLD", "PIK").subject.startswith("All")


def test_a_template_that_does_not_render_is_refused_and_nothing_is_stored(desk):
    with pytest.raises(TemplateProblem, match="text body"):
        save_template(desk.session, "HOLD", "*", subject="x", body_text="{{ patron.password_hash }}", body_html=None,
                      actor=None)
    with pytest.raises(TemplateProblem, match="subject"):
        save_template(desk.session, "HOLD", "*", subject="{% if %}", body_text="x", body_html=None, actor=None)
    assert template_for(desk.session, "HOLD", None).is_default


def test_html_bodies_escape_patron_data_and_text_bodies_keep_it(desk, make):
    patron = make.patron(library="PIK", surname="<b>O'Brien</b>")
    context = {"patron": patron_fields(patron)}
    assert "&lt;b&gt;" in render_part("html", "{{ patron.surname }}", context, html=True)
    assert render_part("text", "{{ patron.surname }}", context) == "<b>O'Brien</b>"


@pytest.mark.parametrize("source", [
    "{{ patron.password_hash }}",
    "{{ patron._values }}",
    "{{ patron.__class__ }}",
    "{{ patron['password_hash'] }}",
    "{{ patron.name.__class__.__mro__ }}",
    "{{ patron.firstname.format }}",
    "{{ library.__init__.__globals__ }}",
    "{% for k in patron._values %}{{ k }}{% endfor %}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ patron.dateexpiry.__class__ }}",
    "{{ patron.name.upper() }}",
])
def test_the_sandbox_refuses_anything_outside_the_allowed_fields(make, source):
    patron = make.patron(password="hunter2")
    context = {"patron": patron_fields(patron), "library": Fields("library", {"name": "L"})}
    with pytest.raises(TemplateProblem) as refused:
        render_part("text body", source, context)
    assert "argon2" not in str(refused.value)


def test_allowed_fields_filters_dates_and_loops_work(make):
    patron = make.patron(firstname="ann", dateexpiry=dt.date(2027, 1, 31))
    context = {"patron": patron_fields(patron), "loans": [1, 2]}
    source = "{{ patron.firstname|title }} {{ patron.dateexpiry.year }}{% for x in loans %} {{ loop.index }}{% endfor %}"
    assert render_part("text", source, context) == "Ann 2027 1 2"


def test_fields_are_read_only_and_never_model_objects(make):
    fields = patron_fields(make.patron())
    with pytest.raises(AttributeError):
        fields.firstname = "x"
    with pytest.raises(SecurityError):
        from app.services.notices.sandbox import TEXT_ENV
        TEXT_ENV.from_string("{{ p.__class__ }}").render(p=fields)


def test_a_saved_template_reaches_other_processes_and_a_rolled_back_one_never_does(app, make, session):
    from app.extensions import db
    make.library("PIK")
    session.commit()
    with app.app_context():
        with db.unit_of_work(write=True) as other:
            assert template_for(other, "WELCOME", "PIK").is_default  # cached with this process's policy
        with db.unit_of_work(write=True) as editing:
            save_template(editing, "WELCOME", "PIK", subject="Draft", body_text="x", body_html=None, actor=None)
            assert template_for(editing, "WELCOME", "PIK").subject == "Draft"
            editing.rollback()
        with db.unit_of_work(write=True) as other:
            assert template_for(other, "WELCOME", "PIK").is_default
        with db.unit_of_work(write=True) as editing:
            save_template(editing, "WELCOME", "PIK", subject="Hello", body_text="x", body_html=None, actor=None)
        with db.unit_of_work(write=True) as other:
            assert template_for(other, "WELCOME", "PIK").subject == "Hello"


def test_a_notice_queued_first_in_its_transaction_uses_the_template_saved_in_the_meantime(app, make, session):
    """Queuing reads the policy token inside its own patron lookup: a template saved by another
    transaction after this process cached the policy is still the one used."""
    from app.extensions import db
    from app.models import Library
    make.library("PIK")
    patron_id = make.patron(library="PIK", email="genly@example.org").id
    session.commit()
    with app.app_context():
        def queue_welcome() -> str:
            with db.unit_of_work(write=True) as work:
                notice = notices.queue_notice(work, "WELCOME", patron_id, work.get(Library, "PIK"), {})
                return notice.subject
        assert queue_welcome() == "Welcome to Library PIK"  # the shipped template, now cached
        with db.unit_of_work(write=True) as editing:
            save_template(editing, "WELCOME", "PIK", subject="Hello from the branch", body_text="x", body_html=None,
                          actor=None)
        assert queue_welcome() == "Hello from the branch"
