"""The placeholder language of notice templates: Jinja2 in a sandbox that sees only plain
values built from the allowed fields (``patron.firstname``, ``hold.pickup_deadline``...). A
template never receives a model object, and reading anything outside the allowed fields (a
password hash, ``__class__``, a method) is refused with a SecurityError."""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.sandbox import SandboxedEnvironment

# What each object exposes to templates; the editor page lists these.
ALLOWED_FIELDS: dict[str, tuple[str, ...]] = {
    "patron": ("name", "firstname", "surname", "preferred_name", "cardnumber", "userid", "email", "phone",
               "address", "city", "zipcode", "dateexpiry", "library_code", "category_code"),
    "library": ("code", "name", "email", "phone", "address", "city", "postal_code", "country"),
    "title": ("title", "subtitle", "author", "isbn", "publisher", "publication_year"),
    "item": ("barcode", "callnumber", "enumchron", "copynumber", "home_library", "holding_library"),
    "hold": ("id", "status", "reason", "placed_on", "pickup_library", "pickup_deadline", "waiting_since",
             "waiting_days", "not_needed_after"),
    "loan": ("title", "item", "checked_out_on", "due_date", "days_overdue", "renewals"),
    "checkin": ("title", "item", "returned_on"),
}
LIST_OBJECTS = {"loans": "loan", "checkouts": "loan", "checkins": "checkin"}


class Fields:
    """A read-only bag of allowed values under one kind (``patron``, ``hold``...)."""

    __slots__ = ("_kind", "_values")

    def __init__(self, kind: str, values: Mapping[str, Any]):
        allowed = ALLOWED_FIELDS[kind]
        unknown = set(values) - set(allowed)
        if unknown:
            raise ValueError(f"{kind} has no allowed field {sorted(unknown)}")
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_values", {name: values.get(name) for name in allowed})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("notice fields are read-only")

    def __repr__(self) -> str:
        return f"<{self._kind}>"


DATE_PARTS = frozenset({"year", "month", "day", "isoformat", "strftime"})
TEMPLATE_HELPERS = (LoopContext, Namespace, Cycler, Joiner)


class NoticeSandbox(SandboxedEnvironment):
    """Attributes of Fields objects only where allowed; of dates only their parts; of Jinja's
    own helpers (``loop.index``) as the sandbox allows. Nothing else: text, numbers and lists
    are used whole or through filters (``|upper``, ``|length``)."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, Fields):
            return attr in ALLOWED_FIELDS[obj._kind]
        if isinstance(obj, (dt.date, dt.datetime)):
            return attr in DATE_PARTS
        if isinstance(obj, TEMPLATE_HELPERS):
            return super().is_safe_attribute(obj, attr, value)
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        if not isinstance(obj, (Fields, dt.date, *TEMPLATE_HELPERS)):  # before Jinja's own str.format wrapper
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Fields):  # patron["password_hash"] is the same question as patron.password_hash
            return self.getattr(obj, str(argument))
        return super().getitem(obj, argument)


def _environment(autoescape: bool) -> NoticeSandbox:
    env = NoticeSandbox(autoescape=autoescape, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                        keep_trailing_newline=False)
    return env


TEXT_ENV = _environment(False)
HTML_ENV = _environment(True)


class TemplateProblem(ValueError):
    """A template that does not compile or render: the message says where and why."""

    def __init__(self, part: str, message: str):
        self.part = part
        super().__init__(f"{part}: {message}")


@functools.lru_cache(maxsize=512)
def _compiled(html: bool, source: str):
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


def render_part(part: str, source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render one part (subject, text or HTML body); any template error or sandbox refusal
    becomes a TemplateProblem naming the part."""
    try:
        return _compiled(html, source).render(**context)
    except SecurityError as error:
        raise TemplateProblem(part, f"not allowed: {error}") from None
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(part, f"{error.message or error}{where}") from None
    except (TypeError, ValueError, ArithmeticError) as error:
        raise TemplateProblem(part, str(error)) from None
