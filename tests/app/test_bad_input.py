"""Bad input, one table (issue 9): every way a user or an operator can hand QK Atlas something
wrong, and the one sentence that answers it.

Each case asserts that its answer holds the case's own words, is one sentence without a
traceback, and that nothing typed is lost (a refused upload never touches the text box). UI cases
go through the real Dash server (POST /_dash-update-component with the callback's inputs, as the
browser sends them) or, for figures, the callback's pure core; CLI cases run `python -m
dashboard`'s main() in this process; MODEL_DIRS cases read the registry that both the Model list
and `python -m dashboard models` show. The browser check (a refused upload keeps the typed text)
is tests/browser/test_browser_data.py::test_a_refused_upload_keeps_the_typed_text.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import re
import shutil
import struct
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from PIL import Image

from dashboard import catalog, cli, ids, worker_tasks
from dashboard.cache_keys import MapParams
from dashboard.config import Limits, Settings
from dashboard.errors import InputError
from dashboard.export_safety import FORMULA_STARTS, spreadsheet_safe
from dashboard.models.corpora import cut_notice
from dashboard.models.qk import TokenTable
from dashboard.models.registry import discover
from dashboard.search import REGEX_SECONDS, match_tokens

# small caps, so the cases over them stay small; messages are checked against these numbers
LIMITS = Limits(
    max_sentences=40, max_tokens=1_500, max_upload_bytes=1_000_000, max_images=5, max_megapixels=2
)
TYPED = "My own sentence, typed by hand.\nAnother one I would hate to lose."
HOSTILE = "She wrote <script>alert('x')</script> &amp; <img src=x onerror=alert(2)> here."
OUR_TAGS = {"b", "br", "sup", "extra"}  # the markup figures add themselves (hover, titles)


@dataclass
class World:
    """One app world for the whole table: settings, the real server's test client, the tiny
    model under MODEL_DIRS and a small extracted corpus with hostile text."""

    root: Path
    settings: Settings
    client: Any
    deps: list[dict]
    model_root: Path
    request: dict | None = None

    def folder(self, name: str) -> Path:
        path = self.root / "cases" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def call(
        self, trigger: str, output: str, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Runs the callback that `trigger` ("id.prop") fires and whose outputs include `output`
        (an id) over HTTP; returns the changed outputs as {"id.prop": value}."""
        dep = next(
            d
            for d in self.deps
            if trigger in [f"{i['id']}.{i['property']}" for i in d["inputs"]]
            and re.search(rf"(^|\.\.){re.escape(output)}\.", d["output"])
        )
        values = values or {}

        def spec(item: dict) -> dict:
            name = f"{item['id']}.{item['property']}"
            return {"id": item["id"], "property": item["property"], "value": values.get(name)}

        many = dep["output"].startswith("..")
        outs = [
            dict(zip(("id", "property"), o.rsplit(".", 1), strict=True))
            for o in dep["output"].strip(".").split("...")
        ]
        body = {
            "output": dep["output"],
            "outputs": outs if many else outs[0],
            "inputs": [spec(i) for i in dep["inputs"]],
            "state": [spec(s) for s in dep["state"]],
            "changedPropIds": [trigger],
        }
        response = self.client.post("/_dash-update-component", json=body)
        text = response.get_data(as_text=True)
        assert response.status_code in (200, 204), text
        assert "Traceback" not in text
        if response.status_code == 204:
            return {}
        changed = response.get_json()["response"]
        return {f"{i}.{p}": v for i, props in changed.items() for p, v in props.items()}

    def upload_text(self, raw: bytes, name: str, typed: str = TYPED) -> tuple[str, dict]:
        """A text upload into a box holding `typed`; (message, changed outputs)."""
        out = self.call(
            f"{ids.DATA_UPLOAD}.contents",
            ids.DATA_MESSAGE,
            {
                f"{ids.DATA_UPLOAD}.contents": data_url(raw),
                f"{ids.DATA_UPLOAD}.filename": name,
                f"{ids.DATA_TEXT}.value": typed,
                f"{ids.DATA_CORPORA}.data": [],
            },
        )
        return out.get(f"{ids.DATA_MESSAGE}.children", ""), out

    def refused_upload(self, raw: bytes, name: str) -> str:
        message, out = self.upload_text(raw, name)
        assert f"{ids.DATA_TEXT}.value" not in out, "the typed text must stay in the box"
        assert f"{ids.CORPUS}.value" not in out, "a refused file selects no corpus"
        return message

    def submit(self, text: str, known: list | None = None) -> tuple[str, dict]:
        out = self.call(
            f"{ids.DATA_SUBMIT}.n_clicks",
            ids.DATA_MESSAGE,
            {
                f"{ids.DATA_SUBMIT}.n_clicks": 1,
                f"{ids.DATA_TEXT}.value": text,
                f"{ids.DATA_CORPORA}.data": known or [],
            },
        )
        assert f"{ids.DATA_TEXT}.value" not in out, "submitting never rewrites the box"
        return out.get(f"{ids.DATA_MESSAGE}.children", ""), out

    def upload_images(self, files: list[tuple[bytes | str, str]]) -> tuple[str, dict]:
        out = self.call(
            f"{ids.DATA_IMAGES}.contents",
            ids.DATA_MESSAGE,
            {
                f"{ids.DATA_IMAGES}.contents": [
                    c if isinstance(c, str) else data_url(c, "image/png") for c, _ in files
                ],
                f"{ids.DATA_IMAGES}.filename": [n for _, n in files],
                f"{ids.DATA_CORPORA}.data": [],
            },
        )
        return out.get(f"{ids.DATA_MESSAGE}.children", ""), out

    def cli(self, *args: str, code: int = 2) -> tuple[str, str]:
        """`python -m dashboard ARGS` in this process, as configured by its environment;
        (stderr, stdout)."""
        env = {
            "QKATLAS_CACHE_DIR": str(self.settings.cache_dir),
            "MODEL_DIRS": str(self.model_root),
            "QKATLAS_MAX_SENTENCES": str(LIMITS.max_sentences),
            "QKATLAS_MAX_TOKENS": str(LIMITS.max_tokens),
            "QKATLAS_MAX_UPLOAD_BYTES": str(LIMITS.max_upload_bytes),
        }
        err, out = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, env),
            contextlib.redirect_stderr(err),
            contextlib.redirect_stdout(out),
        ):
            try:
                returned = cli.main(list(args))
            except SystemExit as exc:  # argparse's own usage errors
                returned = exc.code
        assert returned == code, err.getvalue()
        said = [
            line for line in err.getvalue().splitlines() if line.startswith(("error:", "note:"))
        ]
        if said or code:
            assert len(said) == 1, err.getvalue()  # one line, never a traceback
            return said[0], out.getvalue()
        return err.getvalue().strip(), out.getvalue()


