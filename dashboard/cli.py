"""Command line: list models, extract Q/K, project one head, precompute a whole model.

    python -m dashboard models [--json]
    python -m dashboard extract --model ID (--corpus ID | --text-file F) --out F.npz
    python -m dashboard project --model ID --corpus ID --layer L --head H --method pca|tsne|umap
                                --dims 2|3 [--no-translate] [--no-scale] [--seed S] --out F.npz|F.csv
    python -m dashboard precompute --model ID --corpus ID --method M [--dims 2|3]
    python -m dashboard metrics --model ID (--corpus ID | --text-file F) [--method pca|tsne|umap]
                                [--dims 2|3] [--seed S] [--search S] [--heads L:H,…] --out F.csv

Bad arguments or inputs print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from dashboard import export, failures
from dashboard.cache_keys import MapParams, Subject
from dashboard.catalog import Catalog, configure
from dashboard.config import Settings
from dashboard.errors import InputError, UnsupportedModel
from dashboard.models.corpora import Corpus, cut_notice, decode_upload, user_corpus
from dashboard.models.qk import expand_kv
from dashboard.projection.methods import METHODS


class JobFailed(Exception):
    """The worker pool failed the job (a lost worker, the pool gone); the message says so."""


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard", description="QK Atlas command line"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser("models", help="list the model registry")
    models.add_argument("--json", action="store_true", help="machine-readable output")

    def source(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", required=True)
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--corpus", help="corpus id: 'default' or a user-… id")
        group.add_argument("--text-file", type=Path, help="UTF-8 text, one sentence per line")

    extract = sub.add_parser("extract", help="queries and keys of every layer and head")
    source(extract)
    extract.add_argument("--out", type=Path, required=True)

    project = sub.add_parser("project", help="the joint Q/K map of one head")
    source(project)
    project.add_argument("--layer", type=int, required=True)
    project.add_argument("--head", type=int, required=True)
    project.add_argument("--method", choices=list(METHODS), default="pca")
    project.add_argument("--dims", type=int, choices=(2, 3), default=2)
    project.add_argument("--no-translate", action="store_true")
    project.add_argument("--no-scale", action="store_true")
    project.add_argument("--seed", type=int, default=0)
    project.add_argument("--out", type=Path, required=True)

    pre = sub.add_parser("precompute", help="every head into the cache, on the worker pool")
    source(pre)
    pre.add_argument("--method", choices=list(METHODS), default="pca")
    pre.add_argument("--dims", type=int, choices=(2, 3), default=2)
    pre.add_argument("--no-translate", action="store_true")
    pre.add_argument("--no-scale", action="store_true")
    pre.add_argument("--seed", type=int, default=0)

    metrics = sub.add_parser("metrics", help="head metrics and map fidelity of every head, as CSV")
    source(metrics)
    metrics.add_argument("--method", choices=list(METHODS), default="pca")
    metrics.add_argument("--dims", type=int, choices=(2, 3), default=2)
    metrics.add_argument("--no-translate", action="store_true")
    metrics.add_argument("--no-scale", action="store_true")
    metrics.add_argument("--seed", type=int, default=0)
    metrics.add_argument("--search", help="also each head's search_spread for this text")
    metrics.add_argument(
        "--heads", help="only these heads, e.g. 0:0,3:5 (layer:head; default every head)"
    )
    metrics.add_argument("--out", type=Path, required=True)
    return parser


def _job(svc: Catalog, args: argparse.Namespace) -> tuple[Subject, Corpus]:
    if args.text_file is not None:
        try:
            raw = args.text_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.text_file}: {exc.strerror}") from exc
        corpus = user_corpus(
            decode_upload(raw, svc.settings.limits, args.text_file.name),
            svc.settings.limits,
            args.text_file.name,
        )
        corpus = svc.save_corpus(corpus)
        return svc.subject(args.model, corpus.id, check=False)
    return svc.subject(
        args.model, args.corpus, check=False
    )  # the server's own user: no owner check


def _check_out(path: Path, suffixes: tuple[str, ...] = ()) -> None:
    """Refuses an output path that cannot be written, before any work is done: by opening it
    (or a probe file beside it) for writing, since os.access says yes to root on a read-only
    mount."""
    if suffixes and path.suffix not in suffixes:
        raise UsageError(f"--out must end in {' or '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        missing = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"cannot write {path}: {folder} {missing} (create the folder or choose another --out)"
        )
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder (name a file for --out)")
    probe = folder / f".{path.name}.qkatlas-probe"
    try:
        with open(path if path.exists() else probe, "ab"):
            pass
        probe.unlink(missing_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {(exc.strerror or str(exc)).lower()} (choose a writable --out)"
        ) from exc


def _say_cut(svc: Catalog, subject: Subject, corpus: Corpus) -> None:
    """Sentences cut to the model's context are named on stderr (the output is still written)."""
    notice = cut_notice(subject.model.name, svc.store.load_meta(subject.tokens_key), corpus)
    if notice:
        print(f"note: {notice}", file=sys.stderr)


def _params(args: argparse.Namespace) -> MapParams:
    return MapParams(args.method, args.dims, not args.no_translate, not args.no_scale, args.seed)


