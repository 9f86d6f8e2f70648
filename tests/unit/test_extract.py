"""Captured queries/keys must reproduce the model's own attention weights."""

import numpy as np
import pytest

from dashboard.models.corpora import default_corpus
from dashboard.models.extract import extract_text as extract
from dashboard.models.extract import reference_attentions
from dashboard.models.families import family_for
from dashboard.models.loader import load
from dashboard.models.qk import attention_from_qk
from dashboard.models.registry import discover, inspect_checkpoint

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Attention heads match queries to keys.",
    "A short one.",
    "Tokenisation splits unbelievably long words into pieces.",
]


def _max_error(model, tokenizer, architecture, sentences):
    table, queries, keys = extract(
        model, tokenizer, family_for(architecture), sentences, batch_size=3
    )
    reference = reference_attentions(model, tokenizer, sentences)  # one padded batch
    worst = 0.0
    for layer, (q, k) in enumerate(zip(queries, keys, strict=True)):
        mine = attention_from_qk(q, k, table, causal=False)
        for ours, theirs in zip(mine, reference[layer], strict=True):
            assert ours.shape == theirs.shape
            worst = max(worst, float(np.abs(ours - theirs).max()))
    return table, queries, worst


def test_tiny_random_bert_reproduces_attention(tiny_bert_dir):
    spec = inspect_checkpoint(tiny_bert_dir, "tiny", "tiny", "test")
    model, tokenizer = load(spec)
    table, queries, worst = _max_error(model, tokenizer, spec.architecture, SENTENCES)
    assert worst <= 1e-4
    assert len(queries) == 2 and queries[0].shape == (4, len(table), 8)  # [head, pos, d_head]
    assert table.token[0] == "[CLS]" and table.special[0] and not table.special[1]
    assert table.position[table.sentence == 1][0] == 0


def test_wrong_capture_would_be_caught(tiny_bert_dir):
    """The check has teeth: keys from the wrong head give a large error."""
    spec = inspect_checkpoint(tiny_bert_dir, "tiny", "tiny", "test")
    model, tokenizer = load(spec)
    table, queries, keys = extract(model, tokenizer, family_for(spec.architecture), SENTENCES)
    reference = reference_attentions(model, tokenizer, SENTENCES)
    wrong = attention_from_qk(queries[0], keys[0][::-1], table, causal=False)
    assert max(float(np.abs(a - b).max()) for a, b in zip(wrong, reference[0], strict=True)) > 1e-3


def test_token_table_order_follows_the_corpus_not_the_batching(tiny_bert_dir):
    spec = inspect_checkpoint(tiny_bert_dir, "tiny", "tiny", "test")
    model, tokenizer = load(spec)
    table, _, _ = extract(model, tokenizer, family_for(spec.architecture), SENTENCES, batch_size=2)
    assert list(np.unique(table.sentence)) == [0, 1, 2, 3]
    assert np.all(np.diff(table.sentence) >= 0)
    third = [str(t) for t in table.token[table.sentence == 2]]
    assert third == ["[CLS]", "a", "short", "one", ".", "[SEP]"]
    assert list(table.position[table.sentence == 2]) == list(range(len(third)))


@pytest.mark.slow
def test_default_model_reproduces_attention_in_every_layer_and_head():
    spec = discover().get("minilm")
    model, tokenizer = load(spec)
    sentences = list(default_corpus().sentences[:12])
    _, queries, worst = _max_error(model, tokenizer, spec.architecture, sentences)
    assert worst <= 1e-4
    assert len(queries) == 6 and queries[0].shape[0] == 12 and queries[0].shape[2] == 32


def test_layers_streamed_to_disk_equal_the_in_memory_ones_bit_for_bit(tiny_bert_dir, tmp_path):
    """A worker's extraction writes each batch's items straight into a file per layer in a
    spill folder: the same arrays, items in corpus order whatever the batching."""
    spec = inspect_checkpoint(tiny_bert_dir, "tiny", "tiny", "test")
    model, tokenizer = load(spec)
    family = family_for(spec.architecture)
    _, queries, keys = extract(model, tokenizer, family, SENTENCES, batch_size=3)
    _, spilled_q, spilled_k = extract(
        model, tokenizer, family, SENTENCES, batch_size=3, spill=tmp_path
    )
    assert len(spilled_q) == len(queries) and len(spilled_k) == len(keys)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{layer}.npz" for layer in range(len(queries))
    )
    for layer in range(len(queries)):
        for ours, theirs in ((spilled_q[layer], queries[layer]), (spilled_k[layer], keys[layer])):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    assert np.array_equal(spilled_q[-1], queries[-1])


def test_a_failed_write_stops_the_extraction_with_its_error(tiny_bert_dir, tmp_path, monkeypatch):
    """A write that fails (a full disk, raised here by os.pwrite: a real one cannot be made in
    a test) ends the extraction with that error, before another batch is run."""
    import errno
    import os

    spec = inspect_checkpoint(tiny_bert_dir, "tiny", "tiny", "test")
    model, tokenizer = load(spec)
    batches: list[int] = []

    def disk_full(*_) -> int:
        raise OSError(errno.ENOSPC, "disk full")

    monkeypatch.setattr(os, "pwrite", disk_full)
    with pytest.raises(OSError, match="disk full"):
        extract(
            model,
            tokenizer,
            family_for(spec.architecture),
            SENTENCES,
            batch_size=1,
            spill=tmp_path,
            on_batch=lambda done, _: batches.append(done),
        )
    assert batches == []  # the first batch's writes met the error
