"""Token search: substring or regular expression, over the tokens as a reader sees them."""

from __future__ import annotations

import re

import numpy as np

from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.models.qk import TokenTable

MAX_PATTERN = 200


def match_tokens(
    table: TokenTable, pattern: str, regex: bool = False, case: bool = False
) -> np.ndarray:
    """[pos] bool: which tokens match. Every token counts, the first ([CLS]/BOS) included;
    WordPiece '##' and BPE 'Ġ' markers are ignored, so 'ing' finds '##ing' and 'the' finds 'Ġthe'."""
    if len(pattern) > MAX_PATTERN:
        raise InputError(f"The search is over {MAX_PATTERN} characters.")
    shown = [display(str(t)).strip().removeprefix("##") for t in table.token]
    if regex:
        try:
            compiled = re.compile(pattern, 0 if case else re.IGNORECASE)
        except re.error as exc:
            raise InputError(f"Not a valid regular expression: {exc}.") from exc
        return np.array([compiled.search(t) is not None for t in shown], dtype=bool)
    needle = pattern if case else pattern.lower()
    return np.array([needle in (t if case else t.lower()) for t in shown], dtype=bool)
