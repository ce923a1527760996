"""Patrons (Koha's borrowers), their categories, restrictions, extended attributes,
staff permissions and patron lists."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock

from .base import Base, Code, StrEnumType, TimestampMixin, UTCDateTime


class Privacy(enum.StrEnum):
    """What happens to a patron's loan history (Koha's ``privacy`` 0/1/2)."""

    KEEP_FOREVER = "keep_forever"
    DEFAULT = "default"  # anonymised after the library's retention period
    NEVER_KEEP = "never_keep"  # anonymised at return


class CategoryType(enum.StrEnum):
    ADULT = "adult"
    CHILD = "child"
    STAFF = "staff"
    ORGANISATION = "organisation"
    PROFESSIONAL = "professional"
    STATISTICAL = "statistical"


class Permission(enum.StrEnum):
    """Staff permission areas; ``superlibrarian`` grants every other one."""

    CIRCULATE = "circulate"
    HOLDS = "holds"
    PATRONS = "patrons"
    IMPORT = "import"
    OFFLINE_CIRCULATION = "offline_circulation"
    ADMINISTRATION = "administration"
    PRIVACY = "privacy"
    SUPERLIBRARIAN = "superlibrarian"


class PatronCategory(TimestampMixin, Base):
    __tablename__ = "patron_categories"

    code: Mapped[str] = mapped_column(Code, primary_key=True)  # Koha's categorycode
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    category_type: Mapped[CategoryType] = mapped_column(StrEnumType(CategoryType), default=CategoryType.ADULT, nullable=False)
    enrolment_period_months: Mapped[int] = mapped_column(Integer, default=12, nullable=False)
    upper_age_limit: Mapped[int | None] = mapped_column(Integer)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    default_privacy: Mapped[Privacy] = mapped_column(StrEnumType(Privacy), default=Privacy.DEFAULT, nullable=False)
    can_be_guarantee: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class Patron(TimestampMixin, Base):
    """A library user. Staff are patrons holding staff permissions, as in Koha."""

    __tablename__ = "patrons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # API patron_id
    cardnumber: Mapped[str | None] = mapped_column(String(32), unique=True)
    userid: Mapped[str | None] = mapped_column(String(75), unique=True)
    surname: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    firstname: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    preferred_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(50))
    othernames: Mapped[str | None] = mapped_column(String(200))
    initials: Mapped[str | None] = mapped_column(String(20))
    pronouns: Mapped[str | None] = mapped_column(String(50))
    # Main address and contact
    streetnumber: Mapped[str | None] = mapped_column(String(20))
    streettype: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(Text)
    address2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    zipcode: Mapped[str | None] = mapped_column(String(25))
    country: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    fax: Mapped[str | None] = mapped_column(String(50))
    emailpro: Mapped[str | None] = mapped_column(String(200))
    phonepro: Mapped[str | None] = mapped_column(String(50))
    smsalertnumber: Mapped[str | None] = mapped_column(String(50))
    primary_contact_method: Mapped[str | None] = mapped_column(String(20))
    # Alternate address (Koha's B_*)
    b_streetnumber: Mapped[str | None] = mapped_column(String(20))
    b_streettype: Mapped[str | None] = mapped_column(String(50))
    b_address: Mapped[str | None] = mapped_column(Text)
    b_address2: Mapped[str | None] = mapped_column(Text)
    b_city: Mapped[str | None] = mapped_column(String(100))
    b_state: Mapped[str | None] = mapped_column(String(100))
    b_zipcode: Mapped[str | None] = mapped_column(String(25))
    b_country: Mapped[str | None] = mapped_column(String(100))
    b_email: Mapped[str | None] = mapped_column(String(200))
    b_phone: Mapped[str | None] = mapped_column(String(50))
    contactnote: Mapped[str | None] = mapped_column(Text)
    # Alternate contact
    altcontactfirstname: Mapped[str | None] = mapped_column(String(200))
    altcontactsurname: Mapped[str | None] = mapped_column(String(200))
    altcontactaddress1: Mapped[str | None] = mapped_column(String(255))
    altcontactaddress2: Mapped[str | None] = mapped_column(String(255))
    altcontactaddress3: Mapped[str | None] = mapped_column(String(255))
    altcontactstate: Mapped[str | None] = mapped_column(String(100))
    altcontactzipcode: Mapped[str | None] = mapped_column(String(25))
    altcontactcountry: Mapped[str | None] = mapped_column(String(100))
    altcontactphone: Mapped[str | None] = mapped_column(String(50))
    # Personal
    dateofbirth: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    lang: Mapped[str | None] = mapped_column(String(25))
    # Membership
    library_code: Mapped[str] = mapped_column(ForeignKey("libraries.code"), nullable=False, index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("patron_categories.code"), nullable=False, index=True)
    dateenrolled: Mapped[dt.date | None] = mapped_column(Date)
    dateexpiry: Mapped[dt.date | None] = mapped_column(Date)
    date_renewed: Mapped[dt.date | None] = mapped_column(Date)
    sort1: Mapped[str | None] = mapped_column(String(80))  # API statistics_1
    sort2: Mapped[str | None] = mapped_column(String(80))  # API statistics_2
    guarantor_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    relationship_type: Mapped[str | None] = mapped_column(String(100))
    # Flags and notes
    gonenoaddress: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    card_lost: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    borrowernotes: Mapped[str | None] = mapped_column(Text)  # staff note
    opacnote: Mapped[str | None] = mapped_column(Text)
    checkprevcheckout: Mapped[str] = mapped_column(String(7), default="inherit", nullable=False)
    autorenew_checkouts: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Privacy and activity
    privacy: Mapped[Privacy] = mapped_column(StrEnumType(Privacy), default=Privacy.DEFAULT, nullable=False)
    lastseen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Authentication
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_expiration_date: Mapped[dt.date | None] = mapped_column(Date)
    login_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    library = relationship("Library", lazy="joined")
    category: Mapped[PatronCategory] = relationship(lazy="joined")
    restrictions: Mapped[list["PatronRestriction"]] = relationship(
        back_populates="patron", cascade="all, delete-orphan", order_by="PatronRestriction.id",
        foreign_keys="PatronRestriction.patron_id",
    )
    attributes: Mapped[list["PatronAttribute"]] = relationship(
        back_populates="patron", cascade="all, delete-orphan", order_by="PatronAttribute.id"
    )
    permissions: Mapped[list["StaffPermission"]] = relationship(back_populates="patron", cascade="all, delete-orphan")
    guarantor: Mapped["Patron | None"] = relationship(remote_side=[id])

    # --- predicates -------------------------------------------------------------------------
    @property
    def full_name(self) -> str:
        first = self.preferred_name or self.firstname
        return f"{first} {self.surname}" if first else self.surname

    @property
    def sort_name(self) -> str:
        return f"{self.surname}, {self.firstname}" if self.firstname else self.surname

    def is_expired(self, on: dt.date | None = None) -> bool:
        return self.dateexpiry is not None and self.dateexpiry < (on or clock.today())

    def active_restrictions(self, on: dt.date | None = None) -> list["PatronRestriction"]:
        day = on or clock.today()
        return [r for r in self.restrictions if r.is_active(day)]

    def is_restricted(self, on: dt.date | None = None) -> bool:
        return bool(self.active_restrictions(on))

    @property
    def permission_names(self) -> set[str]:
        return {p.permission.value for p in self.permissions}

    @property
    def is_staff(self) -> bool:
        return bool(self.permissions)

    def has_permission(self, permission: Permission | str) -> bool:
        names = self.permission_names
        return Permission.SUPERLIBRARIAN.value in names or Permission(permission).value in names

    # flask-login protocol
    @property
    def is_active(self) -> bool:
        return not self.anonymized

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<Patron {self.id} {self.cardnumber}>"


class RestrictionType(enum.StrEnum):
    MANUAL = "manual"
    OVERDUES = "overdues"
    SUSPENSION = "suspension"  # fine days
    DISCHARGE = "discharge"


class PatronRestriction(TimestampMixin, Base):
    """Koha's borrower_debarments: a block on the patron until ``expiration`` (open-ended if NULL)."""

    __tablename__ = "patron_restrictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False, index=True)
    restriction_type: Mapped[RestrictionType] = mapped_column(StrEnumType(RestrictionType), default=RestrictionType.MANUAL, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    expiration: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"))

    patron: Mapped[Patron] = relationship(back_populates="restrictions", foreign_keys=[patron_id])

    def is_active(self, on: dt.date) -> bool:
        return self.expiration is None or self.expiration >= on


class AuthorisedValue(Base):
    """A value in a named list (Koha's authorised values), used by attribute types and forms."""

    __tablename__ = "authorised_values"
    __table_args__ = (UniqueConstraint("category", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    value: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str | None] = mapped_column(String(200))


class AttributeType(TimestampMixin, Base):
    """Koha's borrower_attribute_types: a named, typed extra field on patrons."""

    __tablename__ = "attribute_types"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), nullable=False)
    repeatable: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    unique_id: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    authorised_value_category: Mapped[str | None] = mapped_column(String(32))
    opac_display: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    opac_editable: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    staff_searchable: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("patron_categories.code", ondelete="SET NULL"))