def cmd_models(svc: Catalog, args: argparse.Namespace) -> None:
    if args.json:
        rows = [spec.to_dict() for spec in svc.registry.models.values()]
        rejected = [{"path": r.path, "reason": r.reason} for r in svc.registry.rejected]
        print(json.dumps({"models": rows, "rejected": rejected}, indent=2))
        return
    for spec in svc.registry.models.values():
        print(f"{spec.id:24} {spec.label}")
    for r in svc.registry.rejected:
        print(f"{'(unsupported)':24} {r.path}: {r.reason}", file=sys.stderr)


def cmd_extract(svc: Catalog, args: argparse.Namespace) -> None:
    from dashboard import worker_tasks

    _check_out(args.out)
    subject, corpus = _job(svc, args)
    worker_tasks.extract_task(subject, corpus)
    _say_cut(svc, subject, corpus)
    table = svc.tokens(subject)
    layers = [svc.store.load(subject.qk_key(layer))[0] for layer in range(subject.model.n_layers)]
    np.savez(
        args.out,
        queries=np.stack([arrays["q"] for arrays in layers]),  # [layer, head, pos, d_head]
        keys=np.stack([expand_kv(arrays["k"], subject.model.n_heads) for arrays in layers]),
        tokens=table.token.astype(str),
        sentence=table.sentence,
        position=table.position,
    )
    print(
        f"wrote {args.out}: {subject.model.n_layers} layers × {subject.model.n_heads} heads, {len(table):,} tokens"
    )


def cmd_project(svc: Catalog, args: argparse.Namespace) -> None:
    from dashboard import worker_tasks

    _check_out(args.out, (".npz", ".csv"))
    subject, corpus = _job(svc, args)
    problem = subject.model.missing_head(args.layer, args.head)
    if problem:
        raise UsageError(problem)
    worker_tasks.extract_task(subject, corpus)
    _say_cut(svc, subject, corpus)
    key = worker_tasks.project_task(subject, args.layer, args.head, _params(args))
    coords = svc.store.load(key)[0]["coords"]
    table = svc.tokens(subject)
    n = len(table)
    if args.out.suffix == ".npz":
        args.out.write_bytes(export.head_npz(coords, table))
    else:
        args.out.write_text(export.head_csv(coords, table), encoding="utf-8", newline="")
    print(f"wrote {args.out}: {len(coords):,} points ({n:,} queries + {n:,} keys)")


def cmd_precompute(svc: Catalog, args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from dashboard import dask_pool

    subject, corpus = _job(svc, args)
    params = _params(args)
    address = svc.settings.scheduler_address or dask_pool.start_local_cluster(svc.settings)
    bar = tqdm(total=None, unit="map")
    try:
        with dask_pool.client(address) as pool:

            def report(progress: dask_pool.Progress) -> None:
                bar.total = progress.total
                bar.set_description(progress.phase)
                bar.n = progress.done
                bar.refresh()

            dask_pool.run_matrix(pool, subject, corpus, params, report, wait_for_metrics=True)
        _say_cut(svc, subject, corpus)
    except (InputError, UnsupportedModel, ValueError):
        raise
    except Exception as exc:  # a lost worker or pool: one sentence, never a traceback
        raise JobFailed(failures.user_message(exc)) from exc
    finally:
        bar.close()
        dask_pool.stop_local_cluster()
    print(f"cached {len(subject.heads())} heads of {subject.model.name} ({params.label()})")


def _heads(text: str | None, subject: Subject) -> list[tuple[int, int]]:
    if not text:
        return subject.heads()
    heads = []
    for item in text.split(","):
        try:
            layer, head = (int(part) for part in item.split(":"))
        except ValueError as exc:
            raise UsageError(f"--heads: {item!r} is not layer:head (e.g. 0:3)") from exc
        problem = subject.model.missing_head(layer, head)
        if problem:
            raise UsageError(problem)
        heads.append((layer, head))
    return heads


def cmd_metrics(svc: Catalog, args: argparse.Namespace) -> None:
    """One row per head: exactly the columns of analytics.metrics.ALL (+ search_spread)."""
    from dashboard import worker_tasks
    from dashboard.analytics.metrics import ALL, search_spread
    from dashboard.search import match_tokens

    _check_out(args.out, (".csv",))
    subject, corpus = _job(svc, args)
    heads = _heads(args.heads, subject)
    params = _params(args)
    worker_tasks.extract_task(subject, corpus)
    table = svc.tokens(subject)
    hits = None if args.search is None else match_tokens(table, args.search)
    columns = ["layer", "head", *ALL] + ([] if hits is None else ["search_spread"])
    with args.out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for layer, head in heads:
            values = svc.store.load_meta(worker_tasks.metrics_task(subject, layer, head, params))
            row = [layer, head, *(_cell(values["metrics"][name]) for name in ALL)]
            if hits is not None:
                coords = svc.store.load(subject.coords_key(layer, head, params))[0]["coords"]
                row.append(_cell(search_spread(coords[: len(table)], hits, params.seed)))
            writer.writerow(row)
    print(f"wrote {args.out}: {len(heads)} heads of {subject.model.name} ({params.label()})")


def _cell(value: float | None) -> str:
    """Full precision (repr round-trips a float exactly); an undefined metric is empty."""
    return "" if value is None or not np.isfinite(value) else repr(float(value))


COMMANDS = {
    "models": cmd_models,
    "extract": cmd_extract,
    "project": cmd_project,
    "precompute": cmd_precompute,
    "metrics": cmd_metrics,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 with a usage line on bad arguments
    svc = configure(Settings.from_env())
    try:
        COMMANDS[args.command](svc, args)
    except (UsageError, InputError, UnsupportedModel, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the disk filled up while writing --out
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except JobFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
