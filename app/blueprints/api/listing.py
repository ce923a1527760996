"""Koha's list conventions: field filters with ``_match`` (exact, contains, starts_with,
ends_with), ``_order_by`` (``+field``/``-field``, comma-separated or repeated), ``_page`` and
``_per_page``, answered with ``X-Total-Count``, ``X-Base-Total-Count`` and a ``Link`` header."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask import jsonify, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .auth import ApiError

RESERVED = {"_match", "_order_by", "_page", "_per_page", "q"}
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
MATCHES = ("contains", "exact", "starts_with", "ends_with")


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", field=name, path=f"/query/{name}") from None


def filter_condition(column, kind: str, raw: str, match: str, name: str):
    """The WHERE condition for one query filter."""
    if kind == "string":
        if match == "exact":
            return column == raw
        like = raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {"contains": f"%{like}%", "starts_with": f"{like}%", "ends_with": f"%{like}"}[match]
        return column.ilike(pattern, escape="\\")
    try:
        if kind == "integer":
            return column == int(raw)
        if kind == "boolean":
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return column.is_(raw.lower() in ("true", "1"))
        if kind in ("date", "datetime"):
            return column == dt.date.fromisoformat(raw[:10]) if kind == "date" else func.date(column) == raw[:10]
    except ValueError:
        raise ApiError(400, f"{name}: {raw!r} is not a valid {kind}", field=name, path=f"/query/{name}") from None
    raise ApiError(400, f"{name} cannot be used as a filter", field=name, path=f"/query/{name}")


def apply_filters(stmt: Select, filters: dict[str, tuple[Any, str]],
                  special: dict[str, Callable[[str], Any]] | None = None) -> Select:
    """``filters``: query name -> (column, kind); ``special``: query name -> condition builder."""
    match = request.args.get("_match", "contains")
    if match not in MATCHES:
        raise ApiError(400, f"_match must be one of {', '.join(MATCHES)}", field="_match", path="/query/_match")
    special = special or {}
    for name in request.args:
        if name in RESERVED:
            continue
        if name not in filters and name not in special:
            raise ApiError(400, f"Unknown query parameter {name}", field=name, path=f"/query/{name}")
        for raw in request.args.getlist(name):
            if name in special:
                stmt = stmt.where(special[name](raw))
            else:
                column, kind = filters[name]
                stmt = stmt.where(filter_condition(column, kind, raw, match, name))
    return stmt


def apply_order(stmt: Select, columns: dict[str, Any], default) -> Select:
    orders = []
    for value in request.args.getlist("_order_by"):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            descending = part.startswith("-")
            name = part.lstrip("+- ")
            if name not in columns:
                raise ApiError(400, f"_order_by: cannot order by {name}", field="_order_by", path="/query/_order_by")
            orders.append(columns[name].desc() if descending else columns[name].asc())
    return stmt.order_by(*orders, default)


def paginated(session: Session, base: Select, stmt: Select, render: Callable[[Any], dict]):
    """Run ``stmt`` (filtered and ordered ``base``) one page at a time, with Koha's headers."""
    page, per_page = _int_arg("_page", 1), _int_arg("_per_page", DEFAULT_PER_PAGE)
    if page < 1:
        raise ApiError(400, "_page must be 1 or more", field="_page", path="/query/_page")
    if per_page == -1:
        per_page = MAX_PER_PAGE
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, f"_per_page must be between 1 and {MAX_PER_PAGE} (or -1)", field="_per_page",
                       path="/query/_per_page")
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    base_total = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    response = jsonify([render(row) for row in rows])
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Base-Total-Count"] = str(base_total)
    last = max((total + per_page - 1) // per_page, 1)
    links = []
    args = {k: v for k, v in request.args.items(multi=True) if k not in ("_page", "_per_page")}

    def link(number: int, rel: str) -> str:
        from urllib.parse import urlencode

        query = urlencode([*args.items(), ("_page", number), ("_per_page", per_page)])
        return f'<{request.base_url}?{query}>; rel="{rel}"'

    links.append(link(1, "first"))
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
    links.append(link(last, "last"))
    response.headers["Link"] = ", ".join(links)
    return response
