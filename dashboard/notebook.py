"""One call from a notebook: `show(model, tokenizer_or_processor, texts_or_images)`.

Where the work runs, and why. The model object lives in the notebook's kernel: it may have
been built from a config, fine-tuned or edited in place, and exists in no file a worker could
load. Sending it to the Dask workers would mean pickling it (this project never pickles), and
saving it would write files outside the cache. So the kernel runs the one forward pass per
sentence batch, once, up front (`worker_tasks.extract_with`, the same code and cache layout as
a worker's extraction), and stores the queries and keys in the cache. Everything after that —
PCA/t-SNE/UMAP of every head, the heavy part — runs on a Dask LocalCluster from the stored Q/K,
exactly as in the app; the web server (a thread of the kernel, Dash's Jupyter support) only
reads the cache. A worker never needs the model: if the cache loses its Q/K, it says to call
show() again.

Nothing is downloaded (the model and tokenizer are the caller's objects) and nothing is written
outside the cache directory (the Q/K, maps, the corpus, and images given as PIL objects).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from dashboard.config import Settings
from dashboard.models.corpora import Corpus
from dashboard.models.registry import ModelSpec

NOTEBOOK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*")  # Jupyter on this machine


@dataclass
class _Session:
    """The kernel's one app: Dash hands dash.callback's callbacks to the first app only."""

    app: Any
    start: dict[str, str]  # the query "/" opens on: the last show()'s model and corpus
    servers: dict[int, Any]


_session: _Session | None = None


def show(
    model: Any,
    tokenizer_or_processor: Any,
    texts_or_images: Sequence[Any],
    *,
    mode: Literal["inline", "external"] = "inline",
    port: int = 8050,
    host: str = "127.0.0.1",
    method: str = "pca",
    height: int = 900,
    cache_dir: str | Path | None = None,
) -> str:
    """Opens QK Atlas on an in-memory Hugging Face model (BERT, GPT-2, Llama or DINOv2 family).

    texts_or_images: sentences (str), or images (PIL images or paths to PNG/JPEG files).
    mode: "inline" shows the app in the cell's output; "external" prints its URL. Both return
    the URL once the app answers. Settings come from the environment (QKATLAS_CACHE_DIR …);
    `cache_dir` overrides the cache. See the module docstring for where the work runs.
    """
    from dashboard import catalog, dask_pool, worker_tasks
    from dashboard.models.families import family_for

    global _session
    settings = _settings(cache_dir)
    if _session is None:
        from dashboard.factory import create_app

        app = create_app(settings, start_workers=False)
        _session = _Session(app, {}, {})
        _open_on_the_model(app)
    svc = catalog.current()
    spec = describe(model)
    family = family_for(spec.architecture)
    corpus = svc.save_corpus(_corpus(texts_or_images, family.modality, svc))
    svc.add_model(spec)
    subject, _ = svc.subject(spec.id, corpus.id)
    base = getattr(model, "base_model", model)  # family paths are relative to the base model
    was_training = model.training
    model.eval()
    try:
        worker_tasks.extract_with(subject, corpus, lambda: (base, _padded(tokenizer_or_processor)))
    finally:
        model.train(was_training)
    _session.start = {"model": spec.id, "corpus": corpus.id, "method": method}
    dask_pool.start_local_cluster(svc.settings)  # no model to warm: workers read stored Q/K
    return _serve(_session, mode, host, port, height)


def describe(model: Any) -> ModelSpec:
    """The registry row of an in-memory model; its id and fingerprint come from its weights."""
    from dashboard.models.extract import head_shape
    from dashboard.models.families import family_for

    config = model.config
    architecture = (getattr(config, "architectures", None) or [type(model).__name__])[0]
    family = family_for(architecture)  # UnsupportedModel says which families are
    base = getattr(model, "base_model", model)
    n_layers = len(_attr(base, family.layers))
    n_heads, n_kv, d_head = head_shape(config)
    digest = weights_digest(model)
    name = getattr(config, "name_or_path", "") or type(model).__name__
    return ModelSpec(
        id=f"notebook-{digest[:8]}",
        name=f"{name} (in memory)",
        path="",
        architecture=architecture,
        family=family.name,
        n_layers=n_layers,
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=d_head,
        n_params=sum(p.numel() for p in model.parameters()),
        source="a model object passed to show() in a notebook",
        modality=family.modality,
        note="In-memory model: its queries and keys were extracted in the notebook's kernel.",
        digest=digest,
    )


def weights_digest(model: Any) -> str:
    """sha256 of the config and every parameter/buffer's bytes: equal weights, equal maps."""
    import torch

    h = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    return h.hexdigest()[:24]


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _padded(preprocessor: Any) -> Any:
    """GPT-2/Llama tokenizers ship no pad token; batches need one (pads are masked anyway)."""
    if getattr(preprocessor, "pad_token", "") is None:
        preprocessor.pad_token = preprocessor.eos_token or preprocessor.unk_token
    return preprocessor


