"""4. Q/K extraction vs a plain forward pass over the same corpus, batches and padding.

Both sides tokenize and run the same batches (extract's own `text_batches`: 32 sentences
sorted by length, right-padded) under torch.inference_mode(); extraction adds its hooks, the
per-sentence copies, the final stacking and the token table. Measured with
one thread per usable core and with one thread (what a Dask worker gets: the nanny sets
OMP_NUM_THREADS=1 for each worker process). Thread counts are set explicitly: once a
LocalCluster has started, this process's own OMP_NUM_THREADS is 1 as well.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.timing import log, median, timed
from dashboard.models.families import Family, family_for


@dataclass
class ExtractionTiming:
    threads: int
    n_tokens: int
    forward_s: float
    extract_s: float

    @property
    def forward_tps(self) -> float:
        return self.n_tokens / self.forward_s

    @property
    def extract_tps(self) -> float:
        return self.n_tokens / self.extract_s

    @property
    def ratio(self) -> float:
        return self.extract_s / self.forward_s


@dataclass
class ExtractionResult:
    load_s: float
    n_sentences: int
    timings: list[ExtractionTiming]


def bare_forward(model: Any, tokenizer: Any, sentences: Sequence[str], batch_size: int = 32) -> int:
    """The batches extract_text() runs (its own batching code), with nothing captured; returns
    the number of real (non-pad) tokens."""
    import torch

    from dashboard.models.extract import encode_sentences, text_batches

    encoded = encode_sentences(tokenizer, sentences, max_length=512)
    with torch.inference_mode():
        for inputs, _, _ in text_batches(tokenizer, encoded, batch_size):
            model(**inputs)
    return sum(len(ids) for ids in encoded)


def _compare(
    model: Any, tokenizer: Any, family: Family, sentences: Sequence[str], threads: int, repeats: int
) -> ExtractionTiming:
    import torch

    from dashboard.models.extract import extract_text as extract

    torch.set_num_threads(threads)
    n_tokens = bare_forward(model, tokenizer, sentences)  # warm-up, not timed
    extract(model, tokenizer, family, sentences)
    forward, captured = [], []
    for _ in range(repeats):  # interleaved: drift in machine load hits both sides alike
        forward.append(timed(bare_forward, model, tokenizer, sentences)[1])
        captured.append(timed(extract, model, tokenizer, family, sentences)[1])
    timing = ExtractionTiming(threads, n_tokens, median(forward), median(captured))
    log(
        f"extraction ({threads} thread(s)): forward {timing.forward_tps:,.0f} tok/s, "
        f"extract {timing.extract_tps:,.0f} tok/s"
    )
    return timing


def measure_extraction(sentences: Sequence[str], repeats: int = 3) -> ExtractionResult:
    import torch

    from dashboard.models.loader import load
    from dashboard.models.registry import DEFAULT_MODEL, discover

    spec = discover().get(DEFAULT_MODEL)
    family = family_for(spec.architecture)
    default_threads = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    (model, tokenizer), load_s = timed(load, spec)
    try:
        timings = [
            _compare(model, tokenizer, family, sentences, n, repeats)
            for n in sorted({cores or 1, 1}, reverse=True)
        ]
    finally:
        torch.set_num_threads(default_threads)
    return ExtractionResult(load_s, len(sentences), timings)
