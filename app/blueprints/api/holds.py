"""Holds in Koha's API shape, calling the holds services (the same rules as the staff site):
list, place (``x-koha-override: any`` for staff allowed to override), change pickup, priority
or suspension, cancel, suspend and resume, set the priority."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import g, jsonify, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import Hold, HoldStatus, Item, Patron, Permission, Title
from app.services import holds as holds_service
from app.services.holds import HoldRefused, refusals
from app.services.settings import get_preference

from . import bp
from .auth import ApiError, api_auth, json_body
from .fields import iso_datetime
from .listing import apply_filters, apply_order, paginated

CHANNEL = "api"
# Koha answers 409 when the patron's standing blocks the hold, 403 for the other policy refusals.
PATRON_BLOCKS = {"patronExpired", "patronRestricted", "cardLost", "badAddress", "debt"}


# Koha's ``status`` is the old ``found`` column: null while the hold waits in the queue, W waiting
# for pickup, T in transit (F filled, for historical holds). Carrel's finer status is also given,
# as ``carrel_status``, and either may be used to filter.
KOHA_STATUS = {HoldStatus.PULLED: "W", HoldStatus.LONG_WAITING: "W", HoldStatus.IN_TRANSIT: "T",
               HoldStatus.FILLED: "F"}
FINISHED = (HoldStatus.FILLED, HoldStatus.CANCELLED, HoldStatus.EXPIRED)


def hold_to_api(hold: Hold, position: int | None) -> dict[str, Any]:
    return {
        "hold_id": hold.id, "patron_id": hold.patron_id, "biblio_id": hold.title_id, "item_id": hold.item_id,
        "pickup_library_id": hold.pickup_library_code, "hold_date": hold.placed_at.date().isoformat(),
        "expiration_date": hold.not_needed_after.isoformat() if hold.not_needed_after else None,
        "priority": position, "status": KOHA_STATUS.get(hold.status), "carrel_status": hold.status.value,
        "suspended": hold.status is HoldStatus.SUSPENDED,
        "suspended_until": hold.suspended_until.isoformat() if hold.suspended_until else None,
        "lowest_priority": hold.lowest_priority, "item_level": hold.item_id is not None, "notes": hold.notes,
        "waiting_date": hold.waiting_since.date().isoformat() if hold.waiting_since else None,
        "cancellation_date": hold.finished_at.date().isoformat()
        if hold.finished_at and hold.status is HoldStatus.CANCELLED else None,
        "cancellation_reason": hold.cancellation_reason, "item_type": hold.item_type_code,
        "volume": hold.volume, "timestamp": iso_datetime(hold.updated_at),
    }


def _render(hold: Hold) -> dict[str, Any]:
    return hold_to_api(hold, holds_service.position_of(db.session, hold))


def _refused(refusal: HoldRefused) -> ApiError:
    if isinstance(refusal, refusals.PolicyRefusal):
        status = 409 if refusal.code in PATRON_BLOCKS else 403
        return ApiError(status, f"Hold cannot be placed. Reason: {refusal.code}", error_code=refusal.code,
                        message=refusal.message)
    return ApiError(400 if not isinstance(refusal, (refusals.HoldFound, refusals.WrongStatus,
                                                    refusals.HoldNotInQueue, refusals.QueueChanged)) else 409,
                    refusal.message, error_code=refusal.code)


def _load(hold_id: int) -> Hold:
    hold = db.session.get(Hold, hold_id)
    if hold is None:
        raise ApiError(404, "Hold not found")
    return hold


def _date(body: dict, name: str) -> dt.date | None:
    raw = body.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not a date (YYYY-MM-DD)", field=name, path=f"/body/{name}") from None


def _override_requested() -> bool:
    """``x-koha-override: any``: staff with the holds permission may set the rules aside when
    AllowHoldPolicyOverride is on (recorded in the hold's history and the audit log)."""
    wanted = {v.strip() for v in request.headers.get("x-koha-override", "").split(",") if v.strip()}
    if "any" not in wanted:
        return False
    if not get_preference(db.session, "AllowHoldPolicyOverride"):
        raise ApiError(403, "Overriding the holds policy is not allowed (system preference AllowHoldPolicyOverride)")
    return True


FILTERS = {"hold_id": (Hold.id, "integer"), "patron_id": (Hold.patron_id, "integer"),
           "biblio_id": (Hold.title_id, "integer"), "item_id": (Hold.item_id, "integer"),
           "pickup_library_id": (Hold.pickup_library_code, "string")}
ORDERS = {"hold_id": Hold.id, "hold_date": Hold.placed_at, "patron_id": Hold.patron_id, "biblio_id": Hold.title_id}


def _status(raw: str):
    """Koha's codes (W, T, F) or Carrel's status names."""
    koha = [status for status, code in KOHA_STATUS.items() if code == raw]
    if koha:
        return Hold.status.in_(koha)
    try:
        return Hold.status == HoldStatus(raw)
    except ValueError:
        raise ApiError(400, f"status must be W, T, F or one of {', '.join(s.value for s in HoldStatus)}",
                       field="status", path="/query/status") from None


def _old(raw: str):
    """Koha lists current holds; ``old=1`` lists finished ones (filled, cancelled, expired)."""
    if raw.lower() not in ("0", "1", "true", "false"):
        raise ApiError(400, "old must be 0 or 1", field="old", path="/query/old")
    return Hold.status.in_(FINISHED) if raw.lower() in ("1", "true") else Hold.status.not_in(FINISHED)


@bp.get("/holds")
@api_auth(Permission.HOLDS)
def list_holds():
    base = select(Hold)
    if "old" not in request.args:
        base = base.where(Hold.status.not_in(FINISHED))
    stmt = apply_filters(base, FILTERS, {"status": _status, "carrel_status": _status, "old": _old})
    stmt = apply_order(stmt, ORDERS, Hold.id.asc())
    return paginated(db.session, base, stmt, _render)


@bp.post("/holds")
@api_auth(Permission.HOLDS)
def place_hold():
    body = json_body()
    unknown = set(body) - {"patron_id", "pickup_library_id", "biblio_id", "item_id", "expiration_date", "notes",
                           "hold_date", "item_type", "non_priority", "volume"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, f"Properties not allowed: {', '.join(sorted(unknown))}", field=name, path=f"/body/{name}")
    patron = db.session.get(Patron, body.get("patron_id")) if isinstance(body.get("patron_id"), int) else None
    if patron is None:
        raise ApiError(400, "patron_id not found", field="patron_id", path="/body/patron_id")
    if not isinstance(body.get("pickup_library_id"), str):
        raise ApiError(400, "pickup_library_id: missing property", field="pickup_library_id",
                       path="/body/pickup_library_id")
    item = None
    if body.get("item_id") is not None:
        item = db.session.get(Item, body["item_id"]) if isinstance(body["item_id"], int) else None
        if item is None:
            raise ApiError(400, "item_id not found", field="item_id", path="/body/item_id")
    biblio_id = body.get("biblio_id", item.title_id if item else None)
    title = db.session.get(Title, biblio_id) if isinstance(biblio_id, int) else None
    if title is None:
        raise ApiError(400, "biblio_id not found", field="biblio_id", path="/body/biblio_id")
    override = _override_requested()
    try:
        hold = holds_service.place_hold(
            db.session, patron, title, g.api_actor, pickup_library_code=body["pickup_library_id"], item=item,
            volume=body.get("volume"), not_needed_after=_date(body, "expiration_date"),
            notes=body.get("notes") if isinstance(body.get("notes"), str) else None, channel=CHANNEL,
            override=override)
    except HoldRefused as refusal:
        raise _refused(refusal) from None
    db.session.commit()
    response = jsonify(_render(hold))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_holds") + f"/{hold.id}"
    return response


@bp.patch("/holds/<int:hold_id>")
@api_auth(Permission.HOLDS)
def update_hold(hold_id: int):
    hold = _load(hold_id)
    body = json_body()
    unknown = set(body) - {"pickup_library_id", "priority", "suspended_until"}
    if unknown:
        name = sorted(unknown)[0]
        raise ApiError(400, f"Properties not allowed: {', '.join(sorted(unknown))}", field=name, path=f"/body/{name}")
    try:
        if "pickup_library_id" in body:
            holds_service.change_pickup(db.session, hold, body["pickup_library_id"], g.api_actor, channel=CHANNEL)
        if "priority" in body:
            _set_priority(hold, body["priority"])
        if body.get("suspended_until") is not None:
            holds_service.suspend_hold(db.session, hold, g.api_actor, until=_date(body, "suspended_until"),
                                       channel=CHANNEL)
    except HoldRefused as refusal:
        raise _refused(refusal) from None
    db.session.commit()
    db.session.refresh(hold)  # a move re-keys the queue in SQL
    return jsonify(_render(hold))


def _set_priority(hold: Hold, priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 1:
        raise ApiError(400, "priority must be an integer of at least 1", field="priority", path="/body/priority")
    return holds_service.move_hold(db.session, hold, priority, g.api_actor, channel=CHANNEL).to_position


@bp.delete("/holds/<int:hold_id>")
@api_auth(Permission.HOLDS)
def cancel_hold(hold_id: int):
    hold = _load(hold_id)
    reason = request.get_json(silent=True)
    try:
        holds_service.cancel_hold(db.session, hold, g.api_actor, reason=reason if isinstance(reason, str) else None,
                                  channel=CHANNEL)
    except HoldRefused as refusal:
        raise _refused(refusal) from None
    db.session.commit()
    return "", 204


@bp.put("/holds/<int:hold_id>/priority")
@api_auth(Permission.HOLDS)
def set_hold_priority(hold_id: int):
    hold = _load(hold_id)
    priority = request.get_json(silent=True)
    try:
        position = _set_priority(hold, priority)
    except HoldRefused as refusal:
        raise _refused(refusal) from None
    db.session.commit()
    return jsonify(position)


@bp.post("/holds/<int:hold_id>/suspension")
@api_auth(Permission.HOLDS)
def suspend_hold(hold_id: int):
    hold = _load(hold_id)
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.")
    until = _date(body, "end_date")
    try:
        holds_service.suspend_hold(db.session, hold, g.api_actor, until=until, channel=CHANNEL)
    except HoldRefused as refusal:
        raise ApiError(400, refusal.message, error_code=refusal.code) from None
    db.session.commit()
    return jsonify(end_date=until.isoformat() if until else None), 201


@bp.delete("/holds/<int:hold_id>/suspension")
@api_auth(Permission.HOLDS)
def resume_hold(hold_id: int):
    hold = _load(hold_id)
    try:
        holds_service.resume_hold(db.session, hold, g.api_actor, channel=CHANNEL)
    except HoldRefused as refusal:
        raise ApiError(400, refusal.message, error_code=refusal.code) from None
    db.session.commit()
    return "", 204
