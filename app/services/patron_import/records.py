"""Writing one patron record, for the REST API: the rules the import applies row by row (known
library and category, unique card number and username, the category's automatic values) and
Koha's ``safe_to_delete`` checks. Field names are Carrel's (``library_code``, ``sort1``...);
the API maps Koha's API names onto them."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.models import AccountLine, Library, Loan, Patron, PatronCategory, Permission
from app.services.activity import record_activity
from app.services.audit import record_audit

from .apply import add_months
from .attributes import AttributeRules, replace_attributes

UNIQUE_FIELDS = ("cardnumber", "userid")


class PatronInvalid(ValueError):
    """A value that does not fit: HTTP 400 naming the field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


class PatronConflict(Exception):
    """A unique value already used, or a patron that may not be deleted: HTTP 409."""

    def __init__(self, conflict: str, message: str):
        self.conflict = conflict
        super().__init__(message)


def check_values(session: Session, values: dict[str, Any], patron_id: int | None) -> None:
    if "library_code" in values and session.get(Library, values["library_code"]) is None:
        raise PatronInvalid("library_code", f"Given library_id does not exist: {values['library_code']}")
    if "category_code" in values and session.get(PatronCategory, values["category_code"]) is None:
        raise PatronInvalid("category_code", f"Given category_id does not exist: {values['category_code']}")
    for field in UNIQUE_FIELDS:
        value = values.get(field)
        if value:
            owner = session.scalar(select(Patron.id).where(getattr(Patron, field) == value))
            if owner is not None and owner != patron_id:
                raise PatronConflict(field, f"Given {field} already exists")
    guarantor = values.get("guarantor_id")
    if guarantor is not None and (guarantor == patron_id or session.get(Patron, guarantor) is None):
        raise PatronInvalid("guarantor_id", "Given guarantor_id is not another patron")


def create_patron(session: Session, values: dict[str, Any], actor: Patron | None, *, channel: str = "api",
                  attributes: list[tuple[str, str]] | None = None) -> Patron:
    """A new patron with the category's automatic values (enrolment, expiry, privacy)."""
    for required in ("surname", "library_code", "category_code"):
        if not values.get(required):
            raise PatronInvalid(required, f"{required} is required")
    check_values(session, values, None)
    category = session.get(PatronCategory, values["category_code"])
    patron = Patron(**values)
    patron.dateenrolled = patron.dateenrolled or clock.today()
    patron.dateexpiry = patron.dateexpiry or add_months(patron.dateenrolled, category.enrolment_period_months)
    if values.get("privacy") is None:
        patron.privacy = category.default_privacy
    session.add(patron)
    session.flush()
    if attributes is not None:
        replace_attributes(session, patron, attributes, AttributeRules.load(session))
    record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="PATRONS", action="CREATE",
                 object_type="patron", object_id=patron.id)
    record_activity(session, patron.id, "creation")
    return patron


def update_patron(session: Session, patron: Patron, values: dict[str, Any], actor: Patron | None, *,
                  channel: str = "api", attributes: list[tuple[str, str]] | None = None) -> Patron:
    """Set the given fields (others are kept); ``attributes`` replaces the whole set."""
    for required in ("surname", "library_code", "category_code"):
        if required in values and not values[required]:
            raise PatronInvalid(required, f"{required} is required")
    check_values(session, values, patron.id)
    changed = sorted(k for k, v in values.items() if getattr(patron, k) != v)
    for field, value in values.items():
        setattr(patron, field, value)
    if attributes is not None:
        replace_attributes(session, patron, attributes, AttributeRules.load(session))
    session.flush()
    record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="PATRONS", action="MODIFY",
                 object_type="patron", object_id=patron.id, info={"fields": changed})
    return patron


def delete_patron(session: Session, patron: Patron, actor: Patron | None, *, channel: str = "api") -> None:
    """Delete a patron Koha's ``safe_to_delete`` would: no loans, no debt, no guarantees; staff
    only by a superlibrarian. Their history is anonymised, not deleted."""
    from app.services.privacy.purge import erase_patrons

    if session.scalar(select(func.count()).select_from(Loan).where(Loan.patron_id == patron.id)):
        raise PatronConflict("has_checkouts", "Pending checkouts prevent deletion")
    debt = session.scalar(select(func.coalesce(func.sum(AccountLine.amount_outstanding), 0))
                          .where(AccountLine.patron_id == patron.id))
    if Decimal(debt or 0) > 0:
        raise PatronConflict("has_debt", "Pending debts prevent deletion")
    if session.scalar(select(func.count()).select_from(Patron).where(Patron.guarantor_id == patron.id)):
        raise PatronConflict("has_guarantees", "Patron is a guarantor and it prevents deletion")
    if patron.is_staff and not (actor and actor.has_permission(Permission.SUPERLIBRARIAN)):
        raise PatronConflict("is_protected", "Only a superlibrarian may delete a staff patron")
    if actor is not None and actor.id == patron.id:
        raise PatronConflict("is_protected", "A patron cannot delete themselves")
    patron_id = patron.id
    record_audit(session, actor_id=actor.id if actor else None, channel=channel, module="PATRONS", action="DELETE",
                 object_type="patron", object_id=patron_id)
    erase_patrons(session, [patron_id])
