"""Titles and their items, streamed title by title, with each item's circulation: its finished
loans (loan history, with late-return fines), its open loan if any (some overdue, some fined)
and a replacement fee when it is lost."""
from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from decimal import Decimal

from app.models import Item, Loan, LoanHistory, Title

from . import text as T
from . import words as W
from .accounts import Ledger
from .demo import item_base, title_base
from .reference import FINE_PER_DAY, LOAN_DAYS
from .state import (
    AVAILABLE, FICTION, FILM, JUVENILE, KIND_ITEM_TYPE, MAGAZINE, MUSIC, NONFICTION, NOT_LOANABLE, ON_LOAN,
    REFERENCE, VOLUMES, SeedState,
)
from .writer import BulkWriter, Progress

BARCODE = "30000{:09d}"  # the demo items are 39999000000001..40
KIND_WEIGHTS = (44, 25, 10, 7, 2, 4, 3, 5)  # by kind, see state.py
STUDIOS = ("Criterion Collection", "Warner Home Video", "Studio Canal", "BFI Video", "Kino Lorber", "Arte Éditions")
LABELS = ("Blue Note", "Deutsche Grammophon", "Nonesuch", "Harmonia Mundi", "ECM Records", "Rough Trade")
MUSIC_SUBJECTS = ("Jazz", "Popular music", "Folk music", "Symphonies", "Piano music", "Rock music")
LOCATION = {FICTION: ("GEN", "FIC"), NONFICTION: ("GEN", "NFIC"), JUVENILE: ("CHILD", "JUV"), FILM: ("AV", "AV"),
            MUSIC: ("AV", "AV"), MAGAZINE: ("PER", "PER"), REFERENCE: ("REF", "REF"), VOLUMES: ("GEN", "NFIC")}
PRICE = {FICTION: 18, NONFICTION: 32, JUVENILE: 12, FILM: 20, MUSIC: 15, MAGAZINE: 6, REFERENCE: 85, VOLUMES: 45}
FINE_CAP = Decimal("10.00")


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _compose_title(rng: random.Random, state: SeedState, tid: int, kind: int, author_pool: int) -> tuple[dict, str]:
    """The title row and its call number stem."""
    topic, dewey, headings = rng.choice(W.TOPICS)
    fiction = kind in (FICTION, JUVENILE)
    french = kind in (FICTION, NONFICTION) and rng.random() < 0.03
    author = T.pick_author(rng, author_pool)
    row = title_base(state.now) | dict(id=tid, author=author, language="fre" if french else "eng",
                                       publisher=rng.choice(W.PUBLISHERS), isbn=T.isbn13(tid),
                                       publication_year=T.publication_year(rng, state.today.year))
    subjects: list[str] = []
    if kind == FICTION:
        row["title"] = T.french_title(rng, False) if french else T.fiction_title(rng)
        subjects = rng.sample(W.FICTION_SUBJECTS, rng.randint(1, 3))
        if rng.random() < 0.3:
            subjects.append(f"{rng.choice(W.PLACES)} -- Fiction")
    elif kind == JUVENILE:
        row["title"] = T.juvenile_title(rng)
        subjects = rng.sample(W.JUVENILE_SUBJECTS, rng.randint(1, 2))
    elif kind == FILM:
        row |= dict(title=T.film_title(rng), isbn=None, publisher=rng.choice(STUDIOS))
        subjects = rng.sample(W.FILM_SUBJECTS, 2)
    elif kind == MUSIC:
        row |= dict(title=f"{rng.choice(W.TITLE_ADJECTIVES)} {rng.choice(W.TITLE_NOUNS)}", isbn=None,
                    publisher=rng.choice(LABELS))
        subjects = [rng.choice(MUSIC_SUBJECTS)]
    elif kind == MAGAZINE:
        row |= dict(title=T.magazine_title(rng, topic), author=None, isbn=None)
        subjects = [f"{headings[0]} -- Periodicals"]
    else:
        if kind == REFERENCE:
            row["title"] = T.reference_title(rng, topic)
            if rng.random() < 0.5:
                row["author"] = None
        elif kind == VOLUMES:
            row["title"] = T.set_title(rng, topic)
        else:
            row["title"] = T.french_title(rng, True) if french else T.nonfiction_title(rng, topic)
        subjects = rng.sample(headings, rng.randint(1, len(headings)))
    row["subjects"] = "; ".join(dict.fromkeys(subjects))
    if kind in (FICTION, NONFICTION, JUVENILE) and not french and rng.random() < 0.4:
        row["subtitle"] = T.subtitle(rng, fiction)
    if kind in (FICTION, NONFICTION, JUVENILE) and rng.random() < 0.12:
        row["series"] = T.series(rng, topic)
    if kind not in (MAGAZINE, MUSIC) and rng.random() < 0.3:
        row["summary"] = T.summary(rng, fiction or kind == FILM, topic)
    key = T.surname_key(row["author"], row["title"])
    stem = {FICTION: f"F {key}", JUVENILE: f"J {key}", FILM: f"DVD {key}", MUSIC: f"CD {key}",
            MAGAZINE: f"PER {key}", REFERENCE: f"R {dewey} {key}"}.get(kind, f"{dewey} {key}")
    return row, stem


