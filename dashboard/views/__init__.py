"""Dash views: layout pieces and small callbacks. No torch here."""
