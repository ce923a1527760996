"""Administration pages as a librarian uses them: system preferences and the rules matrix edited
inline with htmx (and without JavaScript), SIP2 accounts and transport costs shown, every route
closed to staff without the administration permission and to forged posts."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import ALL, AuditEntry, CirculationRule, SipAccount, SipInstitution, SystemPreference, TransportCost
from app.services.rules import effective_rule, set_rule
from app.services.settings import PREFERENCES

from .conftest import csrf_token_from, login_as

PREFERENCES_URL = "/staff/admin/preferences"
RULES_URL = "/staff/admin/rules"
CELL_URL = "/staff/admin/rules/cell"
ROWS_URL = "/staff/admin/rules/rows"
DELETE_ROW_URL = "/staff/admin/rules/rows/delete"
EFFECTIVE_URL = "/staff/admin/rules/effective"


@pytest.fixture
def admin(client, make, session):
    """A superlibrarian logged in to the staff site, with a library, a category and an item type."""
    make.staff(userid="admin", password="admin-pass", library="CPL")
    make.category("PT")
    make.item_type("BK")
    session.commit()
    assert login_as(client, "admin", "admin-pass", staff=True).status_code == 302
    return client


def _token(client, page: str = RULES_URL) -> str:
    return csrf_token_from(client.get(page).get_data(as_text=True))


def _htmx_post(client, url: str, data: dict, token: str):
    return client.post(url, data=data, headers={"HX-Request": "true", "X-CSRFToken": token})


def _cell(rule_name: str, value: str = "", row=(ALL, ALL, ALL), **extra) -> dict:
    return {"library": row[0], "category": row[1], "item_type": row[2], "rule_name": rule_name, "value": value, **extra}


def _fresh(session) -> None:
    """End the test session's transaction: an SQLite reader keeps its snapshot until then."""
    session.rollback()


def _stored_preference(session, name: str) -> str | None:
    _fresh(session)
    row = session.get(SystemPreference, name)
    return None if row is None else row.value


def _stored_rules(session, row=(ALL, ALL, ALL)) -> dict[str, str]:
    _fresh(session)
    return {r.rule_name: r.rule_value for r in session.scalars(select(CirculationRule).where(
        CirculationRule.library_code == row[0], CirculationRule.category_code == row[1],
        CirculationRule.item_type_code == row[2]))}


# System preferences

def test_the_preferences_page_lists_every_preference_by_area_with_its_value(admin):
    html = admin.get(PREFERENCES_URL).get_data(as_text=True)
    for pref in PREFERENCES:
        assert f'id="pref-{pref.name}"' in html
        assert pref.description.replace("'", "&#39;") in html
    for area in ("Circulation", "Holds", "Privacy", "REST API"):
        assert f"<h2>{area}</h2>" in html
    assert 'value="Carrel Library"' in html
    assert "badge-changed" not in html  # nothing stored yet: every preference shows its default


def test_setting_a_good_value_stores_it_answers_the_row_and_audits_it(admin, session):
    response = _htmx_post(admin, f"{PREFERENCES_URL}/ReservesMaxPickUpDelay", {"value": "10"}, _token(admin, PREFERENCES_URL))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<tr id="pref-ReservesMaxPickUpDelay"')
    assert 'value="10"' in html and "Saved" in html and "default: 7" in html
    assert _stored_preference(session, "ReservesMaxPickUpDelay") == "10"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.module == "SETTINGS")).one()
    assert (entry.action, entry.object_id, entry.info["value"]) == ("MODIFY", "ReservesMaxPickUpDelay", "10")


@pytest.mark.parametrize("name, value, message", [
    ("ReservesMaxPickUpDelay", "-3", "must not be negative"),
    ("ReservesMaxPickUpDelay", "a week", "must be a whole number"),
    ("noissuescharge", "lots", "must be a number"),
    ("CircControl", "Anywhere", "must be one of"),
    ("AutomaticItemReturn", "perhaps", "must be yes or no"),
    ("TrackLastPatronActivityTriggers", ["login", "teleport"], "unknown value"),
])
def test_a_bad_value_shows_the_inline_error_and_stores_nothing(admin, session, name, value, message):
    response = _htmx_post(admin, f"{PREFERENCES_URL}/{name}", {"value": value}, _token(admin, PREFERENCES_URL))
    html = response.get_data(as_text=True)
    assert response.status_code == 200  # htmx swaps 2xx only: the error travels inside the row
    assert html.lstrip().startswith(f'<tr id="pref-{name}" class="pref-row has-error"')
    assert message in html and 'role="alert"' in html and 'aria-invalid="true"' in html
    assert _stored_preference(session, name) is None
    assert session.scalars(select(AuditEntry).where(AuditEntry.module == "SETTINGS")).all() == []


