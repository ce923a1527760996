"""Seed data for demos and benchmarks: ``flask carrel seed --size demo|S|M|L``."""
from .runner import COMPLETE, EMPTY, INCOMPLETE, NOT_SEEDED, SeedResult, seed_database, seed_status, table_counts
from .sizes import DEFAULT_SEED, SIZES, Size, size_named

__all__ = ["COMPLETE", "DEFAULT_SEED", "EMPTY", "INCOMPLETE", "NOT_SEEDED", "SIZES", "SeedResult", "Size",
           "seed_database", "seed_status", "size_named", "table_counts"]
