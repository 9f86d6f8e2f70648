"""Causal decoders: fused projections (GPT-2), rotary positions + grouped-query attention (Llama)."""

import dataclasses

import numpy as np
import pytest

from dashboard.models.extract import extract_text, reference_attentions
from dashboard.models.families import family_for
from dashboard.models.loader import load
from dashboard.models.qk import attention_from_qk, expand_kv
from dashboard.models.registry import inspect_checkpoint

SENTENCES = [
    "The quick brown fox jumps over the lazy dog again and again.",
    "Keys meet queries.",
    "Rotary positions rotate each pair of dimensions by an angle that grows with position.",
]


def _errors(folder, family=None):
    spec = inspect_checkpoint(folder, "t", "t", "test")
    model, tokenizer = load(spec)
    family = family or family_for(spec.architecture)
    table, queries, keys = extract_text(model, tokenizer, family, SENTENCES, batch_size=2)
    reference = reference_attentions(model, tokenizer, SENTENCES)
    worst = 0.0
    for layer, (q, k) in enumerate(zip(queries, keys, strict=True)):
        ours = attention_from_qk(q, expand_kv(k, q.shape[0]), table, causal=family.causal)
        for a, b in zip(ours, reference[layer], strict=True):
            worst = max(worst, float(np.abs(a - b).max()))
    return spec, queries, keys, worst


def test_gpt2_fused_projection_reproduces_causal_attention(tiny_gpt2_dir):
    spec, queries, keys, worst = _errors(tiny_gpt2_dir)
    assert spec.family == "gpt2" and worst <= 1e-4
    assert queries[0].shape[0] == 4 and keys[0].shape == queries[0].shape


def test_llama_rotary_and_grouped_query_attention(tiny_llama_dir):
    spec, queries, keys, worst = _errors(tiny_llama_dir)
    assert spec.family == "llama" and (spec.n_heads, spec.n_kv_heads) == (4, 2)
    assert worst <= 1e-4
    assert queries[0].shape[0] == 4 and keys[0].shape[0] == 2  # keys stored once per kv head


def test_leaving_rotary_out_would_be_caught(tiny_llama_dir):
    no_rope = dataclasses.replace(
        family_for("LlamaModel"), positions="absolute", rotary_module=None
    )
    *_, worst = _errors(tiny_llama_dir, no_rope)
    assert worst > 1e-3


def test_grouping_matters(tiny_llama_dir):
    """Query head h must meet key head h // 2, not h % 2."""
    spec = inspect_checkpoint(tiny_llama_dir, "t", "t", "test")
    model, tokenizer = load(spec)
    table, queries, keys = extract_text(model, tokenizer, family_for(spec.architecture), SENTENCES)
    reference = reference_attentions(model, tokenizer, SENTENCES)
    wrong = attention_from_qk(queries[1], keys[1][np.arange(4) % 2], table, causal=True)
    assert max(float(np.abs(a - b).max()) for a, b in zip(wrong, reference[1], strict=True)) > 1e-3


@pytest.mark.parametrize("fixture", ["tiny_gpt2_dir", "tiny_llama_dir"])
def test_decoder_checkpoints_register(request, fixture):
    spec = inspect_checkpoint(request.getfixturevalue(fixture), "t", "t", "test")
    assert spec.n_layers == 2 and spec.head_dim == 8