def test_the_typed_bad_value_stays_in_the_input_to_be_corrected(admin):
    html = _htmx_post(admin, f"{PREFERENCES_URL}/LocalHoldsPriorityTopN", {"value": "-1"},
                      _token(admin, PREFERENCES_URL)).get_data(as_text=True)
    assert 'value="-1"' in html


def test_without_javascript_a_save_redirects_back_with_a_flash(admin, session):
    token = _token(admin, PREFERENCES_URL)
    response = admin.post(f"{PREFERENCES_URL}/LibraryName", data={"value": "Riverside Library", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/admin/preferences#pref-LibraryName")
    assert "LibraryName saved." in admin.get(PREFERENCES_URL).get_data(as_text=True)
    assert _stored_preference(session, "LibraryName") == "Riverside Library"

    response = admin.post(f"{PREFERENCES_URL}/ReservesMaxPickUpDelay", data={"value": "-1", "csrf_token": token})
    assert response.status_code == 302
    assert "ReservesMaxPickUpDelay was not changed: must not be negative." in admin.get(PREFERENCES_URL).get_data(as_text=True)
    assert _stored_preference(session, "ReservesMaxPickUpDelay") is None


def test_ticked_boxes_of_a_multiple_choice_preference_are_stored_and_none_ticked_means_none(admin, session):
    token = _token(admin, PREFERENCES_URL)
    url = f"{PREFERENCES_URL}/TrackLastPatronActivityTriggers"
    html = _htmx_post(admin, url, {"value": ["check_out", "login"]}, token).get_data(as_text=True)
    assert _stored_preference(session, "TrackLastPatronActivityTriggers") == "login,check_out"
    assert 'value="login" checked' in html and 'value="hold" checked' not in html
    _htmx_post(admin, url, {}, token)
    assert _stored_preference(session, "TrackLastPatronActivityTriggers") == ""


def test_saving_the_same_value_again_writes_no_second_audit_entry(admin, session):
    token = _token(admin, PREFERENCES_URL)
    for _ in range(2):
        _htmx_post(admin, f"{PREFERENCES_URL}/OpacPublic", {"value": "0"}, token)
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.object_id == "OpacPublic")).all()) == 1


def test_an_unknown_preference_is_not_found(admin):
    assert _htmx_post(admin, f"{PREFERENCES_URL}/NoSuchPreference", {"value": "1"}, _token(admin)).status_code == 404


# Circulation rules matrix

def test_the_rules_page_shows_the_matrix_with_the_default_row_and_explains_blanks(admin, session):
    set_rule(session, "CPL", ALL, "BK", "issuelength", "7")
    session.commit()
    html = admin.get(RULES_URL).get_data(as_text=True)
    assert "Loan period (days)" in html and "Holds allowed" in html
    assert "A blank cell inherits from a less specific row" in html
    assert 'id="rule-issuelength/CPL/*/BK"' in html and 'id="rule-issuelength/*/*/*"' in html
    assert 'value="7"' in html and 'placeholder="14"' in html  # the default row inherits the built-in 14


def test_editing_a_cell_with_htmx_stores_it_and_answers_the_cell(admin, session):
    response = _htmx_post(admin, CELL_URL, _cell("issuelength", "21"), _token(admin))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<td id="rule-issuelength/*/*/*"')
    assert 'value="21"' in html and "saved" in html
    assert _stored_rules(session) == {"issuelength": "21"}
    assert effective_rule(session, "issuelength", "CPL", "PT", "BK") == 21


def test_a_cell_edit_refreshes_the_inherited_value_shown_in_more_specific_rows(admin, session):
    set_rule(session, "CPL", ALL, ALL, "fine", "1")
    set_rule(session, "CPL", ALL, "BK", "issuelength", "3")
    session.commit()
    html = _htmx_post(admin, CELL_URL, _cell("issuelength", "28"), _token(admin)).get_data(as_text=True)
    assert '<td id="rule-issuelength/CPL/*/*" hx-swap-oob="true"' in html
    assert 'placeholder="28"' in html.split('id="rule-issuelength/CPL/*/*"')[1]
    assert 'id="rule-issuelength/CPL/*/BK" hx-swap-oob="true"' in html  # its placeholder too


@pytest.mark.parametrize("rule_name, value, message", [
    ("issuelength", "-1", "must not be negative"),
    ("issuelength", "two weeks", "must be a whole number"),
    ("fine", "a lot", "must be a number"),
    ("returnbranch", "elsewhere", "must be one of"),
    ("maxissueqty", "-5", "must not be negative"),
])
def test_a_bad_cell_value_shows_the_inline_error_and_is_never_stored(admin, session, rule_name, value, message):
    response = _htmx_post(admin, CELL_URL, _cell(rule_name, value), _token(admin))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "cell-error" in html and message in html and 'aria-invalid="true"' in html
    assert _stored_rules(session) == {}


