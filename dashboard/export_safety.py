"""Cells written to a file a spreadsheet may open (CSV): text never runs as a formula. Pure."""

from __future__ import annotations

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
# (CSV/formula injection); tab and carriage return hide such a start from a quick look.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (shown as text,
    the OWASP rule); numbers and every other text pass unchanged."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell
