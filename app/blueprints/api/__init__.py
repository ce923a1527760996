"""The REST API (/api/v1, JSON) in Koha's shape: OAuth2 client credentials, Basic auth with a
staff login, patrons and their extended attributes, catalogue reads, holds, and an OpenAPI
document at /api/v1/ that describes every route.

Requests authenticate with a bearer token or Basic auth, never a session cookie, so the
blueprint is exempt from CSRF. Each view loads, authorises (``api_auth``), parses, calls a
service and commits once; refusals come back as ``{"error": ...}`` with the right status."""
from __future__ import annotations

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)

from . import attributes, auth, catalogue, holds, openapi, patrons  # noqa: E402,F401  (routes)
