"""Process commands: all-in-one development server, the production worker, SIP2 alone."""
from __future__ import annotations

from . import carrel  # noqa: F401
