"""The SIP2 wire format, pure: the table of message layouts, parse, build, checksums, 18-character
dates and ``redact`` for log lines. No I/O, no database, no globals that change.

A message is ``<2-digit code><fixed fields><variable fields>[AY<digit>AZ<4 hex>]``; the runner
frames it (CR) and the dispatcher decides what it means. Input is read leniently (fields by
identifier, in any order, repeats kept, missing final delimiter tolerated); output is strict
(3M field order, required fields present, values cleaned of CR, LF and the delimiter)."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

MAX_VALUE_BYTES = 255
BLANK_DATE = " " * 18
REPEATABLE = frozenset({"AF", "AG", "AS", "AT", "AU", "AV", "BU", "CD", "BM", "BN"})
# Split into several fields rather than truncated when longer than MAX_VALUE_BYTES.
SPLITTABLE = frozenset({"AF", "AG"})
# Positions of the 16-character BX "supported messages" field of 98, in order.
BX_ORDER = ("23", "11", "09", "01", "99", "97", "93", "63", "35", "37", "17", "19", "25", "15", "29", "65")
# Never written to a log: secrets, payments, personal data.
REDACTED_FIELDS = frozenset({
    "AC", "AD", "CO",  # terminal password, patron password, login password
    "BV", "CG", "BK", "RN", "OR",  # fee amount, fee id, transaction id, check number, register login
    "AA", "AE", "BD", "BE", "BF", "PB", "CY", "DA",  # patron id, name, address, e-mail, phone, birth date, hold patron
})


class MalformedMessage(ValueError):
    """The bytes are not a SIP2 message this codec can read."""


class UnknownMessage(MalformedMessage):
    """A well-formed message code that no spec describes."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(f"unknown message code {code!r}")


class ChecksumMismatch(MalformedMessage):
    """An AZ checksum that does not match the bytes it covers."""


class InvalidDate(MalformedMessage):
    """An 18-character SIP2 date that cannot be read."""


@dataclass(frozen=True)
class FixedField:
    name: str
    width: int


@dataclass(frozen=True)
class VariableField:
    code: str
    required: bool = False


@dataclass(frozen=True)
class MessageSpec:
    code: str
    name: str
    fixed: tuple[FixedField, ...]
    fields: tuple[VariableField, ...]  # in the 3M order, which build() follows
    response: str | None = None  # the answer's code, for requests

    @property
    def fixed_width(self) -> int:
        return sum(f.width for f in self.fixed)

    @property
    def required_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.fields if f.required)

    @property
    def optional_codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.fields if not f.required)


def _spec(code: str, name: str, fixed: str, fields: str, response: str | None = None) -> MessageSpec:
    """``fixed`` is "name:width ...", ``fields`` is "AO* AA AB ..." with * marking required ones."""
    fixed_fields = tuple(FixedField(n, int(w)) for n, _, w in (part.partition(":") for part in fixed.split()))
    variable = tuple(VariableField(c.rstrip("*"), c.endswith("*")) for c in fields.split())
    return MessageSpec(code, name, fixed_fields, variable, response)


_DATE = "transaction_date:18"
_ITEM_OUT = "ok:1 renewal_ok:1 magnetic_media:1 desensitize:1 " + _DATE
_ITEM_OUT_FIELDS = "AO* AA* AB* AJ* AH* BT CI BH BV CK CH BK AF AG"
_PATRON = "patron_status:14 language:3 " + _DATE
_PATRON_COUNTS = " ".join(f"{n}_count:4" for n in ("hold_items", "overdue_items", "charged_items", "fine_items",
                                                     "recall_items", "unavailable_holds"))

