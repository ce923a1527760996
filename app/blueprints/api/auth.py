"""Authentication and errors for the API: OAuth2 client-credentials tokens, Basic auth with a
staff login (when RESTBasicAuth is on), the ``api_auth(permission)`` decorator, JSON errors,
and patron password validation (Koha's POST /auth/password/validation)."""
from __future__ import annotations

import base64
import binascii
import functools
from typing import Any, Callable

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.models import Patron, Permission
from app.services.activity import record_activity
from app.services.api_keys import TokenRefused, issue_token, token_owner
from app.services.authentication import LoginRefused, ThrottlePolicy, authenticate
from app.services.settings import get_preference

from . import bp


class ApiError(Exception):
    """An answer other than success: status, message, and extra keys (``field``, ``conflict``...)."""

    def __init__(self, status: int, error: str, **extra: Any):
        self.status, self.error, self.extra = status, error, extra
        super().__init__(error)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    db.session.rollback()
    extra = dict(error.extra)
    if error.status == 400 and "path" in extra:  # Koha's validation errors: a list of {message, path}
        extra["errors"] = [{"message": error.error, "path": extra["path"]}]
    response = jsonify(error=error.error, **extra)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="carrel"'
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    db.session.rollback()
    return jsonify(error=error.description if error.code == 400 else error.name), error.code


@bp.after_request
def _echo_request_id(response):
    """Koha answers a request's ``x-koha-request-id`` header with the same header (its staff
    tables use it to pair answers with requests). Any value is echoed, not only integers."""
    request_id = request.headers.get("x-koha-request-id")
    if request_id and len(request_id) <= 200 and request_id.isprintable():
        response.headers["x-koha-request-id"] = request_id
    return response


def _mark(view: Callable, permission: str | None) -> Callable:
    view._carrel_access = ("api", permission)  # type: ignore[attr-defined]
    return view


def _policy() -> ThrottlePolicy:
    config = current_app.config
    return ThrottlePolicy(config["LOGIN_MAX_FAILURES_ACCOUNT"], config["LOGIN_MAX_FAILURES_ADDRESS"],
                          config["LOGIN_THROTTLE_SECONDS"])


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        login, _, password = base64.b64decode(header.split(None, 1)[1]).decode().partition(":")
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "Authentication failure: malformed Basic credentials.") from None
    return login, password


def authenticated_patron() -> Patron:
    """The patron a request speaks for, from its bearer token or Basic credentials."""
    header = request.headers.get("Authorization", "")
    scheme = header.split(None, 1)[0].lower() if header else ""
    if scheme == "bearer":
        try:
            return token_owner(db.session, header.split(None, 1)[1].strip() if " " in header else "")
        except TokenRefused as refusal:
            raise ApiError(401, str(refusal)) from None
    if scheme == "basic":
        if not get_preference(db.session, "RESTBasicAuth"):
            raise ApiError(401, "Basic authentication is disabled (system preference RESTBasicAuth).")
        login, password = _basic_credentials(header)
        try:
            patron = authenticate(db.session, login, password, address=request.remote_addr or "unknown",
                                  policy=_policy(), staff=True, channel="api")
        except LoginRefused as refusal:
            db.session.commit()  # keep the failure counted: throttling must see it
            raise ApiError(401, str(refusal)) from None
        db.session.commit()
        return patron
    raise ApiError(401, "Authentication failure.")


def api_auth(permission: Permission | str | None) -> Callable[[Callable], Callable]:
    """Authenticate the request and require ``permission`` (None: any staff member); the
    patron is ``g.api_actor``."""
    needed = Permission(permission) if permission else None

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = authenticated_patron()
            if not actor.is_staff or not actor.is_active or (needed and not actor.has_permission(needed)):
                raise ApiError(403, "Authorization failure. Missing required permission(s).",
                               required_permissions=[needed.value] if needed else ["any staff permission"])
            g.api_actor = actor
            return view(*args, **kwargs)

        return _mark(wrapper, needed.value if needed else None)

    return decorator


def api_public(view: Callable) -> Callable:
    return _mark(view, None)


def json_body(kind: type = dict) -> Any:
    body = request.get_json(silent=True)
    if body is None and request.data:
        raise ApiError(400, "The body is not valid JSON.")
    if not isinstance(body, kind):
        raise ApiError(400, f"The body must be a JSON {'object' if kind is dict else 'array' if kind is list else kind.__name__}.")
    return body


# --- routes ---------------------------------------------------------------------------------------

@bp.post("/oauth/token")
@api_public
def oauth_token():
    """OAuth2 client credentials (form-encoded, or the client in Basic auth) -> a bearer token."""
    form = request.form
    if form.get("grant_type") != "client_credentials" or not get_preference(db.session, "RESTOAuth2ClientCredentials"):
        raise ApiError(400, "Unimplemented grant type")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id and request.headers.get("Authorization", "").lower().startswith("basic "):
        client_id, secret = _basic_credentials(request.headers["Authorization"])
    try:
        token = issue_token(db.session, client_id, secret)
    except TokenRefused as refusal:
        raise ApiError(403, refusal.error) from None
    db.session.commit()
    response = jsonify(access_token=token.access_token, token_type="Bearer", expires_in=token.expires_in)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/auth/password/validation")
@api_auth(Permission.PATRONS)
def validate_password():
    """Check a patron's password (Koha's route, for a discovery layer or a proxy): 201 with the
    patron's ids, or 400. A success is the patron's "connection" activity (a service authenticating
    a patron, as a SIP2 patron information request is), not a login to Carrel."""
    body = json_body()
    login = body.get("identifier") or body.get("userid") or body.get("cardnumber")
    password = body.get("password")
    if not isinstance(login, str) or not isinstance(password, str) or not login:
        raise ApiError(400, "identifier (or userid or cardnumber) and password are required", field="identifier")
    try:
        patron = authenticate(db.session, login, password, address=request.remote_addr or "unknown",
                              policy=_policy(), staff=False, channel="api")
    except LoginRefused:
        db.session.commit()
        raise ApiError(400, "Validation failed") from None
    record_activity(db.session, patron.id, "connection")
    db.session.commit()
    return jsonify(patron_id=patron.id, cardnumber=patron.cardnumber, userid=patron.userid), 201
