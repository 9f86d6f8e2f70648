"""Loads a registry model with transformers: local files only, safetensors only, no remote code."""

from __future__ import annotations

import os
from typing import Any

from dashboard.models.registry import ModelSpec

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load(spec: ModelSpec) -> tuple[Any, Any]:
    """(model, tokenizer), eval mode, float32, eager attention (so attentions can be returned)."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - the install always has them
        raise RuntimeError("torch/transformers missing: run `make install`") from exc

    options = {"local_files_only": True, "trust_remote_code": False}
    tokenizer = AutoTokenizer.from_pretrained(spec.path, **options)
    model = AutoModel.from_pretrained(
        spec.path,
        use_safetensors=True,
        attn_implementation="eager",
        dtype=torch.float32,
        **options,
    )
    model.eval()
    if tokenizer.pad_token is None:  # GPT-2/Llama tokenizers ship none; pads are masked anyway
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return model, tokenizer
