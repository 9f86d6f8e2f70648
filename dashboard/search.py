"""Token search: substring, whole token or regular expression, over the tokens as a reader sees
them."""

from __future__ import annotations

import re

import numpy as np

from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.models.qk import TokenTable

MAX_PATTERN = 200


def shown_tokens(table: TokenTable) -> list[str]:
    """The tokens as a reader sees them: WordPiece '##' and BPE 'Ġ' markers dropped."""
    return [display(str(t)).strip().removeprefix("##") for t in table.token]


def match_tokens(
    table: TokenTable,
    pattern: str,
    regex: bool = False,
    case: bool = False,
    whole: bool = False,
) -> np.ndarray:
    """[pos] bool: which tokens match. Every token counts, the first ([CLS]/BOS) included;
    WordPiece '##' and BPE 'Ġ' markers are ignored, so 'ing' finds '##ing' and 'the' finds 'Ġthe'.
    `whole`: the pattern must match the whole token ('the' finds 'the', not 'there')."""
    if len(pattern) > MAX_PATTERN:
        raise InputError(f"The search is over {MAX_PATTERN} characters.")
    shown = shown_tokens(table)
    if regex:
        try:
            compiled = re.compile(pattern, 0 if case else re.IGNORECASE)
        except re.error as exc:
            raise InputError(f"Not a valid regular expression: {exc}.") from exc
        test = compiled.fullmatch if whole else compiled.search
        return np.array([test(t) is not None for t in shown], dtype=bool)
    if not case:
        pattern, shown = pattern.casefold(), [t.casefold() for t in shown]
    if whole:
        return np.array([pattern == t for t in shown], dtype=bool)
    return np.array([pattern in t for t in shown], dtype=bool)


def lowercased(table: TokenTable) -> bool:
    """Whether the tokenizer lowercases its input: no ordinary token has an uppercase letter
        (special tokens such as [CLS] aside), though it has letters. A cased tokenizer keeps some
    in any real corpus: sentence starts, names."""
    words = "".join(
        t for t, special in zip(shown_tokens(table), table.special, strict=True) if not special
    )
    return any(c.isalpha() for c in words) and not any(c.isupper() for c in words)
