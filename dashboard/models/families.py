"""Where each architecture keeps its query and key projections: a table, not if-chains.

Paths are attribute paths relative to the *base* model (what `AutoModel` loads), so a
checkpoint saved with a task head (e.g. BertForMaskedLM) maps to the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class UnsupportedModel(ValueError):
    """A checkpoint QK Atlas cannot read; the message says why and what would work."""


@dataclass(frozen=True)
class Family:
    name: str
    kind: Literal["encoder", "decoder", "vision"]
    layers: str  # "encoder.layer": attribute path to the list of blocks
    query: str  # "attention.self.query": relative to a block, output [batch, pos, head*d_head]
    key: str
    positions: Literal["absolute", "rotary"]
    causal: bool
    modality: Literal["text", "image"]


BERT = Family(
    name="bert",
    kind="encoder",
    layers="encoder.layer",
    query="attention.self.query",
    key="attention.self.key",
    positions="absolute",
    causal=False,
    modality="text",
)

ARCHITECTURES: dict[str, Family] = {
    "BertModel": BERT,
    "BertForMaskedLM": BERT,
    "BertForPreTraining": BERT,
    "BertForSequenceClassification": BERT,
    "BertForTokenClassification": BERT,
    "BertForQuestionAnswering": BERT,
}


def family_for(architecture: str | None) -> Family:
    if architecture in ARCHITECTURES:
        return ARCHITECTURES[architecture]
    supported = ", ".join(sorted(ARCHITECTURES))
    raise UnsupportedModel(f"unsupported architecture {architecture!r} (supported: {supported})")
