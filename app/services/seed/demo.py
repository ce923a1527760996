"""The fixed demo accounts every size holds (and nothing else ever creates): staff ``admin``,
patrons ``23529000000001``..60, the ``kiosk`` SIP2 account, the ``demo-client`` API client and
forty available items at CPL. Generated data uses other ranges (see DEMO_* below)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.models import ApiClient, Item, Patron, SipAccount, StaffPermission, Title
from app.services.passwords import hash_password

from . import text as T
from . import words as W
from .state import DEMO, NOT_LOANABLE, SeedState
from .writer import BulkWriter

DEMO_PATRONS = 60
DEMO_PATRON_CARD = "235290000000{:02d}"  # generated patrons use 23520 + id
DEMO_ITEM_BARCODE = "39999{:09d}"  # generated items use 30000 + id
DEMO_ITEMS = 40
ADMIN_ID = 1
LEFT_HAND = "The Left Hand of Darkness"

# title, subtitle, author, publisher, year, series, subjects, copies
DEMO_TITLES = (
    (LEFT_HAND, None, "Le Guin, Ursula K.", "Ace Books", 1969, "Hainish cycle ; 4",
     "Science fiction; Gender identity -- Fiction; Interplanetary voyages -- Fiction", 10),
    ("The Dispossessed", "an ambiguous utopia", "Le Guin, Ursula K.", "Harper & Row", 1974, "Hainish cycle ; 6",
     "Science fiction; Utopias -- Fiction; Anarchism -- Fiction", 3),
    ("Kindred", None, "Butler, Octavia E.", "Doubleday", 1979, None,
     "Science fiction; Time travel -- Fiction; Slavery -- Fiction", 3),
    ("Pride and Prejudice", None, "Austen, Jane", "Penguin Books", 2003, "Penguin classics",
     "Love stories; Courtship -- Fiction; England -- Fiction", 2),
    ("Middlemarch", "a study of provincial life", "Eliot, George", "Oxford University Press", 2008,
     "Oxford world's classics", "Domestic fiction; England -- Social life and customs -- Fiction", 2),
    ("Things Fall Apart", None, "Achebe, Chinua", "Anchor Books", 1994, None,
     "Igbo (African people) -- Fiction; Nigeria -- History -- Fiction", 2),
    ("One Hundred Years of Solitude", None, "García Márquez, Gabriel", "Harper Perennial", 2006, None,
     "Magic realism (Literature); Families -- Fiction; Colombia -- Fiction", 2),
    ("Beloved", "a novel", "Morrison, Toni", "Vintage", 2004, None,
     "Historical fiction; Ohio -- Fiction; Slavery -- Fiction", 2),
    ("The Name of the Rose", None, "Eco, Umberto", "Harcourt", 1983, None,
     "Detective and mystery stories; Monasteries -- Fiction; Italy -- History -- Fiction", 2),
    ("Invisible Cities", None, "Calvino, Italo", "Harcourt Brace Jovanovich", 1974, None,
     "Fantasy fiction; Cities and towns -- Fiction", 2),
    ("Dune", None, "Herbert, Frank", "Ace Books", 1990, "Dune chronicles ; 1",
     "Science fiction; Deserts -- Fiction", 2),
    ("The Remains of the Day", None, "Ishiguro, Kazuo", "Vintage", 1993, None,
     "Butlers -- Fiction; England -- Fiction; Psychological fiction", 2),
    ("Moby-Dick", "or, The whale", "Melville, Herman", "Penguin Books", 2002, "Penguin classics",
     "Sea stories; Whaling -- Fiction", 2),
    ("Mrs Dalloway", None, "Woolf, Virginia", "Harcourt", 1981, None,
     "Psychological fiction; London (England) -- Fiction", 2),
    ("The Master and Margarita", None, "Bulgakov, Mikhail", "Vintage", 1996, None,
     "Devil -- Fiction; Moscow (Russia) -- Fiction; Satire", 2),
)


def seed_demo_accounts(writer: BulkWriter, state: SeedState) -> None:
    """Admin (id 1), the 60 demo patrons (ids 2..61), the demo titles (ids 1..15) and items
    (ids 1..40). Four argon2 hashes in all: one per distinct password."""
    rng = state.rng("demo")
    now, today = state.now, state.today
    patron_hash = hash_password("patron")
    cpl = state.library_index("CPL")
    pt, st = state.categories.index("PT"), state.categories.index("ST")
    base = _patron_base(now)
    writer.add(Patron.__table__, base | dict(
        id=ADMIN_ID, cardnumber="23529900000001", userid="admin", surname="Admin", firstname="Demo",
        email="admin@library.example.org", library_code="CPL", category_code="ST",
        dateenrolled=today - dt.timedelta(days=3650), dateexpiry=today + dt.timedelta(days=3650),
        password_hash=hash_password("admin")))
    writer.add(StaffPermission.__table__, dict(patron_id=ADMIN_ID, permission="superlibrarian"))
    state.patron_category += bytes([0, st])  # index 0 unused (ids start at 1)
    state.patron_library += bytes([0, cpl])
    for n in range(1, DEMO_PATRONS + 1):
        female = rng.random() < 0.5
        first = rng.choice(W.FIRST_FEMALE if female else W.FIRST_MALE)
        surname = rng.choice(W.SURNAMES)
        writer.add(Patron.__table__, base | dict(
            id=ADMIN_ID + n, cardnumber=DEMO_PATRON_CARD.format(n), userid=f"patron{n}",
            surname=surname, firstname=first, email=f"patron{n}@example.org",
            library_code="CPL", category_code="PT", sex="F" if female else "M",
            streetnumber=str(rng.randint(1, 400)),
            address=f"{rng.choice(W.STREET_NAMES)} {rng.choice(W.STREET_TYPES)}",
            city="Centerville", state="OH", zipcode="44600", country="USA",
            phone=f"(330) 555-{rng.randrange(100, 9999):04d}",
            dateofbirth=today - dt.timedelta(days=rng.randint(20 * 365, 70 * 365)),
            dateenrolled=today - dt.timedelta(days=rng.randint(30, 2000)),
            dateexpiry=today + dt.timedelta(days=3 * 365), password_hash=patron_hash))
        state.patron_category.append(pt)
        state.patron_library.append(cpl)
    state.first_staff_id = ADMIN_ID + DEMO_PATRONS + 1
    _demo_catalogue(writer, state, cpl)
    writer.add(SipAccount.__table__, dict(
        login="kiosk", password_hash=hash_password("kiosk"), institution_id="CPL", library_code="CPL",
        actor_id=ADMIN_ID, enabled=True, error_detection=False, created_at=now, updated_at=now))
    writer.add(ApiClient.__table__, dict(
        client_id="demo-client", secret_hash=hash_password("demo-secret"), description="Demo API client",
        patron_id=ADMIN_ID, active=True, created_at=now, updated_at=now))


def _patron_base(now: dt.datetime) -> dict:
    """Every key a patron row of the seed sets, so all rows of one executemany agree."""
    return dict(
        id=None, cardnumber=None, userid=None, surname=None, firstname=None, title=None, initials=None,
        sex=None, streetnumber=None, address=None, city=None, state=None, zipcode=None, country=None,
        email=None, phone=None, mobile=None, dateofbirth=None, library_code=None, category_code=None,
        dateenrolled=None, dateexpiry=None, guarantor_id=None, relationship_type=None, borrowernotes=None,
        privacy="default", lastseen=None, password_hash=None, sort1=None, sort2=None, lang="en",
        created_at=now, updated_at=now)


def _demo_catalogue(writer: BulkWriter, state: SeedState, cpl: int) -> None:
    now, today = state.now, state.today
    # Per-id arrays: index 0 is a placeholder (ids start at 1)
    state.title_kind.append(0)
    state.title_first_item.append(0)
    state.title_item_count.append(0)
    state.item_state.append(NOT_LOANABLE)
    state.item_library.append(0)
    item_id = 0
    for title_id, (title, subtitle, author, publisher, year, series, subjects, copies) in enumerate(DEMO_TITLES, 1):
        writer.add(Title.__table__, title_base(now) | dict(
            id=title_id, title=title, subtitle=subtitle, author=author, isbn=T.isbn13(title_id),
            publisher=publisher, publication_year=year, series=series, subjects=subjects, language="eng"))
        state.title_kind.append(0)
        state.title_first_item.append(item_id + 1)
        state.title_item_count.append(copies)
        for copy in range(1, copies + 1):
            item_id += 1
            writer.add(Item.__table__, item_base(now) | dict(
                id=item_id, barcode=DEMO_ITEM_BARCODE.format(item_id), title_id=title_id,
                home_library_code="CPL", holding_library_code="CPL", item_type_code="BK",
                callnumber=f"F {T.surname_key(author, title)}", copynumber=str(copy), shelving_location="GEN",
                collection="FIC", price=Decimal("16.00"), replacement_price=Decimal("20.00"),
                date_last_seen=today))
            state.item_state.append(DEMO)
            state.item_library.append(cpl)
    assert item_id == DEMO_ITEMS
    state.first_generated_title = len(DEMO_TITLES) + 1
    state.last_title_id, state.last_item_id = len(DEMO_TITLES), item_id


def title_base(now: dt.datetime) -> dict:
    return dict(id=None, title=None, subtitle=None, author=None, isbn=None, publisher=None,
                publication_year=None, series=None, subjects=None, language=None, summary=None,
                hold_queue_version=0, created_at=now, updated_at=now)


def item_base(now: dt.datetime) -> dict:
    return dict(
        id=None, barcode=None, title_id=None, home_library_code=None, holding_library_code=None,
        item_type_code=None, callnumber=None, enumchron=None, copynumber=None, shelving_location=None,
        collection=None, price=None, replacement_price=None, not_for_loan=0, lost=0, lost_on=None,
        withdrawn=False, damaged=False, date_last_seen=None, date_last_borrowed=None, checkouts_count=0,
        renewals_count=0, public_note=None, staff_note=None, created_at=now, updated_at=now)
