"""Vision: Q/K from our extraction reproduce ViT attention; patch index ↔ (row, column); uploads."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from dashboard.errors import InputError
from dashboard.models.extract import extract_images, image_token_table, reference_image_attentions
from dashboard.models.families import family_for
from dashboard.models.images import default_images, sample_images, save_upload
from dashboard.models.qk import attention_from_qk


def test_tiny_vit_reproduces_attention(tiny_vit_dir):
    from dashboard.models.loader import load
    from dashboard.models.registry import inspect_checkpoint

    spec = inspect_checkpoint(tiny_vit_dir, "tiny-vit", "tiny", "test")
    assert spec.modality == "image" and spec.family == "dinov2"
    model, processor = load(spec)
    paths = list(default_images().images[:3])
    table, queries, keys = extract_images(model, processor, family_for(spec.architecture), paths)
    assert len(table) == 3 * 17 and queries[0].shape == (4, 51, 8)
    reference = reference_image_attentions(model, processor, paths)
    for layer, (q, k) in enumerate(zip(queries, keys, strict=True)):
        for ours, theirs in zip(
            attention_from_qk(q, k, table, causal=False), reference[layer], strict=True
        ):
            assert np.abs(ours - theirs).max() <= 1e-4


def test_patch_index_maps_to_row_and_column():
    table = image_token_table(n_images=2, n_tokens=1 + 16 * 16, n_registers=0, grid_width=16)
    assert table.token[0] == "[CLS]" and table.special[0] and not table.special[1]
    assert table.token[1] == "r0 c0" and table.token[16] == "r0 c15" and table.token[17] == "r1 c0"
    assert table.token[256] == "r15 c15"
    assert table.sentence[257] == 1 and table.position[257] == 0 and table.token[257] == "[CLS]"
    with_registers = image_token_table(1, 1 + 4 + 4, n_registers=4, grid_width=2)
    assert list(with_registers.token) == [
        "[CLS]",
        "[REG0]",
        "[REG1]",
        "[REG2]",
        "[REG3]",
        "r0 c0",
        "r0 c1",
        "r1 c0",
        "r1 c1",
    ]


def test_default_images_load_offline():
    corpus = default_images()
    assert corpus.modality == "image" and len(corpus.images) == len(sample_images())
    assert corpus.digest == default_images().digest


def _png(size=(20, 16), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_upload_is_validated_and_stored_as_png(tmp_path):
    path = save_upload(_png(), "a.png", tmp_path, 10_000_000, 16_000_000)
    assert path.suffix == ".png" and Image.open(path).size == (20, 16)
    assert (
        save_upload(_png(), "again.png", tmp_path, 10_000_000, 16_000_000) == path
    )  # content-addressed
    jpeg = save_upload(_png(fmt="JPEG"), "b.jpg", tmp_path, 10_000_000, 16_000_000)
    assert Image.open(jpeg).format == "PNG"


@pytest.mark.parametrize(
    ("raw", "limits", "message"),
    [
        (b"not an image at all", (10_000_000, 16_000_000), "not a readable PNG or JPEG"),
        (_png(fmt="GIF"), (10_000_000, 16_000_000), "upload PNG or JPEG"),
        (_png((500, 500)), (10_000_000, 100_000), "QKATLAS_MAX_MEGAPIXELS"),
        (_png(), (10, 16_000_000), "QKATLAS_MAX_UPLOAD_BYTES"),
        (json.dumps({"a": 1}).encode(), (10_000_000, 16_000_000), "not a readable"),
    ],
)
def test_bad_uploads_are_refused(tmp_path, raw, limits, message):
    with pytest.raises(InputError, match=message):
        save_upload(raw, "x", tmp_path, *limits)
    assert not list(tmp_path.iterdir())  # nothing stored


@pytest.mark.slow
def test_real_default_vit_reproduces_attention(tmp_path_factory):
    from dashboard.models.loader import load
    from dashboard.models.registry import DEFAULT_VISION, discover

    cache = tmp_path_factory.mktemp("cache")
    spec = discover((), cache).get(DEFAULT_VISION)
    model, processor = load(spec)  # converts from the packaged ONNX once
    paths = list(default_images().images[:2])
    table, queries, keys = extract_images(model, processor, family_for(spec.architecture), paths)
    assert len(table) == 2 * 257 and len(queries) == 12 and queries[0].shape == (6, 514, 64)
    reference = reference_image_attentions(model, processor, paths)
    worst = max(
        float(np.abs(a - b).max())
        for layer, (q, k) in enumerate(zip(queries, keys, strict=True))
        for a, b in zip(attention_from_qk(q, k, table, causal=False), reference[layer], strict=True)
    )
    assert worst <= 1e-4