def data_url(raw: bytes, kind: str = "text/plain") -> str:
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


def image_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png_chunks(width: int, height: int, idat: bytes, bit_depth: int = 1) -> bytes:
    """A PNG from its chunks (1-bit grey), for sizes PIL will not write (0×0, bombs)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def bomb_png() -> bytes:
    """20,000 × 20,000 pixels (400 megapixels) of zeros in about 50 KB: a real bomb."""
    side = 20_000
    row = b"\x00" * (1 + side // 8)  # filter byte + 1-bit pixels
    stream = zlib.compressobj(9)
    body = b"".join(stream.compress(row) for _ in range(side)) + stream.flush()
    return png_chunks(side, side, body)


def photo(size=(32, 24), mode="RGB") -> Image.Image:
    """A small image with structure (a gradient), so a lost or clipped channel shows."""
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    rgb = np.stack([np.tile(x, (size[1], 1))] * 3, axis=-1)
    return Image.fromarray(rgb).convert(mode)


# ---------------------------------------------------------------------------------------------
# the cases: each returns the one sentence the user (or the operator) is answered with


def binary_file(w: World) -> str:
    return w.refused_upload(image_bytes(photo()), "notes.txt")


def utf16_with_bom(w: World) -> str:
    return w.refused_upload("Une phrase.\nDeux.".encode("utf-16"), "notes.txt")


def utf16_without_bom(w: World) -> str:
    return w.refused_upload("One sentence.\nTwo.".encode("utf-16-le"), "notes.txt")


def latin1_text(w: World) -> str:
    return w.refused_upload("Le café est très bon.".encode("latin-1"), "notes.txt")


def empty_file(w: World) -> str:
    return w.refused_upload(b"", "empty.txt")


def whitespace_file(w: World) -> str:
    return w.refused_upload(b" \n\t\r\n  \n", "blank.txt")


def empty_box(w: World) -> str:
    return w.submit("")[0]


def whitespace_box(w: World) -> str:
    return w.submit("  \n\t \n   ")[0]


def not_text_suffix(w: World) -> str:
    return w.refused_upload(b"%PDF-1.7 ...", "paper.pdf")


def broken_base64_text(w: World) -> str:
    out = w.call(
        f"{ids.DATA_UPLOAD}.contents",
        ids.DATA_MESSAGE,
        {
            f"{ids.DATA_UPLOAD}.contents": "data:text/plain;base64,SGVsbG8*!!",
            f"{ids.DATA_UPLOAD}.filename": "notes.txt",
            f"{ids.DATA_TEXT}.value": TYPED,
        },
    )
    assert f"{ids.DATA_TEXT}.value" not in out
    return out[f"{ids.DATA_MESSAGE}.children"]


def over_upload_cap(w: World) -> str:
    return w.refused_upload(b"word " * (LIMITS.max_upload_bytes // 4), "huge.txt")


def sentence_cap(w: World) -> str:
    return w.submit("\n".join(["Short line."] * (LIMITS.max_sentences + 1)))[0]


def token_cap(w: World) -> str:
    line = " ".join(["word"] * 60)  # ≈ 80 tokens a line
    n_lines = LIMITS.max_tokens // 60
    assert n_lines <= LIMITS.max_sentences, "over the token cap, not the sentence cap"
    return w.submit("\n".join([line] * n_lines))[0]


def csv_without_text_column(w: World) -> str:
    return w.refused_upload(b"name,label\nAda,1\nAlan,2\n", "people.csv")


def csv_without_rows(w: World) -> str:
    return w.refused_upload(b"text,label\n", "header-only.csv")


def csv_formula_cells(w: World) -> str:
    """Cells that a spreadsheet would run are kept as text, and exported back neutralised."""
    body = "text,label\n=1+2 is three,a\n+cmd opens,b\n-2 minus two,a\n@SUM(A1) sums,b\n"
    message, out = w.upload_text(body.encode(), "formulas.csv", typed="")
    corpus_id = out[f"{ids.CORPUS}.value"]
    assert catalog.current().corpus(corpus_id).sentences[0] == "=1+2 is three"
    target = w.folder("formulas") / "head.csv"
    w.cli(
        "project",
        "--model",
        "local/tiny-bert",
        "--corpus",
        corpus_id,
        "--layer",
        "0",
        "--head",
        "0",
        "--out",
        str(target),
        code=0,
    )
    tokens = [row["token"] for row in csv.DictReader(target.open(encoding="utf-8"))]
    assert {"'=", "'+", "'-", "'@"} <= set(tokens), "each formula start arrives as text"
    assert not any(t.startswith(FORMULA_STARTS) for t in tokens)
    assert [spreadsheet_safe(c) for c in ("=1", "+1", "-1", "@a", "a=1", 3)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "a=1",
        3,
    ]
    return message


def path_in_the_name(w: World) -> str:
    message, out = w.upload_text(b"One line.\nTwo lines.", "../../x.txt", typed="")
    assert "../" not in message and out[f"{ids.DATA_TEXT}.value"] == "One line.\nTwo lines."
    return message


def same_text_twice(w: World) -> str:
    first, out = w.submit("The same two lines.\nAgain and again.")
    known = out[f"{ids.DATA_CORPORA}.data"]
    second, again = w.submit("The same two lines.\nAgain and again.", known)
    assert [o["value"] for o in again[f"{ids.DATA_CORPORA}.data"]] == [o["value"] for o in known], (
        "the same corpus is listed once"
    )
    assert first == second
    return second


def long_sentence(w: World) -> str:
    """A sentence over the model's context is cut, and the cut is said, naming the sentence."""
    svc = catalog.current()
    long = " ".join(["alpha"] * 200)
    _, out = w.submit(f"A short first sentence.\n{long}\nA short last one.")
    corpus_id = out[f"{ids.CORPUS}.value"]
    subject, corpus = svc.subject("local/tiny-bert", corpus_id)
    worker_tasks.extract_task(subject, corpus)
    table = svc.tokens(subject)
    context = json.loads((w.model_root / "tiny-bert" / "config.json").read_text())[
        "max_position_embeddings"
    ]
    assert int((table.sentence == 1).sum()) == context, "cut to the model's context"
    notice = cut_notice(subject.model.name, svc.store.load_meta(subject.tokens_key), corpus)
    request = {"corpus": corpus_id, "key": subject.matrix_key(MapParams())}
    result = {"key": request["key"], "status": "done", "message": notice}
    alert = w.call(
        f"{ids.JOB_RESULT}.data",
        ids.ALERT,
        {f"{ids.REQUEST}.data": request, f"{ids.JOB_RESULT}.data": result},
    )
    assert alert[f"{ids.ALERT}.hidden"] is False and "warning" in alert[f"{ids.ALERT}.className"]
    assert f"first {context} tokens" in notice and "sentence 0" not in notice.lower()
    return alert[f"{ids.ALERT}.children"]