SPECS: Mapping[str, MessageSpec] = {s.code: s for s in (
    # Requests, SC -> ACS
    _spec("01", "block patron", "card_retained:1 " + _DATE, "AO* AL* AA* AC*", "24"),
    _spec("09", "checkin", "no_block:1 " + _DATE + " return_date:18", "AP* AO* AB* AC* CH BI", "10"),
    _spec("11", "checkout", "sc_renewal_policy:1 no_block:1 " + _DATE + " nb_due_date:18",
          "AO* AA* AB* AC* CH AD BO BI", "12"),
    _spec("15", "hold", "hold_mode:1 " + _DATE, "BW BS BY AO* AA* AD AB AJ AC BO", "16"),
    _spec("17", "item information", _DATE, "AO* AB* AC", "18"),
    _spec("19", "item status update", _DATE, "AO* AB* AC CH*", "20"),
    _spec("23", "patron status request", "language:3 " + _DATE, "AO* AA* AC* AD*", "24"),
    _spec("25", "patron enable", _DATE, "AO* AA* AC AD", "26"),
    _spec("29", "renew", "third_party_allowed:1 no_block:1 " + _DATE + " nb_due_date:18",
          "AO* AA* AD AB AJ AC CH BO", "30"),
    _spec("35", "end patron session", _DATE, "AO* AA* AC AD", "36"),
    _spec("37", "fee paid", _DATE + " fee_type:2 payment_type:2 currency_type:3", "BV* AO* AA* AC AD CG BK RN OR", "38"),
    _spec("63", "patron information", "language:3 " + _DATE + " summary:10", "AO* AA* AC AD BP BQ", "64"),
    _spec("65", "renew all", _DATE, "AO* AA* AD AC BO", "66"),
    _spec("93", "login", "uid_algorithm:1 pwd_algorithm:1", "CN* CO* CP", "94"),
    _spec("97", "request ACS resend", "", ""),
    _spec("99", "SC status", "status_code:1 max_print_width:3 protocol_version:4", "", "98"),
    # Responses, ACS -> SC (3M extensions CT CV CY DA CS CR on 10, PB PC PI on 64)
    _spec("10", "checkin response", "ok:1 resensitize:1 magnetic_media:1 alert:1 " + _DATE,
          "AO* AB* AQ* AJ CL AA CK CH CT CV CY DA CS CR AF AG"),
    _spec("12", "checkout response", _ITEM_OUT, _ITEM_OUT_FIELDS),
    _spec("16", "hold response", "ok:1 available:1 " + _DATE, "BW BR BS AO* AA* AB AJ AF AG"),
    _spec("18", "item information response", "circulation_status:2 security_marker:2 fee_type:2 " + _DATE,
          "CF AH CJ CM AB* AJ* BG BH BV CK AQ AP CH CT CS CR AF AG"),
    _spec("20", "item status update response", "item_properties_ok:1 " + _DATE, "AB* AJ CH AF AG"),
    _spec("24", "patron status response", _PATRON, "AO* AA* AE* BL CQ BH BV AF AG"),
    _spec("26", "patron enable response", _PATRON, "AO* AA* AE* BL CQ AF AG"),
    _spec("30", "renew response", _ITEM_OUT, _ITEM_OUT_FIELDS),
    _spec("36", "end session response", "end_session:1 " + _DATE, "AO* AA* AF AG"),
    _spec("38", "fee paid response", "payment_accepted:1 " + _DATE, "AO* AA* BK AF AG"),
    _spec("64", "patron information response", _PATRON + " " + _PATRON_COUNTS,
          "AO* AA* AE* BZ CA CB BL CQ BH BV CC AS AT AU AV BU CD BD BE BF PB PC PI AF AG"),
    _spec("66", "renew all response", "ok:1 renewed_count:4 unrenewed_count:4 " + _DATE, "AO* BM BN AF AG"),
    _spec("94", "login response", "ok:1", ""),
    _spec("96", "request SC resend", "", ""),
    _spec("98", "ACS status", "online_status:1 checkin_ok:1 checkout_ok:1 acs_renewal_policy:1 status_update_ok:1 "
          "offline_ok:1 timeout_period:3 retries_allowed:3 date_time_sync:18 protocol_version:4",
          "AO* AM BX* AN AF AG"),
)}

