"""Captured queries/keys and their tokens, as plain numpy. One naming scheme for tensors.

Shapes: q [head, pos, d_head], k [kv_head, pos, d_head] where `pos` runs over every token of
the corpus (sentences concatenated); the token table says which sentence each belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_FIELDS = (
    "token",
    "sentence",
    "position",
    "length",
    "special",
    "row",
    "col",
    "hue",
    "brightness",
    "label",
    "generated",
)


def tensor_name(layer: int, kind: str, rotary: bool = False) -> str:
    """`blocks.3.attn.q` (or `.q_rot` when rotary positions are applied): stored with the array."""
    return f"blocks.{layer}.attn.{kind}{'_rot' if rotary else ''}"


@dataclass(frozen=True)
class TokenTable:
    token: np.ndarray  # [pos] str: the tokenizer's piece
    sentence: np.ndarray  # [pos] int32: index of the sentence in the corpus
    position: np.ndarray  # [pos] int32: index within its sentence (0 = [CLS]/BOS)
    length: np.ndarray  # [pos] int32: tokens in its sentence
    special: np.ndarray  # [pos] bool: [CLS], [SEP], BOS, …
    # image corpora only: each patch's grid row/column (-1 for [CLS] and registers) and the
    # mean hue and brightness (0–1) of its pixels, as the model saw them
    row: np.ndarray | None = None
    col: np.ndarray | None = None
    hue: np.ndarray | None = None
    brightness: np.ndarray | None = None
    label: np.ndarray | None = None  # [pos] int32: its sentence's label, an index into the labels
    generated: np.ndarray | None = None  # [pos] bool: a greedy continuation, not the user's text

    def __len__(self) -> int:
        return len(self.token)

    @property
    def is_image(self) -> bool:
        return self.row is not None

    @property
    def item_word(self) -> str:
        """What one of its `sentence` units is called: "image" or "sentence"."""
        return "image" if self.is_image else "sentence"

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self, name) for name in _FIELDS if getattr(self, name) is not None}
        arrays["token"] = self.token.astype(str)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TokenTable:
        return cls(**{name: arrays[name] for name in _FIELDS if name in arrays})

    @property
    def normalised_position(self) -> np.ndarray:
        return self.position / np.maximum(self.length - 1, 1)

    def sentence_slices(self) -> list[slice]:
        starts = np.flatnonzero(self.position == 0)
        ends = [*starts[1:], len(self)]
        return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def kv_head_of(head: int | np.ndarray, n_heads: int, n_kv_heads: int) -> int | np.ndarray:
    """Grouped-query attention: query head h scores against key/value head h // (heads per group)."""
    return head // (n_heads // n_kv_heads)


def expand_kv(k: np.ndarray, n_heads: int) -> np.ndarray:
    """[kv_head, pos, d] → [head, pos, d]: each query head gets the keys it scores against."""
    return k[kv_head_of(np.arange(n_heads), n_heads, k.shape[0])]


def softmax_attention(q: np.ndarray, k: np.ndarray, causal: bool) -> np.ndarray:
    """softmax(q·kᵀ/√d) in float64: q, k [..., pos, d] → weights [..., pos_q, pos_k]."""
    scores = q.astype(np.float64) @ np.swapaxes(k.astype(np.float64), -1, -2)
    scores /= np.sqrt(q.shape[-1])
    if causal:
        n = q.shape[-2]
        scores = np.where(np.tril(np.ones((n, n), dtype=bool)), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def attention_from_qk(
    q: np.ndarray, k: np.ndarray, table: TokenTable, causal: bool
) -> list[np.ndarray]:
    """Per sentence, [head, pos_q, pos_k]: the model's own weights if q, k were captured right."""
    return [softmax_attention(q[:, s], k[:, s], causal) for s in table.sentence_slices()]


def sentence_attention(
    q: np.ndarray, k: np.ndarray, table: TokenTable, sentence: int, causal: bool
) -> tuple[slice, np.ndarray]:
    """(token span, weights [..., pos_q, pos_k]) for one sentence; q, k are [pos, d] for one head
    or [head, pos, d] for several at once."""
    span = table.sentence_slices()[sentence]
    return span, softmax_attention(q[..., span, :], k[..., span, :], causal)


def strongest(weights: np.ndarray, top: int, minimum: float) -> list[tuple[int, float]]:
    """The `top` largest entries of a weight vector that reach `minimum`: [(index, weight)]."""
    order = np.argsort(-weights, kind="stable")[:top]
    return [(int(i), float(weights[i])) for i in order if weights[i] >= minimum]
