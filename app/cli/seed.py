"""Seed command (demo library and S/M/L data sets)."""
from __future__ import annotations

from . import carrel  # noqa: F401
