"""Routes: filled in below."""
from . import bp  # noqa: F401
