"""Callback logic called as plain functions, on a real tiny model and a real on-disk store."""

import base64

import numpy as np
import pytest
from dash import Patch, no_update

from dashboard.cache_keys import MapParams
from dashboard.errors import InputError
from dashboard.figures.encode import decode
from dashboard.figures.hover import point_hover
from dashboard.figures.matrix import MISSING
from dashboard.figures.single import HITS, PINNED, draw_order
from dashboard.views import context, data, head, matrix, progress
from dashboard.views.legend import legend_items
from dashboard.views.request import resolve_request


def test_request_names_what_is_wrong(svc):
    assert "unknown model 'nope'" in resolve_request("nope", "default", "pca", 2, [])["error"]
    assert "unknown corpus" in resolve_request("minilm", "user-000", "pca", 2, [])["error"]
    ok = resolve_request("minilm", "default", "umap", 3, ["scale"])
    assert ok["n_layers"] == 6 and ok["n_heads"] == 12 and "error" not in ok
    assert ok["params"] == MapParams("umap", 3, False, True, 0).to_dict()


def test_matrix_before_extraction_is_a_placeholder(svc):
    request = resolve_request("local/tiny-bert", "default", "pca", 2, ["translate", "scale"])
    figure, shown = matrix.render(request, "role", None, patch_ok=False)
    assert figure is matrix.LOADING and shown is None
    assert "Loading the matrix" in figure["layout"]["annotations"][0]["text"]


def test_matrix_shows_every_head_then_patches_only_changed_layers(svc, tiny_request):
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    assert [t["type"] for t in figure["data"]] == ["scattergl"] * 2 + [
        "heatmap",
        "scatter",
    ] and shown["levels"] == [2] * 8  # PCA asked, ready for 2 × 4 heads
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    n_points = 2 * len(svc.tokens(subject))
    assert len(decode(figure["data"][0]["x"])) == 4 * n_points
    assert not (decode(figure["data"][1]["x"]) == MISSING).any()

    assert matrix.render(tiny_request, "role", shown, patch_ok=True) == (no_update, no_update)
    # a head of layer 1 disappears (as if not yet computed): only layer 1's trace is re-sent
    params = MapParams()
    svc.store.discard(subject.coords_key(1, 2, params))
    patch, shown2 = matrix.render(tiny_request, "role", shown, patch_ok=True)
    assert isinstance(patch, Patch) and shown2["levels"][6] == 0
    operations = patch.to_plotly_json()["operations"]
    # layer 1's trace, the cells (their hover says what they show), the badges and the title
    assert [op["location"] for op in operations] == [
        ["data", 1],
        ["data", 2],
        ["data", 3],
        ["layout", "title", "text"],
    ]
    # a colour change rebuilds the whole figure
    full, _ = matrix.render(tiny_request, "position", shown2, patch_ok=True)
    assert isinstance(full, dict)
    first = decode(full["data"][0]["marker"]["color"])[:3]  # the first query: position 0
    assert list(first) == [0xC7, 0xE9, 0xC0]  # the position scale's first colour


def test_a_drawn_matrix_is_reused_until_what_it_shows_changes(svc, tiny_request, monkeypatch):
    """The same matrix for the next user without reading a map again; a map that arrives or
    goes, or another colour, draws anew (never a stale figure)."""
    figure, _ = matrix.render(tiny_request, "role", None, patch_ok=False)
    reads = []
    load = svc.store.load
    monkeypatch.setattr(svc.store, "load", lambda key: reads.append(key) or load(key))
    again, _ = matrix.render(tiny_request, "role", None, patch_ok=False)
    assert again == figure and not reads
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    svc.store.discard(subject.coords_key(1, 2, MapParams()))
    fewer, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    assert shown["levels"][6] == 0 and reads
    assert (decode(fewer["data"][1]["x"]) == MISSING).sum() > 0
    assert not (decode(figure["data"][1]["x"]) == MISSING).any()
    recoloured, _ = matrix.render(tiny_request, "position", None, patch_ok=False)
    assert recoloured["data"][0]["marker"] != fewer["data"][0]["marker"]


