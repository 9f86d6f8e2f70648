"""Image corpora: the bundled sample photos and the user's uploads. PIL only, no torch.

Images are referenced by file path; user uploads are re-encoded as PNG into the cache under
their content hash, so nothing a user sent is ever executed or unpickled, only decoded by PIL.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
from pathlib import Path

from dashboard.config import Limits
from dashboard.errors import InputError, megabytes, over_limit
from dashboard.models.corpora import DEFAULT_IMAGES, Corpus, files_digest

IMAGES_CREDIT = (
    "Photos from scikit-image's sample data (public domain / CC0, see its data/README.txt) and "
    "scikit-learn's sample images (china.jpg, flower.jpg: CC BY 2.0)"
)
SAMPLE_IMAGES = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/retina.jpg"),
    ("skimage", "data/camera.png"),
    ("skimage", "data/coins.png"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/brick.png"),
    ("sklearn", "datasets/images/china.jpg"),
    ("sklearn", "datasets/images/flower.jpg"),
)


def _package_file(package: str, relative: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def sample_images() -> tuple[str, ...]:
    found = tuple(str(p) for p in (_package_file(pkg, rel) for pkg, rel in SAMPLE_IMAGES) if p)
    if not found:
        raise InputError("No sample images found: run `make install` (scikit-image, scikit-learn).")
    return found


def image_name(path: str) -> str:
    return Path(path).stem


MIN_SIDE = 14  # pixels: one patch of a ViT-S/14; anything smaller holds no picture to map


def save_upload(raw: bytes, name: str, folder: Path, max_bytes: int, max_pixels: int) -> Path:
    """Validates an uploaded PNG/JPEG and stores it as 8-bit RGB PNG; InputError says what is
    wrong and what to upload instead."""
    from PIL import Image, UnidentifiedImageError

    if len(raw) > max_bytes:
        raise over_limit(
            f"{name} ({megabytes(len(raw))})", megabytes(max_bytes), "QKATLAS_MAX_UPLOAD_BYTES"
        )
    unreadable = f"{name} is not a readable PNG or JPEG image: export it again as PNG or JPEG."
    try:
        with Image.open(io.BytesIO(raw)) as probe:  # reads the header only: sizes are checked
            kind, (width, height) = probe.format, probe.size  # before any pixel is decoded
    except Image.DecompressionBombError:
        raise _too_large(name, None, max_pixels) from None  # PIL's own cap, far above ours
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(unreadable) from exc
    if kind not in ("PNG", "JPEG"):
        raise InputError(f"{name} is a {kind} image: upload PNG or JPEG images.")
    if width * height > max_pixels:
        raise _too_large(name, width * height, max_pixels)
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"{name} is {width}×{height} pixels: upload an image at least {MIN_SIDE} pixels on "
            "each side."
        )
    try:
        with Image.open(io.BytesIO(raw)) as image:
            rgb = _rgb(image)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # truncated, corrupt
        raise InputError(unreadable) from exc
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(buffer.getvalue()).hexdigest()[:24]}.png"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)
    return path


def _too_large(name: str, pixels: int | None, max_pixels: int) -> InputError:
    size = f"{pixels / 1e6:.1f} megapixels" if pixels else "far too many pixels"
    return over_limit(
        f"{name} ({size})", f"{max_pixels / 1e6:.0f} megapixels", "QKATLAS_MAX_MEGAPIXELS"
    )


def _rgb(image):
    """8-bit RGB as the model's processor expects. 16-bit grey ("I;16", "I") is scaled down, not
    clipped (convert("RGB") would turn every value over 255 white); CMYK and palettes convert."""
    from PIL import Image

    image.load()
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np

        values = np.asarray(image, dtype=np.int64)
        top = 65535 if image.mode.startswith("I;16") or values.max() > 255 else 255
        grey = np.clip(values * 255 // top, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")  # uint8 [h, w] → "L"
    return image.convert("RGB")


def default_images() -> Corpus:
    paths = sample_images()
    return Corpus(
        DEFAULT_IMAGES, f"Sample photos ({len(paths)} images)", (), IMAGES_CREDIT, "image", paths
    )


def image_corpus(paths: list[str], limits: Limits, name: str = "Your images") -> Corpus:
    if not paths:
        raise InputError("No images: upload at least one PNG or JPEG.")
    if len(paths) > limits.max_images:
        raise over_limit(f"{len(paths)} images", str(limits.max_images), "QKATLAS_MAX_IMAGES")
    digest = files_digest(tuple(paths))[:12]
    return Corpus(
        f"user-{digest}",
        f"{name} ({len(paths)} images)",
        (),
        "your own images",
        "image",
        tuple(paths),
    )
