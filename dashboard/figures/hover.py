"""Hover text: the token, its role and position, and its sentence around it. Always escaped."""

from __future__ import annotations

import html

import numpy as np

from dashboard.models.qk import TokenTable

CONTEXT = 8  # tokens shown on each side


def _join(pieces: list[str]) -> str:
    """WordPiece-aware join: '##ing' continues the previous word."""
    out = ""
    for piece in pieces:
        if piece.startswith("##"):
            out += piece[2:]
        elif piece.startswith("Ġ") or piece.startswith("▁"):
            out += " " + piece[1:]
        else:
            out += (" " if out else "") + piece
    return out


def token_hover(table: TokenTable) -> list[str]:
    """One string per token (not per point): '<b>token</b> · position p/n<br>sentence s: …'."""
    texts = []
    tokens = [str(t) for t in table.token]
    starts = np.flatnonzero(table.position == 0)
    for i, token in enumerate(tokens):
        start = int(starts[table.sentence[i]])
        pos, length = int(table.position[i]), int(table.length[i])
        left = tokens[max(start, i - CONTEXT) : i]
        right = tokens[i + 1 : min(start + length, i + 1 + CONTEXT)]
        before = ("… " if pos > CONTEXT else "") + html.escape(_join(left))
        after = html.escape(_join(right)) + (" …" if pos + CONTEXT < length - 1 else "")
        texts.append(
            f"<b>{html.escape(token)}</b> · position {pos} of {length}"
            f"<br>sentence {int(table.sentence[i])}: {before} <b>[{html.escape(token)}]</b> {after}".replace(
                ":  <b>", ": <b>"
            )
        )
    return texts


def point_hover(table: TokenTable, per_token: list[str] | None = None) -> list[str]:
    per_token = per_token or token_hover(table)
    return [f"query · {t}" for t in per_token] + [f"key · {t}" for t in per_token]
