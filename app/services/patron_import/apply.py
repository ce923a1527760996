"""Writing the checked rows, a batch at a time, with Core statements (executemany with
RETURNING for new patrons) inside the caller's transaction: new patrons with the category's
automatic values, overwritten patrons with only the columns the file supplies, their attributes
(replace the named types, or all of them), restrictions from ``debarred`` and hashed passwords."""
from __future__ import annotations

import calendar
import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.models import PatronAttribute, PatronRestriction, StaffPermission
from app.services.passwords import hash_password
from app.services.settings import get_preference

from .attributes import literal_list
from .options import ImportOptions, WelcomeRecipient
from .validation import CREATE, PATRONS, Reference, RowPlan

ATTRIBUTES = PatronAttribute.__table__
RESTRICTIONS = PatronRestriction.__table__
_HASH_THREADS = max(os.cpu_count() or 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def hash_all(passwords: list[str | None]) -> list[str | None]:
    """argon2 hashes of the passwords, in parallel (argon2 releases the GIL while it works)."""
    wanted = [p for p in passwords if p]
    if not wanted:
        return [None] * len(passwords)
    if len(wanted) == 1 or _HASH_THREADS == 1:
        hashes = iter([hash_password(p) for p in wanted])
    else:
        with ThreadPoolExecutor(_HASH_THREADS) as pool:
            hashes = iter(list(pool.map(hash_password, wanted)))
    return [next(hashes) if p else None for p in passwords]


class Writer:
    def __init__(self, session: Session, options: ImportOptions, reference: Reference, actor_id: int | None,
                 now: dt.datetime, today: dt.date):
        self.session, self.options, self.reference = session, options, reference
        self.actor_id, self.now, self.today = actor_id, now, today
        self.created_ids: list[int] = []
        self.welcome: list[WelcomeRecipient] = []
        tracked = get_preference(session, "TrackLastPatronActivityTriggers")
        self.lastseen_on_creation = now if "creation" in tracked else None
        # Only the columns a row can set: fewer parameters per row is most of the insert's cost.
        self.base: dict[str, Any] = dict(surname=None, library_code=None, category_code=None, dateenrolled=None,
                                         dateexpiry=None, privacy=None, password_hash=None, lastseen=None)
        self.base.update(gonenoaddress=False, card_lost=False, checkprevcheckout="inherit", autorenew_checkouts=True,
                         anonymized=False, login_attempts=0, created_at=now, updated_at=now)

    def write(self, plans: list[RowPlan]) -> tuple[int, int]:
        """Write a batch; returns (created, overwritten)."""
        new = [p for p in plans if p.action == CREATE]
        old = [p for p in plans if p.action != CREATE]
        if new:
            self._create(new)
        if old:
            self._overwrite(old)
        self._attributes(plans)
        self._restrictions(plans)
        return len(new), len(old)

    def _create(self, plans: list[RowPlan]) -> None:
        rows = []
        for plan, password_hash in zip(plans, hash_all([p.password for p in plans])):
            row = dict(self.base)
            for name, value in plan.values.items():
                if value is not None or PATRONS.c[name].nullable:
                    row[name] = value
            category = self.reference.categories[row["category_code"]]
            row["dateenrolled"] = row["dateenrolled"] or self.today
            row["dateexpiry"] = row["dateexpiry"] or add_months(row["dateenrolled"], category.enrolment_period_months)
            row["privacy"] = row["privacy"] or category.default_privacy.value
            row["password_hash"] = password_hash
            row["lastseen"] = self.lastseen_on_creation
            rows.append(row)
        for plan, patron_id, row in zip(plans, self._insert(rows), rows):
            plan.patron_id = patron_id
            self.created_ids.append(patron_id)
            address = row.get("email") or row.get("emailpro") or row.get("b_email")
            if self.options.welcome_email and address:
                first = row.get("preferred_name") or row.get("firstname")
                name = " ".join(n for n in (first, row["surname"]) if n)
                self.welcome.append(WelcomeRecipient(address, name, row.get("cardnumber"), row.get("userid"), patron_id))

    def _insert(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert new patrons; their ids in row order. SQLite answers a RETURNING insert one row
        at a time, so there the ids are given: the import's transaction holds SQLite's only
        write lock (BEGIN IMMEDIATE), and a racing writer would fail on the primary key, never
        share an id. Elsewhere a multi-row INSERT ... RETURNING keeps the sequence in charge."""
        conn = self.session.connection()
        if conn.dialect.name == "sqlite":
            first = (conn.scalar(select(func.max(PATRONS.c.id))) or 0) + 1
            ids = list(range(first, first + len(rows)))
            conn.execute(insert(PATRONS), [{**row, "id": patron_id} for row, patron_id in zip(rows, ids)])
            return ids
        return list(conn.execute(insert(PATRONS).returning(PATRONS.c.id, sort_by_parameter_order=True), rows).scalars())

    def _overwrite(self, plans: list[RowPlan]) -> None:
        staff: set[int] = set()
        hashes: list[str | None] = [None] * len(plans)
        if self.options.overwrite_passwords and any(p.password for p in plans):
            ids = [p.patron_id for p in plans]
            staff = set(self.session.scalars(select(StaffPermission.patron_id).where(StaffPermission.patron_id.in_(ids))))
            hashes = hash_all([p.password if p.patron_id not in staff else None for p in plans])
        renewed = self._renewed_expiry(plans) if self.options.update_expiry else {}
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for plan, password_hash in zip(plans, hashes):
            values = {k: v for k, v in plan.values.items() if v is not None or PATRONS.c[k].nullable}
            if plan.patron_id in renewed:
                values["dateexpiry"] = renewed[plan.patron_id]
            if password_hash:
                values["password_hash"] = password_hash
            values["updated_at"] = self.now
            params = {f"v_{k}": v for k, v in values.items()}
            params["p_id"] = plan.patron_id
            groups.setdefault(tuple(sorted(values)), []).append(params)
        for keys, params in groups.items():
            statement = update(PATRONS).where(PATRONS.c.id == bindparam("p_id")).values(
                {k: bindparam(f"v_{k}") for k in keys})
            self.session.connection().execute(statement, params)

    def _renewed_expiry(self, plans: list[RowPlan]) -> dict[int, dt.date]:
        """Koha's ``update_dateexpiry``: each matched patron's expiry renewed by their category's
        enrolment period, from today or from their current expiry date (today if they have none)."""
        ids = [p.patron_id for p in plans]
        current = {pid: (category, expiry) for pid, category, expiry in self.session.execute(
            select(PATRONS.c.id, PATRONS.c.category_code, PATRONS.c.dateexpiry).where(
                PATRONS.c.id.in_(literal_list(ids))))}
        renewed = {}
        for plan in plans:
            category_code, expiry = current[plan.patron_id]
            category = self.reference.categories[plan.values.get("category_code") or category_code]
            start = self.today if self.options.update_expiry == "now" or expiry is None else expiry
            renewed[plan.patron_id] = add_months(start, category.enrolment_period_months)  # type: ignore[index]
        return renewed

    def _attributes(self, plans: list[RowPlan]) -> None:
        touched = [p for p in plans if p.attributes is not None]
        if not touched:
            return
        conn = self.session.connection()
        old = [p for p in touched if p.action != CREATE]
        if old and self.options.preserve_attributes:
            pairs = [{"p_id": p.patron_id, "p_code": code} for p in old for code in {c for c, _v in p.attributes or ()}]
            if pairs:
                conn.execute(delete(ATTRIBUTES).where(ATTRIBUTES.c.patron_id == bindparam("p_id"),
                                                      ATTRIBUTES.c.code == bindparam("p_code")), pairs)
        elif old:
            conn.execute(delete(ATTRIBUTES).where(ATTRIBUTES.c.patron_id == bindparam("p_id")),
                         [{"p_id": p.patron_id} for p in old])
        rows = [(p.patron_id, code, value) for p in touched for code, value in dict.fromkeys(p.attributes or ())]
        if rows:  # plain executemany: an import may add several attributes per patron
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(f"INSERT INTO {ATTRIBUTES.name} (patron_id, code, value) VALUES ({mark}, {mark}, {mark})",
                                 rows)

    def _restrictions(self, plans: list[RowPlan]) -> None:
        wanted = [p for p in plans if p.restriction is not None]
        if not wanted:
            return
        existing: set[tuple[int, dt.date | None, str | None]] = set()
        old_ids = [p.patron_id for p in wanted if p.action != CREATE]
        if old_ids:
            existing = {tuple(r) for r in self.session.execute(  # type: ignore[misc]
                select(RESTRICTIONS.c.patron_id, RESTRICTIONS.c.expiration, RESTRICTIONS.c.comment).where(
                    RESTRICTIONS.c.patron_id.in_(old_ids), RESTRICTIONS.c.restriction_type == "manual"))}
        rows = [dict(patron_id=p.patron_id, restriction_type="manual", expiration=p.restriction[0],
                     comment=p.restriction[1], created_by_id=self.actor_id, created_at=self.now, updated_at=self.now)
                for p in wanted if (p.patron_id, *p.restriction) not in existing]  # type: ignore[misc]
        if rows:
            self.session.connection().execute(insert(RESTRICTIONS), rows)

