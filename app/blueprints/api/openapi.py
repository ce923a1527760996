"""The OpenAPI 3 document served at /api/v1/, built from the route table below (every route of
the blueprint is listed; a test checks the table against the registered rules and validates
real responses against these schemas with ``validate``)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, render_template_string, request

from . import bp
from .auth import api_public
from .fields import PATRON_FIELDS, TOLERATED_ON_UPDATE

JSON_TYPES = {"string": "string", "date": "string", "datetime": "string", "boolean": "boolean",
              "integer": "integer", "privacy": "integer", "choice": "string"}


def _patron_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for f in PATRON_FIELDS:
        schema: dict[str, Any] = {"type": [JSON_TYPES[f.kind], "null"] if f.nullable else JSON_TYPES[f.kind]}
        if f.kind in ("date", "datetime"):
            schema["format"] = "date" if f.kind == "date" else "date-time"
        if f.kind == "privacy":
            schema["enum"] = [0, 1, 2]
        if f.choices:
            schema["enum"] = list(f.choices)
        if f.max_length:
            schema["maxLength"] = f.max_length
        if f.read_only and f.api not in TOLERATED_ON_UPDATE:  # as in Koha's definition
            schema["readOnly"] = True
        properties[f.api] = schema
    properties["extended_attributes"] = {"type": "array", "items": {"$ref": "#/components/schemas/extended_attribute"}}
    return {"type": "object", "additionalProperties": False, "required": ["surname", "library_id", "category_id"],
            "properties": properties}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


S, N_S, N_I, I, B = ({"type": "string"}, {"type": ["string", "null"]}, {"type": ["integer", "null"]},
                     {"type": "integer"}, {"type": "boolean"})
N_N = {"type": ["number", "null"]}
SCHEMAS: dict[str, Any] = {
    "patron": _patron_schema(),
    "extended_attribute": _object(["type", "value"], extended_attribute_id={"type": "integer", "readOnly": True},
                                  type=S, value=S),
    "error": {"type": "object", "required": ["error"], "properties": {"error": S}},
    "token": _object(["access_token", "token_type", "expires_in"], access_token=S, token_type={"enum": ["Bearer"]},
                     expires_in=I),
    "password_validation": _object(["patron_id"], patron_id=I, cardnumber=N_S, userid=N_S),
    "item": _object(["item_id", "biblio_id", "external_id"], item_id=I, biblio_id=I, external_id=S,
                    home_library_id=S, holding_library_id=S, item_type_id=S, callnumber=N_S,
                    serial_issue_number=N_S, copy_number=N_S, location=N_S, collection_code=N_S,
                    purchase_price=N_N, replacement_price=N_N, not_for_loan_status=I, lost_status=I,
                    lost_date=N_S, withdrawn=I, damaged_status=I, last_seen_date=N_S, last_checkout_date=N_S,
                    checkouts_count=I, renewals_count=I, public_notes=N_S, internal_notes=N_S),
    "biblio": _object(["biblio_id", "title"], biblio_id=I, title=S, subtitle=N_S, author=N_S, isbn=N_S,
                      publisher=N_S, copyright_date=N_I, series_title=N_S, subject={"type": "array", "items": S},
                      language=N_S, abstract=N_S, creation_date=N_S, timestamp=N_S),
    "library": _object(["library_id", "name"], library_id=S, name=S, address1=N_S, city=N_S, postal_code=N_S,
                       country=N_S, email=N_S, phone=N_S, pickup_location=B),
    "patron_category": _object(["patron_category_id", "name"], patron_category_id=S, name=S, category_type=S,
                               enrolment_period=I, upper_age_limit=N_I, dateofbirthrequired=N_I,
                               can_be_guarantee=B),
    "hold": _object(["hold_id", "biblio_id", "pickup_library_id", "status"], hold_id=I, patron_id=N_I, biblio_id=I,
                    item_id=N_I, pickup_library_id=S, hold_date=S, expiration_date=N_S, priority=N_I,
                    status={"enum": [None, "W", "T", "F"]},
                    carrel_status={"enum": ["queued", "ready_to_pull", "pulled", "in_transit", "long_waiting",
                                            "filled", "expired", "suspended", "cancelled"]},
                    suspended=B, suspended_until=N_S, lowest_priority=B, item_level=B, notes=N_S, waiting_date=N_S,
                    cancellation_date=N_S, cancellation_reason=N_S, item_type=N_S, volume=N_S, timestamp=N_S),
    "suspension": _object([], end_date=N_S),
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


LIST = ["_match", "_order_by", "_page", "_per_page", "q"]
# (method, path, summary, permission, request body schema, {status: response schema or None}, query params)
ROUTES: list[tuple[str, str, str, str | None, Any, dict[int, Any], list[str]]] = [
    ("get", "/", "This OpenAPI document", None, None, {200: {"type": "object"}}, []),
    ("get", "/.html", "This document as a web page (Koha's /api/v1/.html)", None, None, {200: "html"}, []),
    ("post", "/oauth/token", "OAuth2 client credentials: a bearer token for an hour", "public",
     "form", {200: ref("token"), 400: ref("error"), 403: ref("error")}, []),
    ("post", "/auth/password/validation", "Check a patron's password (counts as patron activity)", "patrons",
     _object(["password"], identifier=S, userid=S, cardnumber=S, password=S),
     {201: ref("password_validation"), 400: ref("error")}, []),
    ("get", "/patrons", "Patrons, filtered by any field", "patrons", None, {200: array_of("patron")},
     LIST + ["any patron field", "expired", "restricted"]),
    ("post", "/patrons", "Create a patron", "patrons", ref("patron"),
     {201: ref("patron"), 400: ref("error"), 409: ref("error")}, []),
    ("get", "/patrons/{patron_id}", "One patron", "patrons", None, {200: ref("patron"), 404: ref("error")}, []),
    ("put", "/patrons/{patron_id}", "Replace a patron (fields not sent are kept)", "patrons", ref("patron"),
     {200: ref("patron"), 400: ref("error"), 404: ref("error"), 409: ref("error")}, []),
    ("patch", "/patrons/{patron_id}", "Change some fields of a patron", "patrons", ref("patron"),
     {200: ref("patron"), 400: ref("error"), 404: ref("error"), 409: ref("error")}, []),
    ("delete", "/patrons/{patron_id}", "Delete a patron", "patrons", None,
     {204: None, 404: ref("error"), 409: ref("error")}, []),
    ("get", "/patrons/{patron_id}/extended_attributes", "A patron's extended attributes", "patrons", None,
     {200: array_of("extended_attribute"), 404: ref("error")}, []),
    ("post", "/patrons/{patron_id}/extended_attributes", "Add one extended attribute", "patrons",
     ref("extended_attribute"), {201: ref("extended_attribute"), 400: ref("error"), 409: ref("error")}, []),
    ("put", "/patrons/{patron_id}/extended_attributes", "Replace all extended attributes", "patrons",
     array_of("extended_attribute"), {200: array_of("extended_attribute"), 400: ref("error"), 409: ref("error")}, []),
    ("patch", "/patrons/{patron_id}/extended_attributes/{extended_attribute_id}", "Change one attribute's value",
     "patrons", _object(["value"], value=S), {200: ref("extended_attribute"), 404: ref("error"), 409: ref("error")},
     []),
    ("delete", "/patrons/{patron_id}/extended_attributes/{extended_attribute_id}", "Delete one attribute", "patrons",
     None, {204: None, 404: ref("error")}, []),
    ("get", "/items", "Items (external_id is the barcode)", "any staff", None, {200: array_of("item")},
     LIST + ["external_id", "biblio_id", "home_library_id", "holding_library_id", "item_type_id", "callnumber"]),
    ("get", "/items/{item_id}", "One item", "any staff", None, {200: ref("item"), 404: ref("error")}, []),
    ("get", "/biblios/{biblio_id}", "One bibliographic record", "any staff", None,
     {200: ref("biblio"), 404: ref("error")}, []),
    ("get", "/libraries", "Libraries", "any staff", None, {200: array_of("library")}, LIST + ["library_id", "name"]),
    ("get", "/patron_categories", "Patron categories", "any staff", None, {200: array_of("patron_category")},
     LIST + ["patron_category_id", "name"]),
    ("get", "/holds", "Holds", "holds", None, {200: array_of("hold")},
     LIST + ["hold_id", "patron_id", "biblio_id", "item_id", "pickup_library_id", "status", "carrel_status",
             "old"]),
    ("post", "/holds", "Place a hold (x-koha-override: any with AllowHoldPolicyOverride)", "holds",
     _object(["patron_id", "pickup_library_id"], patron_id=I, pickup_library_id=S, biblio_id=I, item_id=I,
             expiration_date=S, notes=S, volume=S),
     {201: ref("hold"), 400: ref("error"), 403: ref("error"), 409: ref("error")}, []),
    ("patch", "/holds/{hold_id}", "Change a hold's pickup library, priority or suspension", "holds",
     _object([], pickup_library_id=S, priority=I, suspended_until=S),
     {200: ref("hold"), 400: ref("error"), 404: ref("error"), 409: ref("error")}, []),
    ("delete", "/holds/{hold_id}", "Cancel a hold (optional JSON string body: the reason)", "holds", None,
     {204: None, 404: ref("error"), 409: ref("error")}, []),
    ("put", "/holds/{hold_id}/priority", "Set a hold's position (a bare integer)", "holds", I,
     {200: I, 400: ref("error"), 409: ref("error")}, []),
    ("post", "/holds/{hold_id}/suspension", "Suspend a hold, optionally until end_date", "holds",
     ref("suspension"), {201: ref("suspension"), 400: ref("error")}, []),
    ("delete", "/holds/{hold_id}/suspension", "Resume a suspended hold", "holds", None,
     {204: None, 400: ref("error")}, []),
]


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path, summary, permission, body, responses, query in ROUTES:
        operation: dict[str, Any] = {
            "summary": summary, "x-carrel-permission": permission,
            "responses": {str(status): ({"description": "no content"} if schema is None else
                                        {"description": summary, "content": {"text/html": {}}} if schema == "html"
                                        else {"description": summary,
                                              "content": {"application/json": {"schema": schema}}})
                          for status, schema in responses.items()},
        }
        operation["responses"].setdefault("401", {"description": "authentication failure",
                                                  "content": {"application/json": {"schema": ref("error")}}})
        operation["responses"].setdefault("403", {"description": "missing permission",
                                                  "content": {"application/json": {"schema": ref("error")}}})
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "integer"}}
                  for p in path.replace("}", "{").split("{")[1::2]]
        params += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in query]
        params.append({"name": "x-koha-request-id", "in": "header", "required": False, "schema": {"type": "string"},
                       "description": "Echoed in the answer's x-koha-request-id header"})
        if "q" in query:
            params.append({"name": "x-koha-query", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "Koha's JSON query, as the q parameter"})
        if params:
            operation["parameters"] = params
        if body == "form":
            operation["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": _object(
                ["grant_type"], grant_type={"enum": ["client_credentials"]}, client_id=S, client_secret=S)}}}
        elif body is not None:
            operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Carrel REST API", "version": "1",
                 "description": "Koha-compatible field names. Authenticate with an OAuth2 bearer token "
                                "(POST /oauth/token, client credentials) or HTTP Basic with a staff login "
                                "when RESTBasicAuth is on."},
        "servers": [{"url": request.script_root + "/api/v1"}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/api/v1/oauth/token",
                                                                          "scopes": {}}}},
            "basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"oauth2": []}, {"basic": []}],
        "paths": paths,
    }


@bp.get("/")
@api_public
def openapi_document():
    return jsonify(document())


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ doc.info.title }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='carrel.css') }}"></head>
<body><main class="api-doc"><h1>{{ doc.info.title }}</h1><p>{{ doc.info.description }}</p>
<p>The machine-readable document is <a href="{{ url_for('api.openapi_document') }}">{{ url_for('api.openapi_document') }}</a>
(OpenAPI {{ doc.openapi }}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Permission</th><th>Answers</th></tr></thead><tbody>
{% for path, operations in doc.paths.items() %}{% for method, op in operations.items() %}
<tr><td><code>{{ method|upper }}</code></td><td><code>/api/v1{{ path }}</code></td><td>{{ op.summary }}</td>
<td>{{ op['x-carrel-permission'] or 'none' }}</td><td>{{ op.responses|join(', ') }}</td></tr>
{% endfor %}{% endfor %}</tbody></table></main></body></html>"""