def test_umap_matrix_marks_its_pca_stand_ins_until_each_map_arrives(svc, tiny_request):
    umap_request = resolve_request(
        tiny_request["model"], tiny_request["corpus"], "umap", 2, ["translate", "scale"]
    )
    figure, shown = matrix.render(umap_request, "role", None, patch_ok=False)
    cells, badges = figure["data"][2], figure["data"][3]
    assert shown["levels"] == [1] * 8 and badges["text"] == ["PCA"] * 8
    assert "8 of 8 cells still show PCA" in figure["layout"]["title"]["text"]
    assert "PCA stand-in (UMAP not computed yet)" in cells["text"][1][3]

    # layer 1 head 3's UMAP map arrives: its layer, cells, badges, its frame and the title change
    subject, _ = svc.subject(umap_request["model"], umap_request["corpus"])
    params = MapParams.from_dict(umap_request["params"])
    pca = svc.store.load(subject.coords_key(1, 3, params.as_pca()))
    svc.store.save(subject.coords_key(1, 3, params), *pca)
    patch, shown2 = matrix.render(umap_request, "role", shown, patch_ok=True)
    assert shown2["levels"] == [1] * 7 + [2]
    operations = {tuple(op["location"]): op for op in patch.to_plotly_json()["operations"]}
    assert ("data", 0) not in operations and ("data", 1) in operations
    assert operations[("data", 2)]["params"]["value"]["z"] == [[1, 1, 1, 1], [1, 1, 1, 2]]
    assert len(operations[("data", 3)]["params"]["value"]["text"]) == 7
    assert operations[("layout", "shapes", 7)]["params"]["value"]["line"]["dash"] == "solid"
    assert (
        "7 of 8 cells still show PCA" in operations[("layout", "title", "text")]["params"]["value"]
    )


def test_matrix_graph_fits_the_window_in_the_models_proportions():
    decoder = matrix.matrix_graph_style({"n_layers": 30, "n_heads": 9})
    encoder = matrix.matrix_graph_style({"n_layers": 6, "n_heads": 12})
    assert decoder["maxHeight"].startswith("calc(100vh")

    def ratio(style):  # width / height of the box
        width, height = style["aspectRatio"].split("/")
        return float(width) / float(height)

    assert ratio(decoder) < 0.4 < 1.5 < ratio(encoder)


def test_click_opens_the_head_under_the_pointer(svc, tiny_request):
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    n_points = len(decode(figure["data"][0]["x"])) // 4
    click = {"points": [{"curveNumber": 1, "pointNumber": 3 * n_points + 5}]}
    search = matrix.clicked_head(
        click, "?model=local%2Ftiny-bert&color=position", tiny_request, shown
    )
    assert "view=head" in search and "layer=1" in search and "head=3" in search
    assert "color=position" in search  # the rest of the state is kept
    outside = {"points": [{"curveNumber": 1, "pointNumber": 4 * n_points}]}
    assert matrix.clicked_head(outside, "", tiny_request, shown) is None


def test_head_view_shows_tokens_and_falls_back_to_pca(svc, tiny_request):
    view = {"view": "head", "layer": 1, "head": 2}
    figure, title, note, shown, hover = head.render(view, tiny_request, "role", None)
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    table = svc.tokens(subject)
    n = len(table)
    trace = figure["data"][0]
    # no text per point: each point's id, and the corpus's hover table once (assets/hover.js
    # joins them); joined here as the browser does, it is the server's own hover text
    assert title == "Layer 1 · head 2" and "text" not in trace
    ids = decode(trace["customdata"])
    assert np.array_equal(ids, draw_order(2 * n)) and len(hover["tokens"]) == n
    texts = [hover["roles"][int(i >= n)] + hover["tokens"][i % n] for i in ids]
    assert texts == [point_hover(table)[i] for i in ids]
    joined = "".join(hover["tokens"])
    assert (
        "&lt;" in joined
        and "&gt;" in joined
        and "<script" not in joined
        and "< script" not in joined
    )
    assert head.render(view, tiny_request, "role", shown) == (no_update,) * 5  # nothing changed
    # another head of the same corpus: the table is not sent again
    other = head.render({**view, "head": 1}, tiny_request, "role", shown)
    assert other[0]["data"][0]["customdata"] and other[4] is no_update

    umap_request = resolve_request(
        tiny_request["model"], tiny_request["corpus"], "umap", 2, ["translate", "scale"]
    )
    figure, _, note, shown, _ = head.render(view, umap_request, "role", None)
    assert "Showing PCA while UMAP is computed" in note and shown["level"] == 1


