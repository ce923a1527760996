""".koc files: Koha's desktop-tool format read line by line, every bad line reported with its
number and why, the good ones kept."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.models import OfflineAction
from app.services.offline import KocRecord, koc_header, koc_line, parse_koc
from app.services.offline.koc import format_timestamp, parse_timestamp

UTC = dt.timezone.utc
HEADER = "Version=1.0\tGenerator=kocDesktop\tGeneratorVersion=2.4.0"


def test_the_desktop_tools_file_is_read_with_its_header():
    koc = parse_koc("\n".join([
        HEADER,
        "2024-03-05 14-22-07 123\tissue\t23529000012345\t39999000001234",
        "2024-03-05 14-25-40 910\treturn\t39999000005678",
        "2024-03-05 14-30-02 004\tpayment\t23529000012345\t2.50",
    ]), zone=ZoneInfo("UTC"))
    assert (koc.version, koc.generator, koc.generator_version) == ("1.0", "kocDesktop", "2.4.0")
    assert koc.errors == [] and koc.warnings == []
    assert koc.records == [
        KocRecord(2, dt.datetime(2024, 3, 5, 14, 22, 7, 123000, tzinfo=UTC), OfflineAction.ISSUE,
                  cardnumber="23529000012345", barcode="39999000001234"),
        KocRecord(3, dt.datetime(2024, 3, 5, 14, 25, 40, 910000, tzinfo=UTC), OfflineAction.RETURN,
                  barcode="39999000005678"),
        KocRecord(4, dt.datetime(2024, 3, 5, 14, 30, 2, 4000, tzinfo=UTC), OfflineAction.PAYMENT,
                  cardnumber="23529000012345", amount=Decimal("2.50")),
    ]


def test_timestamps_are_library_local_time_converted_to_utc():
    moment = parse_timestamp("2024-07-01 09-00-00 500", ZoneInfo("Europe/Paris"))
    assert moment == dt.datetime(2024, 7, 1, 7, 0, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2024-03-05 14:22:07", "2024-03-05 14-22-07", "2024-03-05T14:22:07.123"])
def test_colons_and_a_missing_millisecond_token_are_read_too(text):
    assert parse_timestamp(text, ZoneInfo("UTC")).replace(microsecond=0) == dt.datetime(2024, 3, 5, 14, 22, 7, tzinfo=UTC)


def test_windows_line_ends_a_byte_order_mark_and_blank_lines_are_harmless():
    data = ("\ufeff" + HEADER + "\r\n\r\n2024-03-05 14-22-07 123\treturn\t39999000005678\r\n").encode("utf-8")
    koc = parse_koc(data)
    assert koc.errors == [] and [r.barcode for r in koc.records] == ["39999000005678"]
    assert koc.records[0].line_number == 3


BAD_LINES = [
    ("2024-03-05 14-22-07 123\tborrow\t2352\t3999", "unknown action 'borrow'"),
    ("yesterday\treturn\t3999", "timestamp 'yesterday' is not like"),
    ("2024-02-30 10-00-00 000\treturn\t3999", "is not a real date and time"),
    ("2024-03-05 14-22-07 123\tissue\t23529000012345", "issue needs card number and barcode"),
    ("2024-03-05 14-22-07 123\treturn\t3999\textra", "return needs barcode"),
    ("2024-03-05 14-22-07 123\treturn\t  ", "return needs barcode (3 fields), found 2"),
    ("2024-03-05 14-22-07 123\tissue\t \t3999", "the card number is empty"),
    ("2024-03-05 14-22-07 123\tpayment\t2352\ttwo pounds", "amount 'two pounds' is not a number"),
    ("2024-03-05 14-22-07 123\tpayment\t2352\t-1.00", "must be more than zero"),
    ("2024-03-05 14-22-07 123\tpayment\t2352\t1.005", "more than two decimals"),
    ("2024-03-05 14-22-07 123\treturn\t" + "9" * 41, "longer than 40 characters"),
    ("just some text", "expected TAB-separated fields"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_a_malformed_line_is_reported_with_its_number_and_reason(line, reason):
    koc = parse_koc("\n".join([HEADER, "2024-03-05 10-00-00 000\treturn\t1111", line,
                               "2024-03-05 10-00-01 000\treturn\t2222"]))
    assert [r.barcode for r in koc.records] == ["1111", "2222"]  # the other lines still go in
    assert len(koc.errors) == 1
    error = koc.errors[0]
    assert error.line_number == 3
    assert reason in error.reason
    assert str(error).startswith("line 3: ")
    assert error.text == line[:200]


def test_a_line_that_is_not_utf8_is_reported():
    data = (HEADER + "\n2024-03-05 10-00-00 000\treturn\t39\xff99\n").encode("latin-1")
    koc = parse_koc(data)
    assert [e.line_number for e in koc.errors] == [2] and "UTF-8" in koc.errors[0].reason


def test_another_version_or_no_header_warns_but_reads_the_lines():
    other = parse_koc("Version=2.0\tGenerator=x\n2024-03-05 10-00-00 000\treturn\t1111")
    assert other.warnings and "expected 1.0" in other.warnings[0]
    assert [r.barcode for r in other.records] == ["1111"]
    none = parse_koc("2024-03-05 10-00-00 000\treturn\t1111\n")
    assert none.warnings == ["no Version header on line 1: lines read anyway"]
    assert [r.line_number for r in none.records] == [1]


def test_action_names_are_read_whatever_their_case_and_trailing_tabs_are_ignored():
    koc = parse_koc(HEADER + "\n2024-03-05 10-00-00 000\tRETURN\t1111\t\t\n")
    assert koc.errors == [] and koc.records[0].action is OfflineAction.RETURN


def test_a_record_written_back_reads_the_same():
    zone = ZoneInfo("America/New_York")
    records = [
        KocRecord(2, dt.datetime(2024, 3, 5, 19, 22, 7, 123000, tzinfo=UTC), OfflineAction.ISSUE, "2352", "3999"),
        KocRecord(3, dt.datetime(2024, 3, 5, 19, 25, 0, 0, tzinfo=UTC), OfflineAction.RETURN, barcode="3999"),
        KocRecord(4, dt.datetime(2024, 3, 5, 19, 30, 0, 4000, tzinfo=UTC), OfflineAction.PAYMENT, "2352",
                  amount=Decimal("2.50")),
    ]
    text = "\n".join([koc_header()] + [koc_line(r, zone) for r in records])
    assert format_timestamp(records[0].occurred_at, zone) == "2024-03-05 14-22-07 123"
    assert parse_koc(text, zone=zone).records == records
