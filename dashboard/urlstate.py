"""The view's state as a URL query string, so a link reproduces what you see. Pure Python."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import parse_qs, urlencode

from dashboard.cache_keys import MAX_GENERATE
from dashboard.figures.colors import SCHEMES
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL
from dashboard.projection.align import REFERENCES
from dashboard.projection.joint import RATIOS
from dashboard.projection.methods import METHODS

SCOPES = ("head", "layer", "model")


@dataclass(frozen=True)
class UrlState:
    model: str = DEFAULT_MODEL
    corpus: str = DEFAULT_CORPUS
    method: str = "pca"
    dims: int = 2
    translate: bool = True
    scale: bool = True
    key_ratio: float = 1.0  # norm scale: mean‖k‖ / mean‖q‖ after scaling, one of RATIOS
    color: str = "role"
    align: str = "none"  # orient each map like a reference: none, head (the previous), pca
    view: str = "matrix"
    layer: int | None = None
    head: int | None = None
    sentence: int | None = None  # sentence view: which sentence (or image) …
    scope: str = "head"  # … and whose attention: this head, the mean of the layer, or of the model
    hide_first: bool = False
    patch: int | None = None  # image corpora: the token whose attention is overlaid (None: [CLS])
    search: str = ""  # token search: highlighted in the matrix and the open head
    regex: bool = False
    case: bool = False
    whole: bool = False  # the search matches whole tokens only
    point: int | None = None  # head view: the pinned (clicked) point, queries 0…n-1 then keys
    generate: int = 0  # causal models: each sentence continued by this many greedy tokens
    hide_generated: bool = False
    # compare view: pane A is (layer, head) of `model`; pane B is (b_layer, b_head) of b_model
    b_model: str | None = None
    b_layer: int | None = None
    b_head: int | None = None
    panes: str = "heads"  # compare view: two heads, or "matrices": the two models' whole matrices

    def to_search(self) -> str:
        query = {k: v for k, v in asdict(self).items() if v is not None}
        for flag in (
            "translate",
            "scale",
            "hide_first",
            "regex",
            "case",
            "whole",
            "hide_generated",
        ):
            query[flag] = int(query[flag])
        if self.align == "none":
            query.pop("align")
        if self.key_ratio == 1.0:
            query.pop("key_ratio")
        if not self.generate:
            query.pop("generate")
            query.pop("hide_generated")
        if not self.search:
            for name in ("search", "regex", "case", "whole"):
                query.pop(name)
        if self.view in ("matrix", "similarity"):
            for name in ("layer", "head"):
                query.pop(name, None)
        if self.view == "matrix":
            query.pop("view", None)
        if self.view != "sentence":
            for name in ("sentence", "scope", "hide_first", "patch"):
                query.pop(name, None)
        if self.view != "head":
            query.pop("point", None)
        if self.view != "compare":
            for name in ("b_model", "b_layer", "b_head"):
                query.pop(name, None)
        if self.view != "compare" or self.panes == "heads":
            query.pop("panes")
        return "?" + urlencode(query)

    def open_head(self, layer: int, head: int) -> UrlState:
        return replace(self, view="head", layer=layer, head=head, sentence=None, point=None)

    def open_similarity(self) -> UrlState:
        return replace(self, view="similarity", layer=None, head=None, sentence=None, point=None)

    def close_head(self) -> UrlState:
        return replace(self, view="matrix", layer=None, head=None, sentence=None, point=None)

    def open_compare(
        self, b_layer: int, b_head: int, b_model: str | None = None, panes: str = "heads"
    ) -> UrlState:
        """Pane A keeps the open head; pane B shows (b_layer, b_head) of b_model (this model);
        with `panes="matrices"` both panes show their model's whole matrix."""
        return replace(
            self,
            view="compare",
            layer=self.layer or 0,
            head=self.head or 0,
            b_model=b_model or self.b_model or self.model,
            b_layer=b_layer,
            b_head=b_head,
            sentence=None,
            point=None,
            panes=panes,
        )

    def pin(self, point: int | None) -> UrlState:
        return replace(self, point=point)

    def open_sentence(
        self, sentence: int, scope: str | None = None, hide_first: bool | None = None
    ) -> UrlState:
        return replace(
            self,
            view="sentence",
            sentence=sentence,
            scope=scope or self.scope,
            hide_first=self.hide_first if hide_first is None else hide_first,
            patch=None,
            point=None,
        )

    def select_patch(self, patch: int) -> UrlState:
        return replace(self, patch=patch)