def test_a_head_opened_before_its_map_still_gets_its_hover_text(svc, tiny_request):
    """The placeholder ("Computing this head…") is the corpus's first figure: the hover table
    goes with it, since the next figure, of the same corpus, does not send it again."""
    view = {"view": "head", "layer": 0, "head": 1}
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    umap_request = resolve_request(
        tiny_request["model"], tiny_request["corpus"], "umap", 2, ["translate", "scale"]
    )
    stored = [subject.coords_key(0, 1, p) for p in (MapParams(), MapParams("umap"))]
    moved = []
    for key in stored:  # this head has no map yet, not even its PCA stand-in
        for path in svc.store._paths(key):
            if path.exists():
                moved.append((path, path.with_name(path.name + ".moved")))
                path.rename(moved[-1][1])
    figure, _, note, shown, hover = head.render(view, umap_request, "role", None)
    assert figure is context.EMPTY and "Computing" in note
    assert len(hover["tokens"]) == len(svc.tokens(subject))
    for path, aside in moved:
        aside.rename(path)
    figure, *_, hover_after = head.render(view, umap_request, "role", shown)
    assert figure["data"][0]["customdata"] and hover_after is no_update


def test_head_out_of_range_says_so(svc, tiny_request):
    figure, _, note, *_ = head.render(
        {"view": "head", "layer": 9, "head": 0}, tiny_request, "role", None
    )
    assert figure is context.EMPTY and "no layer 9 head 0" in note and "layers 0–1" in note