def long_sentence_cli(w: World) -> str:
    text = w.folder("long-cli") / "long.txt"
    text.write_text("A short one.\n" + " ".join(["beta"] * 200) + "\n", encoding="utf-8")
    target = w.folder("long-cli") / "qk.npz"
    err, out = w.cli(
        "extract",
        "--model",
        "local/tiny-bert",
        "--text-file",
        str(text),
        "--out",
        str(target),
        code=0,
    )
    assert target.is_file() and "wrote" in out
    return err.removeprefix("note: ")


def look_alikes(w: World) -> str:
    """NFD text is stored NFC, and an NFD search finds what the NFC one finds."""
    nfd = unicodedata.normalize("NFD", "Café crème and naïve résumé.")
    message, out = w.submit(nfd)
    corpus = catalog.current().corpus(out[f"{ids.CORPUS}.value"])
    assert corpus.sentences[0] == unicodedata.normalize("NFC", nfd) != nfd
    table = TokenTable(
        token=np.array(["café", "cafe", "crème"]),
        sentence=np.zeros(3, np.int32),
        position=np.arange(3, dtype=np.int32),
        length=np.full(3, 3, np.int32),
        special=np.zeros(3, bool),
    )
    nfd_hits = match_tokens(table, unicodedata.normalize("NFD", "café"))
    assert list(nfd_hits) == list(match_tokens(table, "café")) == [True, False, False]
    return message


