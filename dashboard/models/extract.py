"""Captures each head's queries and keys exactly as the attention scores use them.

Forward hooks on the family's projections (stock transformers modules, nothing vendored):
separate q/k projections or one fused q|k|v projection, then — for rotary models — the rotary
embedding the model itself computed, applied as the model applies it. Queries and keys are
taken before the 1/√d scale. Keys keep their own (key/value) head count; under grouped-query
attention query head h scores against key head h // (n_heads / n_kv_heads).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dashboard.models.families import Family
from dashboard.models.qk import TokenTable
from dashboard.npz_in_place import NpzInPlace

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
            targets = (
                [("qkv", family.fused)]
                if family.fused
                else [("q", family.query), ("k", family.key)]
            )
            for kind, path in targets:
                self._hook(_attr(block, path), (layer, kind))
        if family.rotary_module:
            self._hook(_attr(model, family.rotary_module), "rotary")
        self.n_layers = len(_attr(model, family.layers))

    def _hook(self, module: Any, name: Any) -> None:
        def save(_module, _inputs, output):
            self.outputs[name] = output

        self.handles.append(module.register_forward_hook(save))

    def layer_qk(
        self, layer: int, shape: tuple[int, int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
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


class Spill:
    """Every layer's queries and keys of a corpus, written item by item as each batch's forward
    pass ends, straight to their place in corpus order: in `folder`, one .npz per layer
    (NpzInPlace: the file the cache stores, written once), or in memory (None). On disk, a
    corpus's Q/K never sit in memory whole (a BERT-base on 20,000 tokens has 1.5 GB of them):
    the process holds one batch. Values are copied, never computed: a layer reads back bit for
    bit as captured. `lengths`: each item's tokens, in corpus order; None when every item has
    as many (images), learnt from the first."""

    def __init__(
        self, n_layers: int, folder: Path | None, n_items: int, lengths: Sequence[int] | None
    ) -> None:
        self.n_layers = n_layers
        self.folder = folder
        self.n_items = n_items
        self.starts = None if lengths is None else np.cumsum([0, *lengths])
        self.uniform: int | None = None
        self.layers: dict[int, Any] = {}  # layer → NpzInPlace, or {"q": array, "k": array}

    def _start(self, item: int, length: int) -> int:
        if self.starts is not None:
            return int(self.starts[item])
        self.uniform = self.uniform or length
        if length != self.uniform:
            raise ValueError("items of different lengths need their lengths given first")
        return item * length

    def _total(self, length: int) -> int:
        return int(self.starts[-1]) if self.starts is not None else self.n_items * length

    def _layer(self, layer: int, q: np.ndarray, k: np.ndarray, length: int) -> Any:
        if layer not in self.layers:
            total = self._total(length)
            shapes = {kind: (a.shape[0], total, a.shape[2]) for kind, a in (("q", q), ("k", k))}
            self.layers[layer] = (
                NpzInPlace(self.folder / f"{layer}.npz", shapes)
                if self.folder
                else {kind: np.zeros(shape, dtype=np.float32) for kind, shape in shapes.items()}
            )
        return self.layers[layer]

    def add(self, item: int, length: int, per_layer: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """One item's q [head, pos, d] and k [kv_head, pos, d] of every layer."""
        start = self._start(item, length)
        for layer, (q, k) in enumerate(per_layer):
            target = self._layer(layer, q, k, length)
            for kind, block in (("q", q), ("k", k)):
                if self.folder:
                    target.put_rows(kind, block, start)
                else:
                    target[kind][:, start : start + length] = block

    def finish(self) -> None:
        """Completes the files on disk (memory stays readable): their CRCs on every core (zlib
        lets go of the GIL), as the extraction has the cores to itself."""
        if self.folder:
            with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
                list(pool.map(NpzInPlace.finish, self.layers.values()))

    def close(self) -> None:
        """Stops writing after a failure: the files are unfinished."""
        if self.folder:
            for written in self.layers.values():
                written.close()

    def file(self, layer: int) -> Path:
        """The finished .npz of one layer (q and k), on disk."""
        return self.layers[range(self.n_layers)[layer]].path

    def layer(self, layer: int, kind: str) -> np.ndarray:
        """[head, pos, d_head] of one layer, items in corpus order."""
        if not self.folder:
            return self.layers[layer][kind]
        with np.load(self.file(layer), allow_pickle=False) as npz:
            return npz[kind]


