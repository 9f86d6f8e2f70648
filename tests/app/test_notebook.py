"""show() in a real Jupyter kernel (nbclient): inline on a random BERT built from a config (no
files), external over HTTP, and the default MiniLM as an in-memory model. Starts a Dask pool:
run under `flock /tmp/qkatlas-heavy.lock`."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from tests.net import free_port

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
CELL_TIMEOUT = 300  # s: kernel start, torch import and the pool's start on 2 busy cores

SETUP = """
import transformers as tf
from dashboard.models.registry import default_model_dir
tokenizer = tf.AutoTokenizer.from_pretrained(default_model_dir())  # files a package ships
config = tf.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, max_position_embeddings=128)
model = tf.BertModel(config)  # random weights, built in memory: no checkpoint anywhere
sentences = ["The quick brown fox jumps over the lazy dog.", "Queries meet keys in every head."]
"""
SHOW_INLINE = """
from dashboard import show
url = show(model, tokenizer, sentences, port={port})
"""
MATRIX_ON_POOL = """
from dashboard import catalog, dask_pool
from dashboard.cache_keys import MapParams
from urllib.parse import parse_qs, urlsplit
import urllib.request
start = parse_qs(urlsplit(urllib.request.urlopen(url).geturl()).query)
subject, corpus = catalog.current().subject(start["model"][0], start["corpus"][0])
with dask_pool.client() as pool:
    dask_pool.run_matrix(pool, subject, corpus, MapParams(), lambda _: None)
store = catalog.current().store
print("cached", sum(store.has(subject.coords_key(l, h, MapParams())) for l, h in subject.heads()))
"""
SHOW_EXTERNAL = """
show(model, tokenizer, sentences, mode="external", port={port})
"""
SHOW_MINILM = """
minilm = tf.AutoModel.from_pretrained(default_model_dir(), local_files_only=True)
show(minilm, tokenizer, sentences, mode="external", port={port})
"""
STOP = "dask_pool.stop_local_cluster()"


def _get(url: str) -> tuple[str, str]:
    """(final URL after redirects, body)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.geturl(), response.read().decode()


def _text(outputs: list) -> str:
    return "".join(
        o.get("text", "") + json.dumps(o.get("data", {}))
        for o in outputs
        if "name" in o or "data" in o
    )


def test_show_serves_an_in_memory_model_from_a_notebook(tmp_path):
    ports = [free_port() for _ in range(3)]
    cells = [
        SETUP,
        SHOW_INLINE.format(port=ports[0]),
        MATRIX_ON_POOL,
        SHOW_EXTERNAL.format(port=ports[1]),
        SHOW_MINILM.format(port=ports[2]),
        STOP,
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "QKATLAS_CACHE_DIR": str(cache),
        "QKATLAS_WARM_UMAP": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),  # this checkout's code, in the kernel and its workers
    }
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    client = nbclient.NotebookClient(
        notebook, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel(env=env):
        run = [client.execute_cell(cell, i) for i, cell in enumerate(notebook.cells[:2])]
        # inline: Dash's iframe in the cell's output, on a page that opens the notebook's model
        shown = _text(run[1].outputs)
        assert "<iframe" in shown and f"127.0.0.1:{ports[0]}" in shown
        final, page = _get(f"http://127.0.0.1:{ports[0]}/")
        assert "model=notebook-" in final and "corpus=user-" in final
        assert "<title>QK Atlas</title>" in page
        health = json.loads(_get(f"http://127.0.0.1:{ports[0]}/healthz")[1])
        assert any(m.startswith("notebook-") for m in health["models"])

        # every head's map computed on the pool, whose workers never had the model
        pool = client.execute_cell(notebook.cells[2], 2)
        assert "cached 8" in _text(pool.outputs)  # 2 layers × 4 heads of the config above

        external = client.execute_cell(notebook.cells[3], 3)
        assert f"http://127.0.0.1:{ports[1]}/" in _text(external.outputs)
        final, _ = _get(f"http://127.0.0.1:{ports[1]}/")
        assert "model=notebook-" in final

        minilm = client.execute_cell(notebook.cells[4], 4)
        assert f"http://127.0.0.1:{ports[2]}/" in _text(minilm.outputs)
        final, _ = _get(f"http://127.0.0.1:{ports[2]}/")
        models = json.loads(_get(f"http://127.0.0.1:{ports[2]}/healthz")[1])["models"]
        assert len([m for m in models if m.startswith("notebook-")]) == 2  # BERT and MiniLM
        client.execute_cell(notebook.cells[5], 5)
    # nothing written outside the cache (the kernel's folder holds only what it had)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
