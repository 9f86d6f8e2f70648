import numpy as np
import pytest

from dashboard.errors import InputError
from dashboard.models.qk import TokenTable
from dashboard.search import lowercased, match_tokens

TOKENS = ["[CLS]", "The", "cat", "##s", "Ġthe", "THE", "[SEP]"]
TABLE = TokenTable(
    np.array(TOKENS),
    np.zeros(7, np.int32),
    np.arange(7, dtype=np.int32),
    np.full(7, 7, np.int32),
    np.array([True, False, False, False, False, False, True]),
)


def test_substring_ignores_case_and_piece_markers():
    assert list(np.flatnonzero(match_tokens(TABLE, "the"))) == [1, 4, 5]
    assert list(np.flatnonzero(match_tokens(TABLE, "the", case=True))) == [4]
    assert list(np.flatnonzero(match_tokens(TABLE, "s"))) == [0, 3, 6]  # [CLS], ##s, [SEP]


def test_the_first_token_is_found():
    assert match_tokens(TABLE, "cls")[0]  # AttentionViz's search missed index 0


def test_regular_expressions():
    assert list(np.flatnonzero(match_tokens(TABLE, r"^\[", regex=True))) == [0, 6]
    assert list(np.flatnonzero(match_tokens(TABLE, "^T", regex=True, case=True))) == [1, 5]
    with pytest.raises(InputError, match="regular expression"):
        match_tokens(TABLE, "(", regex=True)


def test_whole_token_matches_the_token_not_a_part_of_it():
    table = TokenTable(
        np.array(["[CLS]", "the", "there", "Ġthe", "##the", "The", "[SEP]"]),
        np.zeros(7, np.int32),
        np.arange(7, dtype=np.int32),
        np.full(7, 7, np.int32),
        np.array([True, False, False, False, False, False, True]),
    )
    assert list(np.flatnonzero(match_tokens(table, "the"))) == [1, 2, 3, 4, 5]
    assert list(np.flatnonzero(match_tokens(table, "the", whole=True))) == [1, 3, 4, 5]
    assert list(np.flatnonzero(match_tokens(table, "the", case=True, whole=True))) == [1, 3, 4]
    # a regular expression must match the whole token: "th" alone is no longer a hit
    assert not match_tokens(table, "th", regex=True, whole=True).any()
    assert list(np.flatnonzero(match_tokens(table, "the.*", regex=True, whole=True))) == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_a_lowercasing_tokenizer_is_detected():
    assert not lowercased(TABLE)  # "The", "THE"
    uncased = TokenTable(
        np.array(["[CLS]", "the", "cat", "##s", "[SEP]"]),
        np.zeros(5, np.int32),
        np.arange(5, dtype=np.int32),
        np.full(5, 5, np.int32),
        np.array([True, False, False, False, True]),
    )
    assert lowercased(uncased)  # [CLS] and [SEP] are special: their capitals do not count
    digits = TokenTable(
        np.array(["1", "2"]),
        np.zeros(2, np.int32),
        np.arange(2, dtype=np.int32),
        np.full(2, 2, np.int32),
        np.zeros(2, bool),
    )
    assert not lowercased(digits)  # no letters: nothing to say
