"""The hold queue: filling holds with copies (by the transport cost matrix when it is on),
trapping checked-in items, and rebuilding every title's queue."""
from .costs import CostMatrix, load_matrix
from .filling import trap_checked_in_item
from .planning import fill_title

__all__ = ["CostMatrix", "load_matrix", "fill_title", "trap_checked_in_item"]