# The 3M 2.00 identifiers and the extensions Carrel knows (section 8 and 9 of the reference).
FIELD_NAMES: Mapping[str, str] = dict(pair.split("=") for pair in (
    "AA=patron identifier;AB=item identifier;AC=terminal password;AD=patron password;AE=personal name;"
    "AF=screen message;AG=print line;AH=due date;AJ=title identifier;AL=blocked card msg;AM=library name;"
    "AN=terminal location;AO=institution id;AP=current location;AQ=permanent location;AS=hold items;"
    "AT=overdue items;AU=charged items;AV=fine items;AY=sequence number;AZ=checksum;BD=home address;"
    "BE=e-mail address;BF=home phone number;BG=owner;BH=currency type;BI=cancel;BK=transaction id;"
    "BL=valid patron;BM=renewed items;BN=unrenewed items;BO=fee acknowledged;BP=start item;BQ=end item;"
    "BR=queue position;BS=pickup location;BT=fee type;BU=recall items;BV=fee amount;BW=expiration date;"
    "BX=supported messages;BY=hold type;BZ=hold items limit;CA=overdue items limit;CB=charged items limit;"
    "CC=fee limit;CD=unavailable hold items;CF=hold queue length;CG=fee identifier;CH=item properties;"
    "CI=security inhibit;CJ=recall date;CK=media type;CL=sort bin;CM=hold pickup date;CN=login user id;"
    "CO=login password;CP=location code;CQ=valid patron password;CR=collection code;CS=call number;"
    "CT=destination location;CV=alert type;CY=hold patron id;DA=hold patron name;PB=birth date;"
    "PC=patron class;PI=internet privileges;OR=register login;RN=check number"
).split(";"))


@dataclass(frozen=True)
class Message:
    """A parsed message: fixed fields by name, variable fields in wire order (repeats kept)."""

    code: str
    fixed: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[tuple[str, str], ...] = ()
    sequence: int | None = None  # AY
    checksum: str | None = None  # AZ, as received

    @property
    def spec(self) -> MessageSpec:
        return SPECS[self.code]

    def get(self, code: str, default: str | None = None) -> str | None:
        """The first value of field ``code`` (Koha keeps the first of duplicates too)."""
        return next((value for c, value in self.fields if c == code), default)

    def get_all(self, code: str) -> list[str]:
        return [value for c, value in self.fields if c == code]


# ---------------------------------------------------------------------------------------------
# Checksums

# Clients that forget to zero-pad (PyPI ``sip2`` writes ``format(x, "X")``) send 1-3 digits; after
# "AY<digit>AZ" the digits are unambiguous, so they are read by value. A lone AZ needs all four.
_TRAILER = re.compile(rb"AY([0-9])AZ([0-9A-Fa-f]{1,4})\Z")
_LONE_AZ = re.compile(rb"AZ([0-9A-Fa-f]{4})\Z")
_ASCII = frozenset({"ascii", "us-ascii", "646"})


def _plain_ascii(text: str) -> str:
    """Accents dropped (NFKD, combining marks removed), as Evergreen does for ASCII accounts."""
    return "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))


def encode(text: str, encoding: str = "utf-8") -> bytes:
    """The bytes that go on the wire; characters the encoding lacks become '?' (for ASCII,
    accented letters lose their accents first: "Piège" is sent as "Piege")."""
    if encoding.lower() in _ASCII and not text.isascii():
        text = _plain_ascii(text)
    return text.encode(encoding, errors="replace")


def checksum(data: str | bytes, encoding: str = "utf-8") -> str:
    """AZ value for ``data`` (everything up to and including "AZ"): four upper-case hex digits
    of the two's complement of the byte sum."""
    raw = encode(data, encoding) if isinstance(data, str) else data
    return f"{(-sum(raw)) & 0xFFFF:04X}"


def verify_checksum(message: str | bytes, encoding: str = "utf-8") -> bool:
    """True when ``message`` (without terminator) ends in AZ and four hex digits that check."""
    raw = encode(message, encoding) if isinstance(message, str) else message
    raw = raw.rstrip(b"\r\n")
    match = _LONE_AZ.search(raw)
    if match is None:
        return False
    return (sum(raw[:match.start(1)]) + int(match.group(1), 16)) & 0xFFFF == 0


def has_trailer(raw: str | bytes) -> bool:
    """Whether ``raw`` ends like a message under error detection (AY?AZ???? or AZ????)."""
    data = (encode(raw) if isinstance(raw, str) else raw).rstrip(b"\r\n")
    return _TRAILER.search(data) is not None or _LONE_AZ.search(data) is not None


