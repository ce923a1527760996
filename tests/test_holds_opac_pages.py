"""OPAC hold pages: placing a hold from a title page (pickup choice, copy and volume choice as the
rules say, the refusal shown as the reason), and "my holds" with positions, status, pickup and
dates, where a patron cancels, suspends, resumes, changes the pickup library or suspends all
(htmx rows and without JavaScript), and never reaches another patron's holds."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.models import Hold, HoldStatus
from app.services import holds

from .conftest import csrf_token_from, login_as
from .test_holds_fixtures import Holds, day, frozen, scene  # noqa: F401

HTMX = {"HX-Request": "true"}


@pytest.fixture
def reader(client, scene):
    scene.session.commit()
    assert login_as(client, "reader", "secret").status_code == 302
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    return client, token


def post(reader, url: str, htmx: bool = False, **data):
    client, token = reader
    headers = {"X-CSRFToken": token, **(HTMX if htmx else {})}
    return client.post(url, data={"csrf_token": token, **data}, headers=headers)


def my_hold(scene: Holds) -> Hold:
    scene.session.rollback()
    scene.session.expire_all()
    return scene.session.scalars(select(Hold).where(Hold.patron_id == scene.patron.id).order_by(Hold.id.desc())).first()


def test_the_title_page_offers_to_place_a_hold(client, scene):
    scene.place(scene.make.patron())
    scene.session.commit()
    html = client.get(f"/titles/{scene.title.id}").get_data(as_text=True)
    assert f'href="/titles/{scene.title.id}/hold"' in html and "1 hold on this title" in html


def test_the_title_page_has_no_hold_button_when_opac_holds_are_off(client, scene):
    scene.preference("OPACHoldRequests", False)
    scene.session.commit()
    assert f"/titles/{scene.title.id}/hold" not in client.get(f"/titles/{scene.title.id}").get_data(as_text=True)


def test_placing_a_hold_needs_a_login(client, scene):
    scene.session.commit()
    response = client.get(f"/titles/{scene.title.id}/hold")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_patron_places_a_hold_and_sees_it_in_my_holds(reader, scene):
    scene.place(scene.make.patron())
    scene.session.commit()
    client, _ = reader
    form = client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    assert 'name="pickup"' in form and "Fairview" in form and "Midway depot" not in form
    assert 'name="copy"' in form  # OPAC item holds "yes" by default
    response = post(reader, f"/titles/{scene.title.id}/hold", pickup="FPL", not_needed_after=day(30).isoformat())
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/holds")
    hold = my_hold(scene)
    assert (hold.pickup_library_code, hold.not_needed_after, hold.channel) == ("FPL", day(30), "opac")
    page = client.get("/account/holds").get_data(as_text=True)
    assert "you are number 2 in the queue" in page
    assert f'id="hold-{hold.id}"' in page and "In the queue" in page and day(30).isoformat() in page


def test_a_refused_hold_shows_the_reason(reader, scene):
    scene.place()
    scene.session.commit()
    client, _ = reader
    assert "You cannot place a hold on this title" in client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    response = post(reader, f"/titles/{scene.title.id}/hold")
    assert response.status_code == 409
    assert "already has as many holds on this title" in response.get_data(as_text=True)


def test_the_pickup_is_the_home_library_when_patrons_may_not_choose(reader, scene):
    scene.preference("OPACAllowUserToChooseBranch", False)
    scene.session.commit()
    client, _ = reader
    form = client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    assert 'name="pickup"' not in form and "Pick up at your library, <strong>Centerville</strong>" in form
    assert post(reader, f"/titles/{scene.title.id}/hold", pickup="FPL").status_code == 409
    assert post(reader, f"/titles/{scene.title.id}/hold").status_code == 302
    assert my_hold(scene).pickup_library_code == "CPL"


def test_volume_and_forced_copy_choice(reader, scene):
    scene.rule("holds_per_record_volumes", 2)
    copy = scene.make.item(scene.title, enumchron="v.2")
    scene.session.commit()
    client, _ = reader
    assert '<option value="v.2">v.2</option>' in client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    assert post(reader, f"/titles/{scene.title.id}/hold", volume="v.2").status_code == 302
    assert my_hold(scene).volume == "v.2"
    scene.rule("opacitemholds", "force")
    scene.session.commit()
    form = client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    assert "Choose a copy" in form and "The next available copy" not in form
    assert "Choose the copy you want to hold" in post(reader, f"/titles/{scene.title.id}/hold").get_data(as_text=True)
    assert post(reader, f"/titles/{scene.title.id}/hold", copy=str(scene.items[0].id)).status_code == 302
    assert my_hold(scene).item_id == scene.items[0].id
    assert copy.id


def test_copy_choice_is_hidden_when_the_rules_say_no(reader, scene):
    scene.rule("opacitemholds", "no")
    scene.session.commit()
    client, _ = reader
    assert 'name="copy"' not in client.get(f"/titles/{scene.title.id}/hold").get_data(as_text=True)


@pytest.fixture
def placed(scene) -> Hold:
    scene.place(scene.make.patron())
    hold = scene.place()
    scene.session.commit()
    return hold


def test_cancel_from_my_holds_with_htmx_answers_with_the_row(reader, scene, placed):
    response = post(reader, f"/account/holds/{placed.id}/cancel", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="hold-{placed.id}"')
    assert "is cancelled" in html and "Cancelled" in html
    assert my_hold(scene).status is HoldStatus.CANCELLED


def test_suspend_with_a_date_then_resume_without_javascript(reader, scene, placed):
    response = post(reader, f"/account/holds/{placed.id}/suspend", until=day(10).isoformat())
    assert response.status_code == 302
    hold = my_hold(scene)
    assert hold.status is HoldStatus.SUSPENDED and hold.suspended_until == day(10)
    client, _ = reader
    page = client.get("/account/holds").get_data(as_text=True)
    assert f"Suspended until {day(10).isoformat()}" in page and "your place in the queue is kept" in page
    assert holds.position_of(scene.session, hold) == 2
    post(reader, f"/account/holds/{placed.id}/resume")
    assert my_hold(scene).status is HoldStatus.QUEUED


def test_a_refusal_comes_back_in_the_row(reader, scene, placed):
    response = post(reader, f"/account/holds/{placed.id}/suspend", htmx=True, until=day(0).isoformat())
    assert response.status_code == 200 and "The resume date must be after today." in response.get_data(as_text=True)
    assert my_hold(scene).status is HoldStatus.QUEUED


def test_change_pickup_from_the_row(reader, scene, placed):
    response = post(reader, f"/account/holds/{placed.id}/pickup", htmx=True, pickup="FPL")
    assert "You will pick it up at Fairview." in response.get_data(as_text=True)
    assert my_hold(scene).pickup_library_code == "FPL"
    response = post(reader, f"/account/holds/{placed.id}/pickup", htmx=True, pickup="MPL")
    assert "not a pickup location" in response.get_data(as_text=True)


def test_suspend_all_with_htmx_answers_with_the_whole_list(reader, scene, placed):
    other = scene.place(title=scene.make.item().title)
    scene.session.commit()
    response = post(reader, "/account/holds/suspend-all", htmx=True, until=day(14).isoformat())
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="card" id="my-holds"')
    assert "2 hold(s) suspended until" in html and html.count(f"Suspended until {day(14).isoformat()}") == 2
    scene.session.rollback()
    scene.session.expire_all()
    assert {scene.session.get(Hold, h.id).status for h in (placed, other)} == {HoldStatus.SUSPENDED}
    html = post(reader, "/account/holds/resume-all", htmx=True).get_data(as_text=True)
    assert "2 hold(s) resumed" in html


def test_the_buttons_follow_the_libraries_preferences(reader, scene, placed):
    scene.preference("SuspendHoldsOpac", False)
    scene.preference("AutoResumeSuspendedHolds", False)
    scene.session.commit()
    client, _ = reader
    page = client.get("/account/holds").get_data(as_text=True)
    assert "Suspend all" not in page and 'name="until"' not in page and ">Cancel<" in page
    assert "Holds cannot be suspended online" in post(reader, f"/account/holds/{placed.id}/suspend", htmx=True).get_data(as_text=True)
    scene.preference("OPACHoldsManagement", False)
    scene.session.commit()
    page = client.get("/account/holds").get_data(as_text=True)
    assert ">Cancel<" not in page and f'id="hold-{placed.id}"' in page


def test_another_patrons_hold_is_not_found(reader, scene):
    theirs = scene.place(scene.make.patron())
    scene.session.commit()
    for action in ("cancel", "suspend", "resume", "pickup"):
        assert post(reader, f"/account/holds/{theirs.id}/{action}", pickup="FPL").status_code == 404


def test_the_account_page_links_to_my_holds(reader, scene, placed):
    client, _ = reader
    assert 'href="/account/holds"' in client.get("/account").get_data(as_text=True)


def test_holds_that_ended_lately_are_listed_with_how_they_ended(reader, scene):
    from app import clock
    from app.services.holds import jobs as hold_jobs

    titles = [scene.make.item().title for _ in range(4)]
    by_staff = scene.place(title=titles[0])
    by_me = scene.place(title=titles[1])
    expiring = scene.place(title=titles[2], not_needed_after=day(2))
    long_ago = scene.place(title=titles[3])
    still_queued = scene.place()
    holds.cancel_hold(scene.session, long_ago, scene.librarian)
    scene.session.commit()
    with clock.freeze(clock.now() + dt.timedelta(days=40)):
        holds.cancel_hold(scene.session, by_staff, scene.librarian, reason="the copy is lost")
        assert hold_jobs.expire_holds(scene.session, day(43)) == 1
        scene.session.commit()
        post(reader, f"/account/holds/{by_me.id}/cancel")
        client, _ = reader
        page = client.get("/account/holds").get_data(as_text=True)
    ended = page.split('id="ended-holds"', 1)[1]
    assert "Cancelled: the copy is lost" in ended
    assert "Cancelled by you" in ended
    assert f"Expired: not needed after {day(2).isoformat()}" in ended
    assert f'id="ended-{long_ago.id}"' not in page  # ended 40 days ago
    assert f'id="ended-{still_queued.id}"' not in ended and f'id="hold-{still_queued.id}"' in page
    assert f'id="hold-{by_staff.id}"' not in page  # no longer among the live holds


def test_an_anonymised_ended_hold_is_not_listed(reader, scene, placed):
    holds.cancel_hold(scene.session, placed, scene.librarian, reason="duplicate")
    scene.session.commit()
    client, _ = reader
    assert "Cancelled: duplicate" in client.get("/account/holds").get_data(as_text=True)
    placed.patron_id, placed.anonymized = None, True
    scene.session.commit()
    assert 'id="ended-holds"' not in client.get("/account/holds").get_data(as_text=True)
