"""System preferences: typed declarations with defaults (Koha's names where Koha has them),
read through one service from a process cache that no edit can leave stale
(``app.services.policy_cache``), written with validation."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SystemPreference
from app.services.policy_cache import policy_snapshot


class InvalidPreference(ValueError):
    """A value that does not fit the preference's type or choices."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")


@dataclass(frozen=True)
class Preference:
    name: str
    kind: str  # bool | int | decimal | choice | multiple | text
    default: Any
    area: str
    description: str
    choices: tuple[str, ...] = field(default=())

    def parse(self, raw: str | Any) -> Any:
        """Turn stored or typed text into the typed value, or raise InvalidPreference."""
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise InvalidPreference(self.name, "must be yes or no")
        if self.kind == "int":
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise InvalidPreference(self.name, "must be a whole number") from None
            if value < 0:
                raise InvalidPreference(self.name, "must not be negative")
            return value
        if self.kind == "decimal":
            try:
                value = Decimal(str(raw).strip())
            except InvalidOperation:
                raise InvalidPreference(self.name, "must be a number") from None
            if not value.is_finite() or value < 0:
                raise InvalidPreference(self.name, "must be a number of at least 0")
            return value
        if self.kind == "choice":
            text = str(raw).strip()
            if text not in self.choices:
                raise InvalidPreference(self.name, f"must be one of {', '.join(self.choices)}")
            return text
        if self.kind == "multiple":
            values = raw if isinstance(raw, (list, tuple, set, frozenset)) else str(raw).split(",")
            chosen = [v.strip() for v in values if v and v.strip()]
            unknown = [v for v in chosen if v not in self.choices]
            if unknown:
                raise InvalidPreference(self.name, f"unknown value(s) {', '.join(unknown)}")
            return frozenset(chosen)
        return str(raw)

    def serialise(self, value: Any) -> str:
        if self.kind == "bool":
            return "1" if value else "0"
        if self.kind == "multiple":
            return ",".join(c for c in self.choices if c in value)
        return str(value)


ACTIVITY_TRIGGERS = ("login", "connection", "check_out", "check_in", "renewal", "hold", "offline", "creation")