def test_a_blank_cell_inherits_and_a_blank_limit_means_no_limit_until_made_to_inherit(admin, session):
    token = _token(admin)
    row = ("CPL", ALL, ALL)
    _htmx_post(admin, CELL_URL, _cell("issuelength", "7", row), token)
    _htmx_post(admin, CELL_URL, _cell("issuelength", "", row), token)
    assert "issuelength" not in _stored_rules(session, row)

    html = _htmx_post(admin, CELL_URL, _cell("maxissueqty", "", row), token).get_data(as_text=True)
    assert _stored_rules(session, row) == {"maxissueqty": ""}
    assert effective_rule(session, "maxissueqty", "CPL", "PT", "BK") is None
    assert 'placeholder="no limit"' in html and 'name="inherit"' in html
    _htmx_post(admin, CELL_URL, _cell("maxissueqty", "", row, inherit="1"), token)
    assert _stored_rules(session, row) == {}


def test_a_cell_edit_without_javascript_redirects_back_with_a_flash(admin, session):
    token = _token(admin)
    response = admin.post(CELL_URL, data={**_cell("issuelength", "-2"), "csrf_token": token})
    assert response.status_code == 302
    assert "Loan period (days) was not changed" in admin.get(RULES_URL).get_data(as_text=True)
    admin.post(CELL_URL, data={**_cell("issuelength", "30"), "csrf_token": token})
    assert _stored_rules(session) == {"issuelength": "30"}


def test_a_cell_of_an_unknown_rule_or_library_is_a_bad_request(admin, session):
    token = _token(admin)
    assert _htmx_post(admin, CELL_URL, _cell("no_such_rule", "1"), token).status_code == 400
    assert _htmx_post(admin, CELL_URL, _cell("issuelength", "1", ("XXX", ALL, ALL)), token).status_code == 400
    assert _htmx_post(admin, CELL_URL, {"rule_name": "issuelength", "value": "1"}, token).status_code == 400
    assert _stored_rules(session) == {}


def test_adding_a_row_shows_it_and_it_is_kept_once_a_cell_holds_a_value(admin, session):
    token = _token(admin)
    row = {"library": "CPL", "category": ALL, "item_type": "BK"}
    response = _htmx_post(admin, ROWS_URL, row, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form id="add-rule-row"' in html
    assert 'hx-swap-oob="beforeend:#rules-matrix tbody"' in html and 'id="rule-issuelength/CPL/*/BK"' in html
    assert _stored_rules(session, ("CPL", ALL, "BK")) == {}

    _htmx_post(admin, CELL_URL, _cell("issuelength", "7", ("CPL", ALL, "BK")), token)
    assert 'id="rule-issuelength/CPL/*/BK"' in admin.get(RULES_URL).get_data(as_text=True)
    again = _htmx_post(admin, ROWS_URL, row, token).get_data(as_text=True)
    assert "already in the matrix" in again and "hx-swap-oob" not in again


def test_adding_a_row_without_javascript_shows_it_as_new_on_the_page(admin):
    response = admin.post(ROWS_URL, data={"library": ALL, "category": "PT", "item_type": ALL, "csrf_token": _token(admin)})
    assert response.status_code == 302
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="rule-issuelength/*/PT/*"' in html and "new-row" in html


def test_a_row_for_an_unknown_library_is_not_added(admin):
    html = _htmx_post(admin, ROWS_URL, {"library": "XXX", "category": ALL, "item_type": ALL}, _token(admin)).get_data(as_text=True)
    assert "unknown library" in html and "hx-swap-oob" not in html


def test_deleting_a_row_removes_its_rules_and_answers_an_empty_200(admin, session):
    set_rule(session, "CPL", "PT", ALL, "issuelength", "5")
    set_rule(session, "CPL", "PT", ALL, "fine", "2")
    session.commit()
    response = _htmx_post(admin, DELETE_ROW_URL, {"library": "CPL", "category": "PT", "item_type": ALL}, _token(admin))
    assert (response.status_code, response.data) == (200, b"")
    assert response.headers["HX-Trigger"] == "rules-changed"
    assert _stored_rules(session, ("CPL", "PT", ALL)) == {}
    assert 'id="rule-issuelength/CPL/PT/*"' not in admin.get(RULES_URL).get_data(as_text=True)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "RULE_ROW_DELETE")).one()
    assert (entry.object_id, entry.info) == ("CPL/PT/*", {"rules": 2})


