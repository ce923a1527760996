"""The patron file for the desktop offline tool (what Koha's ``create_koc_db.pl`` makes): an
SQLite file the tool opens under Settings > Borrowers DB, so a scanned card shows who it is.

It has the tables and columns the tool reads (``borrowers``: borrowernumber, cardnumber,
surname, firstname, address, city, phone, dateofbirth, total_fines; ``issues``: borrowernumber,
date_due, itemcallnumber, title, itemtype), plus the category, library, expiry and blocks. The
personal columns the tool has (address, city, phone, date of birth) are left empty: offline work
does not need them, and Koha's version exported every column, password hashes included."""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models import Item, Loan, Title

from .sync import PAGE_SIZE, TITLE_LENGTH, patrons_page

BORROWERS = """CREATE TABLE borrowers (
    borrowernumber INTEGER PRIMARY KEY, cardnumber TEXT, surname TEXT, firstname TEXT,
    address TEXT, city TEXT, phone TEXT, dateofbirth TEXT, total_fines REAL,
    categorycode TEXT, branchcode TEXT, dateexpiry TEXT, blocks TEXT)"""
ISSUES = """CREATE TABLE issues (
    borrowernumber INTEGER, date_due TEXT, itemcallnumber TEXT, title TEXT, itemtype TEXT, barcode TEXT)"""


class PatronFileExists(FileExistsError):
    """The output file is there and overwriting was not asked for."""


@dataclass(frozen=True)
class PatronFileSummary:
    path: Path
    patrons: int
    loans: int


def _loans(session: Session):
    stmt = (select(Loan.patron_id, Loan.due_at, Item.callnumber, Title.title, Item.item_type_code, Item.barcode)
            .join(Item, Item.id == Loan.item_id).join(Title, Title.id == Item.title_id).order_by(Loan.id))
    return session.execute(stmt.execution_options(yield_per=PAGE_SIZE))


def write_patron_file(session: Session, path: str | os.PathLike, *, overwrite: bool = False) -> PatronFileSummary:
    """Write the file at ``path`` (built beside it, then moved into place: a failure never
    leaves half a file where the tool looks)."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise PatronFileExists(f"{target} exists (overwrite it with --force)")
    building = target.with_name(target.name + ".building")
    building.unlink(missing_ok=True)
    patrons = loans = 0
    connection = sqlite3.connect(building)
    try:
        with connection:
            connection.execute(BORROWERS)
            connection.execute("CREATE INDEX borrowers_cardnumber ON borrowers (cardnumber)")
            connection.execute(ISSUES)
            connection.execute("CREATE INDEX issues_borrowernumber ON issues (borrowernumber)")
            after: int | None = 0
            while after is not None:
                page = patrons_page(session, after, PAGE_SIZE, with_ids=True)
                connection.executemany(
                    "INSERT INTO borrowers (borrowernumber, cardnumber, surname, firstname, total_fines, categorycode,"
                    " branchcode, dateexpiry, blocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(row["id"], row["card"], row["surname"], row["firstname"], float(row["fines"]), row["category"],
                      row["library"], row["expiry"], "; ".join(row["blocks"])) for row in page.rows])
                patrons += len(page.rows)
                after = page.after
            for row in _loans(session):
                loans += 1
                connection.execute(
                    "INSERT INTO issues (borrowernumber, date_due, itemcallnumber, title, itemtype, barcode)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (row.patron_id, clock.local(row.due_at).strftime("%Y-%m-%d %H:%M"), row.callnumber,
                     (row.title or "")[:TITLE_LENGTH], row.item_type_code, row.barcode))
            connection.execute("CREATE TABLE about (generated_at TEXT, generator TEXT)")
            connection.execute("INSERT INTO about VALUES (?, ?)", (clock.now().isoformat(), "Carrel"))
    finally:
        connection.close()
    os.replace(building, target)
    return PatronFileSummary(target, patrons, loans)
