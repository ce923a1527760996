"""Reference data: libraries (Koha's sample branches first), closed days, patron categories,
item types, circulation rules, the transport cost matrix and the SIP2 institution."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from sqlalchemy.orm import Session

from app.models import (
    ALL,
    ClosedDay,
    ItemType,
    Library,
    PatronCategory,
    SipInstitution,
    TransportCost,
)
from app.models.patron import CategoryType, Privacy
from app.services.rules import set_rule

from . import words as W
from .state import LibraryInfo, SeedState
from .writer import BulkWriter

# Koha's sample libraries, in the order the sizes take them.
KOHA_LIBRARIES = (
    ("CPL", "Centerville", "Centerville", "OH", "44600", "USA", "330"),
    ("MPL", "Midway", "Midway", "OH", "44601", "USA", "330"),
    ("FFL", "Fairfield", "Fairfield", "OH", "45014", "USA", "513"),
    ("FPL", "Fairview", "Fairview", "OH", "44126", "USA", "440"),
    ("IPT", "Institut Protestant de Théologie", "Paris", None, "75014", "France", "01"),
    ("LPL", "Liberty", "Liberty", "OH", "44505", "USA", "330"),
    ("PVL", "Pleasant Valley", "Pleasant Valley", "OH", "44137", "USA", "440"),
    ("RPL", "Rockingham", "Rockingham", "OH", "44650", "USA", "330"),
    ("SPL", "Springfield", "Springfield", "OH", "45501", "USA", "937"),
    ("TPL", "Troy", "Troy", "OH", "45373", "USA", "937"),
    ("UPL", "Union", "Union", "OH", "45322", "USA", "937"),
)

# code, description, type, enrolment months, upper age, minimum age, privacy, can be guarantee
CATEGORIES = (
    ("PT", "Patron", CategoryType.ADULT, 24, None, 18, Privacy.DEFAULT, False),
    ("ST", "Staff", CategoryType.STAFF, 120, None, 18, Privacy.DEFAULT, False),
    ("J", "Juvenile", CategoryType.CHILD, 12, 17, 13, Privacy.DEFAULT, True),
    ("K", "Kid", CategoryType.CHILD, 12, 12, 0, Privacy.DEFAULT, True),
    ("S", "Student", CategoryType.ADULT, 12, 30, 16, Privacy.DEFAULT, False),
    ("B", "Board", CategoryType.PROFESSIONAL, 36, None, 18, Privacy.KEEP_FOREVER, False),
    ("IL", "Inter-library loan", CategoryType.ORGANISATION, 60, None, None, Privacy.NEVER_KEEP, False),
)
# How often each category appears among generated (non-staff) patrons
CATEGORY_WEIGHTS = {"PT": 62, "J": 10, "K": 7, "S": 18, "B": 2, "IL": 1}

ITEM_TYPES = (  # code, description, not for loan, SIP2 media type
    ("BK", "Books", False, "001"),
    ("DVD", "DVDs", False, "005"),
    ("CD", "Music CDs", False, "006"),
    ("MAG", "Magazines", False, "002"),
    ("REF", "Reference (not for loan)", True, "001"),
)

RULES = (  # library, category, item type, rule, value
    (ALL, ALL, ALL, "issuelength", "14"), (ALL, ALL, ALL, "renewalsallowed", "2"),
    (ALL, ALL, ALL, "renewalperiod", "14"), (ALL, ALL, ALL, "maxissueqty", "40"),
    (ALL, ALL, ALL, "fine", "0.25"), (ALL, ALL, ALL, "overduefinescap", "10"),
    (ALL, ALL, ALL, "reservesallowed", "50"), (ALL, ALL, ALL, "holds_per_record", "1"),
    (ALL, ALL, "DVD", "issuelength", "7"), (ALL, ALL, "DVD", "renewalsallowed", "1"),
    (ALL, ALL, "DVD", "fine", "1.00"),
    (ALL, ALL, "MAG", "issuelength", "7"), (ALL, ALL, "MAG", "onshelfholds", "if_all_unavailable"),
    (ALL, ALL, "REF", "holdallowed", "not_allowed"),
    (ALL, "J", ALL, "maxissueqty", "20"), (ALL, "J", ALL, "fine", "0.10"),
    (ALL, "K", ALL, "maxissueqty", "10"), (ALL, "K", ALL, "fine", "0"),
    (ALL, "ST", ALL, "issuelength", "28"), (ALL, "ST", ALL, "fine", "0"),
    ("CPL", ALL, "DVD", "issuelength", "3"),
    ("IPT", ALL, ALL, "issuelength", "21"), ("IPT", ALL, ALL, "holdallowed", "from_home_library"),
)
LOAN_DAYS = {"BK": 14, "DVD": 7, "CD": 14, "MAG": 7}
FINE_PER_DAY = {"BK": "0.25", "DVD": "1.00", "CD": "0.25", "MAG": "0.25"}


def _library_infos(state: SeedState) -> list[LibraryInfo]:
    rng = state.rng("libraries")
    infos = [LibraryInfo(code, name, city, st, zipcode, country, area, french=code == "IPT")
             for code, name, city, st, zipcode, country, area in KOHA_LIBRARIES[:state.size.libraries]]
    codes = {i.code for i in infos}
    towns = list(W.TOWNS)
    rng.shuffle(towns)
    for town in towns:
        if len(infos) >= state.size.libraries:
            break
        letters = "".join(c for c in town.upper() if c.isalpha())
        code = letters[:2] + "L"
        n = 2
        while code in codes:
            code = f"{letters[:2]}{n}"
            n += 1
        codes.add(code)
        infos.append(LibraryInfo(code, town, town, "OH", f"4{rng.randrange(4000, 5999)}", "USA",
                                 rng.choice(("330", "440", "513", "614", "937"))))
    if len(infos) < state.size.libraries:
        raise ValueError(f"only {len(infos)} library names available")
    return infos


def seed_reference(session: Session, writer: BulkWriter, state: SeedState) -> None:
    rng = state.rng("reference")
    now = state.now
    state.libraries = _library_infos(state)
    state.library_weights = [4.0 if lib.code == "CPL" else 0.6 if lib.french else 1.0 + rng.random()
                             for lib in state.libraries]
    for i, lib in enumerate(state.libraries):
        writer.add(Library.__table__, dict(
            code=lib.code, name=lib.name, city=lib.city, postal_code=lib.zipcode, country=lib.country,
            address=("83 boulevard Arago" if lib.french else f"{100 + 7 * i} {rng.choice(W.STREET_NAMES)} Street"),
            email=f"{lib.code.lower()}@library.example.org",
            phone=(f"+33 1 43 31 {10 + i:02d} {rng.randrange(10, 99)}" if lib.french
                   else f"({lib.area_code}) 555-{rng.randrange(100, 9999):04d}"),
            is_pickup_location=True, created_at=now, updated_at=now))
    _closed_days(writer, state)
    for code, description, ctype, months, upper, minimum, privacy, guarantee in CATEGORIES:
        writer.add(PatronCategory.__table__, dict(
            code=code, description=description, category_type=ctype, enrolment_period_months=months,
            upper_age_limit=upper, minimum_age=minimum, default_privacy=privacy, can_be_guarantee=guarantee,
            created_at=now, updated_at=now))
    state.categories = [c[0] for c in CATEGORIES]
    for code, description, nfl, media in ITEM_TYPES:
        writer.add(ItemType.__table__, dict(code=code, description=description, not_for_loan=nfl,
                                            sip_media_type=media, created_at=now, updated_at=now))
    _transport_costs(writer, state)
    writer.add(SipInstitution.__table__, dict(
        id="CPL", name="Centerville Public Library", checkin_ok=True, checkout_ok=True, renewal_ok=True,
        status_update_ok=True, offline_ok=True, timeout_period=100, retries_allowed=5,
        created_at=now, updated_at=now))
    writer.flush()
    for library, category, item_type, name, value in RULES:
        if library == ALL or library in {lib.code for lib in state.libraries}:
            set_rule(session, library, category, item_type, name, value)


def _closed_days(writer: BulkWriter, state: SeedState) -> None:
    year = state.today.year
    for lib in state.libraries:
        days: dict[dt.date, str] = {}
        weekdays = {6: "Sunday"} | ({5: "Saturday"} if lib.french else {})
        for y in (year, year + 1):
            if lib.french:
                days |= {dt.date(y, 1, 1): "Jour de l'an", dt.date(y, 5, 1): "Fête du Travail",
                         dt.date(y, 7, 14): "Fête nationale", dt.date(y, 8, 15): "Assomption",
                         dt.date(y, 12, 25): "Noël"}
            else:
                days |= {dt.date(y, 1, 1): "New Year's Day", dt.date(y, 7, 4): "Independence Day",
                         dt.date(y, 11, 1) + dt.timedelta(days=(3 - dt.date(y, 11, 1).weekday()) % 7 + 21):
                             "Thanksgiving Day", dt.date(y, 12, 25): "Christmas Day"}
        training = state.today + dt.timedelta(days=20 + 7 * (len(lib.code) + ord(lib.code[0])) % 60)
        if training.weekday() not in weekdays:
            days[training] = "Staff training day"
        for weekday, name in weekdays.items():
            writer.add(ClosedDay.__table__, dict(library_code=lib.code, on_date=None, weekday=weekday,
                                                 description=f"Closed on {name}s"))
        for day, name in sorted(days.items()):
            writer.add(ClosedDay.__table__, dict(library_code=lib.code, on_date=day, weekday=None,
                                                 description=name))


def _transport_costs(writer: BulkWriter, state: SeedState) -> None:
    """Every ordered pair, the diagonal included at cost 0: costs grow with distance on an
    imaginary map; IPT is far from everyone, and a few pairs are blocked."""
    rng = state.rng("transport")
    places = [(rng.uniform(0, 60), rng.uniform(0, 60)) for _ in state.libraries]
    codes = [lib.code for lib in state.libraries]
    blocked = {frozenset(("IPT", "FFL"))}
    for _ in range(len(codes) // 10):
        a, b = rng.sample(codes, 2)
        blocked.add(frozenset((a, b)))
    for i, a in enumerate(codes):
        for j, b in enumerate(codes):
            if i == j:
                cost = 0.0
            elif "IPT" in (a, b):
                cost = 50.0
            else:
                cost = round(1 + math.dist(places[i], places[j]) / 6, 1)
            writer.add(TransportCost.__table__, dict(
                from_library_code=a, to_library_code=b, cost=Decimal(f"{cost:.2f}"),
                blocked=i != j and frozenset((a, b)) in blocked))
