"""The view's state as a URL query string, so a link reproduces what you see. Pure Python."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import parse_qs, urlencode

from dashboard.figures.colors import SCHEMES
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL
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
    color: str = "role"
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

    def to_search(self) -> str:
        query = {k: v for k, v in asdict(self).items() if v is not None}
        for flag in ("translate", "scale", "hide_first", "regex", "case", "whole"):
            query[flag] = int(query[flag])
        if not self.search:
            for name in ("search", "regex", "case", "whole"):
                query.pop(name)
        if self.view == "matrix":
            for name in ("view", "layer", "head"):
                query.pop(name, None)
        if self.view != "sentence":
            for name in ("sentence", "scope", "hide_first", "patch"):
                query.pop(name, None)
        if self.view != "head":
            query.pop("point", None)
        return "?" + urlencode(query)

    def open_head(self, layer: int, head: int) -> UrlState:
        return replace(self, view="head", layer=layer, head=head, sentence=None, point=None)

    def close_head(self) -> UrlState:
        return replace(self, view="matrix", layer=None, head=None, sentence=None, point=None)

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


def parse(search: str | None) -> UrlState:
    """Tolerant: anything unknown or malformed falls back to its default."""
    raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    base = UrlState()
    view = raw.get("view") if raw.get("view") in ("head", "sentence") else "matrix"
    layer = _int(raw.get("layer"), None, range(0, 10_000))
    head = _int(raw.get("head"), None, range(0, 10_000))
    sentence = _int(raw.get("sentence"), None, range(0, 1_000_000))
    if view != "matrix" and (layer is None or head is None):
        view, layer, head = "matrix", None, None
    if view == "sentence" and sentence is None:
        sentence = 0
    return UrlState(
        model=raw.get("model") or base.model,
        corpus=raw.get("corpus") or base.corpus,
        method=raw["method"] if raw.get("method") in METHODS else base.method,
        dims=_int(raw.get("dims"), 2, (2, 3)),
        translate=raw.get("translate", "1") != "0",
        scale=raw.get("scale", "1") != "0",
        color=raw["color"] if raw.get("color") in SCHEMES else base.color,
        view=view,
        layer=layer if view != "matrix" else None,
        head=head if view != "matrix" else None,
        sentence=sentence if view == "sentence" else None,
        scope=raw["scope"] if raw.get("scope") in SCOPES else "head",
        hide_first=raw.get("hide_first") == "1",
        patch=_int(raw.get("patch"), None, range(0, 100_000)) if view == "sentence" else None,
        search=raw.get("search", "")[:200],
        regex=raw.get("regex") == "1",
        case=raw.get("case") == "1",
        whole=raw.get("whole") == "1",
        point=_int(raw.get("point"), None, range(0, 10_000_000)) if view == "head" else None,
    )
