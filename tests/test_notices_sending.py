"""The notices sender: a real SMTP server on 127.0.0.1 (aiosmtpd) receives each message once
with the right headers; a failing server is retried with backoff and the notice is failed after
the last attempt; two sender runs at once never send one notice twice; the outbox transport
is what development and tests read."""
from __future__ import annotations

import datetime as dt
import socket
import threading
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.jobs import run_job
from app.models import Hold, Loan, Notice, NoticeStatus
from app.services.mail import read_outbox
from app.services.notices.fields import hold_context
from app.services.notices.queueing import queue_notice
from app.services.notices.sending import send_pending_notices


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An SMTP server keeping what it receives; ``answers`` (a list of SMTP replies) makes it
    refuse the next messages in turn."""

    def __init__(self):
        self.received: list = []
        self.answers: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


@pytest.fixture
def smtp():
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.port = port
    yield sink
    controller.stop()


def smtp_config(app, port: int, **extra):
    return {**app.config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_TLS": False,
            "SMTP_TIMEOUT": 5, "MAIL_FROM": "notices@library.example.org", "NOTICE_MAX_ATTEMPTS": 3,
            "NOTICE_RETRY_SECONDS": 60, **extra}


def send(app, config, **kw):
    with app.app_context():
        return send_pending_notices(lambda: db.unit_of_work(write=True), config, **kw)


def queue_welcomes(session, make, count: int, **patron):
    library = make.library("PIK", name="Pickup Branch", email="pickup@library.example.org")
    ids = []
    for n in range(count):
        person = make.patron(library="PIK", email=f"reader{n}@example.org", firstname=f"Reader{n}", **patron)
        ids.append(queue_notice(session, "WELCOME", person, library, {}).patron_id)
    session.commit()
    return ids


def statuses(session):
    session.rollback()
    session.expire_all()
    return [(n.status, n.attempts) for n in session.scalars(select(Notice).order_by(Notice.id))]


def test_a_local_smtp_server_receives_each_notice_with_the_right_headers(app, make, session, smtp):
    queue_welcomes(session, make, 2)
    result = send(app, smtp_config(app, smtp.port))
    assert (result.sent, result.failed, result.retrying) == (2, 0, 0)
    assert [s for s, _ in statuses(session)] == [NoticeStatus.SENT, NoticeStatus.SENT]
    mail_from, rcpt, message = smtp.received[0]
    notice = session.scalars(select(Notice).order_by(Notice.id)).first()
    assert mail_from == "notices@library.example.org" and rcpt == ["reader0@example.org"]
    assert message["From"] == "notices@library.example.org" and message["To"] == "reader0@example.org"
    assert message["Subject"] == "Welcome to Pickup Branch"
    assert message["Reply-To"] == "pickup@library.example.org"
    assert message["Message-ID"] == f"<notice-{notice.id}@library.example.org>"
    assert message["Auto-Submitted"] == "auto-generated" and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert "Dear Reader0" in message.get_body(("plain",)).get_content()
    assert "<p>Dear Reader0" in message.get_body(("html",)).get_content()
    assert notice.sent_at is not None and notice.attempts == 1
    assert send(app, smtp_config(app, smtp.port)).total == 0  # a second run sends nothing again
    assert len(smtp.received) == 2


def test_a_failing_server_is_retried_with_backoff_then_the_notice_fails(app, make, session, smtp):
    queue_welcomes(session, make, 1)
    config = smtp_config(app, smtp.port)
    smtp.answers = ["451 4.3.0 try again later"] * 3
    start = clock.now()
    with clock.freeze(start):
        first = send(app, config)
    assert (first.retrying, first.failed) == (1, 0)
    notice = session.scalars(select(Notice)).one()
    assert (notice.status, notice.attempts) == (NoticeStatus.PENDING, 1) and "451" in notice.last_error
    assert notice.next_attempt_at == start + dt.timedelta(seconds=60)
    with clock.freeze(start + dt.timedelta(seconds=30)):
        assert send(app, config).total == 0  # not due yet
    with clock.freeze(start + dt.timedelta(seconds=61)):
        assert send(app, config).retrying == 1
    assert statuses(session) == [(NoticeStatus.PENDING, 2)]
    assert session.scalars(select(Notice)).one().next_attempt_at == start + dt.timedelta(seconds=61 + 120)
    with clock.freeze(start + dt.timedelta(seconds=200)):
        assert send(app, config).failed == 1
    assert statuses(session) == [(NoticeStatus.FAILED, 3)]
    with clock.freeze(start + dt.timedelta(days=1)):
        assert send(app, config).total == 0
    assert smtp.received == []


def test_a_server_that_recovers_delivers_the_retried_notice_once(app, make, session, smtp):
    queue_welcomes(session, make, 1)
    config = smtp_config(app, smtp.port)
    smtp.answers = ["451 4.3.0 try again later"]
    start = clock.now()
    with clock.freeze(start):
        send(app, config)
    with clock.freeze(start + dt.timedelta(minutes=2)):
        assert send(app, config).sent == 1
    assert statuses(session) == [(NoticeStatus.SENT, 2)] and len(smtp.received) == 1


def test_a_refused_address_fails_at_once(app, make, session, smtp):
    queue_welcomes(session, make, 1)
    smtp.answers = ["550 5.1.1 mailbox unavailable"]
    assert send(app, smtp_config(app, smtp.port)).failed == 1
    assert statuses(session) == [(NoticeStatus.FAILED, 1)]


def test_a_server_that_is_down_costs_one_attempt_and_the_rest_wait(app, make, session):
    queue_welcomes(session, make, 3)
    result = send(app, smtp_config(app, free_port()))  # nothing listens there
    assert (result.retrying, result.released, result.sent) == (1, 2, 0)
    assert statuses(session) == [(NoticeStatus.PENDING, 1), (NoticeStatus.PENDING, 0), (NoticeStatus.PENDING, 0)]


def test_two_senders_at_once_never_send_a_notice_twice(app, make, session, smtp):
    queue_welcomes(session, make, 60)
    config = smtp_config(app, smtp.port, NOTICE_BATCH_SIZE=7)
    results = []
    threads = [threading.Thread(target=lambda: results.append(send(app, config))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in results) == 60
    ids = [message["Message-ID"] for _, _, message in smtp.received]
    assert len(ids) == len(set(ids)) == 60
    assert {s for s, _ in statuses(session)} == {NoticeStatus.SENT}


def test_a_sender_that_died_mid_batch_leaves_rows_that_go_back_to_pending(app, make, session, smtp):
    queue_welcomes(session, make, 1)
    notice = session.scalars(select(Notice)).one()
    notice.status, notice.claim_token, notice.claimed_at = NoticeStatus.SENDING, "dead", clock.now()
    session.commit()
    assert send(app, smtp_config(app, smtp.port)).total == 0  # claimed by someone else: left alone
    with clock.freeze(clock.now() + dt.timedelta(minutes=20)):
        assert send(app, smtp_config(app, smtp.port)).sent == 1


def test_the_outbox_transport_and_the_scheduled_job(app, make, session):
    import pathlib
    for path in pathlib.Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"):
        path.unlink()
    queue_welcomes(session, make, 2)
    assert read_outbox(app.config["MAIL_OUTBOX_DIR"]) == []  # queued is not sent
    assert run_job(app, "send-notices") == 2
    assert run_job(app, "send-notices") == 0
    messages = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert sorted(m["To"] for m in messages) == ["reader0@example.org", "reader1@example.org"]


def test_print_slips_are_never_sent_by_mail(app, make, session, smtp):
    library = make.library("PIK")
    patron = make.patron(library="PIK", email=None)
    hold = Hold(patron_id=patron.id, title_id=make.title().id, pickup_library_code="PIK", queue_key=1)
    session.add(hold)
    session.flush()
    assert queue_notice(session, "HOLD", patron, library, hold_context(hold)) is not None
    session.commit()
    assert send(app, smtp_config(app, smtp.port)).total == 0
    assert statuses(session) == [(NoticeStatus.PENDING, 0)]


def test_the_scheduled_notices_job_commits_and_a_second_run_queues_nothing(app, make, session):
    make.library("PIK")
    patron = make.patron(library="PIK", email="late@example.org")
    item = make.item(make.title(), library="PIK")
    session.add(Loan(item_id=item.id, patron_id=patron.id, library_code="PIK",
                     issued_at=clock.now() - dt.timedelta(days=40), due_at=clock.now() - dt.timedelta(days=10)))
    session.commit()
    assert run_job(app, "queue-scheduled-notices") == 1
    assert run_job(app, "queue-scheduled-notices") == 0
    session.rollback()
    assert [n.event for n in session.scalars(select(Notice))] == ["ODUE"]
