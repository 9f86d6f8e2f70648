"""Loads a registry model with transformers: local files only, safetensors only, no remote code."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import Any

from dashboard.errors import InputError
from dashboard.models.registry import ModelSpec, load_function

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def prepare(spec: ModelSpec) -> Path:
    """A bundled model is converted from its packaged file once (locked: one worker converts,
    the other waits); any other model is used where it is."""
    path = Path(spec.path)
    if not spec.converter or (path / "model.safetensors").is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / "model.safetensors").is_file():
            _remove_stale_staging(path)
            load_function(spec.converter)(Path(spec.origin), path)
    return path


def _remove_stale_staging(path: Path) -> None:
    """A conversion killed half-way leaves its staging folder beside `path` (hundreds of MB,
    never read: only a finished one is renamed into place). Called under the conversion lock,
    so no live conversion owns one."""
    for folder in path.parent.glob(f".{path.name}.*"):
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def load(spec: ModelSpec, causal_lm: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer or image processor), eval mode, float32, eager attention.
    `causal_lm`: with its language-model head (AutoModelForCausalLM), to generate tokens."""
    try:
        import torch
        from transformers import (
            AutoImageProcessor,
            AutoModel,
            AutoModelForCausalLM,
            AutoTokenizer,
        )
    except ImportError as exc:  # pragma: no cover - the install always has them
        raise RuntimeError("torch/transformers missing: run `make install`") from exc

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # worker logs: one line per load, not a progress bar
    if spec.digest:  # dashboard/notebook.py stored its Q/K: the cache has lost them since
        raise InputError(
            f"{spec.name} lives in the notebook's kernel, where the workers cannot load it: "
            "its maps come from the queries and keys extracted there (call show() again if the "
            "cache lost them); placing or continuing sentences needs a model from a folder."
        )
    prepare(spec)
    options = {"local_files_only": True, "trust_remote_code": False}
    if spec.modality == "image":
        processor = AutoImageProcessor.from_pretrained(spec.path, **options)
        model = AutoModel.from_pretrained(
            spec.path,
            use_safetensors=True,
            attn_implementation="eager",
            dtype=torch.float32,
            **options,
        )
        return model.eval(), processor
    tokenizer = AutoTokenizer.from_pretrained(spec.path, **options)
    model = (AutoModelForCausalLM if causal_lm else AutoModel).from_pretrained(
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
