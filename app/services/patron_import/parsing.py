"""Reading a patron CSV as a stream: UTF-8 with or without a byte-order mark, the header first,
then one ``Row`` (or ``BadRow``) per record with the line number it starts on; and the dates a
file may hold, in ISO format or the library's configured ``dateformat``."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from .columns import Header, known_column, normalise_header_cell


class ImportFileRefused(ValueError):
    """The file (or the options) cannot be imported at all: nothing was read past the header."""


@dataclass(frozen=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass
class BadRow:
    line: int
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"line {self.line}: {'; '.join(self.reasons)}"


Source = str | Path | bytes | BinaryIO


def open_binary(source: Source) -> BinaryIO:
    """A seekable binary stream over the source (a path, bytes or an open binary file)."""
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if source.seekable():
        return source
    return io.BytesIO(source.read())


def count_lines(stream: BinaryIO) -> int:
    """Physical lines after the header (an estimate of rows for progress), the stream rewound."""
    stream.seek(0)
    lines, last = 0, b""
    while chunk := stream.read(1 << 20):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
    stream.seek(0)
    if last and last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def _text(stream: BinaryIO) -> io.TextIOWrapper:
    stream.seek(0)
    # surrogateescape: a byte that is not UTF-8 marks its row bad instead of stopping the file
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _has_undecodable(cells: list[str]) -> bool:
    return _UNDECODABLE.search("".join(cells)) is not None


def read_header(cells: list[str]) -> Header:
    names = [normalise_header_cell(c) for c in cells]
    if not any(names):
        raise ImportFileRefused("the file has no header line")
    unknown = [cell.strip().lstrip("\ufeff") or "(empty)" for cell, n in zip(cells, names) if not known_column(n)]
    if unknown:
        raise ImportFileRefused(f"unknown column(s) in the header: {', '.join(unknown)}")
    columns = tuple(known_column(n) for n in names)  # type: ignore[misc]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportFileRefused(f"column(s) named twice in the header: {', '.join(repeated)}")
    return Header(columns)  # type: ignore[arg-type]


def iter_records(stream: BinaryIO) -> Iterator[Header | Row | BadRow]:
    """The header, then every record: a Row with as many cells as the header has columns, or a
    BadRow saying why not. Blank lines are skipped."""
    text = _text(stream)
    reader = csv.reader(text, strict=True)
    header: Header | None = None
    previous_end = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                yield BadRow(previous_end + 1, [f"the CSV cannot be read here ({error})"])
                previous_end = reader.line_num
                continue
            line, previous_end = previous_end + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if header is None:
                if _has_undecodable(cells):
                    raise ImportFileRefused("the header is not valid UTF-8")
                header = read_header(cells)
                yield header
                continue
            if _has_undecodable(cells):
                yield BadRow(line, ["not valid UTF-8 (save the file as UTF-8)"])
            elif len(cells) != len(header.columns):
                yield BadRow(line, [f"{len(cells)} values but the header names {len(header.columns)} columns"])
            else:
                yield Row(line, tuple(cells))
    finally:
        try:
            text.detach()  # leave the binary stream open for the caller (the second pass)
        except ValueError:
            pass  # the caller already closed it
    if header is None:
        raise ImportFileRefused("the file is empty")


# --- dates --------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?$")
_FORMATS = {
    "us": (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 1, 2)),
    "metric": (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 2, 1)),
    "dmydot": (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})$"), (3, 2, 1)),
}
DATE_FORMAT_EXAMPLES = {"iso": "YYYY-MM-DD", "us": "MM/DD/YYYY", "metric": "DD/MM/YYYY", "dmydot": "DD.MM.YYYY"}


def parse_date(text: str, dateformat: str) -> dt.date:
    """A date typed in ISO format or in the library's ``dateformat``; ValueError otherwise."""
    match = _ISO.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    if dateformat in _FORMATS:
        pattern, (y, m, d) = _FORMATS[dateformat]
        match = pattern.match(text)
        if match:
            return dt.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
    raise ValueError(text)
