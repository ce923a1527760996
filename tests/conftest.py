"""Test fixtures: one app per session on SQLite (a temporary file) or on the PostgreSQL named by
CARREL_TEST_DATABASE_URL; every table emptied after each test (views commit, and concurrency
tests need real commits, so a per-test outer transaction would not isolate them)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import delete

from app import create_app
from app.extensions import db as carrel_db
from app.models import Base

from . import factories

OUTPUT_DIR = Path(os.environ.get("CARREL_TEST_OUTPUT", Path(__file__).resolve().parent.parent / "test-output"))


def pytest_configure(config):
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("CARREL_TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "carrel-test.db")


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app({
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url(tmp_path_factory),
        "MAIL_OUTBOX_DIR": str(tmp_path_factory.mktemp("outbox")),
        "LOGIN_MAX_FAILURES_ACCOUNT": 5,
        "LOGIN_MAX_FAILURES_ADDRESS": 20,
    })
    engine = carrel_db.engine
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield app
    carrel_db.session.remove()
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request):
    yield
    if "app" not in request.fixturenames:
        return
    carrel_db.session.remove()
    with carrel_db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture
def session(app):
    """A session of the test's own, separate from the one requests use (no app context is
    pushed, so each request gets a fresh one, as in production). Call ``session.rollback()``
    to see what a request wrote: it ends the test session's transaction, whose snapshot (SQLite
    WAL, PostgreSQL) would otherwise still show the data as it was."""
    test_session = carrel_db.new_session()
    yield test_session
    test_session.rollback()
    test_session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def dialect(app) -> str:
    return carrel_db.dialect


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def login_as(client, login: str, password: str, staff: bool = False):
    """Log in through the real form, CSRF token and all; returns the response."""
    path = "/staff/login" if staff else "/login"
    page = client.get(path)
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(path, data={"login": login, "password": password, "csrf_token": token})


@pytest.fixture
def make(app, session):
    """Factories bound to the test session: ``make.patron(...)``, ``make.item(...)``..."""
    return factories.Factory(session)


@pytest.fixture(scope="session")
def live_server(app):
    """The app on a real port, for browser tests."""
    from .browser import LiveServer

    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    from .browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context (no cookies) per test, with the server's URL as base."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under the test output folder and return its path."""
    path = OUTPUT_DIR / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