def test_corrupt_cached_map_is_recomputed_not_fatal(svc, tiny_request):
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    key = subject.coords_key(0, 0, MapParams())
    npz, _ = svc.store._paths(key)
    npz.write_bytes(b"\x00broken")
    figure, shown = matrix.render(tiny_request, "role", None, patch_ok=False)
    assert shown["levels"][0] == 2  # has() still sees it; loading finds it corrupt …
    x = decode(figure["data"][0]["x"])
    assert (x[: len(x) // 4] == MISSING).all()
    assert not svc.store.has(key)  # … removes it, so the next job recomputes it
    from dashboard import worker_tasks

    worker_tasks.project_task(subject, 0, 0, MapParams())
    assert svc.store.load(key) is not None


def test_user_text_is_validated_and_nothing_is_lost(svc):
    with pytest.raises(InputError, match="empty"):
        data.add_corpus("   ", [{"label": "old", "value": "user-1"}])
    options, corpus_id, message = data.add_corpus(
        "One two three.\nFour five.", [{"label": "old", "value": "user-1"}]
    )
    assert [o["value"] for o in options] == ["user-1", corpus_id]
    assert svc.corpus(corpus_id).sentences == ("One two three.", "Four five.")
    assert "Added" in message


@pytest.mark.parametrize(
    ("raw", "name", "message"),
    [
        ("café".encode("latin-1"), "notes.txt", "not UTF-8"),
        (b"hello", "image.png", "not a .txt or .csv file"),
        (b"name,label\nx,1\n", "s.csv", "column named"),
        (b"x" * 6_000_001, "big.txt", "QKATLAS_MAX_UPLOAD_BYTES"),
    ],
)
def test_bad_uploads_get_a_clear_message(svc, raw, name, message):
    contents = "data:text/plain;base64," + base64.b64encode(raw).decode()
    with pytest.raises(InputError, match=message):
        data.read_upload(contents, name)


def test_good_upload_fills_the_text_box(svc):
    contents = "data:text/plain;base64," + base64.b64encode(b"Line one.\nLine two.").decode()
    assert data.read_upload(contents, "s.txt") == ("Line one.\nLine two.", None)


def test_csv_labels_become_a_colour_scheme(svc):
    from dashboard import worker_tasks
    from dashboard.figures.colors import coloring

    body = "text,label\nThe cat sat.,animal\n,empty\nStocks fell sharply today.,finance\nThe dog ran.,animal\n"
    contents = "data:text/csv;base64," + base64.b64encode(body.encode()).decode()
    text, labels = data.read_upload(contents, "labelled.csv")
    assert labels == ["animal", "empty", "finance", "animal"]
    options, corpus_id, _ = data.add_corpus(text, [], labels, "labelled.csv")
    assert options[-1]["value"] == corpus_id
    corpus = svc.corpus(corpus_id)
    assert corpus.labels == ("animal", "finance", "animal")  # the empty row left with its label
    subject, _ = svc.subject("local/tiny-bert", corpus_id)
    worker_tasks.extract_task(subject, corpus)
    table = svc.tokens(subject)
    assert list(np.unique(table.label[table.sentence == 1])) == [1]  # "finance" (sorted names)
    names = svc.store.load_meta(subject.tokens_key)["labels"]
    assert names == ["animal", "finance"]
    colours = coloring("label", table, names)
    assert [name for _, name in colours.legend] == names
    assert colours.values[0] == colours.values[int(np.flatnonzero(table.sentence == 2)[0])]
    with pytest.raises(InputError, match="labels for"):
        data.add_corpus("a b\nc d", [], ["x"])


def test_failed_job_returns_a_message_not_a_traceback(svc):
    result = progress.run_request(
        {"model": "nope", "corpus": "default", "params": MapParams().to_dict(), "key": "k"},
        lambda p: None,
    )
    assert result["status"] == "error" and "unknown model" in result["message"]
    assert "Traceback" not in result["message"]


def test_legend_explains_each_scheme():
    assert "darker" in legend_items("discrete")[0].children
    assert len(legend_items("role")) == 3


def test_links_follow_the_models_attention(svc, tiny_request):
    """A query's lines go to its top keys by the real attention weights, within its sentence."""
    from dashboard.models.qk import attention_from_qk

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    table = svc.tokens(subject)
    n = len(table)
    q, k = svc.qk(subject, 1)
    expected = attention_from_qk(q, k, table, causal=False)
    point = int(np.flatnonzero(table.sentence == 1)[3])  # a query in the second sentence
    pairs, rows, token = head.links(context.resolve(tiny_request), 1, 2, point, 2, 0.0)
    start = int(np.flatnonzero(table.sentence == 1)[0])
    row = expected[1][2][point - start]
    best = np.argsort(-row)[:2]
    assert [b - n - start for _, b, _ in pairs] == list(best)
    assert np.allclose([w for *_, w in pairs], row[best])
    assert all(n + start <= b < n + start + len(row) for _, b, _ in pairs)  # same sentence only
    key_pairs, _, _ = head.links(
        context.resolve(tiny_request), 1, 2, n + point, 3, 0.0
    )  # a key: its queries
    assert all(a < n and b == n + point for a, b, _ in key_pairs)
    assert token == point and len(rows) == 2


def test_hovered_index_resolves_to_the_point_id():
    from dashboard.figures.single import draw_order

    order = draw_order(10)
    assert head.point_id({"points": [{"curveNumber": 0, "pointNumber": 1}]}, 10) == order[1] == 5
    assert head.point_id({"points": [{"curveNumber": 2, "pointNumber": 1}]}, 10) is None  # a line
    assert head.point_id({"points": [{"curveNumber": 0, "pointNumber": 10}]}, 10) is None
    assert head.point_id(None, 10) is None


def test_sentence_weights_match_the_model_for_head_layer_and_model_scopes(svc, tiny_request):
    from dashboard.models.qk import attention_from_qk
    from dashboard.views import sentence

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    table = svc.tokens(subject)
    per_layer = [
        attention_from_qk(*svc.qk(subject, layer), table, causal=False) for layer in range(2)
    ]
    one = sentence.weights(context.resolve(tiny_request), 1, 3, 2, "head")
    assert np.allclose(one, per_layer[1][2][3]) and np.allclose(one.sum(axis=1), 1)
    assert np.allclose(
        sentence.weights(context.resolve(tiny_request), 1, 3, 2, "layer"),
        per_layer[1][2].mean(axis=0),
    )
    everything = np.mean([per_layer[layer][2].mean(axis=0) for layer in range(2)], axis=0)
    assert np.allclose(
        sentence.weights(context.resolve(tiny_request), 0, 0, 2, "model"), everything
    )

    view = {
        "view": "sentence",
        "layer": 1,
        "head": 3,
        "sentence": 2,
        "scope": "head",
        "hide_first": True,
    }
    figure, note = sentence.render(view, tiny_request, None)
    assert (
        "links" in note and len(figure["data"][-1]["text"]) == int((table.sentence == 2).sum()) - 1
    )


def test_image_view_overlays_one_patchs_attention(tmp_path, tiny_bert_dir, tiny_vit_dir):
    """A tiny random ViT on the sample photos: the overlay is that token's attention row."""
    import shutil

    from dashboard import catalog, worker_tasks
    from dashboard.config import Settings
    from dashboard.models.qk import attention_from_qk
    from dashboard.views import image, sentence
    from dashboard.views.request import resolve_request

    models = tmp_path / "models"
    shutil.copytree(tiny_vit_dir, models / "tiny-vit")
    shutil.copytree(tiny_bert_dir, models / "tiny-bert")
    svc = catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(models,), warm_umap=False)
    )

    assert "error" in resolve_request(
        "local/tiny-vit", "default", "pca", 2, []
    )  # text corpus refused
    request = resolve_request("local/tiny-vit", "images", "pca", 2, [])
    subject, corpus = svc.subject("local/tiny-vit", "images")
    worker_tasks.extract_task(subject, corpus)
    table = svc.tokens(subject)
    assert table.is_image and len(table) == len(corpus.images) * 17

    view = {"view": "sentence", "layer": 1, "head": 2, "sentence": 3, "scope": "head", "patch": 6}
    figure, note = sentence.render(view, request, None)
    assert "attends to each patch" in note
    heat = np.array(figure["data"][0]["z"])
    assert heat.shape == (4, 4) and figure["layout"]["images"][0]["source"].startswith(
        "data:image/png"
    )
    expected = attention_from_qk(*svc.qk(subject, 1), table, causal=False)[3][2][6]
    assert np.allclose(heat.ravel(), expected[1:])  # patches row by row; [CLS] (token 0) aside
    assert figure["layout"]["shapes"][0]["x0"] == 0.5  # token 6 = patch row 1, column 1
    # vision words: the head's button and panel say "image", not "sentence"
    assert head.item_words(request)[0] == "Image view →"
    assert "image" in head.item_words(request)[1]
    assert table.item_word == "image"
    # "hide the first token": [CLS] leaves the keys, each row renormalised over the rest
    hidden, hidden_note = sentence.render({**view, "hide_first": True}, request, None)
    without = expected[1:] / expected[1:].sum()
    assert np.allclose(np.array(hidden["data"][0]["z"]).ravel(), without)
    assert (
        "First token [CLS] hidden" in hidden_note and "goes to" not in hidden_note
    )  # no registers
    search = image.select_patch(
        {"points": [{"x": 3, "y": 2}]}, "?view=sentence&layer=1&head=2&sentence=3", request
    )
    assert "patch=12" in search  # 1 + 2·4 + 3


