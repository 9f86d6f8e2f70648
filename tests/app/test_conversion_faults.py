"""A bundled model's one-time conversion (SmolLM2 from GGUF, DINOv2 from ONNX) killed half-way
with kill -9: nothing half-written is ever loaded, and the next use converts again (and clears
the dead conversion's staging folder)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.config import ROOT
from dashboard.models.registry import DEFAULT_DECODER, DEFAULT_VISION, discover

PREPARE = (
    "import sys; from dashboard.config import Settings; "
    "from dashboard.models.registry import discover; from dashboard.models.loader import prepare; "
    "s = Settings(cache_dir=sys.argv[2]); "
    "prepare(discover(s.model_dirs, s.cache_dir).models[sys.argv[1]])"
)


def _prepare(model_id: str, cache: Path) -> subprocess.Popen:
    """Converts the model in a process of its own, as a worker's first use does."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", PREPARE, model_id, str(cache)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _staging_bytes(parent: Path, name: str) -> int:
    return sum(
        f.stat().st_size
        for folder in parent.glob(f".{name}.*")
        if folder.is_dir()
        for f in folder.rglob("*")
        if f.is_file()
    )


@pytest.mark.slow
@pytest.mark.parametrize("model_id", [DEFAULT_DECODER, DEFAULT_VISION])
def test_a_conversion_killed_half_way_is_done_again_never_loaded(tmp_path, model_id):
    cache = tmp_path / "cache"
    spec = discover((), cache).models.get(model_id)
    if spec is None or not spec.converter:
        pytest.skip(f"{model_id} is not installed here (make install brings it)")
    out = Path(spec.path)
    converting = _prepare(model_id, cache)
    deadline = time.monotonic() + 300
    # half-way: the first bytes of the checkpoint are in the staging folder; frozen at once
    # (SIGSTOP), then killed, so it cannot finish in between
    while _staging_bytes(out.parent, out.name) == 0:
        assert converting.poll() is None, converting.communicate()
        assert time.monotonic() < deadline, "the conversion never started writing"
        time.sleep(0.01)
    converting.send_signal(signal.SIGSTOP)
    converting.send_signal(signal.SIGKILL)
    converting.wait()
    assert not (out / "model.safetensors").exists()  # nothing published: nothing to load
    assert _staging_bytes(out.parent, out.name) > 0  # what the killed conversion left

    again = _prepare(model_id, cache)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert (out / "model.safetensors").is_file()
    assert _staging_bytes(out.parent, out.name) == 0  # the dead conversion's folder is gone
    from dashboard.models.loader import load

    model, _ = load(discover((), cache).models[model_id])  # the finished one loads
    assert sum(p.numel() for p in model.parameters()) == spec.n_params
