"""Helpers to walk every registered route with real ids filled in."""
from __future__ import annotations

from werkzeug.routing import Rule

DEFAULTS = {"int": "1", "default": "x", "string": "x", "path": "x", "float": "1.0", "uuid": "00000000-0000-0000-0000-000000000000"}


def build_url(rule: Rule, ids: dict[str, object]) -> str:
    """The rule's path with each argument replaced by a known id or a harmless placeholder."""
    url = rule.rule
    for arg in rule.arguments:
        value = ids.get(arg)
        if value is None:
            converter = rule._converters[arg].__class__.__name__.lower().replace("converter", "")
            value = DEFAULTS.get(converter, "1")
        url = _replace_arg(url, arg, str(value))
    return url


def _replace_arg(url: str, arg: str, value: str) -> str:
    start = url.find("<")
    while start != -1:
        end = url.find(">", start)
        inside = url[start + 1:end]
        if inside.split(":")[-1] == arg:
            return url[:start] + value + url[end + 1:]
        start = url.find("<", end)
    return url