@bp.get("/.html")
@api_public
def openapi_page():
    """The document as a page people read (Koha serves its API documentation at /api/v1/.html)."""
    return render_template_string(PAGE, doc=document())


# --- a small JSON Schema validator (the subset the document uses) ---------------------------------

def validate(instance: Any, schema: dict[str, Any], components: dict[str, Any], path: str = "") -> list[str]:
    """Every way ``instance`` breaks ``schema``: type (lists of types), enum, required,
    properties, additionalProperties false, items, maxLength, $ref."""
    if "$ref" in schema:
        return validate(instance, components[schema["$ref"].rsplit("/", 1)[1]], components, path)
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        allowed = types if isinstance(types, list) else [types]
        if not any(_is_type(instance, t) for t in allowed):
            return [f"{path or '/'}: {instance!r} is not {' or '.join(allowed)}"]
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path or '/'}: {instance!r} not in {schema['enum']}")
    if isinstance(instance, str) and "maxLength" in schema and len(instance) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}/{name}: required" for name in schema.get("required", []) if name not in instance]
        if schema.get("additionalProperties") is False:
            errors += [f"{path}/{name}: not allowed" for name in instance if name not in properties]
        for name, value in instance.items():
            if name in properties:
                errors += validate(value, properties[name], components, f"{path}/{name}")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            errors += validate(item, schema["items"], components, f"{path}/{index}")
    return errors


def _is_type(value: Any, kind: str) -> bool:
    return {
        "string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool), "boolean": isinstance(value, bool),
        "null": value is None, "object": isinstance(value, dict), "array": isinstance(value, list),
    }[kind]