class SpilledLayers(Sequence):
    """One kind (q or k) of every layer in a Spill, read from disk when indexed; `spill`
    gives each layer's file."""

    def __init__(self, spill: Spill, kind: str) -> None:
        self.spill, self.kind = spill, kind

    def __len__(self) -> int:
        return self.spill.n_layers

    def __getitem__(self, layer: int) -> np.ndarray:  # type: ignore[override]
        return self.spill.layer(range(self.spill.n_layers)[layer], self.kind)


def extract(
    model: Any,
    family: Family,
    batches: Iterator[Batch],
    n_items: int,
    on_batch: Callable[[int, int], None] | None = None,
    spill: Path | None = None,
    lengths: Sequence[int] | None = None,
) -> tuple[Sequence[np.ndarray], Sequence[np.ndarray]]:
    """Per layer: q [head, pos, d_head] and k [kv_head, pos, d_head], items concatenated in order.

    Lists in memory; with a `spill` folder, sequences that read each layer from there when
    indexed (the folder must outlive them). `lengths`: see Spill."""
    shape = head_shape(model.config)
    capture = _Capture(model, family)
    collected = Spill(capture.n_layers, spill, n_items, lengths)
    done = 0
    try:
        with torch.inference_mode():
            for inputs, items, item_lengths in batches:
                model(**inputs)
                # [batch, head, pos, d] in memory: each (item, head)'s rows are then one
                # contiguous block for the file, copied here by torch on every core
                per_layer = [
                    tuple(t.contiguous() for t in capture.layer_qk(layer, shape))
                    for layer in range(capture.n_layers)
                ]
                for row, (item, length) in enumerate(zip(items, item_lengths, strict=True)):
                    collected.add(
                        item,
                        length,
                        [
                            (q[row, :, :length].numpy(), k[row, :, :length].numpy())
                            for q, k in per_layer
                        ],
                    )
                del per_layer
                capture.outputs.clear()
                done += len(items)
                if on_batch:
                    on_batch(done, n_items)
    except BaseException:
        collected.close()
        raise
    finally:
        capture.close()
    collected.finish()
    if spill is not None:
        return SpilledLayers(collected, "q"), SpilledLayers(collected, "k")
    return [collected.layer(i, "q") for i in range(capture.n_layers)], [
        collected.layer(i, "k") for i in range(capture.n_layers)
    ]


def text_batches(tokenizer: Any, encoded: list[list[int]], batch_size: int = 32) -> Iterator[Batch]:
    """Right-padded batches of similar lengths (pads come after real tokens, so causal and
    absolute positions of real tokens are exactly those of the unpadded sentence)."""
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    for start in range(0, len(order), batch_size):
        items = [int(i) for i in order[start : start + batch_size]]
        padded = tokenizer.pad(
            {"input_ids": [encoded[i] for i in items]}, return_tensors="pt", padding_side="right"
        )
        yield dict(padded), items, [len(encoded[i]) for i in items]


def encode_sentences(tokenizer: Any, sentences: Sequence[str], max_length: int) -> list[list[int]]:
    return tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]


MAX_CONTEXT = 512  # tokens per sentence at most: attention is [pos, pos] per head and layer


def context_length(model: Any, tokenizer: Any) -> int:
    """Tokens of one sentence the model reads: its position table, the tokenizer's maximum
    (1e30 when unset) and MAX_CONTEXT, whichever is smallest."""
    config = model.config
    positions = getattr(config, "max_position_embeddings", None) or getattr(
        config, "n_positions", None
    )
    limits = [MAX_CONTEXT, positions, getattr(tokenizer, "model_max_length", None)]
    return int(min(n for n in limits if isinstance(n, int) and n > 0))


