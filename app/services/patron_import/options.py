"""What an import is asked to do (the page's and the command's options) and what it did."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .columns import Header
from .parsing import BadRow


@dataclass(frozen=True)
class ImportOptions:
    """Koha's import options.

    ``match``: cardnumber, userid or the code of a unique attribute type. ``overwrite``: replace
    matched patrons (otherwise they are ignored). ``preserve_attributes``: on overwrite, replace
    only the attribute types the row names (otherwise the row's list replaces them all).
    ``defaults``: column -> value for cells left empty (and columns the file lacks).
    ``patron_list``: name of a list of the patrons created (None: no list). ``skip_bad_rows``:
    import the good rows when some are bad (otherwise a bad row stops the whole file).
    ``preserve_fields``: columns whose existing value an overwrite keeps (Koha's "preserve
    existing values", ``--preserve-field``). ``update_expiry``: on overwrite, renew the expiry
    date by the category's enrolment period from ``"now"`` (today) or from the patron's current
    ``"dateexpiry"`` (Koha's ``update_dateexpiry``); None leaves it to the file."""

    match: str = "cardnumber"
    overwrite: bool = False
    preserve_attributes: bool = False
    defaults: dict[str, str] = field(default_factory=dict)
    patron_list: str | None = None
    welcome_email: bool = False
    dry_run: bool = False
    skip_bad_rows: bool = False
    overwrite_passwords: bool = False
    preserve_fields: tuple[str, ...] = ()
    update_expiry: str | None = None
    file_name: str = "patrons.csv"

    def __post_init__(self) -> None:
        # Koha's page names an attribute matchpoint patron_attribute_<CODE>
        object.__setattr__(self, "match", self.match.removeprefix("patron_attribute_"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ImportOptions":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "preserve_fields" in known:
            known["preserve_fields"] = tuple(known["preserve_fields"] or ())
        return cls(**known)


@dataclass(frozen=True)
class WelcomeRecipient:
    email: str
    name: str
    cardnumber: str | None
    userid: str | None
    patron_id: int | None = None


@dataclass
class ImportResult:
    options: ImportOptions
    header: Header | None = None
    rows: int = 0
    created: int = 0
    overwritten: int = 0
    ignored: int = 0
    malformed: int = 0
    to_create: int = 0  # what the valid rows would do (a dry run, a refused file)
    to_overwrite: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    applied: bool = False
    patron_list_id: int | None = None
    patron_list_name: str | None = None
    welcome: list[WelcomeRecipient] = field(default_factory=list)
    welcome_queued: int = 0  # WELCOME notices queued in the import's transaction
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        return f"{self.created} created, {self.overwritten} overwritten, {self.ignored} ignored, {self.malformed} malformed"

    @property
    def refused(self) -> bool:
        """Bad rows stopped the file (all or nothing)."""
        return bool(self.bad_rows) and not self.options.skip_bad_rows and not self.options.dry_run