# ---------------------------------------------------------------------------------------------
# Parse

_CODE = re.compile(r"[0-9]{2}\Z")
_FIELD_CODE = re.compile(r"[A-Za-z0-9]{2}\Z")


def _split_trailer(raw: bytes, delimiter: bytes) -> tuple[bytes, int | None, str | None, int | None]:
    """(body, sequence, checksum, index just past "AZ") or the raw bytes and Nones."""
    match = _TRAILER.search(raw)
    if match:
        return raw[:match.start()], int(match.group(1)), match.group(2).decode("ascii"), match.start(2)
    match = _LONE_AZ.search(raw)
    if match:
        body = raw[:match.start()]
        # A lone AZ counts only at a field boundary: after a delimiter or right after the fixed part.
        spec = SPECS.get(body[:2].decode("ascii", "replace"))
        if body.endswith(delimiter) or (spec is not None and len(body) == 2 + spec.fixed_width):
            return body, None, match.group(1).decode("ascii"), match.start(1)
    return raw, None, None, None


_DATE_SHAPE = re.compile(r"[0-9Y]{8}[ A-Z]{4}[0-9HMS]{6}")


def _forgot_the_date(spec: MessageSpec, text: str) -> bool:
    """A request whose only fixed field is its transaction date, sent without it (PyPI ``sip2``
    writes 65 that way): its variable fields start right after the code. Read as a blank date."""
    return (len(spec.fixed) == 1 and spec.fixed[0].name == "transaction_date" and spec.response is not None
            and text[2:4] in {f.code for f in spec.fields} and not _DATE_SHAPE.match(text[2:20]))


_LOGIN_DELIMITER = re.compile(rb"\A93..CN[^\r]*?([^A-Za-z0-9\s])CO")


def login_delimiter(raw: bytes, default: str = "|") -> str:
    """The field delimiter a login (93) uses: the character before its CO field. A site may
    configure another delimiter than "|" (FOLIO's tests use "^"), and the account that says so
    is not known until the login is read."""
    if default.encode("ascii") in raw:
        return default
    match = _LOGIN_DELIMITER.match(raw)
    return match.group(1).decode("ascii") if match else default


def parse(data: bytes | str, delimiter: str = "|", encoding: str = "utf-8", *, verify: bool = True) -> Message:
    """Read one message (a trailing CR or CR LF is ignored). Raises MalformedMessage (or its
    UnknownMessage / ChecksumMismatch subclasses) for anything that cannot be read."""
    raw = encode(data, encoding) if isinstance(data, str) else bytes(data)
    raw = raw.strip(b"\r\n")
    if b"\x00" in raw:
        raise MalformedMessage("NUL byte in message")
    if b"\r" in raw:
        raise MalformedMessage("CR inside message")
    delim = delimiter.encode("ascii")
    body, sequence, check, checked_end = _split_trailer(raw, delim)
    if verify and checked_end is not None and check is not None:
        if (sum(raw[:checked_end]) + int(check, 16)) & 0xFFFF != 0:
            raise ChecksumMismatch(f"checksum {check} does not match")
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise MalformedMessage(f"not valid {encoding}") from exc
    code = text[:2]
    if not _CODE.match(code):
        raise MalformedMessage("message does not start with a 2-digit code")
    spec = SPECS.get(code)
    if spec is None:
        raise UnknownMessage(code)
    if _forgot_the_date(spec, text):
        text = text[:2] + BLANK_DATE + text[2:]
    end = 2 + spec.fixed_width
    if len(text) < end:
        raise MalformedMessage(f"fixed part of {code} is shorter than {spec.fixed_width} characters")
    fixed: dict[str, str] = {}
    position = 2
    for fixed_field in spec.fixed:
        fixed[fixed_field.name] = text[position:position + fixed_field.width]
        position += fixed_field.width
    fields: list[tuple[str, str]] = []
    for segment in text[end:].split(delimiter):
        if not segment:
            continue  # "||" runs, a stray delimiter after the fixed part
        field_code = segment[:2]
        if not _FIELD_CODE.match(field_code):
            raise MalformedMessage(f"bad field identifier {field_code!r}")
        fields.append((field_code.upper(), segment[2:]))
    return Message(code, fixed, tuple(fields), sequence, check)


