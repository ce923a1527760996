"""Which patrons a purge of inactive patrons takes, and why the others are kept.

A patron is *inactive* when their last activity is older than the cutoff (the start of the
library-local day ``inactive_since``): ``lastseen`` before it, or, for patrons never seen,
their enrolment date (their creation time when that is missing) before it. Patrons never seen
are therefore selected by enrolment, not silently skipped as Koha's ``--last_seen`` does.

An inactive patron is still kept when any exclusion applies: staff, items on loan, money owed
or owed to them, guarantor of another patron, a loan returned or a hold placed since the cutoff
(their last loan counts as activity even where tracking was off). The dry run and the purge
use the same expressions, so the dry run lists exactly who the purge deletes."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from app import clock
from app.models import AccountLine, Hold, Loan, LoanHistory, Patron, PatronCategory, StaffPermission
from app.models.patron import CategoryType


class Exclusion(enum.StrEnum):
    STAFF = "staff"
    CURRENT_LOANS = "current_loans"
    OWES_MONEY = "owes_money"
    IN_CREDIT = "in_credit"
    GUARANTOR = "guarantor"
    RECENT_LOAN = "recent_loan"
    RECENT_HOLD = "recent_hold"
    RECENTLY_ACTIVE = "recently_active"

    @property
    def words(self) -> str:
        return EXCLUSION_WORDS[self]


EXCLUSION_WORDS: dict[Exclusion, str] = {
    Exclusion.STAFF: "staff",
    Exclusion.CURRENT_LOANS: "has items on loan",
    Exclusion.OWES_MONEY: "owes money",
    Exclusion.IN_CREDIT: "has credit on the account",
    Exclusion.GUARANTOR: "guarantor of another patron",
    Exclusion.RECENT_LOAN: "returned a loan since the date",
    Exclusion.RECENT_HOLD: "placed a hold since the date",
    Exclusion.RECENTLY_ACTIVE: "seen, or enrolled, since the date",
}
# The reasons that keep an inactive patron, in the order they are shown.
KEEPING_REASONS: tuple[Exclusion, ...] = tuple(e for e in Exclusion if e is not Exclusion.RECENTLY_ACTIVE)


class InvalidCriteria(ValueError):
    """Criteria a purge refuses (a date not in the past, unknown codes)."""


@dataclass(frozen=True)
class PurgeCriteria:
    inactive_since: dt.date
    categories: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(sorted({c.strip() for c in self.categories if c and c.strip()})))
        object.__setattr__(self, "libraries", tuple(sorted({c.strip() for c in self.libraries if c and c.strip()})))

    @property
    def cutoff(self) -> dt.datetime:
        """The start, in UTC, of the library-local day ``inactive_since``."""
        return dt.datetime.combine(self.inactive_since, dt.time.min, tzinfo=clock.timezone()).astimezone(dt.timezone.utc)

    def check(self, session: Session) -> None:
        """Raise InvalidCriteria unless the date is before today and every code exists."""
        if self.inactive_since >= clock.today():
            raise InvalidCriteria("The date must be in the past.")
        from app.models import Library

        for codes, model, what in ((self.categories, PatronCategory, "category"), (self.libraries, Library, "library")):
            known = set(session.scalars(select(model.code).where(model.code.in_(codes)))) if codes else set()
            unknown = sorted(set(codes) - known)
            if unknown:
                raise InvalidCriteria(f"Unknown {what} {', '.join(unknown)}.")

    def describe(self) -> str:
        words = f"inactive since {self.inactive_since.isoformat()}"
        if self.categories:
            words += f", categories {', '.join(self.categories)}"
        if self.libraries:
            words += f", libraries {', '.join(self.libraries)}"
        return words


def in_scope(criteria: PurgeCriteria) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [true()]
    if criteria.categories:
        conditions.append(Patron.category_code.in_(criteria.categories))
    if criteria.libraries:
        conditions.append(Patron.library_code.in_(criteria.libraries))
    return and_(*conditions)


def inactive(criteria: PurgeCriteria) -> ColumnElement[bool]:
    cutoff = criteria.cutoff
    never_seen_since = or_(Patron.dateenrolled < criteria.inactive_since,
                           and_(Patron.dateenrolled.is_(None), Patron.created_at < cutoff))
    return or_(and_(Patron.lastseen.is_not(None), Patron.lastseen < cutoff),
               and_(Patron.lastseen.is_(None), never_seen_since))


def exclusions(criteria: PurgeCriteria) -> dict[Exclusion, ColumnElement[bool]]:
    """Each reason to keep an inactive patron, as a condition on the ``patrons`` row."""
    cutoff = criteria.cutoff
    guarantee = aliased(Patron)
    balance = (select(func.coalesce(func.sum(AccountLine.amount_outstanding), 0))
               .where(AccountLine.patron_id == Patron.id).scalar_subquery())
    staff_categories = select(PatronCategory.code).where(PatronCategory.category_type == CategoryType.STAFF)
    return {
        Exclusion.STAFF: or_(exists().where(StaffPermission.patron_id == Patron.id),
                             Patron.category_code.in_(staff_categories)),
        Exclusion.CURRENT_LOANS: exists().where(Loan.patron_id == Patron.id),
        Exclusion.OWES_MONEY: balance > 0,
        Exclusion.IN_CREDIT: balance < 0,
        Exclusion.GUARANTOR: exists().where(guarantee.guarantor_id == Patron.id),
        Exclusion.RECENT_LOAN: exists().where(LoanHistory.patron_id == Patron.id, LoanHistory.returned_at >= cutoff),
        Exclusion.RECENT_HOLD: exists().where(Hold.patron_id == Patron.id, Hold.placed_at >= cutoff),
    }


def purgeable(criteria: PurgeCriteria) -> Select:
    """``select(Patron.id)`` of the patrons the purge deletes (callers order and limit it)."""
    kept = or_(*exclusions(criteria).values())
    return select(Patron.id).where(in_scope(criteria), inactive(criteria), not_(kept))


def count_purgeable(session: Session, criteria: PurgeCriteria) -> int:
    """How many patrons the purge would take now. Run it in a read-only unit of work: on a large
    library it takes a while, and inside a write transaction (SQLite) kiosks would wait for it."""
    return session.scalar(select(func.count()).select_from(purgeable(criteria).subquery())) or 0


def _flagged(criteria: PurgeCriteria):
    """Inactive patrons in scope, with one 0/1 column per keeping reason."""
    columns = [case((condition, 1), else_=0).label(reason.value) for reason, condition in exclusions(criteria).items()]
    return select(Patron.id.label("id"), *columns).where(in_scope(criteria), inactive(criteria)).subquery("flagged")


@dataclass
class DryRun:
    """What a purge with these criteria would do now."""

    criteria: PurgeCriteria
    would_purge: int = 0
    in_scope: int = 0
    recently_active: int = 0
    kept: int = 0  # inactive but kept for at least one reason
    by_reason: dict[Exclusion, int] = field(default_factory=dict)

    @property
    def reasons(self) -> list[tuple[Exclusion, int]]:
        return [(reason, self.by_reason.get(reason, 0)) for reason in Exclusion]


def dry_run(session: Session, criteria: PurgeCriteria) -> DryRun:
    """Counts: how many would be purged, and how many are kept for each reason (a patron kept for
    two reasons counts under both)."""
    flagged = _flagged(criteria)
    reason_columns = [flagged.c[reason.value] for reason in KEEPING_REASONS]
    none_applies = and_(*[column == 0 for column in reason_columns])
    row = session.execute(select(
        func.count(),
        func.coalesce(func.sum(case((none_applies, 1), else_=0)), 0),
        *[func.coalesce(func.sum(column), 0) for column in reason_columns],
    ).select_from(flagged)).one()
    inactive_count, would_purge, *per_reason = (int(v) for v in row)
    total = session.scalar(select(func.count()).select_from(Patron).where(in_scope(criteria))) or 0
    result = DryRun(criteria, would_purge=would_purge, in_scope=total, recently_active=total - inactive_count,
                    kept=inactive_count - would_purge)
    result.by_reason = dict(zip(KEEPING_REASONS, per_reason))
    result.by_reason[Exclusion.RECENTLY_ACTIVE] = result.recently_active
    return result


@dataclass(frozen=True)
class SelectedPatron:
    patron: Patron
    why: str  # "last seen 2023-01-05" or "never seen, enrolled 2021-03-02"


@dataclass(frozen=True)
class KeptPatron:
    patron: Patron
    reasons: tuple[Exclusion, ...]

    @property
    def why(self) -> str:
        return ", ".join(reason.words for reason in self.reasons)


def why_selected(patron: Patron) -> str:
    if patron.lastseen is not None:
        return f"last seen {clock.local(patron.lastseen).date().isoformat()}"
    if patron.dateenrolled is not None:
        return f"never seen, enrolled {patron.dateenrolled.isoformat()}"
    return f"never seen, created {clock.local(patron.created_at).date().isoformat()}"


def would_purge_page(session: Session, criteria: PurgeCriteria, *, page: int = 1, per_page: int = 50) -> list[SelectedPatron]:
    ids = session.scalars(purgeable(criteria).order_by(Patron.id).limit(per_page).offset((page - 1) * per_page)).all()
    return [SelectedPatron(p, why_selected(p)) for p in _patrons_in_order(session, ids)]


def kept_page(session: Session, criteria: PurgeCriteria, *, page: int = 1, per_page: int = 50) -> list[KeptPatron]:
    """Inactive patrons the purge keeps, each with every reason that keeps them, by id."""
    flagged = _flagged(criteria)
    reason_columns = [flagged.c[reason.value] for reason in KEEPING_REASONS]
    rows = session.execute(select(flagged).where(or_(*[column == 1 for column in reason_columns]))
                           .order_by(flagged.c.id).limit(per_page).offset((page - 1) * per_page)).all()
    patrons = {p.id: p for p in _patrons_in_order(session, [row.id for row in rows])}
    return [KeptPatron(patrons[row.id], tuple(r for r in KEEPING_REASONS if getattr(row, r.value)))
            for row in rows if row.id in patrons]


def _patrons_in_order(session: Session, ids: list[int]) -> list[Patron]:
    if not ids:
        return []
    found = {p.id: p for p in session.scalars(select(Patron).where(Patron.id.in_(ids)))}
    return [found[i] for i in ids if i in found]
