"""The real default decoder through the app's own extraction: RoPE + GQA, causal, exact."""

import numpy as np
import pytest

from dashboard.models.corpora import default_corpus
from dashboard.models.extract import extract_text, reference_attentions
from dashboard.models.families import family_for
from dashboard.models.qk import attention_from_qk, expand_kv
from dashboard.models.registry import DEFAULT_DECODER, discover

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def decoder(bundled_cache):
    from dashboard.models.loader import load

    spec = discover((), bundled_cache).get(DEFAULT_DECODER)
    model, tokenizer = load(spec)  # converts the packaged GGUF once
    return spec, model, tokenizer


def test_registry_describes_the_decoder(decoder):
    spec, model, _ = decoder
    assert (spec.n_layers, spec.n_heads, spec.n_kv_heads, spec.head_dim) == (30, 9, 3, 64)
    assert model.config.num_key_value_heads == 3 and "quantised" in spec.note


def test_default_decoder_reproduces_attention_in_every_layer_and_head(decoder):
    spec, model, tokenizer = decoder
    sentences = list(default_corpus().sentences[:4])
    table, queries, keys = extract_text(
        model, tokenizer, family_for(spec.architecture), sentences, batch_size=4
    )
    assert keys[0].shape[0] == 3 and queries[0].shape[0] == 9
    assert not table.special[0]  # this tokenizer adds no BOS
    reference = reference_attentions(model, tokenizer, sentences)
    worst = 0.0
    for layer, (q, k) in enumerate(zip(queries, keys, strict=True)):
        for a, b in zip(
            attention_from_qk(q, expand_kv(k, 9), table, causal=True), reference[layer], strict=True
        ):
            worst = max(worst, float(np.abs(a - b).max()))
    assert worst <= 1e-4
