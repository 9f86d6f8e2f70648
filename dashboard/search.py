"""Token search: substring, whole token or regular expression, over the tokens as a reader sees
them."""

from __future__ import annotations

import time
import unicodedata

import numpy as np
import regex  # the stdlib engine has no timeout; transformers already depends on this one

from dashboard.errors import InputError
from dashboard.figures.hover import display
from dashboard.models.qk import TokenTable

MAX_PATTERN = 200
REGEX_SECONDS = 0.5  # for the whole corpus: a search is typed live, one callback per key


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
    `whole`: the pattern must match the whole token ('the' finds 'the', not 'there').
    The pattern is NFKC-normalised as the corpus text is, so look-alikes (NFC "é" and NFD
    "e" + accent) find the same tokens."""
    if len(pattern) > MAX_PATTERN:
        raise InputError(
            f"The search is {len(pattern):,} characters long: shorten it to {MAX_PATTERN} or fewer."
        )
    pattern = unicodedata.normalize("NFKC", pattern)
    shown = shown_tokens(table)
    if regex:
        return _regex_matches(pattern, shown, case, whole)
    if not case:
        pattern, shown = pattern.casefold(), [t.casefold() for t in shown]
    if whole:
        return np.array([pattern == t for t in shown], dtype=bool)
    return np.array([pattern in t for t in shown], dtype=bool)


def _regex_matches(pattern: str, shown: list[str], case: bool, whole: bool) -> np.ndarray:
    """A regular expression over every token within REGEX_SECONDS in all: a catastrophic one
    such as (a+)+$ on long tokens is stopped (the `regex` engine's timeout), never left to hang
    the web process."""
    try:
        compiled = regex.compile(pattern, regex.VERSION0 | (0 if case else regex.IGNORECASE))
    except regex.error as exc:
        raise InputError(
            f"Not a valid regular expression ({exc}): fix it or untick “regex”."
        ) from exc
    test = compiled.fullmatch if whole else compiled.search
    deadline = time.monotonic() + REGEX_SECONDS
    hits = np.zeros(len(shown), dtype=bool)
    try:
        for i, token in enumerate(shown):
            hits[i] = test(token, timeout=max(deadline - time.monotonic(), 1e-3)) is not None
    except TimeoutError as exc:
        raise InputError(
            f"The regular expression took over {REGEX_SECONDS:g} s on this corpus: simplify it "
            "(overlapping repeats such as (a|a)+ backtrack without end)."
        ) from exc
    return hits


def lowercased(table: TokenTable) -> bool:
    """Whether the tokenizer lowercases its input: no ordinary token has an uppercase letter
        (special tokens such as [CLS] aside), though it has letters. A cased tokenizer keeps some
    in any real corpus: sentence starts, names."""
    words = "".join(
        t for t, special in zip(shown_tokens(table), table.special, strict=True) if not special
    )
    return any(c.isalpha() for c in words) and not any(c.isupper() for c in words)
