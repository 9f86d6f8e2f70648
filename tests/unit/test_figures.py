import itertools
import json

import numpy as np
import pytest

from dashboard.figures.colors import KEY, QUERY, SCHEMES, coloring
from dashboard.figures.encode import CODES, code_colors, color_codes, decode, typed
from dashboard.figures.hover import point_hover, token_hover
from dashboard.figures.matrix import (
    CELL_FILL,
    LOADING,
    MISSING,
    UNIT,
    fit_cell,
    head_of_click,
    matrix_figure,
)
from dashboard.figures.single import (
    HITS,
    MAX_LINES,
    PINNED,
    draw_order,
    head_figure,
    line_traces,
    pinned_trace,
)
from dashboard.models.qk import TokenTable


def _table(tokens_per_sentence):
    tokens = [t for sentence in tokens_per_sentence for t in sentence]
    lengths = [len(s) for s in tokens_per_sentence]
    return TokenTable(
        token=np.array(tokens),
        sentence=np.repeat(np.arange(len(lengths)), lengths).astype(np.int32),
        position=np.concatenate([np.arange(n) for n in lengths]).astype(np.int32),
        length=np.repeat(lengths, lengths).astype(np.int32),
        special=np.array([t.startswith("[") for t in tokens]),
    )


TABLE = _table(
    [["[CLS]", "the", "cat", "[SEP]"], ["[CLS]", "<script>", "&amp;", "dogs", "##s", "[SEP]"]]
)
N = len(TABLE)


def test_typed_arrays_round_trip_and_are_compact():
    values = np.linspace(0, 1, 1000, dtype=np.float32)
    spec = typed(values)
    assert np.array_equal(decode(spec), values)
    assert len(json.dumps(spec)) < 1000 * 6  # ~5.3 bytes a float in base64 JSON, not ~20 as text


def hex_rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


@pytest.mark.parametrize("scheme", ["role", "position", "discrete", "frequency"])
def test_code_colours_follow_the_colour_scale(scheme):
    """The matrix sends each point's RGB: each code's colour, interpolated linearly between the
    scale's stops as Plotly does (at a step, the upper colour, as d3's bisect picks it)."""
    scale = coloring(scheme, TABLE).colorscale
    at = np.array([a for a, _ in scale])
    rgb = np.array([hex_rgb(c) for _, c in scale], dtype=float)
    values = np.arange(CODES + 1) / CODES
    expected = np.stack([np.interp(values, at, rgb[:, ch]) for ch in range(3)], axis=1)
    assert np.abs(code_colors(scale) - expected).max() <= 0.5 + 1e-9
    if scheme == "discrete":  # a stepped scale: each step's colour exactly, at its middle
        steps = scale[::2]
        middles = [
            round((a + b) / 2 * CODES) for (a, _), (b, _) in zip(steps, scale[1::2], strict=True)
        ]
        assert [list(code_colors(scale)[m]) for m in middles] == [hex_rgb(c) for _, c in steps]


def test_fit_cell_keeps_aspect_ratio():
    coords = np.array([[0, 0], [10, 2], [4, 1]], dtype=float)
    cell = fit_cell(coords, keep=1.0)
    span = cell.max(axis=0) - cell.min(axis=0)
    assert np.isclose(span[0], CELL_FILL) and np.isclose(span[0] / span[1], 5.0)
    assert np.allclose((cell.max(axis=0) + cell.min(axis=0)) / 2, 0)


def test_fit_cell_pins_far_outliers_instead_of_squashing_the_rest():
    rng = np.random.default_rng(0)
    coords = np.vstack([rng.normal(size=(2000, 2)), [[500.0, 0.0]]])
    cell = fit_cell(coords)
    assert np.isclose(cell[-1, 0], CELL_FILL / 2)  # the outlier sits on the edge
    assert cell[:-1, 0].std() > 0.1  # the bulk still fills the cell


