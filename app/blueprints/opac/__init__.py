"""The OPAC: what patrons see in the browser. Catalogue pages in ``catalogue``, the patron's
own account in ``account``."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..access import public

bp = Blueprint("opac", __name__)


@bp.get("/")
@public
def home():
    return render_template("opac/home.html")


from . import account, catalogue, holds, messaging, privacy  # noqa: E402,F401  (routes register themselves on bp)