def _int(
    value: str | None, default: int | None, allowed: range | tuple | None = None
) -> int | None:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    # (`None in range(…)` would compare against every number in it: 20 ms per URL parse)
    if allowed is not None and number not in allowed:
        return default
    return number


def _ratio(value: str | None) -> float:
    try:
        wanted = round(float(value), 4) if value is not None else 1.0
    except ValueError:
        return 1.0
    return wanted if wanted in RATIOS else 1.0


WITH_HEAD = ("head", "sentence", "compare")  # the views that show a head (similarity: all)


def parse(search: str | None) -> UrlState:
    """Tolerant: anything unknown or malformed falls back to its default."""
    raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    base = UrlState()
    views = ("head", "sentence", "similarity", "compare")
    view = raw.get("view") if raw.get("view") in views else "matrix"
    layer = _int(raw.get("layer"), None, range(0, 10_000))
    head = _int(raw.get("head"), None, range(0, 10_000))
    sentence = _int(raw.get("sentence"), None, range(0, 1_000_000))
    if view in WITH_HEAD and (layer is None or head is None):
        view, layer, head = "matrix", None, None
    b_layer = _int(raw.get("b_layer"), layer, range(0, 10_000))
    b_head = _int(raw.get("b_head"), head, range(0, 10_000))
    if view == "sentence" and sentence is None:
        sentence = 0
    return UrlState(
        model=raw.get("model") or base.model,
        corpus=raw.get("corpus") or base.corpus,
        method=raw["method"] if raw.get("method") in METHODS else base.method,
        dims=_int(raw.get("dims"), 2, (2, 3)),
        translate=raw.get("translate", "1") != "0",
        scale=raw.get("scale", "1") != "0",
        key_ratio=_ratio(raw.get("key_ratio")),
        color=raw["color"] if raw.get("color") in SCHEMES else base.color,
        align=raw["align"] if raw.get("align") in REFERENCES else base.align,
        view=view,
        layer=layer if view in WITH_HEAD else None,
        head=head if view in WITH_HEAD else None,
        sentence=sentence if view == "sentence" else None,
        scope=raw["scope"] if raw.get("scope") in SCOPES else "head",
        hide_first=raw.get("hide_first") == "1",
        patch=_int(raw.get("patch"), None, range(0, 100_000)) if view == "sentence" else None,
        search=raw.get("search", "")[:200],
        regex=raw.get("regex") == "1",
        case=raw.get("case") == "1",
        whole=raw.get("whole") == "1",
        point=_int(raw.get("point"), None, range(0, 10_000_000)) if view == "head" else None,
        generate=_int(raw.get("generate"), 0, range(0, MAX_GENERATE + 1)),
        hide_generated=raw.get("hide_generated") == "1",
        b_model=(raw.get("b_model") or raw.get("model") or base.model)
        if view == "compare"
        else None,
        b_layer=b_layer if view == "compare" else None,
        b_head=b_head if view == "compare" else None,
        panes="matrices" if view == "compare" and raw.get("panes") == "matrices" else "heads",
    )


def not_understood(search: str | None) -> list[str]:
    """The link's parameters that parse() could not use as given (unknown names, malformed or
    out-of-range values), as `name=value`, in the link's order."""
    raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    used = {k: v[-1] for k, v in parse_qs(parse(search).to_search().lstrip("?")).items()}
    return [f"{k}={v}" for k, v in raw.items() if used.get(k) != v]


def link_note(search: str | None, shown: int = 3) -> str:
    """One sentence on what of the link was not understood ('' when all of it was)."""
    bad = not_understood(search)
    if not bad:
        return ""
    names = [b if len(b) <= 40 else b[:39] + "…" for b in bad[:shown]]
    more = f" and {len(bad) - shown} more" if len(bad) > shown else ""
    return (
        f"This link’s {', '.join(names)}{more} could not be used: the page shows the defaults "
        "instead (choose them in the controls)."
    )
