"""Hover text: the token, its role and position, and its sentence around it. Always escaped."""

from __future__ import annotations

import html

import numpy as np

from dashboard.models.qk import TokenTable

CONTEXT = 8  # tokens shown on each side
ROLES = ("query · ", "key · ")  # a point's hover text: its role, then its token's text


_CLOSING = {".", ",", ";", ":", "!", "?", ")", "]", "}", "'s", "%"}
_OPENING = ("(", "[", "{")


def _join(pieces: list[str], bpe: bool) -> str:
    """Pieces back into text. WordPiece: '##ing' continues a word. Byte-level BPE: 'Ġword' starts
    one and a bare piece continues the previous one."""
    out = ""
    for piece in pieces:
        if bpe:
            out += display(piece)
        elif piece.startswith("##"):
            out += piece[2:]
        elif piece in _CLOSING:
            out += piece
        else:
            out += (" " if out and not out.endswith(_OPENING) else "") + piece
    return out.strip()


def display(token: str) -> str:
    """A byte-level BPE piece as a reader sees it: 'Ġword' → ' word', 'Ċ' → '⏎'."""
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "⏎")


def token_hover(table: TokenTable) -> list[str]:
    """One string per token (not per point): '<b>token</b> · position p/n<br>sentence s: …'."""
    texts = []
    tokens = [str(t) for t in table.token]
    bpe = any(t[:1] in ("Ġ", "▁") for t in tokens)
    starts = np.flatnonzero(table.position == 0)
    for i, token in enumerate(tokens):
        start = int(starts[table.sentence[i]])
        pos, length = int(table.position[i]), int(table.length[i])
        left = tokens[max(start, i - CONTEXT) : i]
        right = tokens[i + 1 : min(start + length, i + 1 + CONTEXT)]
        before = ("… " if pos > CONTEXT else "") + html.escape(_join(left, bpe))
        after = html.escape(_join(right, bpe)) + (" …" if pos + CONTEXT < length - 1 else "")
        shown = html.escape(display(token).strip() or token)
        texts.append(
            f"<b>{shown}</b> · position {pos} of {length}"
            f"<br>sentence {int(table.sentence[i])}: {before} <b>[{shown}]</b> {after}".replace(
                ":  <b>", ": <b>"
            )
        )
    return texts


def patch_hover(table: TokenTable, items: list[str]) -> list[str]:
    """Image tokens: '<b>r2 c5</b> · patch 38 of 257<br>image 3: chelsea'."""
    return [
        f"<b>{html.escape(str(token))}</b> · token {int(pos)} of {int(n)}"
        f"<br>image {int(i)}: {html.escape(items[int(i)])}"
        for token, pos, n, i in zip(
            table.token, table.position, table.length, table.sentence, strict=True
        )
    ]


def token_texts(table: TokenTable, items: list[str] | None = None) -> list[str]:
    """Per token. `items` names the images of an image corpus."""
    return patch_hover(table, items) if items else token_hover(table)


def point_texts(per_token: list[str]) -> list[str]:
    """Per point (queries, then keys): the role, then the token's text. assets/hover.js builds
    the same from hover_table() in the browser."""
    return [ROLES[0] + t for t in per_token] + [ROLES[1] + t for t in per_token]


def point_hover(table: TokenTable, items: list[str] | None = None) -> list[str]:
    return point_texts(token_texts(table, items))


def hover_table(per_token: list[str]) -> dict:
    """What the browser builds point_hover from (assets/hover.js): each token's text once, not
    twice per point and again for every head, so a head figure carries only point ids."""
    return {"roles": list(ROLES), "tokens": per_token}


def sentence_texts(table: TokenTable, width: int = 100) -> list[str]:
    """Each sentence as readable text (special tokens dropped), shortened to `width` characters."""
    tokens = [str(t) for t in table.token]
    bpe = any(t[:1] in ("Ġ", "▁") for t in tokens)
    out = []
    for span in table.sentence_slices():
        words = [
            t for t, special in zip(tokens[span], table.special[span], strict=True) if not special
        ]
        text = _join(words, bpe)
        out.append(text if len(text) <= width else text[: width - 1] + "…")
    return out
