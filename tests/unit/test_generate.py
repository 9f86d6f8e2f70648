"""Greedy continuation of each sentence (causal models): the generated tokens are the model's
own argmax choices, marked as generated, and the prompt's queries and keys are unchanged."""

from __future__ import annotations

import numpy as np
import torch

from dashboard.models.extract import encode_sentences, extract_text
from dashboard.models.families import GPT2

SENTENCES = ["the quick brown fox", "attention heads match queries to keys"]
N = 4


def _greedy(lm, ids: list[int], n: int) -> list[int]:
    """The direct recomputation: n times, append the argmax of the last position's logits."""
    ids = list(ids)
    with torch.inference_mode():
        for _ in range(n):
            logits = lm(torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
    return ids


def test_generated_tokens_are_greedy_and_leave_the_prompt_as_it_was(tiny_gpt2_dir):
    from transformers import AutoTokenizer, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2_dir)
    lm = GPT2LMHeadModel.from_pretrained(tiny_gpt2_dir, attn_implementation="eager").eval()
    lm.generation_config.eos_token_id = None  # random weights: no early stop, N tokens each
    plain, q0, k0 = extract_text(lm.base_model, tokenizer, GPT2, SENTENCES)
    table, q, k = extract_text(lm, tokenizer, GPT2, SENTENCES, generate=N)

    prompts = encode_sentences(tokenizer, SENTENCES, 512)
    expected = [_greedy(lm, ids, N) for ids in prompts]
    assert table.token.tolist() == tokenizer.convert_ids_to_tokens(
        [i for ids in expected for i in ids]
    )
    assert int(table.generated.sum()) == N * len(SENTENCES)
    assert plain.generated is None
    prompt = ~table.generated  # the prompt's tokens, in the same order as the plain extraction
    assert table.token[prompt].tolist() == plain.token.tolist()
    for layer in range(len(q)):
        np.testing.assert_allclose(q[layer][:, prompt], q0[layer], atol=1e-5)
        np.testing.assert_allclose(k[layer][:, prompt], k0[layer], atol=1e-5)