def seed_catalogue(writer: BulkWriter, state: SeedState, echo) -> None:
    rng, irng = state.rng("titles"), state.rng("items")
    size = state.size
    ledger = Ledger(writer, state)
    first = state.first_generated_title
    n_titles = max(size.titles - first + 1, 1)
    items_left = max(size.items - state.last_item_id, n_titles)
    loans_left, history_left = size.loans, size.loan_history
    author_pool = max(n_titles // 3, 50)
    progress = Progress(echo, "catalogue", n_titles, writer.counts)
    kinds = range(len(KIND_WEIGHTS))
    kind_cumulative = list(itertools.accumulate(KIND_WEIGHTS))
    for i in range(n_titles):
        tid = first + i
        kind = rng.choices(kinds, cum_weights=kind_cumulative)[0]
        row, stem = _compose_title(rng, state, tid, kind, author_pool)
        titles_left = n_titles - i
        room = items_left - (titles_left - 1)  # leave at least one item for every later title
        mean = items_left / titles_left
        if titles_left == 1:
            copies = items_left
        elif kind == VOLUMES:
            copies = min(rng.randint(2, 6), room)
        elif kind == MAGAZINE:
            copies = min(rng.randint(3, 8), room)
        else:
            copies = max(1, min(room, 1 + int(rng.random() * 2 * max(mean - 1, 0) + 0.5)))
        years_held = min(15, state.today.year - row["publication_year"]) + 0.5
        acquired = state.days_ago(irng.random() * years_held * 365)
        row["created_at"] = acquired
        writer.add(Title.__table__, row)
        state.title_kind.append(kind)
        state.title_first_item.append(state.last_item_id + 1)
        state.title_item_count.append(copies)
        for copy in range(copies):
            p_loan = loans_left / max(1.0, items_left * 0.9)
            mean_history = history_left / max(1.0, items_left * 0.97)
            history_left -= _item(writer, state, irng, ledger, tid, row, kind, stem, copy, copies, acquired,
                                  p_loan, mean_history)
            items_left -= 1
            loans_left -= state.item_state[-1] == ON_LOAN
        writer.ready()
        progress.tick(i + 1)
    state.last_title_id = first + n_titles - 1
    writer.flush()
    progress.done(writer.counts, ("titles", "items", "loans", "loan_history", "account_lines"))


def _item(writer: BulkWriter, state: SeedState, rng: random.Random, ledger: Ledger, tid: int, title: dict,
          kind: int, stem: str, copy: int, copies: int, acquired: dt.datetime, p_loan: float,
          mean_history: float) -> int:
    """Writes one item and its circulation; returns how many finished loans it got."""
    item_id = state.last_item_id = state.last_item_id + 1
    item_type = KIND_ITEM_TYPE[kind]
    lib_index = 0 if kind in (MAGAZINE, REFERENCE) and rng.random() < 0.5 else state.pick_library(rng)
    library = state.libraries[lib_index].code
    today = state.today
    price = Decimal(PRICE[kind]) + Decimal(rng.randrange(0, 1000)) / 100
    location, collection = LOCATION[kind]
    row = item_base(state.now) | dict(
        id=item_id, barcode=BARCODE.format(item_id), title_id=tid, home_library_code=library,
        holding_library_code=library, item_type_code=item_type, callnumber=stem, shelving_location=location,
        collection=collection, price=price, replacement_price=(price * Decimal("1.25")).quantize(Decimal("0.01")),
        date_last_seen=today - dt.timedelta(days=int(rng.random() ** 3 * 400)),
        created_at=acquired, updated_at=acquired)
    if kind == VOLUMES:
        row["enumchron"] = f"v.{copy + 1}"
    elif kind == MAGAZINE:
        issue_year = today.year - copy // 4
        row["enumchron"] = f"{issue_year} no.{4 - copy % 4}"
    elif copies > 1:
        row["copynumber"] = str(copy + 1)
    roll = rng.random()
    if roll < 0.006:
        row |= dict(lost=1, lost_on=state.days_ago(rng.uniform(10, 400)))
    elif roll < 0.010:
        row["withdrawn"] = True
    elif roll < 0.022:
        row["damaged"] = True
    elif roll < 0.027:
        row |= dict(not_for_loan=1, staff_note="Staff collection")
    elif roll < 0.035:
        row["public_note"] = rng.choice(("Signed by the author", "Large print", "Includes CD", "Gift of the Friends of the Library"))
    loanable = kind != REFERENCE and roll >= 0.027
    state.item_state.append(AVAILABLE if loanable else NOT_LOANABLE)
    state.item_library.append(lib_index)
    history = 0 if kind == REFERENCE else _poisson(rng, mean_history)
    last_borrowed: dt.date | None = None
    fine = Decimal(FINE_PER_DAY.get(item_type, "0.25"))
    loan_days = LOAN_DAYS.get(item_type, 14)
    for _ in range(history):
        issued = state.days_ago(rng.uniform(14, 1100))
        due = state.end_of_day(issued.astimezone(state.zone).date() + dt.timedelta(days=loan_days))
        returned = min(issued + dt.timedelta(days=rng.uniform(0.2, loan_days + 12)), state.days_ago(1))
        patron_id = state.pick_public_patron(rng)
        loan_id = state.next_loan_id
        state.next_loan_id += 1
        anonymized = rng.random() < 0.15
        writer.add(LoanHistory.__table__, dict(
            loan_id=loan_id, patron_id=None if anonymized else patron_id, item_id=item_id, library_code=library,
            return_library_code=library if rng.random() < 0.85 else state.libraries[state.pick_library(rng)].code,
            issued_at=issued, due_at=due, returned_at=returned, renewals_count=rng.choice((0, 0, 0, 1, 2)),
            onsite_checkout=False, channel=rng.choice(("desk", "desk", "sip2", "sip2", "offline")),
            anonymized=anonymized, patron_category_code=state.categories[state.patron_category[patron_id]],
            item_type_code=item_type))
        last_borrowed = max(last_borrowed or issued.date(), issued.date())
        late_days = (returned - due).days
        if late_days > 0 and rng.random() < 0.5 and not anonymized:
            amount = min(fine * late_days, FINE_CAP)
            paid, settle = ledger.settle_share(rng, amount)
            ledger.charge(rng, patron_id=patron_id, debit_type="OVERDUE", amount=amount, at=returned,
                          library=library, description=f"{title['title']} (due {due.date().isoformat()})",
                          paid=paid, settle=settle, item_id=item_id, loan_id=loan_id, status="returned")
    if loanable and rng.random() < p_loan:
        last_borrowed = _open_loan(writer, state, rng, ledger, item_id, library, title, item_type, fine)
        state.item_state[-1] = ON_LOAN
    if row["lost"] and rng.random() < 0.5:
        patron_id = state.pick_public_patron(rng)
        paid, settle = ledger.settle_share(rng, row["replacement_price"])
        ledger.charge(rng, patron_id=patron_id, debit_type="LOST", amount=row["replacement_price"],
                      at=row["lost_on"], library=library, description=f"Lost item: {title['title']}",
                      paid=paid, settle=settle, item_id=item_id)
    row |= dict(checkouts_count=history + (state.item_state[-1] == ON_LOAN),
                date_last_borrowed=last_borrowed)
    writer.add(Item.__table__, row)
    return history


def _open_loan(writer: BulkWriter, state: SeedState, rng: random.Random, ledger: Ledger, item_id: int,
               library: str, title: dict, item_type: str, fine: Decimal) -> dt.date:
    today = state.today
    loan_days = LOAN_DAYS.get(item_type, 14)
    renewals = rng.choice((0, 0, 0, 0, 1, 1, 2))
    overdue = rng.random() < 0.15
    if overdue:
        due_day = today - dt.timedelta(days=int(1 + rng.random() ** 2 * 90))
    else:
        due_day = today + dt.timedelta(days=rng.randint(0, loan_days))
    issued_day = due_day - dt.timedelta(days=loan_days * (1 + renewals))
    issued = dt.datetime.combine(issued_day, dt.time(rng.randint(9, 19), rng.randint(0, 59)), tzinfo=state.zone)
    issued = min(issued.astimezone(dt.timezone.utc), state.now)
    channel = rng.choices(("desk", "sip2", "offline", "api"), (60, 33, 4, 3))[0]
    patron_id = state.pick_public_patron(rng)
    loan_id = state.next_loan_id
    state.next_loan_id += 1
    renewed = state.end_of_day(due_day - dt.timedelta(days=loan_days)) - dt.timedelta(hours=rng.randint(5, 12))
    writer.add(Loan.__table__, dict(
        id=loan_id, patron_id=patron_id, item_id=item_id, library_code=library, issued_at=issued,
        due_at=state.end_of_day(due_day), last_renewed_at=min(renewed, state.now) if renewals else None,
        renewals_count=renewals, unseen_renewals=0, auto_renew=rng.random() < 0.1,
        onsite_checkout=False, channel=channel,
        issuer_id=rng.choice(state.staff_by_library[library]) if channel == "desk" else None,
        note=None, created_at=issued, updated_at=issued))
    days_late = (today - due_day).days
    if overdue and days_late > 0 and rng.random() < 0.6:
        amount = min(fine * days_late, FINE_CAP)
        paid = (amount / 2).quantize(Decimal("0.01")) if rng.random() < 0.15 else Decimal("0")
        ledger.charge(rng, patron_id=patron_id, debit_type="OVERDUE", amount=amount,
                      at=state.end_of_day(today - dt.timedelta(days=1)) if days_late > 1 else state.now,
                      library=library, description=f"{title['title']} (due {due_day.isoformat()})",
                      paid=paid, item_id=item_id, loan_id=loan_id, status="accruing")
    return issued_day
