"""Patrons in Koha's API shape: list with filters and paging, get, create, replace (PUT),
update (PATCH) and delete. ``x-koha-embed: extended_attributes`` adds the attributes."""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from sqlalchemy import exists, or_, select

from app import clock
from app.extensions import db
from app.models import Patron, PatronRestriction, Permission
from app.services.patron_import.attributes import AttributeRefused
from app.services.patron_import.records import (
    PatronConflict,
    PatronInvalid,
    create_patron,
    delete_patron,
    update_patron,
)

from . import bp
from .auth import ApiError, api_auth, json_body
from .fields import BY_API, PATRON_FIELDS, patron_to_api, patron_from_api
from .listing import apply_filters, apply_order, paginated

FILTERS = {f.api: (getattr(Patron, f.attr), "string" if f.kind in ("choice", "privacy") else f.kind)
           for f in PATRON_FIELDS if f.attr is not None and f.kind != "privacy"}
ORDERS = {f.api: getattr(Patron, f.attr) for f in PATRON_FIELDS if f.attr is not None}
ATTR_TO_API = {f.attr: f.api for f in PATRON_FIELDS if f.attr}


def _embed_attributes() -> bool:
    embeds = {e.strip() for e in request.headers.get("x-koha-embed", "").split(",")}
    unknown = embeds - {"", "extended_attributes"}
    if unknown:
        raise ApiError(400, f"Embedding {', '.join(sorted(unknown))} is not supported", field="x-koha-embed")
    return "extended_attributes" in embeds


def _expired(raw: str):
    value = raw.lower() in ("true", "1")
    condition = Patron.dateexpiry < clock.today()
    return condition if value else or_(Patron.dateexpiry.is_(None), Patron.dateexpiry >= clock.today())


def _restricted(raw: str):
    today = clock.today()
    active = exists().where(PatronRestriction.patron_id == Patron.id,
                            or_(PatronRestriction.expiration.is_(None), PatronRestriction.expiration >= today))
    return active if raw.lower() in ("true", "1") else ~active


def load_patron(patron_id: int) -> Patron:
    patron = db.session.get(Patron, patron_id)
    if patron is None:
        raise ApiError(404, "Patron not found")
    return patron


def _call(action):
    """Run a write service, turning its refusals into API errors."""
    try:
        return action()
    except PatronInvalid as error:
        field = ATTR_TO_API.get(error.field, error.field)
        raise ApiError(400, str(error), field=field, path=f"/body/{field}") from None
    except PatronConflict as error:
        raise ApiError(409, str(error), conflict=ATTR_TO_API.get(error.conflict, error.conflict)) from None
    except AttributeRefused as error:
        raise ApiError(409 if error.conflict else 400, str(error), error_code=error.code) from None


@bp.get("/patrons")
@api_auth(Permission.PATRONS)
def list_patrons():
    embed = _embed_attributes()
    base = select(Patron)
    stmt = apply_filters(base, FILTERS, {"expired": _expired, "restricted": _restricted})
    stmt = apply_order(stmt, ORDERS, Patron.id.asc())
    return paginated(db.session, base, stmt, lambda p: patron_to_api(p, embed))


@bp.get("/patrons/<int:patron_id>")
@api_auth(Permission.PATRONS)
def get_patron(patron_id: int):
    embed = _embed_attributes()
    return jsonify(patron_to_api(load_patron(patron_id), embed))


@bp.post("/patrons")
@api_auth(Permission.PATRONS)
def add_patron():
    values, attributes = patron_from_api(json_body(), require=True)
    patron = _call(lambda: create_patron(db.session, values, g.api_actor, attributes=attributes))
    db.session.commit()
    response = jsonify(patron_to_api(patron, attributes is not None))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_patron", patron_id=patron.id)
    return response


@bp.put("/patrons/<int:patron_id>")
@api_auth(Permission.PATRONS)
def replace_patron(patron_id: int):
    """The object a GET returned, read-only fields left out; fields not sent are kept (as Koha
    does); ``extended_attributes``, when sent, replaces the whole set."""
    return _update(patron_id, require=True)


@bp.patch("/patrons/<int:patron_id>")
@api_auth(Permission.PATRONS)
def patch_patron(patron_id: int):
    return _update(patron_id, require=False)


def _update(patron_id: int, *, require: bool):
    patron = load_patron(patron_id)
    values, attributes = patron_from_api(json_body(), require=require, patron_id=patron.id)
    if patron.is_staff and not g.api_actor.has_permission(Permission.SUPERLIBRARIAN) and patron.id != g.api_actor.id:
        raise ApiError(409, "Only a superlibrarian may change a staff patron through the API", conflict="is_protected")
    _call(lambda: update_patron(db.session, patron, values, g.api_actor, attributes=attributes))
    db.session.commit()
    return jsonify(patron_to_api(patron, attributes is not None))


@bp.delete("/patrons/<int:patron_id>")
@api_auth(Permission.PATRONS)
def remove_patron(patron_id: int):
    patron = load_patron(patron_id)
    try:
        delete_patron(db.session, patron, g.api_actor)
    except PatronConflict as error:  # Koha's safe_to_delete answer names the reason as error_code
        raise ApiError(409, str(error), conflict=error.conflict, error_code=error.conflict) from None
    db.session.commit()
    return "", 204


__all__ = ["BY_API", "load_patron"]