def _settings(cache_dir: str | Path | None) -> Settings:
    if _session is not None:  # the kernel's app keeps its settings
        from dashboard import catalog

        return catalog.current().settings
    settings = Settings.from_env()
    return replace(
        settings,
        cache_dir=Path(cache_dir) if cache_dir else settings.cache_dir,
        prewarm=False,  # the notebook's model, not the default one
        frame_ancestors=("'self'", *NOTEBOOK_ORIGINS),
    )


def _corpus(items: Sequence[Any], modality: str, svc: Any) -> Corpus:
    from dashboard.errors import InputError
    from dashboard.models.corpora import user_corpus

    if isinstance(items, str):
        items = [items]
    if modality == "text":
        if not all(isinstance(t, str) for t in items):
            raise InputError("This model reads text: pass a list of sentences (str).")
        text = "\n".join(" ".join(t.split()) for t in items)
        return user_corpus(text, svc.settings.limits, "Notebook sentences")
    return _image_corpus(items, svc)


def _image_corpus(items: Sequence[Any], svc: Any) -> Corpus:
    """PIL images or image files, validated and stored as PNG in the cache (as uploads are)."""
    from dashboard.models.images import image_corpus, save_upload

    limits = svc.settings.limits
    folder = svc.store.root / "images"
    paths = []
    for index, item in enumerate(items):
        if isinstance(item, str | Path):
            raw, name = Path(item).read_bytes(), Path(item).name
        else:  # a PIL image
            buffer = io.BytesIO()
            item.save(buffer, format="PNG")
            raw, name = buffer.getvalue(), f"image-{index}.png"
        limit = limits.max_megapixels * 1_000_000
        paths.append(str(save_upload(raw, name, folder, limits.max_upload_bytes, limit)))
    return image_corpus(paths, limits, "Notebook images")


def _open_on_the_model(app: Any) -> None:
    """The page at "/" (what Dash's notebook iframe opens) goes to the notebook's model. A WSGI
    wrapper, not a Flask hook: create_app has already served a request, after which Flask takes
    no more hooks."""
    inner = app.server.wsgi_app

    def start_page(environ: dict, start_response: Any):
        bare = environ.get("PATH_INFO") == "/" and not environ.get("QUERY_STRING")
        if bare and _session and _session.start:
            start_response("302 Found", [("Location", "/?" + urlencode(_session.start))])
            return [b""]
        return inner(environ, start_response)

    app.server.wsgi_app = start_page


def _serve(session: _Session, mode: str, host: str, port: int, height: int) -> str:
    """Dash's own Jupyter display inside a kernel; elsewhere (a script) a server thread."""
    from dash import jupyter_dash

    url = f"http://{host}:{port}/"
    if jupyter_dash.active:
        session.app.run(jupyter_mode=mode, host=host, port=port, jupyter_height=height, debug=False)
        return url
    from werkzeug.serving import make_server

    old = session.servers.pop(port, None)
    if old is not None:
        old.shutdown()
    server = make_server(host, port, session.app.server, threaded=True)
    threading.Thread(target=server.serve_forever, name="qk-atlas-show", daemon=True).start()
    session.servers[port] = server
    print(f"QK Atlas running on {url}")
    return url
