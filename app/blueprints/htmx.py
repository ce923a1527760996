"""Reading htmx request headers: a few lines of our own instead of a dependency (htmx-flask is
unmaintained and refuses valid swap values; we only need to know whether a request came from
htmx and which element triggered it)."""
from __future__ import annotations

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def htmx_target() -> str | None:
    return request.headers.get("HX-Target")


def render_page_or_fragment(page: str, fragment: str, **context):
    """One template serves both: the fragment alone for htmx, the whole page otherwise."""
    return render_template(fragment if is_htmx() else page, **context)
