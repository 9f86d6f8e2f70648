"""Captures each head's queries and keys exactly as the attention scores use them.

Forward hooks on the family's query/key projections (stock transformers modules, nothing
vendored). Queries and keys are the projection outputs including bias, before the 1/√d scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from dashboard.models.families import Family
from dashboard.models.qk import TokenTable


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def head_shape(config: Any) -> tuple[int, int, int]:
    """(n_heads, n_kv_heads, d_head) from a transformers config."""
    n_heads = config.num_attention_heads
    n_kv = getattr(config, "num_key_value_heads", None) or n_heads
    d_head = getattr(config, "head_dim", None) or config.hidden_size // n_heads
    return n_heads, n_kv, d_head


def extract(
    model: Any,
    tokenizer: Any,
    family: Family,
    sentences: Sequence[str],
    batch_size: int = 32,
    max_length: int = 512,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[TokenTable, list[np.ndarray], list[np.ndarray]]:
    """Returns (tokens, queries, keys): per layer q [head, pos, d_head], k [kv_head, pos, d_head]."""
    blocks = _attr(model, family.layers)
    n_heads, n_kv, d_head = head_shape(model.config)
    encoded = tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]
    order = np.argsort([len(ids) for ids in encoded], kind="stable")  # similar lengths batch well
    captured: dict[tuple[int, str], torch.Tensor] = {}

    def hook(name: tuple[int, str]):
        def save(_module, _inputs, output):
            captured[name] = output

        return save

    handles = [
        _attr(block, path).register_forward_hook(hook((layer, kind)))
        for layer, block in enumerate(blocks)
        for kind, path in (("q", family.query), ("k", family.key))
    ]
    per_sentence: list[dict[tuple[int, str], np.ndarray]] = [{} for _ in encoded]
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = [int(i) for i in order[start : start + batch_size]]
                padded = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt")
                model(**padded)
                for (layer, kind), out in captured.items():
                    heads = n_heads if kind == "q" else n_kv
                    out = out.view(out.shape[0], out.shape[1], heads, d_head)  # [batch, pos, head, d]
                    for row, i in enumerate(batch):
                        per_sentence[i][(layer, kind)] = out[row, : len(encoded[i])].numpy()
                captured.clear()
                if on_batch:
                    on_batch(min(start + batch_size, len(order)), len(order))
    finally:
        for handle in handles:
            handle.remove()

    def stack(layer: int, kind: str) -> np.ndarray:
        joined = np.concatenate([s[(layer, kind)] for s in per_sentence])  # [pos, head, d]
        return np.ascontiguousarray(joined.transpose(1, 0, 2), dtype=np.float32)  # [head, pos, d]

    queries = [stack(layer, "q") for layer in range(len(blocks))]
    keys = [stack(layer, "k") for layer in range(len(blocks))]
    return _token_table(tokenizer, encoded), queries, keys


def _token_table(tokenizer: Any, encoded: list[list[int]]) -> TokenTable:
    special_ids = set(tokenizer.all_special_ids)
    ids = [i for sentence in encoded for i in sentence]
    lengths = [len(s) for s in encoded]
    return TokenTable(
        token=np.array(tokenizer.convert_ids_to_tokens(ids), dtype=str),
        sentence=np.repeat(np.arange(len(encoded), dtype=np.int32), lengths),
        position=np.concatenate([np.arange(n, dtype=np.int32) for n in lengths]),
        length=np.repeat(np.array(lengths, dtype=np.int32), lengths),
        special=np.array([i in special_ids for i in ids], dtype=bool),
    )


def reference_attentions(model: Any, tokenizer: Any, sentences: Sequence[str]) -> list[np.ndarray]:
    """The model's own attention weights, per layer [sentence][head, pos, pos], on a padded batch."""
    padded = tokenizer(list(sentences), padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model(**padded, output_attentions=True)
    lengths = padded["attention_mask"].sum(dim=1).tolist()
    return [
        [layer_att[b, :, :n, :n].numpy() for b, n in enumerate(lengths)] for layer_att in out.attentions
    ]
