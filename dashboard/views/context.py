"""What every view reads, resolved once per render: the request's model and corpus, its map
parameters, its token table and the stored arrays; plus the placeholder figure and the search.

A render reads: `view = resolve(request)`, load arrays through it, call a `figures` builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dashboard.auth import current_user
from dashboard.cache_keys import MapParams, Subject
from dashboard.catalog import current
from dashboard.errors import InputError
from dashboard.figures.single import draw_order
from dashboard.models.families import family_for
from dashboard.models.qk import TokenTable, expand_kv
from dashboard.projection.align import align_chain, align_to
from dashboard.search import match_tokens

SEARCH_FLAGS = ("regex", "case", "whole")  # the search options' values

# A placeholder while a figure is computed. No height of its own: Plotly keeps a graph's size
# from one figure to the next unless the new one sets it, so a map following a 120 px placeholder
# was drawn 120 px tall in its 590 px pane (compare's pane A, opened on a cold cache).
EMPTY = {
    "data": [],
    "layout": {
        "xaxis": {"visible": False},
        "yaxis": {"visible": False},
        "annotations": [{"text": "Preparing…", "showarrow": False}],
    },
}


@dataclass(frozen=True)
class ViewContext:
    """One request (the REQUEST store) resolved: who and what, and readers of its stored data."""

    key: str  # the matrix cache key: what a view's shown-state compares
    subject: Subject
    params: MapParams
    title: str
    previous: MapParams | None = None  # the run shown before (same points, other parameters)

    @cached_property
    def table(self) -> TokenTable | None:
        """The corpus's tokens; None until the extraction has stored them."""
        return current().tokens(self.subject)

    @property
    def causal(self) -> bool:
        return family_for(self.subject.model.architecture).causal

    def coords(self, layer: int, head: int) -> tuple[np.ndarray | None, int]:
        """The best map there is: the requested method (2), its PCA stand-in (1), or none (0)."""
        store = current().store
        for level, p in ((2, self.params), (1, self.params.as_pca())):
            loaded = store.load(self.subject.coords_key(layer, head, p))
            if loaded is not None:
                return loaded[0]["coords"], level
        return None, 0

    def aligned(self, layer: int, head: int, reference: str) -> tuple[np.ndarray | None, int]:
        """coords() turned onto the reference (projection/align.py): "head" chains the layer's
        heads 0…head, so every head of a layer keeps head 0's orientation; "pca" turns a t-SNE
        or UMAP map onto the head's own PCA map (a PCA map is its own reference); "run" onto
        the same head in the run shown before (its map, or that run's PCA stand-in; a map of
        other dimensions, or no run before, leaves it as it is)."""
        coords, level = self.coords(layer, head)
        if coords is None or reference == "none":
            return coords, level
        if reference == "run":
            if self.previous is None:
                return coords, level
            store = current().store
            for p in (self.previous, self.previous.as_pca()):
                loaded = store.load(self.subject.coords_key(layer, head, p))
                if loaded is not None:
                    return align_to(coords, loaded[0]["coords"]), level
            return coords, level
        if reference == "pca":
            if level != 2 or self.params.method == "pca":
                return coords, level
            loaded = current().store.load(
                self.subject.coords_key(layer, head, self.params.as_pca())
            )
            return (coords if loaded is None else align_to(coords, loaded[0]["coords"])), level
        before = [self.coords(layer, h)[0] for h in range(head)]
        return align_chain([*before, coords])[-1], level

    def aligned_layer(self, layer: int, reference: str) -> list[np.ndarray | None]:
        """Every head of a layer as aligned() gives it (each map read once)."""
        heads = range(self.subject.model.n_heads)
        if reference in ("pca", "run"):
            return [self.aligned(layer, h, reference)[0] for h in heads]
        maps = [self.coords(layer, h)[0] for h in heads]
        return align_chain(maps) if reference == "head" else maps

    def similarity(self) -> dict[str, np.ndarray] | None:
        """The stored head similarity (worker_tasks.similarity_task): distances [n, n], coords
        [n, 2], heads [n, 2]; None until the analysis job has computed it."""
        loaded = current().store.load(self.subject.similarity_key(self.params.seed))
        return None if loaded is None else loaded[0]

    def scale_curve(self, layer: int, head: int) -> dict[str, np.ndarray] | None:
        """One head's rho_full at each norm scale: {"ratio", "rho"}; None until computed."""
        key = self.subject.curve_key(layer, head, self.params.translate)
        loaded = current().store.load(key)
        return None if loaded is None else loaded[0]

    def levels(self) -> list[int]:
        """coords()'s level of every head, in layer-major order, without reading the arrays."""
        store, key = current().store, self.subject.coords_key
        return [
            2
            if store.has(key(layer, head, self.params))
            else 1
            if store.has(key(layer, head, self.params.as_pca()))
            else 0
            for layer, head in self.subject.heads()
        ]

    def metrics(self, layer: int, head: int) -> dict | None:
        """The head's metrics and fidelity for this request's map; None until measured."""
        meta = current().store.load_meta(self.subject.metrics_key(layer, head, self.params))
        return None if meta is None else meta.get("metrics")

    def measured(self) -> int:
        """How many heads' metrics the cache holds for this request's maps."""
        store = current().store
        return sum(
            store.has(self.subject.metrics_key(layer, head, self.params))
            for layer, head in self.subject.heads()
        )

    def all_metrics(self) -> list[dict | None]:
        """metrics() of every head, in layer-major order."""
        return [self.metrics(layer, head) for layer, head in self.subject.heads()]

    def qk(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """The layer's raw q and k, both [head, pos, d] (keys expanded to the query heads)."""
        q, k = current().qk(self.subject, layer)
        return q, expand_kv(k, q.shape[0])

    def hover(self) -> list[str]:
        return current().hover(self.subject, self.table)

    def token_hover(self) -> list[str]:
        return current().token_hover(self.subject, self.table)

    def sentence_texts(self) -> list[str]:
        return current().sentence_texts(self.subject, self.table)

    def search_mask(self, search: dict | None) -> np.ndarray | None:
        """[pos] bool of the tokens matching the search; None without one (or an invalid one)."""
        if not search or not search.get("text") or self.table is None:
            return None
        try:
            return match_tokens(
                self.table,
                search["text"],
                search.get("regex", False),
                search.get("case", False),
                search.get("whole", False),
            )
        except InputError:
            return None

    def item(self, view: dict) -> int:
        """The view's sentence (or image), clamped to the corpus."""
        return min(max(int(view.get("sentence") or 0), 0), int(self.table.sentence.max()))


def resolve(request: dict | None) -> ViewContext | None:
    """None when there is nothing to show: no request yet, or one that says what to fix."""
    if not request or request.get("error"):
        return None
    subject, _ = current().subject(
        request["model"], request["corpus"], current_user(), generate=request.get("generate", 0)
    )
    previous = request.get("previous")
    return ViewContext(
        request["key"],
        subject,
        MapParams.from_dict(request["params"]),
        request["title"],
        MapParams.from_dict(previous) if previous else None,
    )


def head_on_show(view: dict | None, request: dict | None) -> tuple[ViewContext, int, int] | None:
    """(context, layer, head) of the head the page shows; None on any other view, or before a
    request: the one guard of every head-view callback."""
    context = resolve(request)
    if not view or view.get("view") != "head" or context is None:
        return None
    return context, int(view["layer"]), int(view["head"])


def failure(analysis: dict | None, request: dict) -> str | None:
    """The analysis job's error for this request, if it failed."""
    if analysis and analysis.get("status") == "error" and analysis.get("key") == request["key"]:
        return analysis["message"]
    return None


def search_of(text: str | None, options: list[str] | None) -> dict | None:
    text = (text or "").strip()
    options = options or []
    if not text:
        return None
    return {"text": text, **{flag: flag in options for flag in SEARCH_FLAGS}}


def point_id(event: dict | None, n_points: int) -> int | None:
    """The point id (queries 0…n-1, then keys) under a hover/click, from its index in trace 0.

    dcc.Graph cannot read customdata from a typed array, so the id comes from the index through
    the figure's fixed drawing order."""
    try:
        point = event["points"][0]
        index = int(point["pointNumber"])
    except (TypeError, KeyError, IndexError, ValueError):
        return None
    if point.get("curveNumber", 0) != 0 or not 0 <= index < n_points:
        return None
    return int(draw_order(n_points)[index])