def right_to_left_and_emoji(w: World) -> str:
    text = "שלום עולם means hello world 👋🏽.\nمرحبا بالعالم 🌍 too."
    message, out = w.submit(text)
    assert catalog.current().corpus(out[f"{ids.CORPUS}.value"]).sentences == tuple(
        text.splitlines()
    )
    return message


def html_everywhere(w: World) -> str:
    """<script> and entities: escaped in every figure string Plotly renders as HTML (hover,
    titles, labels), shown as text in messages (Dash sets text, never HTML)."""
    from dashboard.views import head, matrix, sentence

    request = w.request
    strings: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            strings.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    figure, _ = matrix.render(request, "role", None, patch_ok=False)
    walk(figure)
    view = {"view": "head", "layer": 0, "head": 0, "point": None}
    walk(head.render(view, request, "role", None)[:3])
    n = int(catalog.current().corpus(request["corpus"]).size)
    for i in range(n):
        walk(sentence.render({**view, "view": "sentence", "sentence": i}, request, None))
    walk(catalog.current().hover(*_subject_and_table(request)))
    assert any("&lt;" in s and "script" in s for s in strings), "the hostile sentence is shown"
    tags = {t.lower() for s in strings for t in re.findall(r"</?\s*([A-Za-z]+)", s)}
    assert tags <= OUR_TAGS, f"only the app's own markup reaches Plotly: {tags - OUR_TAGS}"
    out = w.call(
        f"{ids.SEARCH}.value",
        ids.SEARCH_INFO,
        {f"{ids.REQUEST}.data": request, f"{ids.SEARCH}.value": "<script>"},
    )
    assert "<script>" in json.dumps(out), "a search is echoed as text (React escapes it)"
    message, _ = w.upload_text(image_bytes(photo()), "<img src=x onerror=alert(1)>.txt")
    return message


def _subject_and_table(request: dict):
    subject, _ = catalog.current().subject(request["model"], request["corpus"])
    return subject, catalog.current().tokens(subject)


def search(w: World, text: str, options: list[str] | None = None) -> str:
    out = w.call(
        f"{ids.SEARCH}.value",
        ids.SEARCH_INFO,
        {
            f"{ids.REQUEST}.data": w.request,
            f"{ids.SEARCH}.value": text,
            f"{ids.SEARCH_OPTIONS}.value": options or [],
        },
    )
    answer = out[f"{ids.SEARCH_INFO}.children"]
    return (
        answer
        if isinstance(answer, str)
        else "".join(
            a if isinstance(a, str) else a.get("props", {}).get("children", "") or ""
            for a in answer
        )
    )


def long_tokens() -> TokenTable:
    tokens = ["a" * 40 + "!"] * 50 + ["aaa"]
    n = len(tokens)
    return TokenTable(
        token=np.array(tokens),
        sentence=np.zeros(n, np.int32),
        position=np.arange(n, dtype=np.int32),
        length=np.full(n, n, np.int32),
        special=np.zeros(n, bool),
    )


def nested_quantifier(w: World) -> str:
    """(a+)+$ against long tokens: the `regex` engine answers at once (the stdlib's hangs)."""
    started = time.monotonic()
    hits = match_tokens(long_tokens(), "(a+)+$", regex=True)
    assert time.monotonic() - started < REGEX_SECONDS and list(np.flatnonzero(hits)) == [50]
    return search(w, "(a+)+$", ["regex"])