def test_matrix_is_one_figure_with_one_trace_per_layer():
    rng = np.random.default_rng(0)
    coords = {(layer, head): rng.normal(size=(2 * N, 2)) for layer in range(3) for head in range(4)}
    del coords[(1, 2)]  # not computed yet
    fig = matrix_figure(3, 4, coords, 2 * N, coloring("role", TABLE))
    maps, (cells, badges) = fig["data"][:3], fig["data"][3:]
    assert all(t["type"] == "scattergl" for t in maps)
    # hover off on the maps' points: one heatmap cell per head answers hover and clicks
    assert all(t["hoverinfo"] == "skip" for t in maps)
    assert cells["type"] == "heatmap" and np.shape(cells["z"]) == (3, 4)
    assert badges["x"] == []  # no PCA stand-ins in a finished PCA matrix
    x = decode(fig["data"][1]["x"])
    assert len(x) == 4 * 2 * N and x.dtype == np.uint16  # whole figure units, 2 bytes each
    block = x[2 * 2 * N : 3 * 2 * N]
    assert (block == MISSING).all()  # the missing head is off the grid, the others in their cells
    assert np.all(decode(fig["data"][0]["x"])[3 * 2 * N :] // UNIT == 3)
    assert np.all(decode(fig["data"][2]["y"]) // UNIT == 2)  # layer 2 is the third row down
    assert fig["layout"]["yaxis"]["range"] == [3 * UNIT, 0]  # reversed: layer 0 on top
    # each point's RGB (3 bytes), interleaved query, key, query, … in the role's two colours
    marker = fig["data"][0]["marker"]
    rgb = decode(marker["color"]).reshape(-1, 3)
    assert marker["color"]["shape"] == f"{len(x)},3" and "colorscale" not in marker
    query, key = (hex_rgb(c) for c, _ in coloring("role", TABLE).legend[:2])
    assert (rgb[0::2] == query).all() and (rgb[1::2] == key).all()
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"
    # square cells without padding the grid sideways: the domain shrinks, not the range grows
    assert fig["layout"]["xaxis"]["constrain"] == fig["layout"]["yaxis"]["constrain"] == "domain"
    assert "height" not in fig["layout"]  # the graph's box sizes it to the window
    assert (
        fig["layout"]["xaxis"]["ticktext"][3] == "H3"
        and fig["layout"]["yaxis"]["ticktext"][2] == "L2"
    )


def test_cells_hover_with_layer_and_head_and_mark_pca_stand_ins():
    rng = np.random.default_rng(0)
    coords = {(layer, head): rng.normal(size=(2 * N, 2)) for layer in range(2) for head in range(3)}
    levels = [2, 1, 2, 1, 1, 0]  # layer 0: H1 a stand-in; layer 1: H0, H1 stand-ins, H2 none
    fig = matrix_figure(2, 3, coords, 2 * N, coloring("role", TABLE), "m · c · UMAP 2D", None,
                        levels, "UMAP")  # fmt: skip
    cells, badges = fig["data"][2], fig["data"][3]
    assert cells["z"] == [[2, 1, 2], [1, 1, 0]]
    assert cells["hovertemplate"] == "%{text}<extra></extra>"
    assert cells["text"][1][0].startswith("Layer 1 · head 0")
    assert "PCA stand-in" in cells["text"][1][0] and "UMAP map" in cells["text"][0][2]
    assert "not computed" in cells["text"][1][2]
    # a "PCA" badge in each stand-in cell's corner, and a dotted amber frame
    assert badges["text"] == ["PCA"] * 3
    corners = [(x // UNIT, y // UNIT) for x, y in zip(badges["x"], badges["y"], strict=True)]
    assert corners == [(1, 0), (0, 1), (1, 1)]  # (head, layer)
    dashes = [s["line"]["dash"] for s in fig["layout"]["shapes"]]
    assert dashes == ["solid", "dot", "solid", "dot", "dot", "solid"]
    # the title does not claim UMAP for the stand-ins: it counts them
    assert "3 of 6 cells still show PCA" in fig["layout"]["title"]["text"]
    # the PCA stand-ins are drawn: the stand-in cell of layer 0 has its points
    assert (decode(fig["data"][0]["x"])[2 * N : 4 * N] != MISSING).all()
    # a click on the cell heatmap resolves by its cell
    x, y = cells["x"][2], cells["y"][1]
    assert head_of_click(
        {"curveNumber": 2, "pointNumber": [1, 2], "x": x, "y": y}, 2, 3, 2 * N
    ) == (
        1,
        2,
    )


def test_loading_placeholder_has_no_axes():
    assert LOADING["data"] == []
    assert LOADING["layout"]["xaxis"]["visible"] is False
    assert LOADING["layout"]["annotations"][0]["text"] == "Loading the matrix…"


def test_click_resolves_to_layer_and_head_by_index():
    assert head_of_click({"curveNumber": 4, "pointNumber": 3 * 20 + 7}, 6, 12, 20) == (4, 3)
    assert head_of_click({"curveNumber": 0, "pointNumber": 12 * 20}, 6, 12, 20) is None
    assert head_of_click({"x": 1.2}, 6, 12, 20) is None
    # a search hit (traces 6…11) resolves by the cell its coordinates fall in
    hit = {"curveNumber": 8, "pointNumber": 0, "x": 4.3 * UNIT, "y": 2.2 * UNIT}
    assert head_of_click(hit, 6, 12, 20) == (2, 4)


def test_search_hits_are_drawn_over_every_head():
    rng = np.random.default_rng(0)
    coords = {(layer, head): rng.normal(size=(2 * N, 2)) for layer in range(2) for head in range(3)}
    matched = np.zeros(2 * N, bool)
    matched[[0, N]] = True  # the first token's query and key: index 0 is searchable
    fig = matrix_figure(2, 3, coords, 2 * N, coloring("role", TABLE), matched=matched)
    assert len(fig["data"]) == 6  # maps, hits (2 layers each), the cells, the badges
    assert len(decode(fig["data"][2]["x"])) == 3 * 2  # two hits in each of three heads
    assert np.allclose(decode(fig["data"][2]["x"])[:2], decode(fig["data"][0]["x"])[[0, 1]])


def test_role_colours_split_queries_and_keys():
    c = coloring("role", TABLE)
    assert len(c.values) == 2 * N
    assert np.all(c.values[:N] < 0.5) and np.all(c.values[N:] > 0.5)


def test_normalised_position_runs_start_to_end_in_each_half():
    c = coloring("position", TABLE)
    q = c.values[:N]
    assert q[0] == 0 and np.isclose(q[3], 0.4999) and q[1] < q[2]
    assert np.all(c.values[N:] >= 0.5)


def test_discrete_position_queries_darker_than_keys():
    c = coloring("discrete", TABLE)

    def colour_of(value):
        steps = [s for s in c.colorscale if s[0] <= value]
        return steps[-1][1]

    def brightness(hex_colour):
        return sum(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))

    for i in range(N):
        assert brightness(colour_of(c.values[i])) < brightness(colour_of(c.values[N + i]))
    assert colour_of(c.values[0]) != colour_of(c.values[1])  # positions 0 and 1 differ
    # a step scale over [0, 1]: each colour holds from one boundary to the next
    assert c.colorscale[0][0] == 0 and np.isclose(c.colorscale[-1][0], 1)
    steps = list(zip(c.colorscale[::2], c.colorscale[1::2], strict=True))
    assert all(start[1] == end[1] and start[0] < end[0] for start, end in steps)
    assert all(np.isclose(a[1][0], b[0][0]) for a, b in itertools.pairwise(steps))


def test_unknown_scheme_is_an_error():
    with pytest.raises(ValueError, match="role"):
        coloring("rainbow", TABLE)
    with pytest.raises(ValueError):
        coloring("hue", TABLE)  # a text corpus has no patch colours


def test_text_schemes():
    from dashboard.figures.colors import applicable

    sentence = coloring("sentence", TABLE)
    assert sentence.values[0] != sentence.values[4]  # sentences 0 and 1 differ
    frequency = coloring("frequency", TABLE)
    assert np.all(frequency.values >= 0)  # log scale of counts ≥ 1: never negative
    cls = frequency.values[0]  # [CLS] occurs twice, "the" once
    assert cls > frequency.values[1]
    assert applicable("hue", TABLE) == "role" and applicable("frequency", TABLE) == "frequency"
    assert {"role", "position", "discrete", "sentence", "frequency"} <= set(SCHEMES)


def test_image_schemes():
    from dashboard.models.extract import image_token_table

    pixels = np.zeros((1, 3, 28, 28))
    pixels[:, 0, :14, :] = 1.0  # top row of patches red, bottom black
    table = image_token_table(1, 5, 0, 2, pixels)
    assert list(table.row) == [-1, 0, 0, 1, 1] and list(table.col) == [-1, 0, 1, 0, 1]
    assert np.allclose(table.brightness[1:], [1 / 3, 1 / 3, 0, 0])
    assert np.allclose(table.hue[1:3], 0.0)  # red
    rows = coloring("row", table)
    assert rows.values[0] == 0 and rows.values[1] < rows.values[3]  # [CLS] grey, top < bottom
    assert rows.colorscale[0][1] == "#b8bec7"
    bright = coloring("brightness", table)
    assert bright.values[1] > bright.values[3]


def test_hover_shows_token_in_its_sentence_escaped():
    texts = token_hover(TABLE)
    assert "<script>" not in "".join(texts)
    assert "&lt;script&gt;" in texts[5] and "&amp;amp;" in texts[6]
    assert "position 2 of 4" in texts[2] and "sentence 0" in texts[2]
    assert "dogss" in texts[9]  # word pieces are joined in the context
    both = point_hover(TABLE)
    assert both[0].startswith("query") and both[N].startswith("key") and len(both) == 2 * N


@pytest.mark.parametrize("dims", [2, 3])
def test_head_figure_2d_and_3d(dims):
    coords = np.random.default_rng(1).normal(size=(2 * N, dims)).astype(np.float32)
    fig = head_figure(coords, coloring("role", TABLE), point_hover(TABLE), "L0 H0")
    trace = fig["data"][0]
    assert trace["type"] == ("scatter3d" if dims == 3 else "scattergl")
    ids = draw_order(2 * N)  # what a clicked index maps back through
    assert np.array_equal(np.sort(ids), np.arange(2 * N)) and list(ids[:4]) == [0, N, 1, N + 1]
    assert np.allclose(decode(trace["x"]), coords[ids, 0])  # each point keeps its id
    assert trace["text"][1].startswith("key")
    assert len(fig["data"]) == PINNED + 1 and all(t["mode"] == "lines" for t in fig["data"][1:HITS])
    assert fig["data"][PINNED]["x"] == [], "no pinned point until a click"
    assert "height" not in fig["layout"], "the graph's CSS box sets the height"
    if dims == 3:  # a hover draws no spike lines across the scene
        assert all(fig["layout"]["scene"][a]["showspikes"] is False for a in ("xaxis", "yaxis"))
    assert ("z" in trace) == (dims == 3)
    with pytest.raises(ValueError, match="hover"):
        head_figure(coords, coloring("role", TABLE), ["x"], "")


@pytest.mark.parametrize("dims,webgl", [(2, True), (3, True), (2, False)])
@pytest.mark.parametrize("scheme", ["role", "position"])
def test_head_points_have_their_schemes_colours(dims, webgl, scheme):
    """WebGL 2D: each point's RGB (Plotly would turn codes into CSS colours and parse them back);
    3D and SVG, which read no RGB rows: codes on the scheme's scale. Either way the colour of
    each point's value, in the draw order."""
    coords = np.random.default_rng(2).normal(size=(2 * N, dims)).astype(np.float32)
    color = coloring(scheme, TABLE)
    marker = head_figure(coords, color, point_hover(TABLE), "", webgl=webgl)["data"][0]["marker"]
    codes = color_codes(color.values[draw_order(2 * N)])
    if dims == 2 and webgl:
        assert marker["color"]["shape"] == f"{2 * N},3" and "colorscale" not in marker
        rgb = decode(marker["color"]).reshape(-1, 3)
        assert np.array_equal(rgb, code_colors(color.colorscale)[codes])
        if scheme == "role":  # interleaved query, key, query, …
            assert (rgb[0::2] == hex_rgb(QUERY)).all() and (rgb[1::2] == hex_rgb(KEY)).all()
    else:
        assert np.array_equal(decode(marker["color"]), codes)
        assert marker["colorscale"] == color.colorscale
        assert (marker["cmin"], marker["cmax"]) == (0, CODES)


def test_matrix_sample_keeps_query_key_pairs():
    from dashboard.figures.matrix import sample_points

    pick = sample_points(10_000, 1_500)
    assert len(pick) == 3_000 and np.array_equal(
        pick[1_500:] - pick[:1_500], np.full(1_500, 10_000)
    )
    assert pick[0] == 0 and pick[1_499] == 9_999  # spans the corpus, first token included
    assert np.array_equal(sample_points(7, 1_500), np.arange(14))  # small corpora: every point


def test_link_lines_carry_weight_as_opacity():
    coords = np.arange(12, dtype=np.float32).reshape(6, 2)
    traces = line_traces(coords, [(0, 4, 0.9), (1, 5, 0.1)])
    assert len(traces) == MAX_LINES
    assert traces[0]["x"] == [0.0, 8.0] and traces[0]["y"] == [1.0, 9.0]
    alpha = [float(t["line"]["color"].rsplit(",", 1)[1].strip(" )")) for t in traces[:2]]
    assert alpha[0] > alpha[1] and traces[2]["x"] == []
    # a weak link (0.1) stays visible: opacity and width have a floor
    assert alpha[1] >= 0.45 and traces[1]["line"]["width"] >= 1.5
    assert traces[0]["line"]["width"] > traces[1]["line"]["width"]


@pytest.mark.parametrize("dims", [2, 3])
def test_pinned_point_ring(dims):
    coords = np.arange(6 * dims, dtype=np.float32).reshape(6, dims)
    ring = pinned_trace(coords, 4)
    assert ring["x"] == [float(coords[4, 0])] and ring["marker"]["symbol"] == "circle-open"
    assert ("z" in ring) == (dims == 3) and ring["hoverinfo"] == "skip"
    assert pinned_trace(coords, None)["x"] == []


def test_matrix_sample_always_includes_search_hits():
    from dashboard.figures.matrix import sample_points

    pick = sample_points(10_000, 100, include=np.array([5, 7]))
    assert {5, 7, 10_005, 10_007} <= set(pick.tolist())


def test_token_types():
    from dashboard.figures.colors import TOKEN_TYPES, token_types

    wordpiece = _table([["[CLS]", "the", ",", "walk", "##ing", "1999", "[SEP]"]])
    kinds = [TOKEN_TYPES[k] for k in token_types(wordpiece)]
    assert kinds == ["special", "word", "punctuation", "word", "piece", "number", "special"]
    bpe = _table([["The", "Ġcat", "s", "Ġ42", "Ġ."]])
    assert [TOKEN_TYPES[k] for k in token_types(bpe)] == [
        "word",
        "word",
        "piece",
        "number",
        "punctuation",
    ]
    c = coloring("type", TABLE)
    assert len(c.legend) == 5 and c.values[0] != c.values[1]


def test_search_hits_in_the_matrix_do_not_bury_the_maps():
    """Issue 13: searching "the" covered nearly every cell with big opaque dark-ringed dots."""
    coords = {(0, 0): np.random.default_rng(1).normal(size=(2 * N, 2))}
    matched = np.ones(2 * N, bool)  # a token as frequent as it gets
    fig = matrix_figure(1, 1, coords, 2 * N, coloring("role", TABLE), matched=matched)
    by_name = {trace.get("name"): trace for trace in fig["data"]}
    maps, hits = by_name["layer 0"], by_name["matches 0"]
    assert hits["marker"]["size"] <= 2 * maps["marker"]["size"]
    assert not hits["marker"].get("line", {}).get("width")  # no ring
    alpha = float(hits["marker"]["color"].rsplit(",", 1)[1].rstrip(")"))
    assert alpha <= 0.5  # the map shows through


@pytest.mark.parametrize("dims", [2, 3])
def test_head_figure_without_webgl_is_svg_only(dims):
    """Issue 13: a browser without WebGL saw "WebGL is not supported"; SVG draws the same map
    (a 3D one as its x–y plane: scatter3d needs WebGL)."""
    coords = np.random.default_rng(2).normal(size=(2 * N, dims))
    matched = np.zeros(2 * N, bool)
    matched[1] = True
    fig = head_figure(coords, coloring("role", TABLE), point_hover(TABLE), "", matched, webgl=False)
    assert {t["type"] for t in fig["data"]} == {"scatter"}
    assert "scene" not in fig["layout"] and "z" not in fig["data"][0]
    assert np.allclose(decode(fig["data"][0]["x"]), coords[draw_order(2 * N), 0])
    lines = line_traces(coords, [(0, N, 0.5)], webgl=False)
    assert {t["type"] for t in lines} == {"scatter"} and "z" not in lines[0]


def test_sorted_dimmed_metric_cells_keep_one_figure_and_follow_their_heads():
    from dashboard.figures.matrix import FAINT, UNIT, CellInfo

    rng = np.random.default_rng(0)
    coords = {
        (layer, head): rng.normal(size=(2 * N, 2)) + head for layer in range(2) for head in range(3)
    }
    values = [0.1, 0.9, 0.5, None, 0.2, 0.3]
    order = [[1, 2, 0], [2, 1, 0]]  # high to low; the missing value last
    dim = [False, True, False, False, False, False]
    info = CellInfo(values=values, label="entropy", order=order, dim=dim, hover=["x"] * 6)
    fig = matrix_figure(2, 3, coords, 2 * N, coloring("role", TABLE), info=info)
    assert [t["type"] for t in fig["data"]] == ["scattergl"] * 2 + ["heatmap", "scatter", "scatter"]
    cells = fig["data"][2]
    assert cells["z"] == [[0.9, 0.5, 0.1], [0.3, 0.2, None]] and cells["showscale"]
    # head 1 of layer 0 sits in slot 0, and its points are faint there
    opacity = decode(fig["data"][0]["marker"]["opacity"]).reshape(3, 2 * N)
    assert np.allclose(opacity[0], FAINT) and opacity[1:].min() > FAINT
    x = decode(fig["data"][0]["x"]).reshape(3, 2 * N)
    assert np.all(x[0] < UNIT)  # slot 0's points lie in the first cell, x ∈ [0, UNIT)
    assert fig["data"][-1]["text"] == ["H1", "H2", "H0", "H2", "H1", "H0"]
    assert fig["layout"]["xaxis"]["ticktext"] == ["#1", "#2", "#3"]


def test_a_cell_draws_as_many_points_as_its_size_on_screen_shows():
    """The pairs a cell draws grow with its pixels (POINTS_PER_PX2), in steps, from MIN_PAIRS
    to MAX_PAIRS; a browser that did not say gets MAX_PAIRS."""
    from dashboard.figures.matrix import (
        MAX_PAIRS,
        MIN_PAIRS,
        PAIRS_STEP,
        POINTS_PER_PX2,
        cell_px,
        pairs_for_cell,
    )

    sizes = [20.0, 40.0, 60.0, 80.0, 100.0, 140.0, 400.0]
    pairs = [pairs_for_cell(px) for px in sizes]
    assert pairs == sorted(pairs) and pairs[-1] == MAX_PAIRS and pairs[0] == MIN_PAIRS
    assert all(p % PAIRS_STEP == 0 or p == MAX_PAIRS for p in pairs)
    for px, p in zip(sizes, pairs, strict=True):
        if p not in (MIN_PAIRS, MAX_PAIRS):  # within half a step of the density
            assert abs(2 * p - POINTS_PER_PX2 * px * px) <= PAIRS_STEP
    assert pairs_for_cell(None) == MAX_PAIRS
    assert cell_px(None, 6, 12) is None and cell_px([0, 900], 6, 12) is None
    # a wider box has bigger cells until the window's height bounds them
    widths = [cell_px([w, 900], 6, 12) for w in (800, 1200, 1600, 2400, 3200)]
    assert widths == sorted(widths) and widths[-1] == widths[-2]