def test_head_marks_special_tokens_sizes_by_norm_and_shows_search_hits(svc, tiny_request):
    from dashboard.figures.single import draw_order

    view = {"view": "head", "layer": 0, "head": 1}
    search = {"text": "fox", "regex": False, "case": False}
    figure, *_ = head.render(view, tiny_request, "type", None, search, True)
    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    table = svc.tokens(subject)
    n = len(table)
    points = figure["data"][0]
    order = draw_order(2 * n)
    symbols = np.array(points["marker"]["symbol"])
    assert np.array_equal(symbols == 2, np.tile(table.special, 2)[order])  # [CLS]/[SEP] as diamonds
    sizes = decode(points["marker"]["size"])
    norms = head.vector_norms(context.resolve(tiny_request), 0, 1)[order]
    assert np.corrcoef(sizes, norms)[0, 1] > 0.999  # size grows with ‖q‖ / ‖k‖
    hits = figure["data"][HITS]
    assert len(decode(hits["x"])) == 2 * int(sum(str(t) == "fox" for t in table.token))


def test_image_map_beside_the_image_and_hover_outlines_the_patch(tmp_path, tiny_vit_dir):
    import shutil

    from dashboard import catalog, worker_tasks
    from dashboard.config import Settings
    from dashboard.figures.single import draw_order
    from dashboard.views import image, sentence
    from dashboard.views.matrix import render as render_matrix
    from dashboard.views.request import resolve_request

    models = tmp_path / "models"
    shutil.copytree(tiny_vit_dir, models / "tiny-vit")
    svc = catalog.configure(
        Settings(cache_dir=tmp_path / "cache", model_dirs=(models,), warm_umap=False)
    )
    request = resolve_request("local/tiny-vit", "images", "pca", 2, [])
    subject, corpus = svc.subject("local/tiny-vit", "images")
    worker_tasks.extract_task(subject, corpus)
    for layer, head_index in subject.heads():
        worker_tasks.project_task(
            subject, layer, head_index, MapParams.from_dict(request["params"])
        )
    view = {"view": "sentence", "layer": 1, "head": 0, "sentence": 2, "patch": 5}
    # opened before its head's map exists: a placeholder, then the map once the job stores it
    params = MapParams.from_dict(request["params"])
    svc.store.discard(subject.coords_key(1, 0, params))
    placeholder, hidden, shown = image.image_map(view, request, "row")
    assert placeholder is context.EMPTY and hidden is False
    assert image.image_map(view, request, "row", shown) == (no_update,) * 3  # progress: no change
    worker_tasks.project_task(subject, 1, 0, params)
    figure, hidden, shown = image.image_map(view, request, "row", shown)
    assert (
        hidden is False and len(figure["data"][0]["text"]) == 2 * 17
    )  # one image: [CLS] + 16 patches
    assert all("image 2" in t for t in figure["data"][0]["text"])
    index = int(np.flatnonzero(draw_order(34) == 7)[0])  # the point of token 7's query
    assert image.hovered_patch(
        {"points": [{"curveNumber": 0, "pointNumber": index}]}, view, request
    ) == (1, 2)
    image_figure, _ = sentence.render(view, request, None)
    patch = image.outline_hovered_patch(
        {"points": [{"curveNumber": 0, "pointNumber": index}]}, view, request, image_figure
    )
    shapes = patch.to_plotly_json()["operations"][0]["params"]["value"]
    assert [s["line"]["color"] for s in shapes] == ["#00e0ff", "#ffffff"]  # selected + hovered
    assert shapes[1]["x0"] == 1.5 and shapes[1]["y0"] == 0.5
    assert render_matrix(request, "hue", None, False)[1]["levels"] == [2] * 8
    assert image.image_map(view, request, "row", shown) == (no_update,) * 3
    _, hidden, _ = image.image_map(view, resolve_request("minilm", "default", "pca", 2, []), "role")
    assert hidden is True


