"""The catalogue search service, on whichever database the tests run (SQLite FTS5 or
PostgreSQL tsvector)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from app import clock
from app.models import Hold, ItemTransfer, Loan
from app.models.circulation import TransferReason
from app.models.hold import HoldStatus
from app.services import search
from app.services.search import ShelfStatus, holdings, search_titles


def titles_found(session, query, **kw) -> list[str]:
    return [hit.title.title for hit in search_titles(session, query, **kw).hits]


def lend(session, item, patron, due_in_days: int = 14) -> Loan:
    now = clock.now()
    loan = Loan(patron_id=patron.id, item_id=item.id, library_code=item.holding_library_code,
                issued_at=now, due_at=now + dt.timedelta(days=due_in_days))
    session.add(loan)
    session.flush()
    return loan


def test_a_title_is_found_by_a_word_of_its_subtitle(session, make):
    make.title(title="The Hobbit", subtitle="or There and Back Again", author="J. R. R. Tolkien")
    make.title(title="Silmarillion", author="J. R. R. Tolkien")
    assert titles_found(session, "back") == ["The Hobbit"]
    assert titles_found(session, "BACK again") == ["The Hobbit"]


@pytest.mark.parametrize("query", ["9780261102217", "978-0-261-10221-7", "978 0 261 10221 7", "0261102214",
                                   "0-261-10221-4"])
def test_a_title_is_found_by_its_isbn_with_or_without_hyphens(session, make, query):
    make.title(title="The Hobbit", isbn="9780261102217")
    make.title(title="Another book", isbn="9780000000002")
    result = search_titles(session, query)
    assert [hit.title.title for hit in result.hits] == ["The Hobbit"]
    assert result.by_isbn


def test_an_isbn_stored_with_hyphens_is_found_by_its_digits(session, make):
    make.title(title="Catcher", isbn="0-316-76948-7 (pbk.)")
    assert titles_found(session, "0316769487") == ["Catcher"]
    assert titles_found(session, "9780316769488") == ["Catcher"]


def test_words_match_author_series_and_subjects(session, make):
    make.title(title="One", author="Ursula Le Guin")
    make.title(title="Two", series="Earthsea cycle")
    make.title(title="Three", subjects="Dragons; Wizards -- Fiction")
    assert titles_found(session, "guin") == ["One"]
    assert titles_found(session, "earthsea") == ["Two"]
    assert titles_found(session, "wizards fiction") == ["Three"]
    assert titles_found(session, "guin wizards") == []  # every word must match


def test_a_word_in_the_title_ranks_above_a_word_in_the_subjects(session, make):
    make.title(title="Gardening for all", subjects="Dragons")
    make.title(title="Dragons of autumn", subjects="Fantasy")
    assert titles_found(session, "dragons") == ["Dragons of autumn", "Gardening for all"]


def test_a_trailing_star_matches_a_prefix_of_three_letters_or_more(session, make):
    make.title(title="The Hobbit")
    make.title(title="Hobgoblins")
    assert sorted(titles_found(session, "hob*")) == ["Hobgoblins", "The Hobbit"]
    assert titles_found(session, "hobb*") == ["The Hobbit"]
    assert titles_found(session, "ho*") == []  # too short: the word "ho" itself


def test_the_index_follows_changes_to_titles(session, make):
    record = make.title(title="Original words")
    assert titles_found(session, "original") == ["Original words"]
    record.title = "Revised wording"
    session.flush()
    assert titles_found(session, "original") == []
    assert titles_found(session, "revised") == ["Revised wording"]
    record.hold_queue_version += 1  # not a searched column
    session.flush()
    assert titles_found(session, "revised") == ["Revised wording"]
    session.delete(record)
    session.flush()
    assert titles_found(session, "revised") == []


def test_results_come_in_pages(session, make):
    for n in range(25):
        make.title(title=f"Common word volume {n}")
    pages = [search_titles(session, "common", page=p, per_page=10) for p in (1, 2, 3)]
    assert [len(p.hits) for p in pages] == [10, 10, 5]
    assert all(p.total == 25 and p.pages == 3 for p in pages)
    ids = [hit.title.id for p in pages for hit in p.hits]
    assert len(set(ids)) == 25
    assert pages[0].has_next and not pages[0].has_previous and pages[2].has_previous and not pages[2].has_next
    assert (pages[1].first_shown, pages[1].last_shown) == (11, 20)


def test_a_page_past_the_end_is_empty_but_keeps_the_count(session, make):
    for n in range(3):
        make.title(title=f"Rare word {n}")
    result = search_titles(session, "rare", page=5, per_page=2)
    assert result.hits == [] and result.total == 3


def test_page_size_is_capped(session, make):
    assert search_titles(session, "anything", per_page=10_000).per_page == search.MAX_PER_PAGE


def test_matches_are_counted_up_to_a_cap(session, make, monkeypatch):
    monkeypatch.setattr(search, "MATCH_CAP", 5)
    for n in range(8):
        make.title(title=f"Popular {n}")
    result = search_titles(session, "popular", per_page=3)
    assert result.total == 5 and result.total_is_capped
    assert "More than 5" in result.message
    assert len(result.hits) == 3


@pytest.mark.parametrize("query", [
    '"', '"unbalanced', "'", "*", "word*", "**", "NEAR(alpha beta)", "alpha NEAR beta", "NEAR", "(", ")",
    "(alpha", "-", "-alpha", "alpha -beta", "alpha OR", "AND", "NOT alpha", "title:alpha", "^alpha", "+",
    "{alpha beta}", ":", "alpha:*", "!", "&", "|", "<->", "\\", "%", "_", "alpha_beta", "é", "日本語",
    "a" * 500, "alpha " * 50, "\x00", "NEAR/3", "alpha AND NOT", "'; DROP TABLE titles; --",
])
def test_search_syntax_in_a_query_never_raises(session, make, query):
    make.title(title="Alpha beta near gamma")
    result = search_titles(session, query)
    assert not result.timed_out
    assert result.total in (0, 1)


def test_operator_words_are_searched_as_words(session, make):
    make.title(title="Near and far")
    make.title(title="Not now")
    assert titles_found(session, "near") == ["Near and far"]
    assert titles_found(session, "NEAR far") == ["Near and far"]
    assert titles_found(session, "not") == ["Not now"]
    assert titles_found(session, '"near" (far)') == ["Near and far"]


def test_an_empty_query_finds_nothing_and_says_nothing(session):
    result = search_titles(session, "   ")
    assert result.hits == [] and result.total == 0 and result.message is None


def test_availability_counts_copies_on_the_shelf(session, make):
    patron = make.patron()
    book = make.title(title="Counted")
    on_shelf = make.item(book)
    make.item(book)  # a second copy on the shelf
    lend(session, make.item(book), patron)
    make.item(book, lost=1)
    make.item(book, damaged=True)
    make.item(book, not_for_loan=1)
    make.item(book, withdrawn=True)  # not counted at all
    moving = make.item(book)
    session.add(ItemTransfer(item_id=moving.id, from_library_code="CPL", to_library_code="CPL",
                             reason=TransferReason.MANUAL, sent_at=clock.now()))
    waiting = make.item(book)
    session.add(Hold(patron_id=patron.id, title_id=book.id, item_id=waiting.id, pickup_library_code="CPL",
                     status=HoldStatus.PULLED, queue_key=1))
    reference_only = make.item_type("REF", not_for_loan=True)
    make.item(book, item_type=reference_only.code)
    empty = make.title(title="Counted too")
    session.flush()
    hits = {h.title.title: h.availability for h in search_titles(session, "counted").hits}
    assert (hits["Counted"].available, hits["Counted"].total) == (2, 9)
    assert (hits["Counted too"].available, hits["Counted too"].total) == (0, 0)
    statuses = {h.item.id: h.status for h in holdings(session, book)}
    assert statuses[on_shelf.id] is ShelfStatus.AVAILABLE
    assert statuses[moving.id] is ShelfStatus.IN_TRANSIT and statuses[waiting.id] is ShelfStatus.ON_HOLD
    # The title page and the result list agree on what "available" means.
    assert sum(s is ShelfStatus.AVAILABLE for s in statuses.values()) == hits["Counted"].available
    assert len(statuses) == hits["Counted"].total


def test_holdings_show_each_copys_status_and_due_date(session, make):
    patron = make.patron()
    book = make.title()
    out = make.item(book, callnumber="823.91 TOL", enumchron="v.1")
    lost = make.item(book, lost=1)
    loan = lend(session, out, patron, due_in_days=7)
    rows = {h.item.id: h for h in holdings(session, book)}
    assert rows[out.id].status is ShelfStatus.CHECKED_OUT and rows[out.id].due_at == loan.due_at
    assert rows[lost.id].status is ShelfStatus.LOST and rows[lost.id].due_at is None


def test_availability_is_one_query_for_the_whole_page(app, session, make):
    from sqlalchemy import event

    from app.extensions import db

    for n in range(5):
        book = make.title(title=f"Batch {n}")
        make.item(book)
        make.item(book)
    session.flush()
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = search_titles(session, "batch")
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(result.hits) == 5
    # the match query, then the titles with their availability (plus time-budget statements)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_a_search_past_its_time_budget_is_cancelled_and_says_so(session, make, dialect, monkeypatch):
    make.title(title="Slow")
    if dialect == "postgresql":
        slow = "SELECT pg_sleep(5)"
    else:
        slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
                "SELECT count(*) FROM n")

    def slow_matches(session_, query, page, per_page):
        session_.execute(text(slow)).all()
        raise AssertionError("the database should have cancelled the query")

    monkeypatch.setattr(search, "_matching_ids", slow_matches)
    started = clock.now()
    result = search_titles(session, "slow", budget_ms=100)
    assert (clock.now() - started).total_seconds() < 3
    assert result.timed_out and result.hits == []
    assert "took too long" in result.message and "refine" in result.message
    # The transaction survives: the request can still render its page.
    assert session.execute(text("SELECT count(*) FROM titles")).scalar_one() == 1


def test_a_search_within_budget_leaves_no_timeout_behind(session, make, dialect):
    make.title(title="Quick")
    assert titles_found(session, "quick", budget_ms=5000) == ["Quick"]
    if dialect == "postgresql":
        assert session.execute(text("SHOW statement_timeout")).scalar_one() == "0"


def test_isbn_forms_are_converted_both_ways():
    assert search.isbn_candidates("0-261-10221-4")[1:] == ["0261102214", "9780261102217"]
    assert search.isbn_candidates("9780261102217") == ["9780261102217", "0261102214"]
    assert search.isbn_candidates("080442957x")[1:] == ["080442957X", "9780804429573"]
    assert search.isbn_candidates("9791234567896") == ["9791234567896"]  # 979: no ISBN-10
    assert search.isbn_candidates("hobbit") == [] and search.isbn_candidates("12345") == []


def test_the_alembic_filter_leaves_out_only_search_index_objects():
    assert not search.include_object(None, "titles_fts", "table", True, None)
    assert not search.include_object(None, "titles_fts_data", "table", True, None)
    assert not search.include_object(None, "ix_titles_search", "index", True, None)
    assert search.include_object(None, "titles", "table", True, None)
    assert search.include_object(None, "ix_titles_isbn", "index", True, None)


@pytest.mark.parametrize("server", ["werkzeug", "gunicorn"])
def test_the_search_benchmark_measures_the_web_endpoint(app, session, make, server):
    from bench.search import measure

    for n in range(30):
        make.title(title=f"Benchmark word{n % 7} title", subtitle="with a subtitle")
    session.commit()
    figures = measure(app, users=3, requests_per_user=4, warmup=3, server=server, workers=1)
    assert figures.requests == 12 and figures.errors == 0
    assert 0 < figures.p50_ms <= figures.p95_ms <= figures.max_ms
    assert figures.lines()[0].startswith("BENCH opac_search_p95_ms ") and figures.lines()[0].endswith(" ms")


def test_the_alembic_filter_hides_the_generated_search_column_of_titles_only():
    from sqlalchemy import Column, MetaData, Table
    from sqlalchemy.dialects.postgresql import TSVECTOR

    titles = Table("titles", MetaData(), Column("search_document", TSVECTOR))
    other = Table("other", MetaData(), Column("search_document", TSVECTOR))
    assert not search.include_object(titles.c.search_document, "search_document", "column", True, None)
    assert search.include_object(other.c.search_document, "search_document", "column", True, None)
    assert search.include_object(titles.c.search_document, "title", "column", True, None)
