"""File names of exported views, and CSV cells a spreadsheet would run, made inert."""

from __future__ import annotations

import csv
import io

import numpy as np

from dashboard import ids
from dashboard.export import file_stem, graph_config, head_csv, view_stem
from dashboard.export_safety import FORMULA_STARTS, spreadsheet_safe
from dashboard.models.qk import TokenTable

REQUEST = {"model": "local/tiny-bert", "corpus": "default", "params": {"method": "umap"}}


def test_each_view_saves_under_its_own_name():
    head = {"view": "head", "layer": 2, "head": 5}
    assert view_stem("matrix", REQUEST, head) == "local-tiny-bert_default_matrix_umap"
    assert view_stem("head", REQUEST, head) == "local-tiny-bert_default_L2H5_umap"
    sentence = {**head, "view": "sentence", "sentence": 3, "scope": "layer"}
    assert view_stem("sentence", REQUEST, sentence) == (
        "local-tiny-bert_default_L2H5_umap_sentence3_layer-mean"
    )
    assert view_stem("head", {"error": "unknown model"}, head) is None
    compare = {"view": "compare", "layer": 2, "head": 5, "b_model": "local/gpt", "b_layer": 1}
    compare |= {"b_head": 0, "panes": "heads"}
    assert view_stem("compare-b", REQUEST, compare) == "local-gpt_default_L1H0_umap"
    matrices = {**compare, "panes": "matrices"}  # the two models' whole matrices
    assert view_stem("head", REQUEST, matrices) == "local-tiny-bert_default_matrix_umap"
    assert view_stem("compare-b", REQUEST, matrices) == "local-gpt_default_matrix_umap"
    config = graph_config(file_stem("m", "c", "pca", 0, 1))
    assert config["toImageButtonOptions"]["filename"] == "m_c_L0H1_pca"
    assert "newplot" not in str(config)


def test_csv_cells_that_start_a_formula_are_inert():
    tokens = ["=SUM(A1:A9)", "+1", "-2", "@cmd", "\tx", "\rx", "ok", "a=b"]
    n = len(tokens)
    table = TokenTable(
        token=np.array(tokens),
        sentence=np.zeros(n, np.int32),
        position=np.arange(n, dtype=np.int32),
        length=np.full(n, n, np.int32),
        special=np.zeros(n, bool),
    )
    coords = -np.arange(4 * n, dtype=np.float32).reshape(2 * n, 2) - 0.5  # negative numbers
    rows = list(csv.DictReader(io.StringIO(head_csv(coords, table), newline="")))
    assert len(rows) == 2 * n
    written = [row["token"] for row in rows[:n]]
    for raw, cell in zip(tokens, written, strict=True):
        if raw.startswith(FORMULA_STARTS):
            assert cell == "'" + raw
        else:
            assert cell == raw
    assert all(not spreadsheet_safe(t).startswith(FORMULA_STARTS) for t in tokens)
    # numbers stay numbers, even negative ones
    assert [float(row["x"]) for row in rows] == coords[:, 0].tolist()


def test_one_callback_names_every_graphs_images():
    """Names, not configs: assets/export.js puts them into the graphs (a new config would
    redraw a graph from scratch); tests/browser/test_browser_export.py reads them there."""
    from dashboard.views.export import GRAPHS, name_images

    head = {"view": "head", "layer": 2, "head": 5}
    names = name_images(REQUEST, head)
    assert names == {graph: view_stem(kind, REQUEST, head) for graph, kind in GRAPHS.items()}
    assert names[ids.MATRIX_GRAPH] != names[ids.HEAD_GRAPH]  # the matrix's and the head's own
    assert set(name_images(None, head).values()) == {None}  # no request: the page's own name