def _text(children) -> str:
    if isinstance(children, str):
        return children
    return "".join(c if isinstance(c, str) else _text(c.children or "") for c in children)


def test_search_summary_counts_whole_tokens_and_says_the_tokenizer_lowercases(svc, tiny_request):
    from dashboard.views.search import LOWERCASED, search_summary

    part = _text(search_summary(tiny_request, "a", []))
    whole = _text(search_summary(tiny_request, "a", ["whole"]))
    n_part, n_whole = (int(s.split(" tokens")[0].replace(",", "")) for s in (part, whole))
    assert n_whole < n_part and "as a whole token" in whole  # "a", not "attention", "paris"…
    assert LOWERCASED not in part  # nothing about case when it cannot matter
    # the tiny model has MiniLM's uncased tokenizer: a capital finds nothing more, and it says so
    assert LOWERCASED in _text(search_summary(tiny_request, "^[A-Z]", ["regex", "case"]))
    assert LOWERCASED in _text(search_summary(tiny_request, "The", []))


def test_search_options_reach_the_mask_and_the_url():
    from dashboard import ids
    from dashboard.urlstate import parse
    from dashboard.views.url import CONTROLS, controls_of

    search = context.search_of(" the ", ["whole", "case"])
    assert search == {"text": "the", "regex": False, "case": True, "whole": True}
    state = parse("?search=the&whole=1")
    options = CONTROLS.index((ids.SEARCH_OPTIONS, "value"))
    assert state.whole and controls_of(state)[options] == ["whole"]
    assert "whole=1" in state.to_search()


