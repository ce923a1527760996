"""Staff pages for notices: the template editor with a live preview and the category defaults
of messaging preferences (Administration > Notices), and on the patron's side their notices
(sent, pending, failed, with the content, resend), their messaging preferences, printed slips
and the check-out and check-in receipt."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("notices", __name__)

from . import editor, patron  # noqa: E402,F401  (routes)