def catastrophic_regex(w: World) -> str:
    """(a|a)+$ backtracks without end even there: stopped after REGEX_SECONDS."""
    started = time.monotonic()
    with pytest.raises(InputError) as refused:
        match_tokens(long_tokens(), "(a|a)+$", regex=True)
    assert time.monotonic() - started < REGEX_SECONDS + 1.5, "the worker is not held"
    return str(refused.value)


def invalid_regex(w: World) -> str:
    return search(w, "(unclosed", ["regex"])


def ten_thousand_characters(w: World) -> str:
    return search(w, "x" * 10_000)


def url(w: World, query: str) -> dict:
    return w.call(f"{ids.URL}.search", ids.URL_NOTE, {f"{ids.URL}.search": query})


def malformed_query(w: World) -> str:
    out = url(w, "?layer=abc&head=%ZZ&dims=7&&=&view=head&method=<svg>")
    assert out[f"{ids.VIEW}.data"]["view"] == "matrix", "the page opens on its defaults"
    assert out[f"{ids.URL_NOTE}.hidden"] is False
    return out[f"{ids.URL_NOTE}.children"]


def layer_out_of_range(w: World) -> str:
    from dashboard.views import head

    out = url(
        w, f"?model={w.request['model']}&corpus={w.request['corpus']}&view=head&layer=99&head=0"
    )
    view = out[f"{ids.VIEW}.data"]
    assert (view["layer"], view["head"]) == (99, 0)
    return head.render(view, w.request, "role", None)[2]


def head_out_of_range_sentence_view(w: World) -> str:
    from dashboard.views import sentence

    view = {"view": "sentence", "layer": 0, "head": 77, "sentence": 0}
    return sentence.render(view, w.request, None)[1]


def unknown_model(w: World) -> str:
    out = w.call(
        f"{ids.MODEL}.value",
        ids.REQUEST,
        {
            f"{ids.MODEL}.value": "nope",
            f"{ids.CORPUS}.value": "default",
            f"{ids.METHOD}.value": "pca",
            f"{ids.DIMS}.value": 2,
            f"{ids.OPTIONS}.value": [],
        },
    )
    request = out[f"{ids.REQUEST}.data"]
    alert = w.call(f"{ids.REQUEST}.data", ids.ALERT, {f"{ids.REQUEST}.data": request})
    return alert[f"{ids.ALERT}.children"]


def unknown_corpus(w: World) -> str:
    out = w.call(
        f"{ids.CORPUS}.value",
        ids.REQUEST,
        {
            f"{ids.MODEL}.value": "local/tiny-bert",
            f"{ids.CORPUS}.value": "user-ffffffffffff",
            f"{ids.METHOD}.value": "pca",
            f"{ids.DIMS}.value": 2,
        },
    )
    return out[f"{ids.REQUEST}.data"]["error"]


def refused_image(w: World, raw: bytes | str, name: str = "upload.png") -> str:
    message, out = w.upload_images([(raw, name)])
    assert f"{ids.CORPUS}.value" not in out, "a refused image selects no corpus"
    return message


def stored_image(w: World, out: dict) -> np.ndarray:
    corpus = catalog.current().corpus(out[f"{ids.CORPUS}.value"])
    (path,) = corpus.images
    assert Path(path).parent == w.settings.cache_dir / "images"
    with Image.open(path) as image:
        assert image.mode == "RGB" and image.format == "PNG"
        return np.asarray(image)


def decompression_bomb(w: World) -> str:
    return refused_image(w, bomb_png())


def over_megapixels(w: World) -> str:
    side = int((LIMITS.max_megapixels * 1.25e6) ** 0.5)  # 2.5 megapixels over a cap of 2
    return refused_image(w, image_bytes(Image.new("1", (side, side))))


def cmyk_jpeg(w: World) -> str:
    message, out = w.upload_images([(image_bytes(photo(mode="CMYK"), "JPEG"), "print.jpg")])
    pixels = stored_image(w, out)
    assert pixels[..., 0].max() - pixels[..., 0].min() > 100, "the gradient survives"
    return message


def sixteen_bit_png(w: World) -> str:
    ramp = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (24, 1))
    message, out = w.upload_images([(image_bytes(Image.fromarray(ramp)), "scan16.png")])
    grey = stored_image(w, out)[..., 0]
    assert grey[0, 0] < 10 and grey[0, -1] > 245 and 100 < grey[0, 16] < 160, "scaled, not clipped"
    return message


def gif_renamed(w: World) -> str:
    return refused_image(w, image_bytes(photo(), "GIF"), "anim.png")


def svg_renamed(w: World) -> str:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><script>1</script></svg>'
    return refused_image(w, svg, "drawing.png")


