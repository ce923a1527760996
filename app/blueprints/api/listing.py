"""Koha's list conventions: field filters with ``_match`` (exact, contains, starts_with,
ends_with), Koha's JSON query ``q`` (query parameter or ``x-koha-query`` header), ``_order_by``
(``+field``/``-field``, comma-separated or repeated; ``me.`` prefixes allowed), ``_page`` and
``_per_page``, answered with ``X-Total-Count``, ``X-Base-Total-Count`` and a ``Link`` header."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from flask import jsonify, request
from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from app.services.settings import get_preference

from .auth import ApiError

RESERVED = {"_match", "_order_by", "_page", "_per_page", "q"}
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
MAX_ALL = 10_000  # the most _per_page=-1 returns at once
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


def _field_name(name: str) -> str:
    return name[3:] if name.startswith("me.") else name


def apply_filters(stmt: Select, filters: dict[str, tuple[Any, str]],
                  special: dict[str, Callable[[str], Any]] | None = None) -> Select:
    """``filters``: query name -> (column, kind); ``special``: query name -> condition builder."""
    match = request.args.get("_match", "contains")
    if match not in MATCHES:
        raise ApiError(400, f"_match must be one of {', '.join(MATCHES)}", field="_match", path="/query/_match")
    special = special or {}
    for raw_query in [*request.args.getlist("q"), *request.headers.getlist("x-koha-query")]:
        stmt = stmt.where(query_condition(raw_query, filters))
    for name in request.args:
        if name in RESERVED:
            continue
        if name.startswith("me.") and _field_name(name) in filters:
            for raw in request.args.getlist(name):
                column, kind = filters[_field_name(name)]
                stmt = stmt.where(filter_condition(column, kind, raw, match, name))
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


# --- Koha's ``q``: a JSON object (AND) or array (OR) of field conditions -----------------------

COMPARISONS = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", ">": "__gt__", "<=": "__le__", ">=": "__ge__"}


def query_condition(raw: str, filters: dict[str, tuple[Any, str]]):
    """The WHERE condition for Koha's ``q`` (SQL::Abstract style, the part clients use):
    ``{"surname": "Lee"}`` (equals), ``null`` (is null), ``[..]`` (any of), ``{"-like": "Le%"}``,
    ``{"-not_like"}``, ``{"-in": [..]}``, ``{"-not_in"}``, ``{"=", "!=", "<", ">", "<=", ">="}``,
    ``-or``/``-and`` groups; field names may carry Koha's ``me.`` prefix."""
    try:
        query = json.loads(raw)
    except ValueError:
        raise ApiError(400, "q is not valid JSON", field="q", path="/query/q") from None
    return _group(query, filters, conjunction=and_)


def _bad_q(message: str) -> ApiError:
    return ApiError(400, f"q: {message}", field="q", path="/query/q")


def _group(query: Any, filters: dict[str, tuple[Any, str]], conjunction):
    if isinstance(query, list):
        if not query:
            raise _bad_q("an empty list matches nothing useful")
        return or_(*(_group(part, filters, and_) for part in query))
    if not isinstance(query, dict) or not query:
        raise _bad_q("expected a JSON object or array of objects")
    parts = []
    for key, value in query.items():
        if key in ("-or", "-and"):
            if not isinstance(value, (list, dict)):
                raise _bad_q(f"{key} needs an array or an object")
            items = value if isinstance(value, list) else [{k: v} for k, v in value.items()]
            joined = [_group(item, filters, and_) for item in items]
            parts.append(or_(*joined) if key == "-or" else and_(*joined))
            continue
        name = _field_name(key)
        if name not in filters:
            raise _bad_q(f"unknown field {key}")
        column, kind = filters[name]
        parts.append(_field_condition(column, kind, name, value))
    return conjunction(*parts)


def _typed(kind: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, (bool, int)):
        return bool(value)
    if kind in ("date", "datetime") and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]) if kind == "date" else dt.datetime.fromisoformat(
                value.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_q(f"{name}: {value!r} is not a valid {kind}") from None
    if kind == "string" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise _bad_q(f"{name}: {value!r} is not a valid {kind}")


def _field_condition(column, kind: str, name: str, value: Any):
    if value is None:
        return column.is_(None)
    if isinstance(value, list):
        return column.in_([_typed(kind, name, v) for v in value])
    if not isinstance(value, dict):
        return column == _typed(kind, name, value)
    parts = []
    for operator, operand in value.items():
        if operator in ("-like", "-not_like"):
            if kind != "string" or not isinstance(operand, str):
                raise _bad_q(f"{name}: {operator} needs a string field and a string pattern")
            condition = column.ilike(operand)
            parts.append(condition if operator == "-like" else not_(condition))
        elif operator in ("-in", "-not_in"):
            if not isinstance(operand, list):
                raise _bad_q(f"{name}: {operator} needs an array")
            condition = column.in_([_typed(kind, name, v) for v in operand])
            parts.append(condition if operator == "-in" else not_(condition))
        elif operator in COMPARISONS:
            if operand is None:
                parts.append(column.is_(None) if operator == "=" else column.is_not(None))
            else:
                parts.append(getattr(column, COMPARISONS[operator])(_typed(kind, name, operand)))
        else:
            raise _bad_q(f"{name}: operator {operator} is not supported")
    return and_(*parts)


def apply_order(stmt: Select, columns: dict[str, Any], default) -> Select:
    orders = []
    for value in request.args.getlist("_order_by"):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            descending = part.startswith("-")
            name = _field_name(part.lstrip("+- "))
            if name not in columns:
                raise ApiError(400, f"_order_by: cannot order by {name}", field="_order_by", path="/query/_order_by")
            orders.append(columns[name].desc() if descending else columns[name].asc())
    return stmt.order_by(*orders, default)


def paginated(session: Session, base: Select, stmt: Select, render: Callable[[Any], dict]):
    """Run ``stmt`` (filtered and ordered ``base``) one page at a time, with Koha's headers."""
    default = min(max(get_preference(session, "RESTdefaultPageSize") or DEFAULT_PER_PAGE, 1), MAX_PER_PAGE)
    page, per_page = _int_arg("_page", 1), _int_arg("_per_page", default)
    if page < 1:
        raise ApiError(400, "_page must be 1 or more", field="_page", path="/query/_page")
    everything = per_page == -1
    if not everything and not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, f"_per_page must be between 1 and {MAX_PER_PAGE} (or -1)", field="_per_page",
                       path="/query/_per_page")
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if everything:  # Koha's "all of them": given whole, or refused, never cut short without a word
        if total > MAX_ALL:
            raise ApiError(400, f"_per_page=-1 would return {total} records (at most {MAX_ALL}); page through them "
                                f"with _page and _per_page (up to {MAX_PER_PAGE})", field="_per_page",
                           path="/query/_per_page")
        page, per_page = 1, max(total, 1)
    unfiltered = str(stmt.whereclause) == str(base.whereclause)
    base_total = total if unfiltered else session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    response = jsonify([render(row) for row in rows])
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Base-Total-Count"] = str(base_total)
    last = max((total + per_page - 1) // per_page, 1)
    links = []
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_page", "_per_page")]

    def link(number: int, rel: str) -> str:
        from urllib.parse import urlencode

        query = urlencode([*args, ("_page", number), ("_per_page", per_page)])
        return f'<{request.base_url}?{query}>; rel="{rel}"'

    links.append(link(1, "first"))
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
    links.append(link(last, "last"))
    response.headers["Link"] = ", ".join(links)
    return response