def cut_sentences(
    tokenizer: Any, sentences: Sequence[str], table: TokenTable, max_length: int
) -> list[int]:
    """Indices of the sentences truncated to max_length tokens (those that filled the context
    and are longer untruncated)."""
    full = np.flatnonzero(table.length[table.position == 0] >= max_length)
    return [
        int(i)
        for i in full
        if len(tokenizer(sentences[int(i)], truncation=False)["input_ids"]) > max_length
    ]


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
    max_length: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    generate: int = 0,
    spill: Path | None = None,
) -> tuple[TokenTable, Sequence[np.ndarray], Sequence[np.ndarray]]:
    """Each sentence cut to `max_length` tokens (default: the model's context_length).

    `generate` > 0 (causal models, `model` with its LM head): each sentence is first
    continued by up to that many greedy tokens, marked in the table's `generated` column; the
    queries and keys come from one forward pass over prompt + continuation, so a prompt
    token's are exactly those without the continuation (causal attention). `spill`: a folder
    the layers stream to (see extract)."""
    max_length = max_length or context_length(model, tokenizer)
    encoded = encode_sentences(tokenizer, sentences, max_length)
    base = model
    prompts = [len(ids) for ids in encoded]
    if generate:
        encoded = continue_greedily(model, tokenizer, encoded, generate, max_length)
        base = model.base_model  # family paths are relative to the base model
    queries, keys = extract(
        base,
        family,
        text_batches(tokenizer, encoded, batch_size),
        len(encoded),
        on_batch,
        spill,
        lengths=[len(ids) for ids in encoded],
    )
    table = text_token_table(tokenizer, encoded)
    if generate:
        prompt = np.repeat(np.array(prompts, dtype=np.int32), [len(ids) for ids in encoded])
        table = replace(table, generated=table.position >= prompt)
    return table, queries, keys


def continue_greedily(
    lm: Any, tokenizer: Any, encoded: list[list[int]], n: int, max_length: int
) -> list[list[int]]:
    """Each token sequence continued by up to `n` greedy tokens (fewer at end-of-sequence or
    `max_length`), one sentence at a time (no padding to get wrong)."""
    out = []
    with torch.inference_mode():
        for ids in encoded:
            room = min(n, max_length - len(ids))
            if room <= 0:
                out.append(list(ids))
                continue
            full = lm.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                max_new_tokens=room,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            out.append(full[0].tolist())
    return out


def reference_attentions(
    model: Any, tokenizer: Any, sentences: Sequence[str]
) -> list[list[np.ndarray]]:
    """The model's own attention weights, per layer [sentence][head, pos, pos], on a padded batch."""
    padded = tokenizer(list(sentences), padding=True, return_tensors="pt", padding_side="right")
    inputs = {
        "input_ids": padded["input_ids"],
        "attention_mask": padded["attention_mask"],
    }  # as extract
    with torch.inference_mode():
        out = model(**inputs, output_attentions=True)
    lengths = padded["attention_mask"].sum(dim=1).tolist()
    return [
        [layer_att[b, :, :n, :n].numpy() for b, n in enumerate(lengths)]
        for layer_att in out.attentions
    ]


def image_batches(
    processor: Any, paths: Sequence[str], config: Any, batch_size: int = 16
) -> Iterator[Batch]:
    """[CLS] (+ registers) + patches per image, preprocessed exactly as the model's processor does."""
    from PIL import Image

    for start in range(0, len(paths), batch_size):
        items = list(range(start, min(start + batch_size, len(paths))))
        images = []
        for i in items:
            with Image.open(paths[i]) as image:
                images.append(image.convert("RGB"))
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        n_tokens = image_tokens(config, pixels.shape[-2:])
        yield {"pixel_values": pixels}, items, [n_tokens] * len(items)


