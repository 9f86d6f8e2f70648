"""The user's own sentences: paste or upload, validated, stored, then selectable as a corpus."""

from __future__ import annotations

import base64
import binascii

from dash import Input, Output, State, callback, no_update

from dashboard import ids
from dashboard.models.corpora import DEFAULT_CORPUS, InputError, decode_upload, user_corpus
from dashboard.services import current


def read_upload(contents: str, filename: str | None) -> str:
    """dcc.Upload's data URL → text; InputError names what is wrong."""
    name = filename or "the file"
    if filename and not filename.lower().endswith(".txt"):
        raise InputError(f"{name} is not a .txt file: upload plain text with one sentence per line.")
    try:
        raw = base64.b64decode(contents.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error) as exc:
        raise InputError(f"{name} could not be read: upload it again.") from exc
    return decode_upload(raw, current().settings.limits)


@callback(
    Output(ids.DATA_TEXT, "value"),
    Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
    Input(ids.DATA_UPLOAD, "contents"),
    State(ids.DATA_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def upload(contents, filename):
    if not contents:
        return no_update, no_update
    try:
        text = read_upload(contents, filename)
    except InputError as exc:
        return no_update, str(exc)  # the text already in the box stays
    return text, f"Loaded {filename}: check the sentences, then press “Map these sentences”."


def add_corpus(text: str | None, known: list[dict] | None) -> tuple[list[dict], str, str]:
    """(options, corpus id, message); raises InputError."""
    corpus = user_corpus(text or "", current().settings.limits)
    current().save_corpus(corpus)
    options = [o for o in (known or []) if o["value"] != corpus.id]
    options.append({"label": corpus.name, "value": corpus.id})
    return options[-10:], corpus.id, f"Added “{corpus.name}”: mapping it now."


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


@callback(Output(ids.CORPUS, "options"), Input(ids.DATA_CORPORA, "data"), Input(ids.CORPUS, "value"))
def corpus_options(known, selected):
    options = [{"label": "Wikipedia sample (default)", "value": DEFAULT_CORPUS}, *(known or [])]
    if selected and selected not in {o["value"] for o in options}:
        try:
            options.append({"label": current().corpus(selected).name, "value": selected})
        except InputError:
            pass  # the request callback reports the unknown corpus
    return options