# ---------------------------------------------------------------------------------------------
# Build

def clean_value(value: str, delimiter: str = "|") -> str:
    """A value safe inside a field: CR, LF, NUL and the delimiter become spaces."""
    for bad in ("\r", "\n", "\x00", delimiter):
        value = value.replace(bad, " ")
    return value


def _chunks(value: str, encoding: str, limit: int = MAX_VALUE_BYTES) -> list[str]:
    """``value`` cut into pieces of at most ``limit`` encoded bytes, never inside a character."""
    if len(value) * 4 <= limit or len(encode(value, encoding)) <= limit:
        return [value]  # the usual value fits whole (no character takes more than 4 bytes)
    pieces: list[str] = []
    current = ""
    size = 0
    for char in value:
        width = len(encode(char, encoding))
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return pieces


def _ordered(spec: MessageSpec, fields: Iterable[tuple[str, str | None]]) -> list[tuple[str, str]]:
    order = {f.code: i for i, f in enumerate(spec.fields)}
    vendor_slot = order.get("AF", len(order)) - 0.5  # unknown (vendor) fields go before AF/AG
    present = [(code, value) for code, value in fields if value is not None]
    for required in spec.required_codes:
        if not any(code == required for code, _ in present):
            present.append((required, ""))  # strict on output: required fields sent empty
    return sorted(present, key=lambda pair: order.get(pair[0], vendor_slot))


def build(code: str, fixed: Mapping[str, str] | None = None, fields: Iterable[tuple[str, str | None]] = (),
          sequence: int | None = None, error_detection: bool = False, *, delimiter: str = "|",
          encoding: str = "utf-8") -> str:
    """The message text (without terminator): fixed fields at their widths, variable fields in the
    3M order (None values left out, missing required ones sent empty, long AF/AG repeated),
    and under ``error_detection`` the AY/AZ trailer (AZ only for 96 and 97)."""
    spec = SPECS.get(code)
    if spec is None:
        raise ValueError(f"no spec for message code {code!r}")
    fixed = dict(fixed or {})
    unknown = set(fixed) - {f.name for f in spec.fixed}
    if unknown:
        raise ValueError(f"{code} has no fixed fields {sorted(unknown)}")
    parts = [code]
    for fixed_field in spec.fixed:
        if fixed_field.name not in fixed:
            raise ValueError(f"{code} needs fixed field {fixed_field.name}")
        value = clean_value(fixed[fixed_field.name], delimiter)
        if len(value) != fixed_field.width:
            raise ValueError(f"{code} {fixed_field.name} must be {fixed_field.width} characters, got {value!r}")
        parts.append(value)
    for field_code, value in _ordered(spec, fields):
        if not _FIELD_CODE.match(field_code):
            raise ValueError(f"bad field identifier {field_code!r}")
        pieces = _chunks(clean_value(value, delimiter), encoding)
        if field_code not in SPLITTABLE:
            pieces = pieces[:1]
        parts.extend(f"{field_code}{piece}{delimiter}" for piece in pieces)
    text = "".join(parts)
    if not error_detection:
        return text
    if code in ("96", "97"):
        text += "AZ"
    else:
        if sequence is not None and not 0 <= sequence <= 9:
            raise ValueError("sequence number must be a digit 0-9")
        text += f"AY{sequence or 0}AZ"
    return text + checksum(text, encoding)


def supported_messages(codes: Iterable[str]) -> str:
    """The 16-character BX value of 98: Y at the position of each supported request."""
    supported = set(codes)
    return "".join("Y" if code in supported else "N" for code in BX_ORDER)


def yes_no(flag: bool) -> str:
    return "Y" if flag else "N"


def digits(value: int, width: int) -> str:
    """``value`` zero padded to ``width`` digits, clamped to what fits (e.g. 3 digits: 0-999)."""
    return f"{min(max(value, 0), 10 ** width - 1):0{width}d}"