def test_an_upload_asks_before_replacing_typed_text(svc):
    """Issue 13: a CSV upload silently replaced the text typed in the box."""
    body = "text,label\nThe cat sat.,animal\nStocks fell.,finance\nThe dog ran.,animal\n"
    contents = "data:text/csv;base64," + base64.b64encode(body.encode()).decode()
    typed = "My own sentence.\nAnother one."
    text, corpora, corpus, message, pending, hidden, question = data.upload(
        contents, "labelled.csv", typed, []
    )
    assert (text, corpora, corpus, message) == (no_update,) * 4  # nothing replaced yet
    assert not hidden and question == "Replace the text in the box with labelled.csv’s 3 sentences?"

    kept = data.answer(False, pending, [])
    assert kept[:3] == (no_update,) * 3 and "Kept your text" in kept[3]
    assert kept[4:] == (None, True)  # the question goes, the file is dropped

    text, corpora, corpus, message, pending_after, hidden = data.answer(True, pending, [])
    assert text.splitlines() == ["The cat sat.", "Stocks fell.", "The dog ran."]
    assert corpora[-1]["value"] == corpus and "Label" in message
    assert (pending_after, hidden) == (None, True)

    # an empty box (or the same text) is filled at once, as before
    text, *_, pending, hidden, _ = data.upload(contents, "labelled.csv", "  ", [])
    assert text.startswith("The cat sat.") and pending is None and hidden


def test_mapping_it_now_is_replaced_when_the_job_ends(svc, tiny_request):
    name = svc.corpus(tiny_request["corpus"]).name
    message = f"Added “{name}”: {data.MAPPING}"
    other = {"key": "an-older-request", "status": "done", "message": ""}
    assert data.ended_message(other, message, tiny_request) is no_update
    done = {"key": tiny_request["key"], "status": "done", "message": ""}
    assert (
        data.ended_message(done, message, tiny_request)
        == f"Added “{name}”: mapped: every head is drawn."
    )
    failed = {**done, "status": "error"}
    assert "mapping failed" in data.ended_message(failed, message, tiny_request)
    assert "cancelled" in data.ended_message("cancelled", message, tiny_request)
    assert data.ended_message(done, "Kept your text.", tiny_request) is no_update


def test_the_sentence_picker_is_clamped_to_a_smaller_corpus(svc, tiny_request):
    """Issue 13: after mapping 3 sentences the picker said 7 and the title "Sentence 2 of 3"."""
    from dashboard.urlstate import parse
    from dashboard.views.sentence import pick_max
    from dashboard.views.url import within_corpus

    corpus = tiny_request["corpus"]  # five sentences: 0…4
    on_7 = parse(f"?corpus={corpus}&view=sentence&layer=0&head=0&sentence=7&scope=layer")
    moved = within_corpus(on_7)
    assert (moved.sentence, moved.scope, moved.corpus) == (4, "layer", corpus)
    assert within_corpus(parse(f"?corpus={corpus}&view=sentence&layer=0&head=0&sentence=2")) == (
        parse(f"?corpus={corpus}&view=sentence&layer=0&head=0&sentence=2")
    )
    assert (
        within_corpus(parse("?corpus=user-nope&view=sentence&layer=0&head=0&sentence=9")).sentence
        == 9
    )
    assert pick_max(tiny_request) == 4


