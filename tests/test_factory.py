"""The application factory honours injected configuration and validates settings at start."""
from __future__ import annotations

import pytest

from app.config import ConfigError, load_config


def test_factory_honours_injected_config(app):
    assert app.config["ENV"] == "testing"
    assert app.config["SECRET_KEY"] == "test-secret-key"
    assert app.config["TESTING"] is True


def test_environment_supplies_declared_settings():
    config = load_config({"ENV": "development"}, environ={"CARREL_SIP2_LISTENERS": "tcp:0.0.0.0:7001,tcp:127.0.0.1:7002",
                                                          "DATABASE_URL": "sqlite:///x.db", "CARREL_RUN_SCHEDULER": "yes"})
    assert config["SIP2_LISTENERS"] == ["tcp:0.0.0.0:7001", "tcp:127.0.0.1:7002"]
    assert config["DATABASE_URL"] == "sqlite:///x.db"
    assert config["RUN_SCHEDULER"] is True


def test_injected_values_beat_the_environment():
    config = load_config({"ENV": "development", "DATABASE_URL": "sqlite://"}, environ={"DATABASE_URL": "sqlite:///other.db"})
    assert config["DATABASE_URL"] == "sqlite://"


@pytest.mark.parametrize("overrides, message", [
    ({"ENV": "production"}, "SECRET_KEY must be set"),
    ({"ENV": "staging"}, "CARREL_ENV"),
    ({"ENV": "development", "SIP2_LISTENERS": "udp:1.2.3.4:5"}, "tcp:HOST:PORT"),
    ({"ENV": "development", "SIP2_LISTENERS": "tcp:127.0.0.1:http"}, "no valid port"),
    ({"ENV": "development", "SIP2_LISTENERS": "tls:127.0.0.1:6443"}, "CARREL_SIP2_TLS_CERT"),
    ({"ENV": "development", "TIMEZONE": "Mars/Olympus"}, "not a known time zone"),
    ({"ENV": "development", "RUN_SCHEDULER": "maybe"}, "not a boolean"),
    ({"ENV": "development", "SMTP_PORT": "twenty-five"}, "CARREL_SMTP_PORT"),
])
def test_bad_settings_stop_the_start_with_a_clear_message(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(overrides, environ={})


def test_development_gets_a_random_secret_when_none_is_set():
    first = load_config({"ENV": "development"}, environ={})["SECRET_KEY"]
    second = load_config({"ENV": "development"}, environ={})["SECRET_KEY"]
    assert len(first) >= 32 and first != second


def test_pages_send_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "HX-Request" in response.headers["Vary"]


def test_unknown_page_gets_the_error_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
