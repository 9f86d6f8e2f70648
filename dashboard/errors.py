"""The errors a user or an operator can fix, with messages shown as they are. Pure Python."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user data; the message is shown to the user as is."""


class UnsupportedModel(ValueError):
    """A checkpoint QK Atlas cannot read; the message says why and what would work."""


class PoolUnavailable(RuntimeError):
    """The worker pool cannot be reached; the message says to try again."""


class PoolMismatch(RuntimeError):
    """The worker pool runs another version of the code; the message says to restart it."""


def over_limit(what: str, limit: str, setting: str) -> InputError:
    """One wording for every limit: '<what> is over the limit of <limit> (set <setting> …)'."""
    return InputError(f"{what} is over the limit of {limit} (set {setting} to change it).")


def megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB"