# ---------------------------------------------------------------------------------------------
# Dates

_SIP_DATE = re.compile(r"([0-9]{8})([ A-Z]{4})([0-9]{6})\Z")


def format_date(moment: dt.datetime, zone: dt.tzinfo | None = None, *, utc: bool = False) -> str:
    """``YYYYMMDD    HHMMSS`` in local time (an aware ``moment`` is converted to ``zone``; a naive
    one is taken as already local), or ``YYYYMMDD   ZHHMMSS`` in UTC when ``utc``."""
    if utc:
        if moment.tzinfo is None:
            raise ValueError("a naive datetime cannot be written as UTC")
        return moment.astimezone(dt.timezone.utc).strftime("%Y%m%d   Z%H%M%S")
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y%m%d    %H%M%S")


def parse_date(text: str, zone: dt.tzinfo) -> dt.datetime | None:
    """An aware datetime from an 18-character SIP2 date; None for 18 blanks. A blank zone slot
    means ``zone`` (the library's), a final Z means UTC, other letters are taken as local."""
    if len(text) != 18:
        raise InvalidDate(f"a SIP2 date has 18 characters, not {len(text)}")
    if not text.strip():
        return None
    match = _SIP_DATE.match(text)
    if match is None:
        raise InvalidDate(f"not a SIP2 date: {text!r}")
    day, slot, time = match.groups()
    try:
        naive = dt.datetime.strptime(day + time, "%Y%m%d%H%M%S")
    except ValueError as exc:
        raise InvalidDate(f"not a SIP2 date: {text!r}") from exc
    return naive.replace(tzinfo=dt.timezone.utc if slot.endswith("Z") else zone)


# ---------------------------------------------------------------------------------------------
# Logging

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CLEAN_HEAD = re.compile(r"[0-9]{2}[ -~]*\Z")
_FIELD_START = re.compile(r"[A-Z]{2}")
_SECRET_ANYWHERE = re.compile("(" + "|".join(sorted(REDACTED_FIELDS)) + ")(.*)", re.DOTALL)


def _mask(segment: str) -> str:
    """A redacted field keeps only its code; a segment that does not even start like a field
    (garbage) is masked from the first redacted code found anywhere in it."""
    if segment[:2] in REDACTED_FIELDS:
        return segment[:2] + "***"
    if _FIELD_START.match(segment[:2]):
        return segment
    return _SECRET_ANYWHERE.sub(lambda match: match.group(1) + "***", segment, count=1)


def redact(message: bytes | str | Message, delimiter: str = "|", limit: int = 300) -> str:
    """A loggable rendering of a message with secrets, payments and personal data masked
    (REDACTED_FIELDS), control characters escaped and length capped. Works on garbage too."""
    if isinstance(message, Message):
        text = message.code + "".join(message.fixed.values()) + "".join(
            f"{code}{value}{delimiter}" for code, value in message.fields)
    else:
        text = message.decode("utf-8", errors="replace") if isinstance(message, bytes) else message
        text = text.rstrip("\r\n")
    spec = SPECS.get(text[:2])
    head_length = 2 + spec.fixed_width if spec is not None and len(text) >= 2 + spec.fixed_width else 0
    head, rest = text[:head_length], text[head_length:]
    if not _CLEAN_HEAD.match(head):  # garbage where the fixed part should be: secrets may hide in it
        head, rest = "", text
    segments = [_mask(segment) for segment in rest.split(delimiter)]
    shown = head + delimiter.join(segments)
    shown = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", shown)
    if len(shown) > limit:
        shown = f"{shown[:limit]}...({len(text)} chars)"
    return shown


__all__: Sequence[str] = (
    "BLANK_DATE", "BX_ORDER", "ChecksumMismatch", "FIELD_NAMES", "FixedField", "InvalidDate", "MalformedMessage",
    "Message", "MessageSpec", "REDACTED_FIELDS", "SPECS", "UnknownMessage", "VariableField", "build", "checksum",
    "clean_value", "digits", "encode", "format_date", "has_trailer", "parse", "parse_date", "redact",
    "supported_messages", "verify_checksum", "yes_no",
)
