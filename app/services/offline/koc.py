"""The .koc file of Koha's offline tools, read line by line into typed records or typed,
line-numbered errors: one bad line never stops the others.

The format (Koha's ``process_koc.pl``, the desktop tool's ``kocfile.cpp``): TAB-separated,
CR stripped; line 1 ``Version=1.0<TAB>Generator=...<TAB>GeneratorVersion=...``; then

    <timestamp> issue   <cardnumber> <barcode>
    <timestamp> return  <barcode>
    <timestamp> payment <cardnumber> <amount>

with timestamps in the workstation's local time and no zone, as the desktop tool writes them:
``2024-03-05 14-22-07 123`` (hyphens in the time, milliseconds as a third token). Colons in the
time and a missing millisecond token are read too. Local times are the library's time zone."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Iterable
from zoneinfo import ZoneInfo

from app import clock
from app.models import OfflineAction

EXPECTED_VERSION = "1.0"
CARDNUMBER_MAX = 32
BARCODE_MAX = 40
TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<h>\d{2})[-:](?P<m>\d{2})[-:](?P<s>\d{2})(?:[ .](?P<frac>\d{1,6}))?$")
FIELDS = {  # action: (fields after the action, their names)
    OfflineAction.ISSUE: ("card number", "barcode"),
    OfflineAction.RETURN: ("barcode",),
    OfflineAction.PAYMENT: ("card number", "amount"),
}


@dataclass(frozen=True)
class KocRecord:
    """One well-formed line. ``occurred_at`` is aware, in UTC."""

    line_number: int
    occurred_at: dt.datetime
    action: OfflineAction
    cardnumber: str | None = None
    barcode: str | None = None
    amount: Decimal | None = None


@dataclass(frozen=True)
class KocLineError:
    """A line that could not be read, with why; ``text`` is the line as found (shortened)."""

    line_number: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.reason}"


@dataclass
class KocFile:
    version: str | None = None
    generator: str | None = None
    generator_version: str | None = None
    records: list[KocRecord] = field(default_factory=list)
    errors: list[KocLineError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def generator_label(self) -> str:
        return " ".join(p for p in (self.generator, self.generator_version) if p) or "unknown tool"


class InvalidOfflineRecord(ValueError):
    """Why one line (or one transaction of the offline page) cannot be read."""


def parse_timestamp(text: str, zone: ZoneInfo | None = None) -> dt.datetime:
    """A .koc timestamp (library-local, no zone) as an aware UTC datetime."""
    match = TIMESTAMP.match(text.strip())
    if not match:
        raise InvalidOfflineRecord(f"timestamp {text.strip()!r} is not like 2024-03-05 14-22-07 123")
    frac = match["frac"] or "0"
    micro = int(frac) * 1000 if len(frac) <= 3 else int(frac.ljust(6, "0"))
    try:
        day = dt.date.fromisoformat(match["date"])
        local = dt.datetime.combine(day, dt.time(int(match["h"]), int(match["m"]), int(match["s"]), micro),
                                    tzinfo=zone or clock.timezone())
    except ValueError:
        raise InvalidOfflineRecord(f"timestamp {text.strip()!r} is not a real date and time") from None
    return local.astimezone(dt.timezone.utc)


def format_timestamp(moment: dt.datetime, zone: ZoneInfo | None = None) -> str:
    """The desktop tool's way of writing a moment: local time, ``yyyy-MM-dd hh-mm-ss zzz``."""
    local = moment.astimezone(zone or clock.timezone())
    return local.strftime("%Y-%m-%d %H-%M-%S ") + f"{local.microsecond // 1000:03d}"


