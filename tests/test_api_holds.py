"""REST API holds in Koha's shape, through the holds services: list, place (with the override
header), change pickup and priority, suspend and resume, set the priority, cancel."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import ALL, Hold, HoldStatus
from app.services.rules import set_rule
from app.services.settings import set_preference

from .test_api_auth import api, headers  # noqa: F401  (fixtures)


@pytest.fixture
def shelf(make, session, api):
    make.library("FPL")
    title = make.title(title="The Dispossessed")
    items = [make.item(title), make.item(title, library="FPL")]
    readers = [make.patron(library="CPL") for _ in range(3)]
    session.commit()
    return title, items, readers


def place(client, headers, patron, title, **extra):
    return client.post("/api/v1/holds", json={"patron_id": patron.id, "biblio_id": title.id,
                                              "pickup_library_id": "CPL", **extra}, headers=headers)


def test_place_list_and_reorder_holds(client, headers, shelf, session):
    title, _items, readers = shelf
    ids = []
    for reader in readers:
        response = place(client, headers, reader, title)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert response.headers["Location"] == f"/api/v1/holds/{body['hold_id']}"
        ids.append(body["hold_id"])
    listed = client.get(f"/api/v1/holds?biblio_id={title.id}", headers=headers).get_json()
    assert [(h["hold_id"], h["priority"], h["status"]) for h in listed] == [
        (ids[0], 1, None), (ids[1], 2, None), (ids[2], 3, None)]  # Koha's status: not found yet
    assert {h["carrel_status"] for h in listed} <= {"queued", "ready_to_pull"}  # copies are on the shelf
    assert client.put(f"/api/v1/holds/{ids[2]}/priority", json=1, headers=headers).get_json() == 1
    response = client.patch(f"/api/v1/holds/{ids[0]}", json={"priority": 3, "pickup_library_id": "FPL"},
                            headers=headers)
    assert response.status_code == 200
    assert (response.get_json()["priority"], response.get_json()["pickup_library_id"]) == (3, "FPL")
    listed = client.get(f"/api/v1/holds?biblio_id={title.id}&_order_by=hold_id", headers=headers).get_json()
    assert {h["hold_id"]: h["priority"] for h in listed} == {ids[2]: 1, ids[1]: 2, ids[0]: 3}
    by_status = {}
    for h in listed:
        by_status[h["carrel_status"]] = by_status.get(h["carrel_status"], 0) + 1
    for status, count in by_status.items():
        assert client.get(f"/api/v1/holds?status={status}", headers=headers).headers["X-Total-Count"] == str(count)
    assert client.get("/api/v1/holds?status=nonsense", headers=headers).status_code == 400
    assert client.put(f"/api/v1/holds/{ids[0]}/priority", json=0, headers=headers).status_code == 400


def test_suspend_resume_and_cancel(client, headers, shelf, session):
    title, _items, readers = shelf
    hold_id = place(client, headers, readers[0], title).get_json()["hold_id"]
    response = client.post(f"/api/v1/holds/{hold_id}/suspension", json={"end_date": "2099-01-31"}, headers=headers)
    assert response.status_code == 201 and response.get_json() == {"end_date": "2099-01-31"}
    hold = client.get(f"/api/v1/holds?hold_id={hold_id}", headers=headers).get_json()[0]
    assert hold["suspended"] is True and hold["suspended_until"] == "2099-01-31"
    assert client.delete(f"/api/v1/holds/{hold_id}/suspension", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/holds/{hold_id}/suspension", headers=headers).status_code == 400  # not suspended
    assert client.delete(f"/api/v1/holds/{hold_id}", json="Patron asked", headers=headers).status_code == 204
    session.rollback()
    cancelled = session.get(Hold, hold_id)
    assert cancelled.status is HoldStatus.CANCELLED and cancelled.cancellation_reason == "Patron asked"
    assert client.delete(f"/api/v1/holds/{hold_id}", headers=headers).status_code == 409
    assert client.delete("/api/v1/holds/999999", headers=headers).status_code == 404
    # as in Koha, the list holds current holds; old=1 the finished ones
    assert client.get(f"/api/v1/holds?hold_id={hold_id}", headers=headers).get_json() == []
    (old,) = client.get(f"/api/v1/holds?hold_id={hold_id}&old=1", headers=headers).get_json()
    assert (old["status"], old["carrel_status"], old["cancellation_reason"]) == (None, "cancelled", "Patron asked")


def test_bad_requests(client, headers, shelf):
    title, items, readers = shelf
    assert client.post("/api/v1/holds", json={"biblio_id": title.id, "pickup_library_id": "CPL"},
                       headers=headers).get_json()["field"] == "patron_id"
    assert place(client, headers, readers[0], title, biblio_id=999999).get_json()["field"] == "biblio_id"
    assert place(client, headers, readers[0], title, item_id=999999).get_json()["field"] == "item_id"
    assert place(client, headers, readers[0], title, colour="red").get_json()["field"] == "colour"
    response = place(client, headers, readers[0], title, pickup_library_id="NOWHERE")
    assert response.status_code == 400 and response.get_json()["error_code"] == "libraryNotPickupLocation"
    item_hold = place(client, headers, readers[1], title, item_id=items[1].id, biblio_id=None)
    assert item_hold.status_code == 400  # biblio_id null is not a title
    item_hold = client.post("/api/v1/holds", json={"patron_id": readers[1].id, "item_id": items[1].id,
                                                   "pickup_library_id": "CPL"}, headers=headers)
    assert item_hold.status_code == 201 and item_hold.get_json()["item_level"] is True


def test_override_header_places_a_hold_the_rules_refuse_and_records_it(client, headers, shelf, session):
    title, _items, readers = shelf
    set_rule(session, ALL, ALL, ALL, "reservesallowed", 0)
    session.commit()
    refused = place(client, headers, readers[0], title)
    assert refused.status_code == 403
    assert refused.get_json()["error"].startswith("Hold cannot be placed. Reason: ")
    override = {**headers, "x-koha-override": "any"}
    assert place(client, override, readers[0], title).status_code == 403  # AllowHoldPolicyOverride is off
    set_preference(session, "AllowHoldPolicyOverride", True, None)
    session.commit()
    response = place(client, override, readers[0], title)
    assert response.status_code == 201, response.get_json()
    session.rollback()
    hold = session.scalars(select(Hold)).one()
    assert hold.history[0].reason.startswith("placed, rules overridden (") and hold.channel == "api"


def test_status_in_koha_codes_and_filters(client, headers, shelf, session):
    from app import clock

    title, items, readers = shelf
    first = place(client, headers, readers[0], title).get_json()["hold_id"]
    second = place(client, headers, readers[1], title).get_json()["hold_id"]
    session.rollback()
    waiting = session.get(Hold, first)
    waiting.status, waiting.item_id, waiting.waiting_since = HoldStatus.PULLED, items[0].id, clock.now()
    session.commit()
    listed = {h["hold_id"]: (h["status"], h["carrel_status"])
              for h in client.get("/api/v1/holds", headers=headers).get_json()}
    assert listed[first] == ("W", "pulled") and listed[second][0] is None
    assert [h["hold_id"] for h in client.get("/api/v1/holds?status=W", headers=headers).get_json()] == [first]
    assert [h["hold_id"] for h in client.get(f"/api/v1/holds?carrel_status={listed[second][1]}",
                                             headers=headers).get_json()] == [second]