PREFERENCES: tuple[Preference, ...] = (
    # Circulation
    Preference("CircControl", "choice", "ItemHomeLibrary", "circulation",
               "Whose circulation rules apply at checkout: the library where it happens, the patron's home library or the item's home library.",
               ("PickupLibrary", "PatronLibrary", "ItemHomeLibrary")),
    Preference("AutomaticItemReturn", "bool", True, "circulation",
               "Send items home automatically when they are checked in at another library."),
    Preference("noissuescharge", "decimal", Decimal("5"), "circulation",
               "Patrons owing more than this amount cannot check out."),
    Preference("maxoutstanding", "decimal", Decimal("5"), "holds",
               "Patrons owing more than this amount cannot place holds."),
    Preference("useDaysMode", "choice", "Calendar", "circulation",
               "How due dates treat closed days.", ("Calendar", "Days", "Datedue")),
    Preference("finesMode", "choice", "production", "circulation",
               "Charge overdue fines.", ("off", "production")),
    Preference("dateformat", "choice", "iso", "general",
               "How dates are typed and shown.", ("iso", "us", "metric", "dmydot")),
    # Holds
    Preference("OPACHoldRequests", "bool", True, "holds", "Patrons may place holds in the OPAC."),
    Preference("OPACAllowUserToChooseBranch", "bool", True, "holds",
               "Patrons may choose their pickup library; otherwise it is their home library."),
    Preference("OPACHoldsManagement", "bool", True, "holds",
               "Patrons may cancel, suspend and resume their own holds in the OPAC."),
    Preference("SuspendHoldsOpac", "bool", True, "holds", "Patrons may suspend their holds in the OPAC."),
    Preference("AutoResumeSuspendedHolds", "bool", True, "holds",
               "Offer an auto-resume date when suspending holds, and resume them on that date."),
    Preference("ReservesMaxPickUpDelay", "int", 7, "holds", "Days a waiting hold stays on the pickup shelf."),
    Preference("HoldReminderDays", "int", 3, "holds",
               "Days a hold waits on the pickup shelf before the patron is reminded (HOLD_REMINDER); 0 for no reminder."),
    Preference("LongWaitingHoldsAction", "choice", "leave", "holds",
               "What happens to holds waiting past the pickup delay.", ("leave", "cancel", "suspend")),
    Preference("DefaultHoldExpirationdatePeriod", "int", 0, "holds",
               "Days after which a new hold is no longer needed (0: no default)."),
    Preference("UseTransportCostMatrix", "bool", False, "holds", "Fill holds from the cheapest library by the transport cost matrix."),
    Preference("LocalHoldsPriority", "bool", False, "holds",
               "Queue jump: a copy at a pickup library may go to a patron picking up there who is near the front."),
    Preference("LocalHoldsPriorityTopN", "int", 3, "holds", "How near the front a patron must be to jump the queue."),
    Preference("RealTimeHoldsQueue", "bool", False, "holds",
               "Recompute a title's holds queue in the transaction that changed it (a hold placed, cancelled, "
               "suspended, resumed or moved; a copy checked in or out, lost or moved); off: the "
               "rebuild-holds-queue job alone fills holds."),
    Preference("AllowHoldPolicyOverride", "bool", False, "holds", "Staff may place holds the rules would refuse."),
    Preference("ReservesControlBranch", "choice", "PatronLibrary", "holds",
               "Whose hold rules apply: the patron's home library or the item's home library.",
               ("PatronLibrary", "ItemHomeLibrary")),
    Preference("AllowHoldsOnDamagedItems", "bool", True, "holds", "Damaged copies may be put on hold."),
    Preference("AllowHoldsOnPatronsPossessions", "bool", True, "holds",
               "Patrons may place a hold on a copy they already have on loan."),
    # Patrons and privacy
    Preference("TrackLastPatronActivityTriggers", "multiple", frozenset(), "patrons",
               "Activities that update a patron's last-seen date (empty: off).", ACTIVITY_TRIGGERS),
    Preference("OPACPrivacy", "bool", False, "privacy", "Patrons may choose their own loan history privacy in the OPAC."),
    Preference("AnonymizeHistoryAfterDays", "int", 0, "privacy",
               "Anonymise loan history and finished holds older than this many days (0: never)."),
    Preference("PurgeInactivePatronsAfterMonths", "int", 0, "privacy",
               "The scheduled purge deletes patrons inactive for this many months (0: off)."),
    Preference("PurgeInactivePatronsCategories", "text", "", "privacy",
               "Comma list of category codes the scheduled purge may delete (empty: all but staff)."),
    Preference("PurgeInactivePatronsLibraries", "text", "", "privacy",
               "Comma list of home library codes whose patrons the scheduled purge may delete (empty: all)."),
    Preference("minPasswordLength", "int", 3, "patrons",
               "Shortest password a patron may be given (imported passwords included)."),
    Preference("BorrowerMandatoryField", "text", "surname,cardnumber", "patrons", "Fields a patron record must have."),
    # Offline and interfaces
    Preference("AllowOfflineCirculation", "bool", False, "circulation", "Enable the offline circulation page and .koc uploads."),
    Preference("RESTOAuth2ClientCredentials", "bool", True, "api", "Allow OAuth2 client-credentials tokens for the REST API."),
    Preference("RESTBasicAuth", "bool", False, "api", "Allow HTTP Basic authentication with a staff login on the REST API."),
    Preference("RESTdefaultPageSize", "int", 20, "api", "Records per page of a REST API list when _per_page is not given."),
    Preference("LibraryName", "text", "Carrel Library", "general", "The name shown at the top of the OPAC."),
    Preference("OpacPublic", "bool", True, "general", "The catalogue can be searched without logging in."),
)
PREFERENCES_BY_NAME: dict[str, Preference] = {p.name: p for p in PREFERENCES}


def definition(name: str) -> Preference:
    try:
        return PREFERENCES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown system preference {name!r}") from None


def get_preference(session: Session, name: str) -> Any:
    """The typed value of a preference: the stored one, or the declared default. Read from the
    process's policy cache, checked once per unit of work (``app.services.policy_cache``), so an
    edit is seen by the next request or SIP2 transaction of every process."""
    pref = definition(name)
    snapshot = policy_snapshot(session)
    key = ("preference", name)
    try:
        return snapshot.memo[key]
    except KeyError:
        pass
    raw = snapshot.preferences.get(name)
    value = pref.default
    if raw is not None:
        try:
            value = pref.parse(raw)
        except InvalidPreference:
            value = pref.default  # a hand-edited bad value never breaks a page; the admin page shows it
    snapshot.memo[key] = value
    return value


def all_preferences(session: Session) -> list[tuple[Preference, Any, str | None]]:
    """Each declared preference with its typed value and its stored text (None when default)."""
    stored = {row.name: row.value for row in session.scalars(select(SystemPreference))}
    result = []
    for pref in PREFERENCES:
        raw = stored.get(pref.name)
        try:
            value = pref.default if raw is None else pref.parse(raw)
        except InvalidPreference:
            value = pref.default
        result.append((pref, value, raw))
    return result


def set_preference(session: Session, name: str, raw: Any, actor_id: int | None) -> Any:
    """Validate and store a preference; returns the typed value. Raises InvalidPreference."""
    pref = definition(name)
    value = pref.parse(raw)
    row = session.get(SystemPreference, name)
    text = pref.serialise(value)
    if row is None:
        session.add(SystemPreference(name=name, value=text, updated_by_id=actor_id))
    else:
        row.value = text
        row.updated_by_id = actor_id
    session.flush()  # the policy cache's session events give the policy a new token
    return value