def parse_amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidOfflineRecord(f"amount {text.strip()!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidOfflineRecord(f"amount {text.strip()!r} must be more than zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidOfflineRecord(f"amount {text.strip()!r} has more than two decimals")
    return amount.quantize(Decimal("0.01"))


def _code(text: str, what: str, longest: int) -> str:
    value = text.strip()
    if not value:
        raise InvalidOfflineRecord(f"the {what} is empty")
    if len(value) > longest:
        raise InvalidOfflineRecord(f"the {what} is longer than {longest} characters")
    return value


def parse_record(line: str, line_number: int, zone: ZoneInfo | None = None) -> KocRecord:
    """One record line, or InvalidOfflineRecord with the reason."""
    if "\ufffd" in line:
        raise InvalidOfflineRecord("the line is not valid UTF-8 text")
    fields = line.split("\t")
    while len(fields) > 1 and not fields[-1].strip():
        fields.pop()  # trailing empty columns
    if len(fields) < 2:
        raise InvalidOfflineRecord("expected TAB-separated fields: a timestamp, an action and its arguments")
    occurred_at = parse_timestamp(fields[0], zone)
    name = fields[1].strip().lower()
    try:
        action = OfflineAction(name)
    except ValueError:
        raise InvalidOfflineRecord(f"unknown action {fields[1].strip()!r} (expected issue, return or payment)") from None
    wanted = FIELDS[action]
    arguments = fields[2:]
    if len(arguments) != len(wanted):
        raise InvalidOfflineRecord(f"{action.value} needs {' and '.join(wanted)} ({len(wanted) + 2} fields), "
                             f"found {len(fields)} field(s)")
    if action is OfflineAction.ISSUE:
        return KocRecord(line_number, occurred_at, action, cardnumber=_code(arguments[0], "card number", CARDNUMBER_MAX),
                         barcode=_code(arguments[1], "barcode", BARCODE_MAX))
    if action is OfflineAction.RETURN:
        return KocRecord(line_number, occurred_at, action, barcode=_code(arguments[0], "barcode", BARCODE_MAX))
    return KocRecord(line_number, occurred_at, action, cardnumber=_code(arguments[0], "card number", CARDNUMBER_MAX),
                     amount=parse_amount(arguments[1]))


def _header(line: str, koc: KocFile) -> bool:
    """Read line 1 as the header when it is one (key=value pairs)."""
    pairs = [part.split("=", 1) for part in line.split("\t") if part.strip()]
    if not pairs or any(len(p) != 2 for p in pairs):
        return False
    values = {key.strip(): value.strip() for key, value in pairs}
    if "Version" not in values:
        return False
    koc.version = values.get("Version")
    koc.generator = values.get("Generator")
    koc.generator_version = values.get("GeneratorVersion")
    if koc.version != EXPECTED_VERSION:
        koc.warnings.append(f"file version {koc.version!r}, expected {EXPECTED_VERSION}: lines read anyway")
    return True


def _lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8-sig", errors="replace")
    if isinstance(source, str):
        return source.lstrip("\ufeff").split("\n")
    return source


def parse_koc(source: str | bytes | Iterable[str], *, zone: ZoneInfo | None = None) -> KocFile:
    """Every line of a .koc file: records in file order and an error for each line that could
    not be read (with its 1-based line number). Blank lines are skipped."""
    koc = KocFile()
    for number, raw in enumerate(_lines(source), start=1):
        line = raw.replace("\r", "").rstrip("\n")
        if not line.strip():
            continue
        if number == 1 and _header(line, koc):
            continue
        if number == 1:
            koc.warnings.append("no Version header on line 1: lines read anyway")
        try:
            koc.records.append(parse_record(line, number, zone))
        except InvalidOfflineRecord as error:
            koc.errors.append(KocLineError(number, str(error), line[:200]))
    return koc


def koc_line(record: KocRecord, zone: ZoneInfo | None = None) -> str:
    """A record written back as a .koc line (tests, benchmarks, exports)."""
    stamp = format_timestamp(record.occurred_at, zone)
    if record.action is OfflineAction.ISSUE:
        return f"{stamp}\tissue\t{record.cardnumber}\t{record.barcode}"
    if record.action is OfflineAction.RETURN:
        return f"{stamp}\treturn\t{record.barcode}"
    return f"{stamp}\tpayment\t{record.cardnumber}\t{record.amount:.2f}"


def koc_header(generator: str = "Carrel", version: str = "1") -> str:
    return f"Version={EXPECTED_VERSION}\tGenerator={generator}\tGeneratorVersion={version}"
