import pytest

from dashboard.config import Limits
from dashboard.errors import InputError
from dashboard.models.corpora import (
    DEFAULT_CORPUS,
    decode_upload,
    default_corpus,
    user_corpus,
)


def test_default_corpus_is_deterministic_and_sized_like_the_paper_demo():
    a = default_corpus()
    assert a.id == DEFAULT_CORPUS
    assert a.sentences == default_corpus.__wrapped__().sentences  # recomputed, not just cached
    assert 60 <= len(a.sentences) <= 80
    words = sum(len(s.split()) for s in a.sentences)
    assert 3_000 <= words <= 4_500  # ≈ 4,500–5,000 word pieces
    assert "Wikipedia" in a.credit and "CC BY-SA" in a.credit


def test_sample_size_is_a_setting():
    small = default_corpus(10, 5_000)
    assert len(small.sentences) == 10
    assert small.sentences == default_corpus(80, 5_000).sentences[:10]


def test_user_text_one_sentence_per_line():
    corpus = user_corpus("  The cat sat.\n\nThe dog   ran.\n", Limits())
    assert corpus.sentences == ("The cat sat.", "The dog ran.")
    assert (
        corpus.id.startswith("user-")
        and corpus.id == user_corpus("The cat sat.\nThe dog ran.", Limits()).id
    )


@pytest.mark.parametrize(
    ("text", "limits", "message"),
    [
        ("", Limits(), "empty"),
        ("   \n \n", Limits(), "empty"),
        ("hello", Limits(), "at least two tokens"),
        ("a b\n" * 11, Limits(max_sentences=10), "QKATLAS_MAX_SENTENCES"),
        ("word " * 100, Limits(max_tokens=50), "QKATLAS_MAX_TOKENS"),
        ("x" * 2_000, Limits(max_upload_bytes=1_000), "QKATLAS_MAX_UPLOAD_BYTES"),
    ],
)
def test_bad_user_text_says_what_to_fix(text, limits, message):
    with pytest.raises(InputError, match=message):
        user_corpus(text, limits)


def test_non_utf8_upload_is_refused_with_a_message():
    with pytest.raises(InputError, match="not UTF-8"):
        decode_upload("café".encode("latin-1"), Limits())
    assert decode_upload("\ufeffcafé".encode(), Limits()) == "café"  # a BOM is fine
    with pytest.raises(InputError, match="limit"):
        decode_upload(b"x" * 11, Limits(max_upload_bytes=10))
