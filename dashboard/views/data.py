"""The user's own data: sentences (paste, .txt, .csv) or images, validated, stored, selectable."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging

from dash import Input, Output, State, callback, ctx, no_update

from dashboard import ids
from dashboard.auth import current_user
from dashboard.catalog import current
from dashboard.errors import InputError, over_limit
from dashboard.models.corpora import (
    DEFAULT_CORPUS,
    DEFAULT_IMAGES,
    Corpus,
    decode_upload,
    upload_name,
    user_corpus,
)
from dashboard.models.images import image_corpus, save_upload

MAPPING = "mapping it now."  # said until the corpus's job ends, then replaced by one of these
ENDED = {
    "done": "mapped: every head is drawn.",
    "error": "mapping failed (the message above says why).",
    "cancelled": "mapping cancelled; heads finished so far are kept.",
}

BUILT_IN = {
    "text": {"label": "Wikipedia sample (default)", "value": DEFAULT_CORPUS},
    "image": {"label": "Sample photos (default)", "value": DEFAULT_IMAGES},
}


log = logging.getLogger(__name__)


def _raw(contents: str, name: str) -> bytes:
    try:
        return base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error) as exc:
        raise InputError(f"{name} could not be read: upload it again.") from exc


def read_upload(contents: str, filename: str | None) -> tuple[str, list[str] | None]:
    """dcc.Upload's data URL → (one sentence per line, labels or None); InputError says what is wrong."""
    name = upload_name(filename)
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix not in ("txt", "csv"):
        raise InputError(
            f"{name} is not a .txt or .csv file: upload plain text, one sentence per line."
        )
    text = decode_upload(_raw(contents, name), current().settings.limits, name)
    return _csv_text(text, name) if suffix == "csv" else (text, None)


def _csv_text(text: str, name: str) -> tuple[str, list[str] | None]:
    """The "text" column as lines, and the "label" column (if any) as the labels."""
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"{name} is not a readable CSV file ({exc}).") from exc
    if not rows:
        raise InputError(f"{name} has no rows under its header.")
    column = next((c for c in ("text", "sentence") if c in rows[0]), None)
    if column is None:
        raise InputError(f"{name} needs a column named “text” (found: {', '.join(rows[0])}).")
    lines = [" ".join((row[column] or "").split()) for row in rows]  # one sentence per row
    label = next((c for c in ("label", "labels", "class", "category") if c in rows[0]), None)
    return "\n".join(lines), ([row[label] or "" for row in rows] if label else None)


@callback(
    Output(ids.DATA_TEXT, "value"),
    Output(ids.DATA_CORPORA, "data", allow_duplicate=True),
    Output(ids.CORPUS, "value", allow_duplicate=True),
    Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
    Output(ids.DATA_PENDING, "data"),
    Output(ids.DATA_CONFIRM, "hidden"),
    Output(ids.DATA_CONFIRM_TEXT, "children"),
    Input(ids.DATA_UPLOAD, "contents"),
    State(ids.DATA_UPLOAD, "filename"),
    State(ids.DATA_TEXT, "value"),
    State(ids.DATA_CORPORA, "data"),
    prevent_initial_call=True,
)
def upload(contents, filename, typed, known):
    """A file whose text would replace different text typed in the box waits for a yes."""
    unchanged = (no_update,) * 4
    filename = upload_name(filename)
    if not contents:
        return *unchanged, no_update, no_update, no_update
    try:
        text, labels = read_upload(contents, filename)
    except InputError as exc:
        return no_update, no_update, no_update, str(exc), None, True, ""  # the box's text stays
    if (typed or "").strip() and typed.strip() != text.strip():
        n = len([line for line in text.splitlines() if line.strip()])
        question = f"Replace the text in the box with {filename}’s {n:,} sentences?"
        pending = {"text": text, "labels": labels, "filename": filename}
        return *unchanged, pending, False, question
    return *load_upload(text, labels, filename, known), None, True, ""


@callback(
    Output(ids.DATA_TEXT, "value", allow_duplicate=True),
    Output(ids.DATA_CORPORA, "data", allow_duplicate=True),
    Output(ids.CORPUS, "value", allow_duplicate=True),
    Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
    Output(ids.DATA_PENDING, "data", allow_duplicate=True),
    Output(ids.DATA_CONFIRM, "hidden", allow_duplicate=True),
    Input(ids.DATA_REPLACE, "n_clicks"),
    Input(ids.DATA_KEEP, "n_clicks"),
    State(ids.DATA_PENDING, "data"),
    State(ids.DATA_CORPORA, "data"),
    prevent_initial_call=True,
)
def answer_upload(_replace, _keep, pending, known):
    return answer(ctx.triggered_id == ids.DATA_REPLACE, pending, known)


