"""Deployment settings: every key declared here with a type and a default, read from the
environment (prefixed ``CARREL_``, plus ``DATABASE_URL`` and ``SECRET_KEY``) and validated at
start. Library policy (system preferences, circulation rules) lives in the database instead."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping


class ConfigError(ValueError):
    """A deployment setting is missing or malformed; raised at start, never mid-request."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _listeners(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value]
    else:
        items = [v.strip() for v in str(value).split(",")]
    items = [i for i in items if i]
    for item in items:
        kind, _, rest = item.partition(":")
        if kind not in {"tcp", "tls", "serial"} or not rest:
            raise ValueError(f"listener {item!r} must look like tcp:HOST:PORT, tls:HOST:PORT or serial:/dev/PATH")
        if kind in {"tcp", "tls"}:
            _, _, port = rest.rpartition(":")
            if not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"listener {item!r} has no valid port")
    return items


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[Any], Any]
    doc: str
    env: str | None = None

    @property
    def env_name(self) -> str:
        return self.env or f"CARREL_{self.name}"


def _default_database_url() -> str:
    return "sqlite:///" + str(Path("instance").resolve() / "carrel.db")


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, str, "SQLAlchemy URL (sqlite:///..., postgresql+psycopg://..., mysql+pymysql://...)", env="DATABASE_URL"),
    Setting("SECRET_KEY", None, str, "signs session cookies and CSRF tokens; required outside development", env="SECRET_KEY"),
    Setting("ENV", "production", str, "production | development | testing"),
    Setting("TIMEZONE", "UTC", str, "the libraries' local time zone (IANA name) for due dates and SIP2 dates"),
    Setting("RUN_SCHEDULER", False, _bool, "this process runs the scheduled jobs"),
    Setting("RUN_SIP2", False, _bool, "this process runs the SIP2 listeners"),
    Setting("SIP2_LISTENERS", "tcp:127.0.0.1:6001", _listeners, "comma list of tcp:HOST:PORT, tls:HOST:PORT, serial:/dev/PATH"),
    Setting("SIP2_TLS_CERT", "", str, "certificate file for tls listeners"),
    Setting("SIP2_TLS_KEY", "", str, "key file for tls listeners"),
    Setting("SIP2_SERIAL_BAUD", 9600, int, "baud rate for serial listeners"),
    Setting("SIP2_SERIAL_PARITY", "N", str, "parity for serial listeners: N, E or O"),
    Setting("SIP2_MAX_MESSAGE", 16384, int, "longest SIP2 message accepted, in bytes"),
    Setting("SIP2_IDLE_TIMEOUT", 900, int, "seconds before an idle SIP2 connection is closed"),
    Setting("SIP2_LOGIN_TIMEOUT", 60, int, "seconds an unauthenticated SIP2 connection may take to log in"),
    Setting("SIP2_MAX_PER_ADDRESS", 50, int, "most SIP2 connections from one address"),
    Setting("SIP2_WORKERS", 8, int, "threads answering SIP2 messages (database work), shared by every listener"),
    Setting("SIP2_CURRENCY", "USD", str, "ISO 4217 currency of fee amounts sent to kiosks (BH)"),
    Setting("SIP2_PIN_MAX_FAILURES", 5, int, "wrong patron PINs (AD) for one patron before its PIN checks pause"),
    Setting("SIP2_PIN_MAX_FAILURES_CONNECTION", 10, int, "wrong patron PINs on one SIP2 connection before its PIN checks pause"),
    Setting("SIP2_PIN_LOCK_SECONDS", 900, int, "how long paused PIN checks stay refused"),
    Setting("MAIL_TRANSPORT", "outbox", str, "smtp | outbox (writes messages to MAIL_OUTBOX_DIR, for development and tests)"),
    Setting("MAIL_OUTBOX_DIR", "instance/outbox", str, "folder for the outbox transport"),
    Setting("SMTP_HOST", "localhost", str, "SMTP server"),
    Setting("SMTP_PORT", 587, int, "SMTP port"),
    Setting("SMTP_TLS", True, _bool, "STARTTLS with the SMTP server"),
    Setting("SMTP_SSL", False, _bool, "implicit TLS from the first byte (usually port 465) instead of STARTTLS"),
    Setting("SMTP_TIMEOUT", 30, int, "seconds to wait on the SMTP server"),
    Setting("SMTP_USER", "", str, "SMTP login"),
    Setting("SMTP_PASSWORD", "", str, "SMTP password"),
    Setting("MAIL_FROM", "library@example.org", str, "From address of notices"),
    Setting("NOTICE_MAX_ATTEMPTS", 5, int, "tries before a notice is marked failed"),
    Setting("NOTICE_RETRY_SECONDS", 300, int, "wait before the first retry of a notice; doubled after each failure"),
    Setting("NOTICE_BATCH_SIZE", 500, int, "notices one sender step claims and sends over one SMTP connection"),
    Setting("SESSION_COOKIE_SECURE", False, _bool, "send the session cookie only over TLS (turn on behind HTTPS)"),
    Setting("LOGIN_MAX_FAILURES_ACCOUNT", 5, int, "failed logins on one account before it is throttled"),
    Setting("LOGIN_MAX_FAILURES_ADDRESS", 20, int, "failed logins from one address before it is throttled"),
    Setting("LOGIN_THROTTLE_SECONDS", 900, int, "how long a throttled account or address waits"),
)


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the validated configuration: declared defaults, then the environment, then ``overrides``.

    Unknown keys in ``overrides`` are passed through (Flask's own keys, test switches)."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = overrides.pop(setting.name, environ.get(setting.env_name, setting.default))
        if raw is None:
            config[setting.name] = None
            continue
        try:
            config[setting.name] = setting.parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{setting.env_name}: {exc}") from None
    config.update(overrides)

    if config["ENV"] not in {"production", "development", "testing"}:
        raise ConfigError(f"CARREL_ENV must be production, development or testing, not {config['ENV']!r}")
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = _default_database_url()
    if not config["SECRET_KEY"]:
        if config["ENV"] == "production":
            raise ConfigError("SECRET_KEY must be set in production (a long random string)")
        config["SECRET_KEY"] = secrets.token_hex(32)
    if config["MAIL_TRANSPORT"] not in {"smtp", "outbox"}:
        raise ConfigError("CARREL_MAIL_TRANSPORT must be smtp or outbox")
    if config["SIP2_SERIAL_PARITY"] not in {"N", "E", "O"}:
        raise ConfigError("CARREL_SIP2_SERIAL_PARITY must be N, E or O")
    if not (len(config["SIP2_CURRENCY"]) == 3 and config["SIP2_CURRENCY"].isascii()
            and config["SIP2_CURRENCY"].isalpha() and config["SIP2_CURRENCY"].isupper()):
        raise ConfigError("CARREL_SIP2_CURRENCY must be a three-letter ISO 4217 code such as USD or EUR")
    for name in ("NOTICE_MAX_ATTEMPTS", "NOTICE_BATCH_SIZE", "SMTP_TIMEOUT",
                 "SIP2_WORKERS", "SIP2_PIN_MAX_FAILURES", "SIP2_PIN_MAX_FAILURES_CONNECTION", "SIP2_MAX_MESSAGE",
                 "SIP2_MAX_PER_ADDRESS"):
        if config[name] < 1:
            raise ConfigError(f"CARREL_{name} must be at least 1")
    if any(item.startswith("tls:") for item in config["SIP2_LISTENERS"]) and not (
        config["SIP2_TLS_CERT"] and config["SIP2_TLS_KEY"]
    ):
        raise ConfigError("a tls: SIP2 listener needs CARREL_SIP2_TLS_CERT and CARREL_SIP2_TLS_KEY")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(config["TIMEZONE"])
    except Exception:
        raise ConfigError(f"CARREL_TIMEZONE {config['TIMEZONE']!r} is not a known time zone") from None

    config.setdefault("SQLALCHEMY_ECHO", False)
    config.setdefault("TESTING", config["ENV"] == "testing")
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    config["SESSION_COOKIE_HTTPONLY"] = True
    config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    config["REMEMBER_COOKIE_HTTPONLY"] = True
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    return config
