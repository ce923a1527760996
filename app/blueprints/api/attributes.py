"""A patron's extended attributes (Koha bug 23666): list, add one, replace the whole set,
change one value, delete one; repeatable, unique and mandatory types respected."""
from __future__ import annotations

from flask import g, jsonify, url_for

from app.extensions import db
from app.models import Permission
from app.services.audit import record_audit
from app.services.patron_import.attributes import (
    AttributeRefused,
    AttributeRules,
    add_attribute,
    delete_attribute,
    replace_attributes,
    update_attribute,
)

from . import bp
from .auth import ApiError, api_auth, json_body
from .fields import attribute_to_api, attributes_from_api
from .patrons import load_patron


def _refused(error: AttributeRefused) -> ApiError:
    return ApiError(409 if error.conflict else 400, str(error), error_code=error.code)


def _attribute(patron, attribute_id: int):
    for attribute in patron.attributes:
        if attribute.id == attribute_id:
            return attribute
    raise ApiError(404, "Attribute not found")


def _audit(patron, action: str) -> None:
    record_audit(db.session, actor_id=g.api_actor.id, channel="api", module="PATRONS", action=action,
                 object_type="patron", object_id=patron.id)


@bp.get("/patrons/<int:patron_id>/extended_attributes")
@api_auth(Permission.PATRONS)
def list_attributes(patron_id: int):
    return jsonify([attribute_to_api(a) for a in load_patron(patron_id).attributes])


@bp.post("/patrons/<int:patron_id>/extended_attributes")
@api_auth(Permission.PATRONS)
def add_patron_attribute(patron_id: int):
    patron = load_patron(patron_id)
    (code, value), = attributes_from_api([json_body()])
    try:
        attribute = add_attribute(db.session, patron, code, value, AttributeRules.load(db.session))
    except AttributeRefused as error:
        raise _refused(error) from None
    _audit(patron, "MODIFY_ATTRIBUTES")
    db.session.commit()
    response = jsonify(attribute_to_api(attribute))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_attributes", patron_id=patron.id) + f"/{attribute.id}"
    return response


@bp.put("/patrons/<int:patron_id>/extended_attributes")
@api_auth(Permission.PATRONS)
def replace_patron_attributes(patron_id: int):
    patron = load_patron(patron_id)
    pairs = attributes_from_api(json_body(list))
    try:
        attributes = replace_attributes(db.session, patron, pairs, AttributeRules.load(db.session))
    except AttributeRefused as error:
        raise _refused(error) from None
    _audit(patron, "MODIFY_ATTRIBUTES")
    db.session.commit()
    return jsonify([attribute_to_api(a) for a in attributes])


@bp.patch("/patrons/<int:patron_id>/extended_attributes/<int:extended_attribute_id>")
@api_auth(Permission.PATRONS)
def patch_patron_attribute(patron_id: int, extended_attribute_id: int):
    patron = load_patron(patron_id)
    attribute = _attribute(patron, extended_attribute_id)
    body = json_body()
    if set(body) - {"value", "type", "extended_attribute_id"} or not isinstance(body.get("value"), str):
        raise ApiError(400, "the body needs a string value", field="value", path="/body/value")
    if body.get("type", attribute.code) != attribute.code:
        raise ApiError(400, "the type of an attribute cannot change", field="type", path="/body/type")
    try:
        update_attribute(db.session, patron, attribute, body["value"].strip(), AttributeRules.load(db.session))
    except AttributeRefused as error:
        raise _refused(error) from None
    _audit(patron, "MODIFY_ATTRIBUTES")
    db.session.commit()
    return jsonify(attribute_to_api(attribute))


@bp.delete("/patrons/<int:patron_id>/extended_attributes/<int:extended_attribute_id>")
@api_auth(Permission.PATRONS)
def delete_patron_attribute(patron_id: int, extended_attribute_id: int):
    patron = load_patron(patron_id)
    attribute = _attribute(patron, extended_attribute_id)
    try:
        delete_attribute(db.session, patron, attribute, AttributeRules.load(db.session))
    except AttributeRefused as error:
        raise _refused(error) from None
    _audit(patron, "MODIFY_ATTRIBUTES")
    db.session.commit()
    return "", 204