def image_tokens(config: Any, size: tuple[int, int]) -> int:
    grid = (size[0] // config.patch_size) * (size[1] // config.patch_size)
    return 1 + getattr(config, "num_register_tokens", 0) + grid


def image_token_table(
    n_images: int,
    n_tokens: int,
    n_registers: int,
    grid_width: int,
    pixels: np.ndarray | None = None,
) -> TokenTable:
    """Token 0 is [CLS], then registers, then patches row by row: "r{row} c{col}".
    `pixels` [image, 3, H, W] in 0–1 (the crops the model saw) give each patch's hue and brightness."""
    names = ["[CLS]"] + [f"[REG{i}]" for i in range(n_registers)]
    names += [f"r{p // grid_width} c{p % grid_width}" for p in range(n_tokens - len(names))]
    special = np.arange(n_tokens) < 1 + n_registers
    patch = np.arange(n_tokens) - 1 - n_registers
    row = np.where(special, -1, patch // grid_width).astype(np.int32)
    col = np.where(special, -1, patch % grid_width).astype(np.int32)
    hue = brightness = None
    if pixels is not None:
        hue, brightness = _patch_colours(pixels, grid_width, special)
    return TokenTable(
        token=np.tile(np.array(names, dtype=str), n_images),
        sentence=np.repeat(np.arange(n_images, dtype=np.int32), n_tokens),
        position=np.tile(np.arange(n_tokens, dtype=np.int32), n_images),
        length=np.full(n_images * n_tokens, n_tokens, dtype=np.int32),
        special=np.tile(special, n_images),
        row=np.tile(row, n_images),
        col=np.tile(col, n_images),
        hue=hue,
        brightness=brightness,
    )


def _patch_colours(
    pixels: np.ndarray, grid: int, special: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean hue (circular) and brightness of each patch; [CLS]/registers get the image's mean."""
    images, _, height, width = pixels.shape
    patches = pixels.reshape(images, 3, grid, height // grid, grid, width // grid).mean(axis=(3, 5))
    r, g, b = patches[:, 0], patches[:, 1], patches[:, 2]  # [image, row, col]
    angle = np.arctan2(np.sqrt(3) * (g - b), 2 * r - g - b)  # hue angle of the mean colour
    hue = ((angle / (2 * np.pi)) % 1.0).reshape(images, -1)
    bright = ((r + g + b) / 3).reshape(images, -1)
    extra = int(special.sum())

    def pad(v: np.ndarray) -> np.ndarray:
        return np.concatenate([np.repeat(v.mean(axis=1, keepdims=True), extra, axis=1), v], axis=1)

    return pad(hue).ravel().astype(np.float32), pad(bright).ravel().astype(np.float32)


def extract_images(
    model: Any,
    processor: Any,
    family: Family,
    paths: Sequence[str],
    batch_size: int = 16,
    on_batch: Callable[[int, int], None] | None = None,
    spill: Path | None = None,
) -> tuple[TokenTable, Sequence[np.ndarray], Sequence[np.ndarray]]:
    seen: list[np.ndarray] = []
    lengths: list[int] = []

    def remember(batches: Iterator[Batch]) -> Iterator[Batch]:
        for batch in batches:
            seen.append(batch[0]["pixel_values"].numpy())
            lengths.extend(batch[2])
            yield batch

    batches = remember(image_batches(processor, paths, model.config, batch_size))
    queries, keys = extract(model, family, batches, len(paths), on_batch, spill)
    n_tokens = lengths[0]  # every image has as many
    registers = getattr(model.config, "num_register_tokens", 0)
    grid_width = round((n_tokens - 1 - registers) ** 0.5)
    pixels = _unnormalise(np.concatenate(seen), processor)
    table = image_token_table(len(paths), n_tokens, registers, grid_width, pixels)
    return table, queries, keys


def _unnormalise(pixels: np.ndarray, processor: Any) -> np.ndarray:
    """Model input back to 0–1 RGB, so patch colours are those of the crop the model saw."""
    mean = np.asarray(processor.image_mean).reshape(1, 3, 1, 1)
    std = np.asarray(processor.image_std).reshape(1, 3, 1, 1)
    return np.clip(pixels * std + mean, 0.0, 1.0)


def reference_image_attentions(
    model: Any, processor: Any, paths: Sequence[str]
) -> list[list[np.ndarray]]:
    """The model's own attention weights per layer [image][head, pos, pos]."""
    inputs, _, _ = next(image_batches(processor, paths, model.config, batch_size=len(paths)))
    with torch.inference_mode():
        out = model(**inputs, output_attentions=True)
    return [[layer_att[b].numpy() for b in range(len(paths))] for layer_att in out.attentions]