def test_cancel_is_recorded_as_the_jobs_end_and_the_alert_says_so():
    request = {"key": "k1"}
    result = progress.cancelled(1, request)
    assert result["status"] == "cancelled" and result["key"] == "k1"
    message, hidden, kind = progress.alert(request, result)
    assert not hidden and "Cancelled" in message and "PCA" in message and "danger" in kind
    # a new request is not the cancelled one: the message goes
    assert progress.alert({"key": "k2"}, result)[:2] == ("", True)


def test_links_panel_follows_the_head_on_show_and_its_pinned_point(svc, tiny_request):
    """A new head starts from its own pinned point (the URL's) or none: never the last head's
    token; a click pins a point in the URL, a second click unpins it."""
    from dashboard.figures.single import draw_order

    subject, _ = svc.subject(tiny_request["model"], tiny_request["corpus"])
    n = len(svc.tokens(subject))
    view = {"view": "head", "layer": 1, "head": 2, "point": 5}
    shown = head.render(view, tiny_request, "role", None)[3]
    patch, panel = head.render_links(None, shown, view, 2, 0.0, tiny_request)
    ops = {
        tuple(op["location"]): op["params"]["value"] for op in patch.to_plotly_json()["operations"]
    }
    assert ops[("data", PINNED)]["x"] != [] and ops[("data", 1)]["x"] != []
    assert "pinned" in str(panel) and "sentence " in str(panel)
    assert head.item_words(tiny_request)[0] == "Sentence view →"

    # another head opens, unpinned: the panel and lines reset, nothing of head 2 is left
    other = {"view": "head", "layer": 0, "head": 1, "point": None}
    shown2 = head.render(other, tiny_request, "role", shown)[3]
    patch, panel = head.render_links(None, shown2, other, 2, 0.0, tiny_request)
    ops = {
        tuple(op["location"]): op["params"]["value"] for op in patch.to_plotly_json()["operations"]
    }
    assert ops[("data", PINNED)]["x"] == [] and ops[("data", 1)]["x"] == []
    assert panel == head.HINT
    # the old head's shown-state with the new view (the figure not drawn yet): only the hint
    assert head.render_links(None, shown, other, 2, 0.0, tiny_request) == (no_update, head.HINT)

    index = int(np.flatnonzero(draw_order(2 * n) == 7)[0])
    click = {"points": [{"curveNumber": 0, "pointNumber": index}]}
    search = head.pin_point(
        click, "?model=local%2Ftiny-bert&view=head&layer=0&head=1", tiny_request
    )
    assert "point=7" in search
    assert "point" not in head.pin_point(click, search, tiny_request), "a second click unpins"


def test_hide_first_names_the_token_and_spares_a_word(svc, tiny_request):
    from dashboard.views import sentence

    view = {"view": "sentence", "layer": 1, "head": 3, "sentence": 2, "hide_first": True}
    figure, note = sentence.render(view, tiny_request, None)
    assert "First token [CLS] hidden, the rest renormalised." in note
    assert figure["data"][-1]["text"][0] != "[CLS]"
    # a decoder without BOS (SmolLM2) starts with a word: shown, and the note says why
    assert "“In” is a word, not a special token" in sentence._hidden_note(view, "In", False)
    assert sentence._hidden_note({**view, "hide_first": False}, "[CLS]", False) == ""


def test_label_colours_are_offered_only_to_a_corpus_with_labels(svc, tiny_request):
    from dashboard.views.legend import colour_options

    options = {o["value"]: o for o in colour_options(tiny_request["model"], tiny_request, None)}
    assert options["label"]["disabled"] and "no label column" in options["label"]["label"]
    assert not options["role"]["disabled"]
