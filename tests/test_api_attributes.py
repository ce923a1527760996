"""REST API extended attributes: list, add one, replace all, change one, delete one, with
repeatable, unique, authorised-value and mandatory types respected."""
from __future__ import annotations

import pytest

from app.models import AttributeType, AuthorisedValue, PatronAttribute

from .test_api_auth import api, headers  # noqa: F401  (fixtures)


@pytest.fixture
def patron(make, session, api):
    session.add_all([
        AttributeType(code="INSTID", description="Institution id", unique_id=True),
        AttributeType(code="MAJOR", description="Major", repeatable=True, authorised_value_category="MAJORS"),
        AttributeType(code="LANG", description="Language"),
        AuthorisedValue(category="MAJORS", value="ART"), AuthorisedValue(category="MAJORS", value="FILM"),
    ])
    patron = make.patron(library="CPL")
    other = make.patron(library="CPL")
    session.add(PatronAttribute(patron_id=other.id, code="INSTID", value="TAKEN"))
    session.commit()
    return patron


def test_add_list_patch_and_delete(client, headers, patron):
    url = f"/api/v1/patrons/{patron.id}/extended_attributes"
    assert client.get(url, headers=headers).get_json() == []
    response = client.post(url, json={"type": "MAJOR", "value": "ART"}, headers=headers)
    assert response.status_code == 201
    art = response.get_json()
    assert art["type"] == "MAJOR" and art["value"] == "ART" and isinstance(art["extended_attribute_id"], int)
    assert client.post(url, json={"type": "MAJOR", "value": "FILM"}, headers=headers).status_code == 201
    assert client.post(url, json={"type": "LANG", "value": "fr"}, headers=headers).status_code == 201
    conflict = client.post(url, json={"type": "LANG", "value": "en"}, headers=headers)
    assert conflict.status_code == 409 and conflict.get_json()["error_code"] == "non_repeatable"
    taken = client.post(url, json={"type": "INSTID", "value": "TAKEN"}, headers=headers)
    assert taken.status_code == 409 and taken.get_json()["error_code"] == "unique_id_constraint"
    assert client.post(url, json={"type": "NOPE", "value": "x"}, headers=headers).status_code == 400
    assert client.post(url, json={"type": "MAJOR", "value": "MATHS"}, headers=headers).status_code == 400
    assert client.post(url, json={"type": "MAJOR"}, headers=headers).status_code == 400
    item = f"{url}/{art['extended_attribute_id']}"
    patched = client.patch(item, json={"value": "FILM"}, headers=headers)
    assert patched.status_code == 409  # FILM is already there
    lang = [a for a in client.get(url, headers=headers).get_json() if a["type"] == "LANG"][0]
    patched = client.patch(f"{url}/{lang['extended_attribute_id']}", json={"value": "de"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["value"] == "de"
    assert client.delete(item, headers=headers).status_code == 204
    assert client.delete(item, headers=headers).status_code == 404
    assert sorted(a["value"] for a in client.get(url, headers=headers).get_json()) == ["FILM", "de"]


def test_put_replaces_the_whole_set_and_keeps_unchanged_ids(client, headers, patron):
    url = f"/api/v1/patrons/{patron.id}/extended_attributes"
    film = client.post(url, json={"type": "MAJOR", "value": "FILM"}, headers=headers).get_json()
    client.post(url, json={"type": "LANG", "value": "fr"}, headers=headers)
    response = client.put(url, json=[{"type": "MAJOR", "value": "FILM"}, {"type": "MAJOR", "value": "ART"},
                                     {"type": "INSTID", "value": "S-1"}], headers=headers)
    assert response.status_code == 200
    got = {(a["type"], a["value"]): a["extended_attribute_id"] for a in response.get_json()}
    assert set(got) == {("MAJOR", "FILM"), ("MAJOR", "ART"), ("INSTID", "S-1")}
    assert got[("MAJOR", "FILM")] == film["extended_attribute_id"]
    bad = client.put(url, json=[{"type": "LANG", "value": "fr"}, {"type": "LANG", "value": "en"}], headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "non_repeatable"
    assert client.put(url, json={"type": "LANG"}, headers=headers).status_code == 400
    assert len(client.get(url, headers=headers).get_json()) == 3  # a refused PUT changes nothing


def test_mandatory_types_cannot_be_removed(client, headers, patron, session):
    session.add(AttributeType(code="CAMPUS", description="Campus", mandatory=True))
    session.commit()
    url = f"/api/v1/patrons/{patron.id}/extended_attributes"
    missing = client.put(url, json=[{"type": "LANG", "value": "fr"}], headers=headers)
    assert missing.status_code == 400 and missing.get_json()["error_code"] == "missing_mandatory"
    campus = client.post(url, json={"type": "CAMPUS", "value": "Oakland"}, headers=headers).get_json()
    response = client.delete(f"{url}/{campus['extended_attribute_id']}", headers=headers)
    assert response.status_code == 400 and response.get_json()["error_code"] == "missing_mandatory"
