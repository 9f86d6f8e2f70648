"""Captures each head's queries and keys exactly as the attention scores use them.

Forward hooks on the family's projections (stock transformers modules, nothing vendored):
separate q/k projections or one fused q|k|v projection, then — for rotary models — the rotary
embedding the model itself computed, applied as the model applies it. Queries and keys are
taken before the 1/√d scale. Keys keep their own (key/value) head count; under grouped-query
attention query head h scores against key head h // (n_heads / n_kv_heads).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from dashboard.models.families import Family
from dashboard.models.qk import TokenTable

Batch = tuple[dict[str, torch.Tensor], list[int], list[int]]  # model inputs, item indices, lengths


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


def _function(dotted: str) -> Callable:
    module, name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


class _Capture:
    """Hooks that keep the last forward's projection outputs (and rotary cos/sin)."""

    def __init__(self, model: Any, family: Family) -> None:
        self.family = family
        self.outputs: dict[Any, Any] = {}
        self.handles = []
        for layer, block in enumerate(_attr(model, family.layers)):
            targets = [("qkv", family.fused)] if family.fused else [("q", family.query), ("k", family.key)]
            for kind, path in targets:
                self._hook(_attr(block, path), (layer, kind))
        if family.rotary_module:
            self._hook(_attr(model, family.rotary_module), "rotary")
        self.n_layers = len(_attr(model, family.layers))

    def _hook(self, module: Any, name: Any) -> None:
        def save(_module, _inputs, output):
            self.outputs[name] = output

        self.handles.append(module.register_forward_hook(save))

    def layer_qk(self, layer: int, shape: tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """q [batch, head, pos, d_head], k [batch, kv_head, pos, d_head], as attention scores them."""
        n_heads, n_kv, d = shape
        if self.family.fused:
            fused = self.outputs[(layer, "qkv")]
            q, k = fused[..., : n_heads * d], fused[..., n_heads * d : 2 * n_heads * d]
        else:
            q, k = self.outputs[(layer, "q")], self.outputs[(layer, "k")]
        batch, pos = q.shape[:2]
        q = q.reshape(batch, pos, n_heads, d).transpose(1, 2)
        k = k.reshape(batch, pos, n_kv, d).transpose(1, 2)
        if self.family.positions == "rotary":
            cos, sin = self.outputs["rotary"]
            q, k = _function(self.family.rotary_fn)(q, k, cos, sin)
        return q, k

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def extract(
    model: Any,
    family: Family,
    batches: Iterator[Batch],
    n_items: int,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per layer: q [head, pos, d_head] and k [kv_head, pos, d_head], items concatenated in order."""
    shape = head_shape(model.config)
    capture = _Capture(model, family)
    per_item: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n_items)]
    done = 0
    try:
        with torch.inference_mode():
            for inputs, items, lengths in batches:
                model(**inputs)
                for layer in range(capture.n_layers):
                    q, k = capture.layer_qk(layer, shape)
                    for row, (item, length) in enumerate(zip(items, lengths, strict=True)):
                        per_item[item].append((q[row, :, :length].numpy(), k[row, :, :length].numpy()))
                capture.outputs.clear()
                done += len(items)
                if on_batch:
                    on_batch(done, n_items)
    finally:
        capture.close()

    def stack(layer: int, which: int) -> np.ndarray:
        joined = np.concatenate([item[layer][which] for item in per_item], axis=1)  # [head, pos, d]
        return np.ascontiguousarray(joined, dtype=np.float32)

    return [stack(i, 0) for i in range(capture.n_layers)], [stack(i, 1) for i in range(capture.n_layers)]


def text_batches(tokenizer: Any, encoded: list[list[int]], batch_size: int = 32) -> Iterator[Batch]:
    """Right-padded batches of similar lengths (pads come after real tokens, so causal and
    absolute positions of real tokens are exactly those of the unpadded sentence)."""
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    for start in range(0, len(order), batch_size):
        items = [int(i) for i in order[start : start + batch_size]]
        padded = tokenizer.pad({"input_ids": [encoded[i] for i in items]}, return_tensors="pt",
                               padding_side="right")
        yield dict(padded), items, [len(encoded[i]) for i in items]


def encode_sentences(tokenizer: Any, sentences: Sequence[str], max_length: int) -> list[list[int]]:
    return tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]


def text_token_table(tokenizer: Any, encoded: list[list[int]]) -> TokenTable:
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


def extract_text(
    model: Any,
    tokenizer: Any,
    family: Family,
    sentences: Sequence[str],
    batch_size: int = 32,
    max_length: int = 512,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[TokenTable, list[np.ndarray], list[np.ndarray]]:
    encoded = encode_sentences(tokenizer, sentences, max_length)
    queries, keys = extract(model, family, text_batches(tokenizer, encoded, batch_size), len(encoded), on_batch)
    return text_token_table(tokenizer, encoded), queries, keys


def reference_attentions(model: Any, tokenizer: Any, sentences: Sequence[str]) -> list[list[np.ndarray]]:
    """The model's own attention weights, per layer [sentence][head, pos, pos], on a padded batch."""
    padded = tokenizer(list(sentences), padding=True, return_tensors="pt", padding_side="right")
    inputs = {"input_ids": padded["input_ids"], "attention_mask": padded["attention_mask"]}  # as extract
    with torch.inference_mode():
        out = model(**inputs, output_attentions=True)
    lengths = padded["attention_mask"].sum(dim=1).tolist()
    return [
        [layer_att[b, :, :n, :n].numpy() for b, n in enumerate(lengths)] for layer_att in out.attentions
    ]