def answer(replace: bool, pending: dict | None, known: list[dict] | None) -> tuple:
    """Replace: the upload goes ahead; keep: the typed text stays and the file is dropped."""
    if not pending:
        return (no_update,) * 4 + (None, True)
    if not replace:
        message = f"Kept your text; {pending['filename']} was not loaded."
        return no_update, no_update, no_update, message, None, True
    loaded = load_upload(pending["text"], pending["labels"], pending["filename"], known)
    return *loaded, None, True


def load_upload(text: str, labels: list[str] | None, filename: str | None, known):
    """(box text, corpora, corpus, message): a .txt fills the text box to check first; a labelled
    .csv becomes a corpus at once (its labels would not survive editing in the box)."""
    if labels is None:
        return (
            text,
            no_update,
            no_update,
            f"Loaded {filename}: check the sentences, then press “Map these sentences”.",
        )
    try:
        options, corpus_id, message = add_corpus(
            text, known, labels, filename, " (colour by “Label” to see its label column)"
        )
    except InputError as exc:
        return no_update, no_update, no_update, str(exc)
    return text, options, corpus_id, message


def _remember(corpus: Corpus, known: list[dict] | None) -> tuple[list[dict], Corpus]:
    """(options, the corpus as saved): a signed-in user's corpus gets an id of its own, the one
    to select (the unsaved corpus's id was selected, "unknown corpus" to its owner: bench/load)."""
    corpus = current().save_corpus(corpus, current_user())
    options = [o for o in (known or []) if o["value"] != corpus.id]
    options.append({"label": corpus.name, "value": corpus.id, "modality": corpus.modality})
    return options[-10:], corpus


def add_corpus(
    text: str | None,
    known: list[dict] | None,
    labels: list[str] | None = None,
    name: str | None = None,
    hint: str = "",
) -> tuple[list[dict], str, str]:
    """(options, corpus id, message: one sentence, `hint` inside it); raises InputError."""
    corpus = user_corpus(text or "", current().settings.limits, name or "Your sentences", labels)
    options, saved = _remember(corpus, known)
    return options, saved.id, f"Added “{saved.name}”{hint}: {MAPPING}"


def add_images(
    contents: list[str], names: list[str], known: list[dict] | None
) -> tuple[list[dict], str, str]:
    settings = current().settings
    limits = settings.limits
    if len(contents) > limits.max_images:
        raise over_limit(f"{len(contents)} images", str(limits.max_images), "QKATLAS_MAX_IMAGES")
    folder = settings.cache_dir / "images"
    names = [upload_name(n, f"image {i + 1}") for i, n in enumerate(names)]
    saved = [
        str(
            save_upload(
                _raw(c, n), n, folder, limits.max_upload_bytes, limits.max_megapixels * 1_000_000
            )
        )
        for c, n in zip(contents, names, strict=True)
    ]
    # the same picture twice (two names, one content hash) is mapped once
    first = {path: name for path, name in reversed(list(zip(saved, names, strict=True)))}
    repeats = [
        f"{n} repeats {first[p]}" for p, n in zip(saved, names, strict=True) if first[p] != n
    ]
    options, corpus = _remember(image_corpus(list(dict.fromkeys(saved)), limits), known)
    left_out = f" ({'; '.join(repeats)}: kept once)" if repeats else ""
    return (
        options,
        corpus.id,
        f"Added “{corpus.name}”: choose the vision model to map them{left_out}.",
    )


@callback(
    Output(ids.DATA_CORPORA, "data"),
    Output(ids.CORPUS, "value", allow_duplicate=True),
    Output(ids.DATA_MESSAGE, "children"),
    Input(ids.DATA_SUBMIT, "n_clicks"),
    State(ids.DATA_TEXT, "value"),
    State(ids.DATA_CORPORA, "data"),
    prevent_initial_call=True,
)
def submit(n_clicks, text, known):
    if not n_clicks:
        return no_update, no_update, no_update
    try:
        return add_corpus(text, known)
    except InputError as exc:
        return no_update, no_update, str(exc)


@callback(
    Output(ids.DATA_CORPORA, "data", allow_duplicate=True),
    Output(ids.CORPUS, "value", allow_duplicate=True),
    Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
    Input(ids.DATA_IMAGES, "contents"),
    State(ids.DATA_IMAGES, "filename"),
    State(ids.DATA_CORPORA, "data"),
    prevent_initial_call=True,
)
def upload_images(contents, names, known):
    if not contents:
        return no_update, no_update, no_update
    try:
        return add_images(contents, names, known)
    except InputError as exc:
        return no_update, no_update, str(exc)


