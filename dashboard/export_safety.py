"""Cells a spreadsheet would run as a formula (CSV injection), made inert. Pure Python."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell starting like a formula gets a leading apostrophe (read as text, shown
    without it); numbers and other cells pass unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell
