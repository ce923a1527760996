"""API keys (OAuth2 client credentials) and the bearer tokens they obtain, as Koha has them:
a key belongs to a staff patron, its secret is shown once and stored hashed (argon2), a token
lasts an hour and is stored as a SHA-256 digest. A request made with a token has the
permissions of the key's owner."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.models import ApiClient, ApiToken, Patron

from .audit import record_audit
from .passwords import hash_password, verify_password

TOKEN_LIFETIME = dt.timedelta(seconds=3600)


class TokenRefused(Exception):
    """A token was not issued or not accepted; ``error`` is the OAuth2 error word."""

    def __init__(self, error: str, message: str):
        self.error = error
        super().__init__(message)


@dataclass(frozen=True)
class NewApiKey:
    client: ApiClient
    secret: str  # shown once, never stored


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def keys_of(session: Session, patron: Patron) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).where(ApiClient.patron_id == patron.id).order_by(ApiClient.created_at)))


def create_api_key(session: Session, patron: Patron, description: str | None, actor: Patron | None) -> NewApiKey:
    """A new active key for ``patron``; the secret is returned once and only its hash kept."""
    secret = str(uuid.uuid4())
    client = ApiClient(client_id=str(uuid.uuid4()), secret_hash=hash_password(secret),
                       description=(description or "").strip()[:255] or None, patron_id=patron.id, active=True)
    session.add(client)
    session.flush()
    record_audit(session, actor_id=actor.id if actor else None, channel="staff", module="APIKEYS", action="CREATE",
                 object_type="patron", object_id=patron.id, info={"client_id": client.client_id})
    return NewApiKey(client, secret)


def set_api_key_active(session: Session, client: ApiClient, active: bool, actor: Patron | None) -> None:
    """Revoke (its tokens stop working at once) or activate a key."""
    client.active = active
    if not active:
        session.execute(delete(ApiToken).where(ApiToken.client_id == client.client_id))
    record_audit(session, actor_id=actor.id if actor else None, channel="staff", module="APIKEYS",
                 action="ACTIVATE" if active else "REVOKE", object_type="patron", object_id=client.patron_id,
                 info={"client_id": client.client_id})
    session.flush()


def delete_api_key(session: Session, client: ApiClient, actor: Patron | None) -> None:
    record_audit(session, actor_id=actor.id if actor else None, channel="staff", module="APIKEYS", action="DELETE",
                 object_type="patron", object_id=client.patron_id, info={"client_id": client.client_id})
    session.delete(client)
    session.flush()


def issue_token(session: Session, client_id: str, secret: str) -> IssuedToken:
    """A bearer token for valid client credentials of an active key; TokenRefused otherwise."""
    client = session.get(ApiClient, client_id) if client_id else None
    if client is None or not verify_password(client.secret_hash if client else None, secret or ""):
        raise TokenRefused("unauthorized_client", "Unknown client or wrong secret.")
    if not client.active:
        raise TokenRefused("access_denied", "This API key has been revoked.")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(ApiToken(token_hash=digest(token), client_id=client.client_id, expires_at=now + TOKEN_LIFETIME))
    client.last_used_at = now
    session.flush()
    return IssuedToken(token, int(TOKEN_LIFETIME.total_seconds()))


def token_owner(session: Session, token: str) -> Patron:
    """The patron whose key obtained ``token``; TokenRefused when unknown, expired or revoked."""
    row = session.get(ApiToken, digest(token))
    if row is None:
        raise TokenRefused("invalid_token", "Invalid token.")
    if row.expires_at <= clock.now():
        raise TokenRefused("invalid_token", "The token has expired.")
    if not row.client.active:
        raise TokenRefused("invalid_token", "The API key of this token has been revoked.")
    return row.client.patron