def truncated_jpeg(w: World) -> str:
    raw = image_bytes(photo((64, 64)), "JPEG")
    return refused_image(w, raw[: len(raw) // 2], "cut.jpg")


def zero_pixels(w: World) -> str:
    return refused_image(w, png_chunks(0, 0, zlib.compress(b"")), "zero.png")


def one_pixel(w: World) -> str:
    return refused_image(w, image_bytes(Image.new("RGB", (1, 1))), "dot.png")


def broken_base64_image(w: World) -> str:
    return refused_image(w, "data:image/png;base64,iVBORw0KGgo*%%", "photo.png")


def same_image_twice(w: World) -> str:
    raw = image_bytes(photo())
    message, out = w.upload_images([(raw, "a.png"), (raw, "b.png")])
    assert len(catalog.current().corpus(out[f"{ids.CORPUS}.value"]).images) == 1
    return message


def image_path_in_the_name(w: World) -> str:
    message, out = w.upload_images([(image_bytes(photo()), "../../evil.png")])
    stored_image(w, out)  # inside the cache's images folder, named by content
    assert not (w.settings.cache_dir.parent / "evil.png").exists()
    assert "../" not in message
    return message


def too_many_images(w: World) -> str:
    raw = image_bytes(photo())
    message, out = w.upload_images([(raw, f"{i}.png") for i in range(LIMITS.max_images + 1)])
    assert f"{ids.CORPUS}.value" not in out
    return message


def rejected(w: World, name: str) -> str:
    """The registry's reason for one MODEL_DIRS entry, as the Model list and the CLI show it."""
    from dashboard.components.controls import model_options

    registry = discover((w.model_root,), None)
    reason = next(r.reason for r in registry.rejected if Path(r.path).name == name)
    labels = [o["label"] for o in model_options(registry) if o.get("disabled")]
    assert any(reason in label for label in labels), "listed, greyed out, in the Model list"
    err, _ = w.cli("models", code=0)
    assert reason in err, "and by `python -m dashboard models`"
    return reason


def pickle_only(w: World) -> str:
    return rejected(w, "pickled")


def escaping_symlink(w: World) -> str:
    return rejected(w, "elsewhere")


def half_written_safetensors(w: World) -> str:
    return rejected(w, "half-written")


def config_disagrees(w: World) -> str:
    return rejected(w, "wrong-config")


def config_layer_count(w: World) -> str:
    return rejected(w, "wrong-layers")


def unwritable_out(w: World) -> str:
    return w.cli(
        "extract", "--model", "local/tiny-bert", "--corpus", "default", "--out", "/proc/qk.npz"
    )[0]


def out_in_missing_folder(w: World) -> str:
    missing = w.folder("out") / "no-such-folder" / "qk.npz"
    return w.cli(
        "extract", "--model", "local/tiny-bert", "--corpus", "default", "--out", str(missing)
    )[0]


def cli_binary_text_file(w: World) -> str:
    binary = w.folder("cli-binary") / "photo.txt"
    binary.write_bytes(image_bytes(photo()))
    out = w.folder("cli-binary") / "qk.npz"
    return w.cli(
        "extract", "--model", "local/tiny-bert", "--text-file", str(binary), "--out", str(out)
    )[0]


def cli_layer_out_of_range(w: World) -> str:
    out = w.folder("cli-layer") / "head.npz"
    return w.cli(
        "project", "--model", "local/tiny-bert", "--corpus", "default", "--layer", "9",
        "--head", "0", "--out", str(out),
    )[0]  # fmt: skip


@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[World], str]
    says: str  # the specific words of its answer ({limits} fields filled from LIMITS)


CASES = [
    Case("binary file as .txt", binary_file, "notes.txt is binary, not text: upload plain UTF-8"),
    Case("UTF-16 text with BOM", utf16_with_bom, "notes.txt is UTF-16 text: save it as UTF-8"),
    Case("UTF-16 text without BOM", utf16_without_bom, "notes.txt is UTF-16 text: save it as UTF-8"),
    Case("Latin-1 text", latin1_text, "notes.txt is not UTF-8 text (undecodable byte at offset 6)"),
    Case("empty file", empty_file, "empty.txt is empty: upload text with one sentence per line"),
    Case("whitespace-only file", whitespace_file, "blank.txt is empty"),
    Case("empty text box", empty_box, "The text is empty: paste at least one sentence"),
    Case("whitespace-only text box", whitespace_box, "The text is empty: paste at least one"),
    Case("PDF as upload", not_text_suffix, "paper.pdf is not a .txt or .csv file: upload plain"),
    Case("broken base64 (text)", broken_base64_text, "notes.txt could not be read: upload it again"),
    Case("file over the size cap", over_upload_cap, "huge.txt (1.2 MB) is over the limit of 1.0 MB (set QKATLAS_MAX_UPLOAD_BYTES"),
    Case(
        "over the sentence cap",
        sentence_cap,
        "{n_sentences:,} sentences is over the limit of {max_sentences:,} (set QKATLAS_MAX_SENTENCES",
    ),
    Case("over the token cap", token_cap, "is over the limit of {max_tokens:,} (set QKATLAS_MAX_TOKENS"),
    Case("CSV without a text column", csv_without_text_column, "people.csv needs a column named “text” (found: name, label)"),
    Case("CSV with a header only", csv_without_rows, "header-only.csv has no rows under its header"),
    Case("CSV cells =, +, -, @", csv_formula_cells, "Added “formulas.csv (4 sentences)”"),
    Case("upload named ../../x.txt", path_in_the_name, "Loaded x.txt: check the sentences"),
    Case("the same text twice", same_text_twice, "Added “Your sentences (2 sentences)”"),
    Case("a sentence over the context", long_sentence, "Sentence 1 (“alpha alpha alpha alpha alpha …”) is longer than tiny-bert’s"),
    Case("…and on the command line", long_sentence_cli, "Sentence 1 (“beta beta beta beta beta …”) is longer than tiny-bert’s"),
    Case("NFC/NFD look-alikes", look_alikes, "Added “Your sentences (1 sentences)”"),
    Case("right-to-left text and emoji", right_to_left_and_emoji, "Added “Your sentences (2 sentences)”"),
    Case("<script> and entities", html_everywhere, "<img src=x onerror=alert(1)>.txt is binary, not text"),
    Case("(a+)+$ on long tokens", nested_quantifier, "No token matches “(a+)+$”"),
    Case("catastrophic regex", catastrophic_regex, "The regular expression took over 0.5 s on this corpus: simplify it"),
    Case("invalid regex", invalid_regex, "Not a valid regular expression (missing ) at position 9): fix it or untick “regex”"),
    Case("10,000-character search", ten_thousand_characters, "The search is 10,000 characters long: shorten it to 200"),
    Case("malformed query string", malformed_query, "This link’s layer=abc, head=%ZZ, dims=7 and 2 more could not be used"),
    Case("layer out of range in the URL", layer_out_of_range, "tiny-bert has layers 0–1 and heads 0–3: there is no layer 99 head 0"),
    Case("head out of range, sentence view", head_out_of_range_sentence_view, "there is no layer 0 head 77"),
    Case("unknown model id", unknown_model, "unknown model 'nope' (known: "),
    Case("unknown corpus id", unknown_corpus, "unknown corpus 'user-ffffffffffff': choose the default or add your sentences"),
    Case("decompression-bomb PNG", decompression_bomb, "upload.png (far too many pixels) is over the limit of {max_megapixels} megapixels"),
    Case("PNG over the megapixel cap", over_megapixels, "upload.png (2.5 megapixels) is over the limit of {max_megapixels} megapixels (set QKATLAS_MAX_MEGAPIXELS"),
    Case("CMYK JPEG", cmyk_jpeg, "Added “Your images (1 images)”: choose the vision model"),
    Case("16-bit PNG", sixteen_bit_png, "Added “Your images (1 images)”: choose the vision model"),
    Case("GIF renamed .png", gif_renamed, "anim.png is a GIF image: upload PNG or JPEG images"),
    Case("SVG renamed .png", svg_renamed, "drawing.png is not a readable PNG or JPEG image: export it again"),
    Case("truncated JPEG", truncated_jpeg, "cut.jpg is not a readable PNG or JPEG image: export it again"),
    Case("0×0 image", zero_pixels, "zero.png is not a readable PNG or JPEG image"),
    Case("1×1 image", one_pixel, "dot.png is 1×1 pixels: upload an image at least 14 pixels on each side"),
    Case("broken base64 (image)", broken_base64_image, "photo.png could not be read: upload it again"),
    Case("the same image twice", same_image_twice, "(b.png repeats a.png: kept once)"),
    Case("image named ../../evil.png", image_path_in_the_name, "Added “Your images (1 images)”"),
    Case("too many images", too_many_images, "6 images is over the limit of {max_images} (set QKATLAS_MAX_IMAGES"),
    Case("MODEL_DIRS: pickle-only weights", pickle_only, "only pickle weights (pytorch_model.bin); QK Atlas loads safetensors only"),
    Case("MODEL_DIRS: symlink that escapes", escaping_symlink, "elsewhere is outside the configured model directories (MODEL_DIRS): move the model inside one"),
    Case("MODEL_DIRS: half-written safetensors", half_written_safetensors, "model.safetensors is cut short"),
    Case("MODEL_DIRS: config shapes disagree", config_disagrees, "config.json (hidden size 64, heads × d_head = 64) disagrees with the weights"),
    Case("MODEL_DIRS: config layer count", config_layer_count, "config.json says 5 layers but the weights hold 2"),
    Case("CLI: unwritable --out", unwritable_out, "error: cannot write /proc/qk.npz"),
    Case("CLI: --out in a missing folder", out_in_missing_folder, "no-such-folder does not exist (create the folder or choose another --out)"),
    Case("CLI: binary --text-file", cli_binary_text_file, "error: photo.txt is binary, not text"),
    Case("CLI: layer out of range", cli_layer_out_of_range, "error: tiny-bert has layers 0–1 and heads 0–3: there is no layer 9 head 0"),
]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory, web_app, tiny_bert_dir) -> Iterator[World]:
    root = tmp_path_factory.mktemp("bad-input")
    models = root / "models"
    models.mkdir()
    shutil.copytree(tiny_bert_dir, models / "tiny-bert")
    _bad_checkpoints(models, tiny_bert_dir, root)
    settings = Settings(
        cache_dir=root / "cache", model_dirs=(models,), warm_umap=False, limits=LIMITS
    )
    before = catalog._current
    svc = catalog.configure(settings)
    client = web_app.server.test_client()
    w = World(root, settings, client, client.get("/_dash-dependencies").get_json(), models)
    _, out = w.submit(f"The quick brown fox jumps.\n{HOSTILE}\nCafé au lait, s'il vous plaît.")
    corpus_id = out[f"{ids.CORPUS}.value"]
    from dashboard.views.request import resolve_request

    subject, corpus = svc.subject("local/tiny-bert", corpus_id)
    worker_tasks.extract_task(subject, corpus)
    for layer, head in subject.heads():
        worker_tasks.project_task(subject, layer, head, MapParams())
    w.request = resolve_request("local/tiny-bert", corpus_id, "pca", 2, ["translate", "scale"])
    yield w
    catalog._current = before  # the app's own catalog for the modules after this one