def corpus_modality(corpus_id: str | None) -> str | None:
    try:
        return current().corpus(corpus_id, current_user()).modality if corpus_id else None
    except InputError:
        return None


def options_for(model_id: str | None, known: list[dict] | None, selected: str | None) -> list[dict]:
    """Corpora that fit the model: text for text models, images for vision models."""
    spec = current().registry.models.get(model_id or "")
    modality = spec.modality if spec else "text"
    options = [BUILT_IN[modality]]
    options += [
        {"label": o["label"], "value": o["value"]}
        for o in known or []
        if o.get("modality", "text") == modality
    ]
    if (
        selected
        and selected not in {o["value"] for o in options}
        and corpus_modality(selected) == modality
    ):
        options.append(
            {"label": current().corpus(selected, current_user()).name, "value": selected}
        )
    return options


# Options and value in one answer: apart, the dropdown briefly held a corpus its new options
# lacked, cleared it, and the URL put the old one back (a text model left on "images")
@callback(
    Output(ids.CORPUS, "options"),
    Output(ids.CORPUS, "value", allow_duplicate=True),
    Input(ids.MODEL, "value"),
    Input(ids.DATA_CORPORA, "data"),
    Input(ids.CORPUS, "value"),
    prevent_initial_call="initial_duplicate",
)
def corpus_options(model_id, known, selected):
    fitted = fit_corpus_to_model(model_id, selected) if ctx.triggered_id == ids.MODEL else None
    return options_for(model_id, known, fitted or selected), fitted or no_update


def fit_corpus_to_model(model_id: str | None, selected: str | None) -> str | None:
    """Switching between a text and a vision model picks that modality's default corpus; None
    when the selected corpus fits the model."""
    spec = current().registry.models.get(model_id or "")
    if spec is None or selected is None or corpus_modality(selected) in (None, spec.modality):
        return None
    return BUILT_IN[spec.modality]["value"]


@callback(
    Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
    Input(ids.JOB_RESULT, "data"),
    Input(ids.JOB_CANCEL, "n_clicks"),
    State(ids.DATA_MESSAGE, "children"),
    State(ids.REQUEST, "data"),
    prevent_initial_call=True,
)
def mapping_ended(result, _cancel, message, request):
    return ended_message(
        "cancelled" if ctx.triggered_id == ids.JOB_CANCEL else result, message, request
    )


def ended_message(result: dict | str | None, message, request: dict | None):
    """“Added X: mapping it now.” → “Added X: mapped …” once the job for X's request ends."""
    if not isinstance(message, str) or MAPPING not in message or not request:
        return no_update
    notice = ""
    if result != "cancelled":
        if not result or result.get("key") != request.get("key"):
            return no_update  # another job's end: a superseded request's
        notice = result.get("message") if result.get("status") == "done" else ""
        result = result.get("status")
    try:
        name = current().corpus(request.get("corpus"), current_user()).name
    except InputError:
        return no_update
    if f"“{name}”" not in message or result not in ENDED:
        return no_update
    return message.replace(MAPPING, ENDED[result]) + (f" {notice}" if notice else "")


@callback(
    Output(ids.DATA_SHARED, "children"),
    Input(ids.DATA_SHARE, "n_clicks"),
    State(ids.CORPUS, "value"),
    prevent_initial_call=True,
)
def share(n_clicks, corpus_id):
    return share_message(corpus_id, current_user())


@callback(Output(ids.DATA_SHARE, "hidden"), Input(ids.CORPUS, "value"))
def offer_sharing(corpus_id):
    return not shareable(corpus_id, current_user())


def shareable(corpus_id: str | None, user: str | None) -> bool:
    """The share button shows for a signed-in user's own corpora only (bundled ones are open
    to all, and without sign-in so is everything)."""
    return bool(user and corpus_id and corpus_id.startswith("user-"))


def share_message(corpus_id: str | None, user: str | None) -> str:
    if not user:
        return "Without sign-in every corpus is open to whoever can reach this app."
    if not corpus_id or not corpus_id.startswith("user-"):
        return "Bundled corpora are shared already; pick one of your own to share it."
    if not current().share_corpus(corpus_id, user):
        return "Only the person who added a corpus can share it."
    log.info("%s shared corpus %s", user, corpus_id)
    return "Shared: anyone signed in can open it with this page's link."
