"""Where each architecture keeps its query and key projections: a table, not if-chains.

Paths are attribute paths relative to the *base* model (what `AutoModel` loads), so a
checkpoint saved with a task head (e.g. BertForMaskedLM, LlamaForCausalLM) maps to the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dashboard.errors import UnsupportedModel


@dataclass(frozen=True)
class Family:
    name: str
    kind: Literal["encoder", "decoder", "vision"]
    modality: Literal["text", "image"]
    layers: str  # "encoder.layer": attribute path to the list of blocks
    # Separate projections (relative to a block), each output [batch, pos, heads·d_head] …
    query: str | None = None
    key: str | None = None
    # … or one fused projection whose output [batch, pos, 3·hidden] splits into q | k | v.
    fused: str | None = None
    positions: Literal["absolute", "rotary"] = "absolute"
    # rotary: the base model's module whose output (cos, sin) every layer uses, and the function
    # that applies it to [batch, head, pos, d_head] queries and keys.
    rotary_module: str | None = None
    rotary_fn: str | None = None
    causal: bool = False


BERT = Family(
    "bert",
    "encoder",
    "text",
    "encoder.layer",
    query="attention.self.query",
    key="attention.self.key",
)
GPT2 = Family("gpt2", "decoder", "text", "h", fused="attn.c_attn", causal=True)
LLAMA = Family(
    "llama",
    "decoder",
    "text",
    "layers",
    query="self_attn.q_proj",
    key="self_attn.k_proj",
    positions="rotary",
    rotary_module="rotary_emb",
    rotary_fn="transformers.models.llama.modeling_llama.apply_rotary_pos_emb",
    causal=True,
)
DINOV2 = Family(
    "dinov2", "vision", "image", "encoder.layer", query="attention.q_proj", key="attention.k_proj"
)

_TASK_HEADS = (
    "Model",
    "ForMaskedLM",
    "ForPreTraining",
    "ForSequenceClassification",
    "ForTokenClassification",
    "ForQuestionAnswering",
    "ForCausalLM",
    "LMHeadModel",
    "ForImageClassification",
)
ARCHITECTURES: dict[str, Family] = {
    f"{prefix}{suffix}": family
    for prefix, family in (("Bert", BERT), ("GPT2", GPT2), ("Llama", LLAMA), ("Dinov2", DINOV2))
    for suffix in _TASK_HEADS
}


def family_for(architecture: str | None) -> Family:
    if architecture in ARCHITECTURES:
        return ARCHITECTURES[architecture]
    supported = ", ".join(sorted({f.name for f in ARCHITECTURES.values()}))
    raise UnsupportedModel(
        f"unsupported architecture {architecture!r} (supported families: {supported})"
    )