def test_the_default_row_cannot_be_deleted(admin, session):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    session.commit()
    html = admin.get(RULES_URL).get_data(as_text=True)
    default_row = html.split('id="rule-issuelength/*/*/*"')[0].rsplit("<tr", 1)[1]
    assert "Delete" not in default_row
    response = _htmx_post(admin, DELETE_ROW_URL, {"library": ALL, "category": ALL, "item_type": ALL}, _token(admin))
    assert response.status_code == 400
    assert _stored_rules(session) == {"issuelength": "21"}


def test_the_checker_shows_each_effective_value_and_the_row_it_comes_from(admin, session):
    set_rule(session, ALL, ALL, ALL, "issuelength", "21")
    set_rule(session, "CPL", ALL, "BK", "issuelength", "7")
    set_rule(session, ALL, "PT", ALL, "fine", "0.10")
    session.commit()
    html = admin.get(f"{EFFECTIVE_URL}?library=CPL&category=PT&item_type=BK").get_data(as_text=True)
    loan_period = html.split("Loan period (days)</th>")[1].split("</tr>")[0]
    assert "<td>7</td>" in loan_period and "CPL" in loan_period and "all categories" in loan_period
    fine = html.split("Fine per day</th>")[1].split("</tr>")[0]
    assert "0.10" in fine and "PT" in fine
    renewals = html.split("Renewals allowed</th>")[1].split("</tr>")[0]
    assert "built-in default" in renewals

    fragment = admin.get(f"{EFFECTIVE_URL}?library=CPL&category=PT&item_type=BK", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="effective-result"')
    assert admin.get(f"{EFFECTIVE_URL}?library=NOPE").status_code == 400
    assert admin.get(EFFECTIVE_URL).status_code == 200


# SIP2 and transport costs (read-only for now)

def test_the_sip2_page_lists_institutions_and_accounts(admin, session):
    session.add(SipInstitution(id="CPLSELF", name="Centerville self-check"))
    session.flush()
    session.add(SipAccount(login="kiosk-1", password_hash="x", institution_id="CPLSELF", library_code="CPL",
                           error_detection=True, terminator="CRLF", encoding="cp850", enabled=False))
    session.commit()
    html = admin.get("/staff/admin/sip2").get_data(as_text=True)
    assert "Centerville self-check" in html and "kiosk-1" in html
    assert "CRLF" in html and "cp850" in html and "disabled" in html


def test_the_transport_cost_page_shows_costs_and_blocked_pairs(admin, make, session):
    make.library("FPL")
    make.library("MPL")
    session.add_all([TransportCost(from_library_code="CPL", to_library_code="FPL", cost=Decimal("2.50")),
                     TransportCost(from_library_code="FPL", to_library_code="MPL", cost=Decimal("4"), blocked=True)])
    session.commit()
    html = admin.get("/staff/admin/transport-costs").get_data(as_text=True)
    assert "2.50" in html and "blocked" in html and "not set" in html


# Who may use these routes

ROUTES = [
    ("get", PREFERENCES_URL, None),
    ("post", f"{PREFERENCES_URL}/LibraryName", {"value": "Hijacked"}),
    ("get", RULES_URL, None),
    ("post", CELL_URL, _cell("issuelength", "99")),
    ("post", ROWS_URL, {"library": "CPL", "category": ALL, "item_type": ALL}),
    ("post", DELETE_ROW_URL, {"library": "CPL", "category": ALL, "item_type": ALL}),
    ("get", f"{EFFECTIVE_URL}?library=CPL", None),
    ("get", "/staff/admin/sip2", None),
    ("get", "/staff/admin/transport-costs", None),
]


@pytest.mark.parametrize("method, url, data", ROUTES, ids=[f"{m} {u}" for m, u, _ in ROUTES])
def test_staff_without_the_administration_permission_are_refused(client, make, session, method, url, data):
    make.staff("circulate", "holds", userid="clerk", password="clerk-pass")
    set_rule(session, "CPL", ALL, ALL, "issuelength", "7")
    session.commit()
    login_as(client, "clerk", "clerk-pass", staff=True)
    if method == "get":
        response = client.get(url)
    else:
        response = _htmx_post(client, url, data, _token(client, "/staff/"))
    assert response.status_code == 403
    assert _stored_preference(session, "LibraryName") is None
    assert _stored_rules(session, ("CPL", ALL, ALL)) == {"issuelength": "7"}


@pytest.mark.parametrize("url, data", [(u, d) for m, u, d in ROUTES if m == "post"],
                         ids=[u for m, u, _ in ROUTES if m == "post"])
def test_a_post_without_a_csrf_token_is_refused(admin, session, url, data):
    set_rule(session, "CPL", ALL, ALL, "issuelength", "7")
    session.commit()
    response = admin.post(url, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert _stored_preference(session, "LibraryName") is None
    assert _stored_rules(session, ("CPL", ALL, ALL)) == {"issuelength": "7"}
