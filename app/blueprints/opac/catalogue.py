"""Catalogue pages: keyword search and a title with its copies."""
from __future__ import annotations

from flask import abort, render_template, request

from app.extensions import db
from app.models import Title
from app.services.holds import queue_length
from app.services.search import DEFAULT_PER_PAGE, holdings, search_titles
from app.services.settings import get_preference

from ..access import public
from ..htmx import render_page_or_fragment
from . import bp


def _int_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


@bp.get("/search")
@public
def search():
    query = request.args.get("q", "")[:200]
    result = None
    if query.strip():
        result = search_titles(db.session, query, page=_int_arg("page", 1),
                               per_page=_int_arg("per_page", DEFAULT_PER_PAGE))
    return render_page_or_fragment("opac/search.html", "opac/_results.html", query=query, result=result)


@bp.get("/titles/<int:title_id>")
@public
def title(title_id: int):
    record = db.session.get(Title, title_id) or abort(404)
    return render_template("opac/title.html", title=record, holdings=holdings(db.session, record),
                           hold_count=queue_length(db.session, record.id),
                           holds_taken=get_preference(db.session, "OPACHoldRequests"))
