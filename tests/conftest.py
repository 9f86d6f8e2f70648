"""Shared fixtures: a temporary cache per test, and a tiny random BERT checkpoint on disk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dashboard.config import Settings
from dashboard.models.registry import default_model_dir

TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        metavar="DIR",
        default=None,
        help="where the browser tests write their screenshots, e.g. docs/screenshots to update "
        "the README's pictures (default: a temporary folder; tests never write tracked files)",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache", warm_umap=False)


def _tiny_model(folder: Path, kind: str = "bert", architecture: str | None = None) -> Path:
    """A random 2-layer × 4-head model of a family, with the MiniLM WordPiece tokenizer (the
    tokenizer's kind does not matter to Q/K capture)."""
    import torch
    import transformers as tf

    folder.mkdir(parents=True, exist_ok=True)
    common = {"vocab_size": 30522}
    model_class, config = {
        "bert": (
            tf.BertModel,
            tf.BertConfig(
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=4,
                intermediate_size=64,
                max_position_embeddings=128,
                **common,
            ),
        ),
        "gpt2": (
            tf.GPT2Model,
            tf.GPT2Config(
                n_embd=32,
                n_layer=2,
                n_head=4,
                n_positions=128,
                bos_token_id=101,
                eos_token_id=102,
                **common,
            ),
        ),
        "llama": (
            tf.LlamaModel,
            tf.LlamaConfig(
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                intermediate_size=64,
                rope_theta=100.0,
                max_position_embeddings=128,
                bos_token_id=101,
                eos_token_id=102,
                pad_token_id=0,
                **common,
            ),
        ),
    }[kind]
    torch.manual_seed(0)  # only the test's random weights; the app never seeds a global RNG
    model = model_class(config)
    model.save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copy(default_model_dir() / name, folder / name)
    if architecture is not None:
        import json

        config_path = folder / "config.json"
        data = json.loads(config_path.read_text())
        data["architectures"] = [architecture]
        config_path.write_text(json.dumps(data))
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer × 4-head BERT saved as safetensors, with a real WordPiece tokenizer."""
    return _tiny_model(tmp_path_factory.mktemp("models") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("models") / "tiny-gpt2", "gpt2")


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rotary positions and grouped-query attention (4 query heads share 2 key/value heads)."""
    return _tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", "llama")


@pytest.fixture
def model_dirs(tmp_path: Path, tiny_bert_dir: Path) -> Path:
    """A MODEL_DIRS root with one good checkpoint and several bad ones."""
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(tiny_bert_dir, root / "tiny-bert")
    pickled = root / "pickled"
    shutil.copytree(tiny_bert_dir, pickled)
    for weights in pickled.glob("*.safetensors"):
        weights.rename(pickled / "pytorch_model.bin")
    alien = root / "alien"
    shutil.copytree(tiny_bert_dir, alien)
    (alien / "config.json").write_text('{"architectures": ["MambaForCausalLM"]}')
    no_tokenizer = root / "no-tokenizer"
    shutil.copytree(tiny_bert_dir, no_tokenizer)
    for name in TOKENIZER_FILES:
        (no_tokenizer / name).unlink()
    (root / "broken").mkdir()
    (root / "broken" / "config.json").write_text("{not json")
    return root


@pytest.fixture(scope="session")
def bundled_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per test session, where bundled models are converted once."""
    return tmp_path_factory.mktemp("bundled-cache")


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer DINOv2 (patch 14, 56×56 input → 4×4 patches + [CLS]) and its processor."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    from dashboard.models.convert.dinov2_onnx import image_processor

    folder = tmp_path_factory.mktemp("models") / "tiny-vit"
    config = Dinov2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        patch_size=14,
        image_size=56,
    )
    torch.manual_seed(0)  # the test's random weights only
    Dinov2Model(config).save_pretrained(folder, safe_serialization=True)
    processor = image_processor()
    processor.size, processor.crop_size = {"shortest_edge": 56}, {"height": 56, "width": 56}
    processor.save_pretrained(folder)
    return folder


@pytest.fixture
def small_disk(tmp_path):
    """(folder, remount) on a real 64 KiB tmpfs, or (folder, None) when mounting is refused."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        yield folder, None
        return

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)

    try:
        yield folder, remount
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
