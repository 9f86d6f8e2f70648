import numpy as np
import pytest

from dashboard.errors import InputError
from dashboard.models.qk import TokenTable
from dashboard.search import match_tokens

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
