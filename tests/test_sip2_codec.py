"""The SIP2 codec on every published vector (parse, checksum, round trip through build) and on
generated input (Hypothesis): reading never fails other than with a typed error, and whatever
build writes reads back with no CR, LF or delimiter inside a value."""
from __future__ import annotations

import collections
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sip2 import codec

from .test_sip2_reference_data import QUIRKS, VECTORS

WRONG_CHECKSUM = re.compile(r"expected ([0-9A-F]{4})")


@pytest.mark.parametrize("source, direction, message", VECTORS, ids=[f"{n}:{v[2][:12]}" for n, v in enumerate(VECTORS)])
def test_every_published_vector_parses_and_its_checksum_verifies(source, direction, message):
    parsed = codec.parse(message)
    assert parsed.code == message[:2]
    if parsed.checksum is not None:
        assert codec.verify_checksum(message)


@pytest.mark.parametrize("source, direction, message", VECTORS, ids=[f"{n}:{v[2][:12]}" for n, v in enumerate(VECTORS)])
def test_every_published_vector_round_trips_through_build(source, direction, message):
    parsed = codec.parse(message)
    rebuilt = codec.parse(codec.build(parsed.code, parsed.fixed, parsed.fields))
    assert rebuilt.fixed == parsed.fixed
    original, again = collections.Counter(parsed.fields), collections.Counter(rebuilt.fields)
    assert not original - again
    assert all(value == "" and code in parsed.spec.required_codes for code, value in again - original)


@pytest.mark.parametrize("message, expected", [
    (m, WRONG_CHECKSUM.search(note).group(1)) for _s, _d, m, note in QUIRKS if WRONG_CHECKSUM.search(note)])
def test_wrong_published_checksums_are_caught_and_the_right_ones_computed(message, expected):
    with pytest.raises(codec.ChecksumMismatch):
        codec.parse(message)
    assert codec.checksum(message[:message.rindex("AZ") + 2]) == expected


def test_a_checksum_below_0x1000_is_written_with_four_digits_and_read_with_fewer():
    fixed = {"patron_status": " " * 14, "language": "000", "transaction_date": codec.BLANK_DATE,
             **{f"{name}_count": "0000" for name in ("hold_items", "overdue_items", "charged_items", "fine_items",
                                                      "recall_items", "unavailable_holds")}}
    for extra in range(0, 400):
        items = [("AU", f"ITEM{n:05d}{'x' * (extra % 7)}") for n in range(56)] + [("AF", "z" * extra)]
        built = codec.build("64", fixed, [("AO", "CPL"), ("AA", "P1"), ("AE", "A")] + items, sequence=1,
                            error_detection=True)
        if built[-4] == "0":
            break
    else:
        pytest.fail("no message with a checksum below 0x1000 found")
    assert re.search(r"AY1AZ0[0-9A-F]{3}\Z", built) and codec.verify_checksum(built)
    unpadded = built[:-4] + built[-3:].lstrip("0")  # how PyPI sip2 writes it
    assert codec.parse(unpadded).checksum == built[-3:].lstrip("0")
    with pytest.raises(codec.ChecksumMismatch):
        codec.parse(built[:-4] + "0FFF")


def test_ascii_accounts_get_accents_stripped_and_checksums_over_those_bytes():
    built = codec.build("20", {"item_properties_ok": "1", "transaction_date": codec.BLANK_DATE},
                        [("AB", "1"), ("AJ", "Le Piège de Bogotá 中国")], sequence=2, error_detection=True,
                        encoding="ascii")
    wire = codec.encode(built, "ascii")
    assert b"AJLe Piege de Bogota ??|" in wire and codec.verify_checksum(wire)


def test_cp850_accounts_get_cp850_bytes():
    built = codec.build("36", {"end_session": "Y", "transaction_date": codec.BLANK_DATE},
                        [("AO", "CPL"), ("AA", "1"), ("AF", "Merci, à bientôt")], encoding="cp850")
    assert "à".encode("cp850") in codec.encode(built, "cp850")


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=300))
def test_reading_random_bytes_fails_only_with_a_typed_error(data):
    try:
        codec.parse(data)
    except codec.MalformedMessage:
        pass


def _mutations():
    requests = [v[2] for v in VECTORS if v[1] == "SC->ACS"]
    return st.tuples(st.sampled_from(requests), st.integers(0, 200), st.binary(max_size=8), st.integers(0, 20))


@settings(max_examples=400, deadline=None)
@given(_mutations())
def test_reading_mutated_real_requests_fails_only_with_a_typed_error(mutation):
    message, position, insert, cut = mutation
    raw = message.encode()
    position = min(position, len(raw))
    try:
        codec.parse(raw[:position] + insert + raw[position + cut:])
    except codec.MalformedMessage:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["AO", "AA", "AE", "AF", "AG", "BL", "BV"]), st.text(max_size=400)),
                max_size=8), st.sampled_from(["|", "^"]), st.sampled_from(["utf-8", "cp850", "ascii"]))
def test_whatever_build_writes_reads_back_and_no_value_carries_cr_lf_or_the_delimiter(fields, delimiter, encoding):
    fixed = {"patron_status": " " * 14, "language": "000", "transaction_date": codec.BLANK_DATE}
    built = codec.build("24", fixed, fields, sequence=3, error_detection=True, delimiter=delimiter, encoding=encoding)
    wire = codec.encode(built, encoding)
    assert b"\r" not in wire and b"\n" not in wire
    parsed = codec.parse(wire, delimiter=delimiter, encoding=encoding)
    assert parsed.sequence == 3 and parsed.code == "24"
    for _code, value in parsed.fields:
        assert len(codec.encode(value, encoding)) <= codec.MAX_VALUE_BYTES
        assert delimiter not in value and "\r" not in value and "\n" not in value
