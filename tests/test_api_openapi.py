"""The OpenAPI document at /api/v1/ describes every API route with its methods, and the app's
real answers validate against the documented schemas (a tour of every route)."""
from __future__ import annotations

import re

from app.blueprints.api.openapi import validate
from app.models import AttributeType

from .test_api_auth import api, headers  # noqa: F401  (fixtures)


def _documented_rules(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1")) or "/"
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((method.lower(), path))
    return found


def test_every_route_is_in_the_document_and_nothing_else(app, client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    described = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert described == _documented_rules(app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"] and operation["responses"], (method, path)
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), (method, path)


class Checker:
    """Sends requests and validates every answer against the document."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers
        self.document = client.get("/api/v1/").get_json()
        self.components = self.document["components"]["schemas"]
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(self, method: str, url: str, template: str, expect: int, **kw):
        response = self.client.open(url, method=method.upper(), headers={**self.headers, **kw.pop("headers", {})}, **kw)
        assert response.status_code == expect, (method, url, response.get_json())
        documented = self.document["paths"][template][method]["responses"]
        assert str(expect) in documented, f"{method} {template} answers {expect}, not documented"
        content = documented[str(expect)].get("content")
        if content is None:
            assert response.get_data() == b""
        elif "application/json" not in content:
            assert response.mimetype in content, (method, url, response.mimetype)
            self.seen.add((method, template, expect))
            return response.get_data(as_text=True)
        else:
            errors = validate(response.get_json(), content["application/json"]["schema"], self.components)
            assert errors == [], (method, url, errors)
        self.seen.add((method, template, expect))
        return response.get_json()


def test_real_answers_validate_against_the_schemas(client, api, headers, make, session):
    session.add(AttributeType(code="LANG", description="Language"))
    title = make.title()
    item = make.item(title)
    reader = make.patron(library="CPL", userid="reader", password="reader-pw")
    session.commit()
    check = Checker(client, headers)
    check("post", "/api/v1/oauth/token", "/oauth/token", 200,
          data={"grant_type": "client_credentials", "client_id": api["client_id"], "client_secret": api["secret"]})
    check("post", "/api/v1/oauth/token", "/oauth/token", 403,
          data={"grant_type": "client_credentials", "client_id": api["client_id"], "client_secret": "no"})
    check("post", "/api/v1/auth/password/validation", "/auth/password/validation", 201,
          json={"identifier": "reader", "password": "reader-pw"})
    check("get", "/api/v1/patrons?_per_page=5", "/patrons", 200)
    created = check("post", "/api/v1/patrons", "/patrons", 201,
                    json={"surname": "Doc", "library_id": "CPL", "category_id": "PT", "cardnumber": "DOC-1",
                          "extended_attributes": [{"type": "LANG", "value": "fr"}]})
    check("post", "/api/v1/patrons", "/patrons", 409,
          json={"surname": "Doc", "library_id": "CPL", "category_id": "PT", "cardnumber": "DOC-1"})
    check("post", "/api/v1/patrons", "/patrons", 400, json={"surname": "Doc"})
    pid = created["patron_id"]
    one = check("get", f"/api/v1/patrons/{pid}", "/patrons/{patron_id}", 200,
                headers={"x-koha-embed": "extended_attributes"})
    check("get", "/api/v1/patrons/999999", "/patrons/{patron_id}", 404)
    body = {k: v for k, v in one.items() if k not in ("patron_id", "updated_on", "last_seen", "anonymized",
                                                      "expired", "restricted")}
    check("put", f"/api/v1/patrons/{pid}", "/patrons/{patron_id}", 200, json=body)
    check("patch", f"/api/v1/patrons/{pid}", "/patrons/{patron_id}", 200, json={"firstname": "Ann"})
    attrs = f"/api/v1/patrons/{pid}/extended_attributes"
    check("get", attrs, "/patrons/{patron_id}/extended_attributes", 200)
    check("put", attrs, "/patrons/{patron_id}/extended_attributes", 200, json=[{"type": "LANG", "value": "de"}])
    check("post", attrs, "/patrons/{patron_id}/extended_attributes", 409, json={"type": "LANG", "value": "en"})
    check("delete", attrs + "/999999", "/patrons/{patron_id}/extended_attributes/{extended_attribute_id}", 404)
    check("put", attrs, "/patrons/{patron_id}/extended_attributes", 200, json=[])
    added = check("post", attrs, "/patrons/{patron_id}/extended_attributes", 201, json={"type": "LANG", "value": "en"})
    one_attr = f"{attrs}/{added['extended_attribute_id']}"
    check("patch", one_attr, "/patrons/{patron_id}/extended_attributes/{extended_attribute_id}", 200,
          json={"value": "es"})
    check("delete", one_attr, "/patrons/{patron_id}/extended_attributes/{extended_attribute_id}", 204)
    check("get", f"/api/v1/items?external_id={item.barcode}", "/items", 200)
    check("get", f"/api/v1/items/{item.id}", "/items/{item_id}", 200)
    check("get", f"/api/v1/biblios/{title.id}", "/biblios/{biblio_id}", 200)
    check("get", "/api/v1/libraries", "/libraries", 200)
    check("get", "/api/v1/patron_categories", "/patron_categories", 200)
    hold = check("post", "/api/v1/holds", "/holds", 201,
                 json={"patron_id": reader.id, "biblio_id": title.id, "pickup_library_id": "CPL"})
    hid = hold["hold_id"]
    check("get", "/api/v1/holds", "/holds", 200)
    check("patch", f"/api/v1/holds/{hid}", "/holds/{hold_id}", 200, json={"pickup_library_id": "MPL"})
    check("put", f"/api/v1/holds/{hid}/priority", "/holds/{hold_id}/priority", 200, json=1)
    check("post", f"/api/v1/holds/{hid}/suspension", "/holds/{hold_id}/suspension", 201, json={})
    check("delete", f"/api/v1/holds/{hid}/suspension", "/holds/{hold_id}/suspension", 204)
    check("delete", f"/api/v1/holds/{hid}", "/holds/{hold_id}", 204)
    check("delete", f"/api/v1/patrons/{pid}", "/patrons/{patron_id}", 204)
    check("get", "/api/v1/", "/", 200)
    check("get", "/api/v1/.html", "/.html", 200)
    toured = {(method, template) for method, template, _status in check.seen}
    assert toured == {(m, p) for p, ops in check.document["paths"].items() for m in ops}  # every route visited


def test_the_validator_finds_errors():
    components = {"thing": {"type": "object", "required": ["a"], "additionalProperties": False,
                            "properties": {"a": {"type": ["integer", "null"]}, "b": {"enum": ["x"]}}}}
    assert validate({"a": 1}, {"$ref": "#/components/schemas/thing"}, components) == []
    errors = validate({"a": "1", "b": "y", "c": 0}, {"$ref": "#/components/schemas/thing"}, components)
    assert len(errors) == 3
    assert validate({}, components["thing"], components) == ["/a: required"]
    assert validate([1, "x"], {"type": "array", "items": {"type": "integer"}}, components) == ["/1: 'x' is not integer"]


def test_the_document_as_a_web_page(client):
    response = client.get("/api/v1/.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/v1/patrons/{patron_id}/extended_attributes" in page and "<code>PUT</code>" in page