def _bad_checkpoints(models: Path, good: Path, root: Path) -> None:
    """MODEL_DIRS entries an operator might leave there, each refused with its reason."""
    pickled = models / "pickled"
    shutil.copytree(good, pickled)
    for weights in pickled.glob("*.safetensors"):
        weights.rename(pickled / "pytorch_model.bin")
    outside = root / "outside" / "model"
    shutil.copytree(good, outside)
    (models / "elsewhere").symlink_to(outside, target_is_directory=True)
    half = models / "half-written"
    shutil.copytree(good, half)
    weights = half / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    for name, change in (
        ("wrong-config", {"hidden_size": 64}),
        ("wrong-layers", {"num_hidden_layers": 5}),
    ):
        folder = models / name
        shutil.copytree(good, folder)
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **change}))


@pytest.fixture(autouse=True)
def _the_worlds_catalog(world):
    """A CLI case reconfigures the process's catalog: each case starts on the world's."""
    catalog._current = None
    catalog.configure(world.settings)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_answered_with_one_sentence_that_says_what_to_do(world, case):
    started = time.monotonic()
    answer = case.run(world)
    fields = {
        **LIMITS.__dict__,
        "n_sentences": LIMITS.max_sentences + 1,
    }
    assert isinstance(answer, str), answer
    assert case.says.format(**fields) in answer, answer
    assert "Traceback" not in answer and "\n" not in answer.strip(), answer
    unquoted = re.sub(r"“[^”]*”|\([^)]*\)", "", answer)
    assert not re.search(r"[.!?] +[A-Z]", unquoted), f"one sentence, not several: {answer}"
    assert time.monotonic() - started < 20, "no case may hold a worker"


def test_the_table_covers_thirty_cases_and_the_issue_list():
    assert len(CASES) >= 30
    listed = " ".join(c.id for c in CASES).lower()
    for words in (
        "binary", "utf-16", "latin-1", "empty", "whitespace", "context", "token cap",
        "sentence cap", "text column", "=, +, -, @", "../../x.txt", "bomb", "cmyk", "16-bit",
        "gif", "svg", "truncated", "0×0", "1×1", "base64", "twice", "--out", "layer out of range",
        "unknown model", "unknown corpus", "malformed query", "regex", "10,000", "nfc/nfd",
        "right-to-left", "emoji", "<script>", "pickle", "symlink", "half-written", "config",
    ):  # fmt: skip
        assert words in listed, words
