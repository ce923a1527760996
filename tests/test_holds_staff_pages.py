"""Staff hold pages: finding a title or a patron, a title's queue (reorder with the position the
page showed, a stale page told the queue changed, cancel, suspend, resume, bring back), a
patron's holds with suspend all, placing a hold for a patron (with the override when the
library allows it), and a hold's detail and history. All behind the holds permission."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Hold, HoldStatus
from app.services import holds

from .conftest import csrf_token_from, login_as
from .test_holds_fixtures import Holds, day, frozen, scene  # noqa: F401

HTMX = {"HX-Request": "true"}


@pytest.fixture
def desk(client, scene):
    scene.session.commit()
    assert login_as(client, "holds-librarian", "secret", staff=True).status_code == 302
    token = csrf_token_from(client.get("/staff/holds/").get_data(as_text=True))
    return client, token


def post(desk, url: str, htmx: bool = False, **data):
    client, token = desk
    headers = {"X-CSRFToken": token, **(HTMX if htmx else {})}
    return client.post(url, data={"csrf_token": token, **data}, headers=headers)


def fresh(scene: Holds, hold: Hold) -> Hold:
    scene.session.rollback()
    scene.session.expire_all()
    return scene.session.get(Hold, hold.id)


@pytest.fixture
def queue(scene) -> list[Hold]:
    placed = [scene.place(p) for p in scene.patrons(4)]
    scene.session.commit()
    return placed


def queue_order(scene: Holds) -> list[int]:
    scene.session.rollback()
    scene.session.expire_all()
    return scene.queue()


def test_the_holds_area_is_in_the_staff_nav_and_finds_titles_and_patrons(desk, scene, queue):
    client, _ = desk
    page = client.get("/staff/holds/").get_data(as_text=True)
    assert 'href="/staff/holds/"' in page
    by_barcode = client.get("/staff/holds/?title=39999000000001").get_data(as_text=True)
    assert f'href="/staff/holds/titles/{scene.title.id}"' in by_barcode
    by_card = client.get("/staff/holds/?patron=23529000000001").get_data(as_text=True)
    assert f'href="/staff/holds/patrons/{scene.patron.id}"' in by_card


def test_the_title_queue_shows_every_hold_in_order(desk, scene, queue):
    client, _ = desk
    html = client.get(f"/staff/holds/titles/{scene.title.id}").get_data(as_text=True)
    assert "Queue (4 holds)" in html
    assert [html.index(f'id="hold-{h.id}"') for h in queue] == sorted(html.index(f'id="hold-{h.id}"') for h in queue)
    assert 'name="expected_position" value="3"' in html


def test_moving_a_hold_with_htmx_answers_with_the_rows_that_moved(desk, scene, queue):
    response = post(desk, f"/staff/holds/{queue[3].id}/move", htmx=True, to="top", expected_position="4", where="title")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#queue-message"
    assert html.lstrip().startswith('<p class="flash flash-success"') and "is now number 1 in the queue" in html
    assert '<tbody id="queue-part-0" hx-swap-oob="true">' in html and "<template>" in html
    assert [html.index(f'id="hold-{h.id}"') for h in (queue[3], queue[0], queue[1], queue[2])] == sorted(
        html.index(f'id="hold-{h.id}"') for h in queue)
    assert queue_order(scene) == [queue[3].id, queue[0].id, queue[1].id, queue[2].id]


def test_a_move_answers_only_the_parts_of_a_long_queue_it_changed(desk, scene, make):
    placed = [holds.place_hold(scene.session, p, scene.title, None, channel="staff").id for p in scene.patrons(120)]
    scene.session.commit()
    html = post(desk, f"/staff/holds/{placed[60]}/move", htmx=True, to="down", expected_position="61").get_data(as_text=True)
    assert 'id="queue-part-1"' in html and 'id="queue-part-0"' not in html and 'id="queue-part-2"' not in html
    assert 'data-position="62"' in html and html.count("<tr ") == 50
    html = post(desk, f"/staff/holds/{placed[110]}/move", htmx=True, to="top", expected_position="111").get_data(as_text=True)
    assert html.count("<tr ") == 120


def test_moving_to_a_typed_position_without_javascript(desk, scene, queue):
    response = post(desk, f"/staff/holds/{queue[0].id}/move", to="", position="3", expected_position="1")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/holds/titles/{scene.title.id}")
    assert queue_order(scene) == [queue[1].id, queue[2].id, queue[0].id, queue[3].id]
    assert "Type the position" in post(desk, f"/staff/holds/{queue[0].id}/move", htmx=True, to="").get_data(as_text=True)


def test_a_stale_page_is_told_the_queue_changed(desk, scene, queue):
    post(desk, f"/staff/holds/{queue[3].id}/move", to="top", expected_position="4")
    response = post(desk, f"/staff/holds/{queue[1].id}/move", htmx=True, to="up", expected_position="2")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "The queue changed since the page was loaded" in html
    assert queue_order(scene) == [queue[3].id, queue[0].id, queue[1].id, queue[2].id]
    assert 'name="expected_position" value="3"' in html  # the fresh queue, to try again


def test_cancel_and_bring_back_from_the_queue(desk, scene, queue):
    html = post(desk, f"/staff/holds/{queue[1].id}/cancel", htmx=True, where="title").get_data(as_text=True)
    assert "is cancelled" in html and "Expired and cancelled holds" in html and "Bring back" in html
    assert fresh(scene, queue[1]).status is HoldStatus.CANCELLED
    html = post(desk, f"/staff/holds/{queue[1].id}/bring-back", htmx=True).get_data(as_text=True)
    assert "back in the queue at number 2" in html
    assert queue_order(scene) == [h.id for h in queue]


def test_suspend_and_resume_from_the_queue_keep_the_place(desk, scene, queue):
    html = post(desk, f"/staff/holds/{queue[0].id}/suspend", htmx=True).get_data(as_text=True)
    assert "is suspended; it keeps its place" in html
    assert queue_order(scene)[0] == queue[0].id and fresh(scene, queue[0]).status is HoldStatus.SUSPENDED
    post(desk, f"/staff/holds/{queue[0].id}/resume", htmx=True)
    assert fresh(scene, queue[0]).status is HoldStatus.QUEUED


def test_refusals_come_back_as_messages(desk, scene, queue):
    html = post(desk, f"/staff/holds/{queue[0].id}/resume", htmx=True).get_data(as_text=True)
    assert "The hold is not suspended." in html
    response = post(desk, f"/staff/holds/{queue[0].id}/pickup", pickup="MPL", where="detail")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/holds/{queue[0].id}/history")


def test_the_detail_page_changes_pickup_suspends_with_a_date_and_shows_the_history(desk, scene, queue):
    post(desk, f"/staff/holds/{queue[2].id}/pickup", pickup="FPL", where="detail")
    post(desk, f"/staff/holds/{queue[2].id}/suspend", until=day(9).isoformat(), where="detail")
    post(desk, f"/staff/holds/{queue[2].id}/lowest-priority", pinned="y", where="detail")
    hold = fresh(scene, queue[2])
    assert (hold.pickup_library_code, hold.status, hold.suspended_until, hold.lowest_priority) == (
        "FPL", HoldStatus.SUSPENDED, day(9), True)
    client, _ = desk
    html = client.get(f"/staff/holds/{hold.id}/history").get_data(as_text=True)
    assert "Fairview" in html and f"Suspended until {day(9).isoformat()}" in html
    assert "Librarian" in html and f"suspended until {day(9).isoformat()}" in html and "placed" in html
    assert client.get("/staff/holds/999999/history").status_code == 404


def test_the_patrons_holds_and_suspend_all(desk, scene, queue):
    other = scene.place(queue[0].patron, title=scene.make.item().title)
    scene.session.commit()
    patron = queue[0].patron
    client, _ = desk
    page = client.get(f"/staff/holds/patrons/{patron.id}").get_data(as_text=True)
    assert "Holds (2)" in page and 'name="until"' in page
    html = post(desk, f"/staff/holds/patrons/{patron.id}/suspend-all", htmx=True, until=day(20).isoformat()).get_data(as_text=True)
    assert html.lstrip().startswith('<section id="patron-holds"')
    assert "2 hold(s) suspended until" in html and html.count(f"Suspended until {day(20).isoformat()}") == 2
    assert fresh(scene, other).status is HoldStatus.SUSPENDED
    html = post(desk, f"/staff/holds/patrons/{patron.id}/resume-all", htmx=True).get_data(as_text=True)
    assert "2 hold(s) resumed" in html


def test_row_actions_on_the_patron_page_answer_with_the_patrons_list(desk, scene, queue):
    html = post(desk, f"/staff/holds/{queue[0].id}/cancel", htmx=True, where="patron").get_data(as_text=True)
    assert html.lstrip().startswith('<section id="patron-holds"') and "Finished holds" in html


def test_placing_a_hold_for_a_patron(desk, scene):
    client, _ = desk
    search = client.get(f"/staff/holds/patrons/{scene.patron.id}/place?q=39999000000002").get_data(as_text=True)
    assert f"title_id={scene.title.id}" in search
    form = client.get(f"/staff/holds/patrons/{scene.patron.id}/place?title_id={scene.title.id}").get_data(as_text=True)
    assert 'name="copy"' in form and "Midway depot" not in form
    response = post(desk, f"/staff/holds/patrons/{scene.patron.id}/place", title_id=str(scene.title.id),
                    pickup="FPL", copy=str(scene.items[1].id), notes="for the book club")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/holds/patrons/{scene.patron.id}")
    scene.session.rollback()
    hold = scene.session.scalar(select(Hold).where(Hold.patron_id == scene.patron.id))
    assert (hold.item_id, hold.pickup_library_code, hold.channel, hold.placed_by_id, hold.notes) == (
        scene.items[1].id, "FPL", "staff", scene.librarian.id, "for the book club")


def test_a_refused_hold_offers_the_override_only_when_allowed(desk, scene):
    scene.place()
    scene.session.commit()
    data = {"title_id": str(scene.title.id)}
    response = post(desk, f"/staff/holds/patrons/{scene.patron.id}/place", **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "already has as many holds on this title" in html and 'name="override"' not in html
    scene.preference("AllowHoldPolicyOverride", True)
    scene.session.commit()
    assert 'name="override"' in post(desk, f"/staff/holds/patrons/{scene.patron.id}/place", **data).get_data(as_text=True)
    assert post(desk, f"/staff/holds/patrons/{scene.patron.id}/place", override="y", **data).status_code == 302


def test_placing_from_the_title_queue_finds_the_patron_by_card(desk, scene):
    client, _ = desk
    response = client.get(f"/staff/holds/titles/{scene.title.id}/place?card=23529000000001")
    assert response.status_code == 302
    assert f"/staff/holds/patrons/{scene.patron.id}/place?title_id={scene.title.id}" in response.headers["Location"]
    assert "No patron matches" in client.get(f"/staff/holds/titles/{scene.title.id}/place?card=nobody").get_data(as_text=True)


def test_staff_without_the_holds_permission_are_refused(client, scene, make):
    make.staff("circulate", userid="desk-only", password="pw")
    scene.session.commit()
    login_as(client, "desk-only", "pw", staff=True)
    assert client.get("/staff/holds/").status_code == 403
    assert client.get(f"/staff/holds/titles/{scene.title.id}").status_code == 403


def test_a_queue_of_many_holds_renders_with_every_position(desk, scene, make):
    scene.rule("holds_per_record", 1)
    for patron in scene.patrons(60):
        holds.place_hold(scene.session, patron, scene.title, None, channel="staff")
    scene.session.commit()
    client, _ = desk
    html = client.get(f"/staff/holds/titles/{scene.title.id}").get_data(as_text=True)
    assert "Queue (60 holds)" in html and 'data-position="60"' in html
