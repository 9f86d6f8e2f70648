"""The view's state as a URL query string, so a link reproduces what you see. Pure Python."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import parse_qs, urlencode

from dashboard.figures.colors import SCHEMES
from dashboard.models.corpora import DEFAULT_CORPUS
from dashboard.models.registry import DEFAULT_MODEL
from dashboard.projection.methods import METHODS


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

    def to_search(self) -> str:
        query = {k: v for k, v in asdict(self).items() if v is not None}
        for flag in ("translate", "scale"):
            query[flag] = int(query[flag])
        if self.view != "head":
            query.pop("view")
            query.pop("layer", None)
            query.pop("head", None)
        return "?" + urlencode(query)

    def open_head(self, layer: int, head: int) -> UrlState:
        return replace(self, view="head", layer=layer, head=head)

    def close_head(self) -> UrlState:
        return replace(self, view="matrix", layer=None, head=None)


def _int(
    value: str | None, default: int | None, allowed: range | tuple | None = None
) -> int | None:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    if allowed is not None and number not in allowed:
        return default
    return number


def parse(search: str | None) -> UrlState:
    """Tolerant: anything unknown or malformed falls back to its default."""
    raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    base = UrlState()
    view = "head" if raw.get("view") == "head" else "matrix"
    layer = _int(raw.get("layer"), None, range(0, 10_000))
    head = _int(raw.get("head"), None, range(0, 10_000))
    if view == "head" and (layer is None or head is None):
        view, layer, head = "matrix", None, None
    return UrlState(
        model=raw.get("model") or base.model,
        corpus=raw.get("corpus") or base.corpus,
        method=raw["method"] if raw.get("method") in METHODS else base.method,
        dims=_int(raw.get("dims"), 2, (2, 3)),
        translate=raw.get("translate", "1") != "0",
        scale=raw.get("scale", "1") != "0",
        color=raw["color"] if raw.get("color") in SCHEMES else base.color,
        view=view,
        layer=layer if view == "head" else None,
        head=head if view == "head" else None,
    )