class PatronAttribute(Base):
    """One value of an extended attribute on a patron (API ``extended_attribute_id``)."""

    __tablename__ = "patron_attributes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(ForeignKey("attribute_types.code", ondelete="CASCADE"), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)

    patron: Mapped[Patron] = relationship(back_populates="attributes")
    attribute_type: Mapped[AttributeType] = relationship(lazy="joined")

    __table_args__ = (
        # lookups by unique attributes (matchpoints, API filters)
        UniqueConstraint("patron_id", "code", "value"),
    )

    @staticmethod
    def find_owner(code: str, value: str):
        return select(PatronAttribute.patron_id).where(PatronAttribute.code == code, PatronAttribute.value == value)


class StaffPermission(Base):
    __tablename__ = "staff_permissions"
    __table_args__ = (UniqueConstraint("patron_id", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False, index=True)
    permission: Mapped[Permission] = mapped_column(StrEnumType(Permission), nullable=False)

    patron: Mapped[Patron] = relationship(back_populates="permissions")


class PatronList(TimestampMixin, Base):
    __tablename__ = "patron_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("patrons.id", ondelete="SET NULL"), index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    entries: Mapped[list["PatronListEntry"]] = relationship(back_populates="patron_list", cascade="all, delete-orphan")


class PatronListEntry(Base):
    __tablename__ = "patron_list_entries"
    __table_args__ = (UniqueConstraint("patron_list_id", "patron_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patron_list_id: Mapped[int] = mapped_column(ForeignKey("patron_lists.id", ondelete="CASCADE"), nullable=False)
    patron_id: Mapped[int] = mapped_column(ForeignKey("patrons.id", ondelete="CASCADE"), nullable=False, index=True)

    patron_list: Mapped[PatronList] = relationship(back_populates="entries")
    patron: Mapped[Patron] = relationship()


class LoginThrottle(Base):
    """Failed-login counters per account and per client address, shared by every web worker."""

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_non_negative"),)

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "account:<id>" or "address:<ip>"
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
