"""Generated patrons: a few staff per library, then the public across categories, with names,
addresses, contacts, guarantors for children, and a few restrictions. No passwords."""
from __future__ import annotations

import datetime as dt
import random

from app.models import Patron, PatronRestriction, StaffPermission

from . import text as T
from . import words as W
from .demo import ADMIN_ID, _patron_base
from .reference import CATEGORIES, CATEGORY_WEIGHTS
from .state import LibraryInfo, SeedState
from .writer import BulkWriter, Progress

CARD = "23520{:09d}"  # the demo patrons are 23529000000001..60
AGES = {"PT": (18, 88), "ST": (21, 66), "J": (13, 17), "K": (4, 12), "S": (17, 29), "B": (30, 75)}
STAFF_PERMISSIONS = (("circulate", "holds", "patrons", "administration", "import", "privacy", "offline_circulation"),
                     ("circulate", "holds", "patrons"), ("circulate", "holds"))


def seed_patrons(writer: BulkWriter, state: SeedState, echo) -> None:
    rng = state.rng("patrons")
    size = state.size
    staff_total = size.staff_per_library * len(state.libraries)
    generated = max(size.patrons - state.first_staff_id + 1, staff_total + 1)
    state.first_public_id = state.first_staff_id + staff_total
    state.last_patron_id = state.first_staff_id + generated - 1
    progress = Progress(echo, "patrons", generated, writer.counts)
    codes = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    enrolment = {c[0]: c[3] for c in CATEGORIES}
    base = _patron_base(state.now)
    pid = state.first_staff_id
    for lib_index, lib in enumerate(state.libraries):
        state.staff_by_library[lib.code] = []
        for n in range(size.staff_per_library):
            row = _person(rng, state, base, pid, lib_index, lib, "ST", enrolment["ST"])
            row["userid"] = f"{T.ascii_fold(row['firstname'])}.{T.ascii_fold(row['surname'])}{pid}"
            row["email"] = f"{row['userid']}@library.example.org"
            writer.add(Patron.__table__, row)
            for permission in STAFF_PERMISSIONS[min(n, len(STAFF_PERMISSIONS) - 1)]:
                writer.add(StaffPermission.__table__, dict(patron_id=pid, permission=permission))
            state.staff_by_library[lib.code].append(pid)
            pid += 1
    for pid in range(state.first_public_id, state.last_patron_id + 1):
        lib_index = state.pick_library(rng)
        category = rng.choices(codes, weights)[0]
        row = _person(rng, state, base, pid, lib_index, state.libraries[lib_index], category, enrolment[category])
        if category in ("J", "K") and rng.random() < 0.6:
            row["guarantor_id"] = _guarantor(rng, state, pid)
            row["relationship_type"] = rng.choice(("mother", "father", "guardian")) if row["guarantor_id"] else None
        writer.add(Patron.__table__, row)
        if rng.random() < 0.012:
            writer.add(PatronRestriction.__table__, dict(
                patron_id=pid, restriction_type=rng.choice(("manual", "manual", "overdues", "suspension")),
                comment=rng.choice(W.RESTRICTION_COMMENTS),
                expiration=None if rng.random() < 0.4 else state.today + dt.timedelta(days=rng.randint(1, 180)),
                created_by_id=ADMIN_ID, created_at=state.days_ago(rng.uniform(1, 200)), updated_at=state.now))
        writer.ready()
        progress.tick(pid - state.first_public_id + 1)
    writer.flush()
    progress.done(writer.counts, ("patrons", "staff_permissions", "patron_restrictions"))


def _guarantor(rng: random.Random, state: SeedState, pid: int) -> int | None:
    """An adult patron generated before this one (so the row is already buffered or written)."""
    pt = state.categories.index("PT")
    if pid <= state.first_public_id:
        return None
    for _ in range(8):
        candidate = rng.randint(state.first_public_id, pid - 1)
        if state.patron_category[candidate] == pt:
            return candidate
    return None


def _person(rng: random.Random, state: SeedState, base: dict, pid: int, lib_index: int, lib: LibraryInfo,
            category: str, months: int) -> dict:
    today = state.today
    female = rng.random() < 0.52
    first = rng.choice(W.FIRST_FEMALE if female else W.FIRST_MALE)
    surname = rng.choice(W.SURNAMES)
    low, high = AGES.get(category, (25, 60))
    birth = None if category == "IL" else today - dt.timedelta(days=rng.randint(low * 365, high * 365 + 364))
    enrolled = today - dt.timedelta(days=int(rng.random() ** 1.5 * 3650))
    if birth and enrolled < birth + dt.timedelta(days=365 * 4):
        enrolled = min(today, birth + dt.timedelta(days=365 * 4))
    period = dt.timedelta(days=months * 30)
    expiry = enrolled + period
    expired = rng.random() < 0.05
    while expiry < today and not expired:
        expiry += period
    folded = f"{T.ascii_fold(first)}.{T.ascii_fold(surname)}{pid}"
    if category == "IL":
        first, surname = None, f"{rng.choice(W.TOWNS)} {rng.choice(('University Library', 'College Library', 'Public Library'))}"
    row = base | dict(
        id=pid, cardnumber=CARD.format(pid), surname=surname, firstname=first,
        library_code=lib.code, category_code=category, dateofbirth=birth, dateenrolled=enrolled, dateexpiry=expiry,
        created_at=state.now - dt.timedelta(days=(today - enrolled).days), updated_at=state.now)
    if first:
        row["sex"] = "F" if female else "M"
        row["initials"] = f"{first[0]}{surname[0]}"
        if rng.random() < 0.15 and category not in ("J", "K"):
            row["title"] = rng.choice(("Mr", "Mrs", "Ms", "Dr") if not female else ("Ms", "Mrs", "Dr", "Mx"))
    if rng.random() < 0.7:
        row["userid"] = folded
    if rng.random() < 0.85:
        row["email"] = f"{folded}@example.{rng.choice(('org', 'net', 'com'))}"
    if lib.french:
        row |= dict(streetnumber=str(rng.randint(1, 120)), address=rng.choice(W.FRENCH_STREETS), city="Paris",
                    zipcode=f"750{rng.randint(1, 20):02d}", country="France", lang="fr",
                    phone=f"01 {rng.randint(40, 49)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}")
    else:
        row |= dict(streetnumber=str(rng.randint(1, 4000)),
                    address=f"{rng.choice(W.STREET_NAMES)} {rng.choice(W.STREET_TYPES)}",
                    city=lib.city, state=lib.state, zipcode=lib.zipcode, country=lib.country,
                    phone=f"({lib.area_code}) 555-{rng.randrange(100, 9999):04d}" if rng.random() < 0.7 else None)
    if rng.random() < 0.35:
        row["mobile"] = f"({lib.area_code}) 555-{rng.randrange(100, 9999):04d}"
    roll = rng.random()
    row["privacy"] = "keep_forever" if roll < 0.08 else "never_keep" if roll < 0.16 else "default"
    if rng.random() < 0.6:
        row["lastseen"] = state.days_ago(rng.random() ** 2 * 365)
    if rng.random() < 0.03:
        row["borrowernotes"] = rng.choice(W.STAFF_NOTES)
    if rng.random() < 0.2:
        row["sort1"] = rng.choice(("resident", "non-resident", "school", "university"))
    state.patron_category.append(state.categories.index(category))
    state.patron_library.append(lib_index)
    return row
