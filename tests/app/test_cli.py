"""The command line, run as users run it: `python -m dashboard …` in a subprocess."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dashboard.config import ROOT


def run(tmp_path, model_dirs, *args):
    env = {
        "QKATLAS_CACHE_DIR": str(tmp_path / "cache"),
        "MODEL_DIRS": str(model_dirs),
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "dashboard", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("The cat sat on the mat.\nQueries meet keys here.\n", encoding="utf-8")
    return path


def test_models_json_lists_registry_and_rejections(tmp_path, model_dirs):
    out = run(tmp_path, model_dirs, "models", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert {m["id"] for m in body["models"]} == {
        "minilm",
        "smollm2",
        "dinov2-s14",
        "local/tiny-bert",
    }
    assert any("pickle" in r["reason"] for r in body["rejected"])


def test_extract_writes_queries_keys_and_tokens(tmp_path, model_dirs, text_file):
    out_file = tmp_path / "qk.npz"
    out = run(
        tmp_path,
        model_dirs,
        "extract",
        "--model",
        "local/tiny-bert",
        "--text-file",
        str(text_file),
        "--out",
        str(out_file),
    )
    assert out.returncode == 0, out.stderr
    with np.load(out_file, allow_pickle=False) as arrays:
        n = len(arrays["tokens"])
        assert arrays["queries"].shape == (2, 4, n, 8) and arrays["keys"].shape == (2, 4, n, 8)
        assert list(arrays["tokens"][:3]) == ["[CLS]", "the", "cat"]
        assert arrays["sentence"].max() == 1 and arrays["position"][0] == 0


def test_project_writes_csv_with_roles(tmp_path, model_dirs, text_file):
    out_file = tmp_path / "head.csv"
    out = run(
        tmp_path,
        model_dirs,
        "project",
        "--model",
        "local/tiny-bert",
        "--text-file",
        str(text_file),
        "--layer",
        "1",
        "--head",
        "3",
        "--method",
        "pca",
        "--dims",
        "3",
        "--out",
        str(out_file),
    )
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert set(rows[0]) == {"x", "y", "z", "role", "token", "sentence", "position"}
    assert rows[0]["role"] == "query" and rows[-1]["role"] == "key" and len(rows) % 2 == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "project",
                "--model",
                "nope",
                "--corpus",
                "default",
                "--layer",
                "0",
                "--head",
                "0",
                "--out",
                "x.npz",
            ],
            "unknown model",
        ),
        (
            [
                "project",
                "--model",
                "local/tiny-bert",
                "--corpus",
                "default",
                "--layer",
                "7",
                "--head",
                "0",
                "--out",
                "x.npz",
            ],
            "no layer 7 head 0",
        ),
        (
            ["extract", "--model", "minilm", "--corpus", "user-ffff", "--out", "x.npz"],
            "unknown corpus",
        ),
        (["project", "--model", "minilm", "--corpus", "default", "--layer", "0"], "required"),
        (
            ["metrics", "--model", "local/tiny-bert", "--corpus", "default", "--heads", "0-1"],
            "required",
        ),
        (
            [
                "metrics",
                "--model",
                "local/tiny-bert",
                "--corpus",
                "default",
                "--heads",
                "0-1",
                "--out",
                "x.csv",
            ],
            "is not layer:head",
        ),
        (
            [
                "project",
                "--model",
                "minilm",
                "--corpus",
                "default",
                "--layer",
                "0",
                "--head",
                "0",
                "--method",
                "mds",
                "--out",
                "x.npz",
            ],
            "invalid choice",
        ),
    ],
)
def test_bad_arguments_one_line_and_exit_2(tmp_path, model_dirs, args, message):
    out = run(tmp_path, model_dirs, *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_non_utf8_text_file_is_refused(tmp_path, model_dirs):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    out = run(
        tmp_path,
        model_dirs,
        "extract",
        "--model",
        "minilm",
        "--text-file",
        str(bad),
        "--out",
        "x.npz",
    )
    assert out.returncode == 2 and "not UTF-8" in out.stderr


def test_precompute_fills_the_cache_on_the_worker_pool(tmp_path, model_dirs, text_file):
    out = run(
        tmp_path,
        model_dirs,
        "precompute",
        "--model",
        "local/tiny-bert",
        "--text-file",
        str(text_file),
        "--method",
        "pca",
    )
    assert out.returncode == 0, out.stderr
    assert "cached 8 heads" in out.stdout
    assert len(list((tmp_path / "cache" / "coords").rglob("*.npz"))) == 8
    again = run(
        tmp_path,
        model_dirs,
        "project",
        "--model",
        "local/tiny-bert",
        "--text-file",
        str(text_file),
        "--layer",
        "1",
        "--head",
        "2",
        "--out",
        str(tmp_path / "h.npz"),
    )
    assert (
        again.returncode == 0 and len(list((tmp_path / "cache" / "coords").rglob("*.npz"))) == 8
    )  # reused


def _read_only_folder(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


@pytest.mark.parametrize(
    ("command", "out", "message"),
    [
        ("extract", lambda tmp: "/nonexistent/dir/x.npz", "/nonexistent/dir does not exist"),
        ("project", lambda tmp: "/nonexistent/dir/x.csv", "/nonexistent/dir does not exist"),
        ("extract", lambda tmp: str(tmp), "it is a folder"),
        ("project", lambda tmp: str(_read_only_folder(tmp) / "x.npz"), "permission denied"),
        ("extract", lambda tmp: str(_read_only_folder(tmp) / "x.npz"), "permission denied"),
    ],
)
def test_unwritable_out_is_one_line_and_exit_2(
    tmp_path, model_dirs, text_file, command, out, message
):
    if "permission" in message and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    head = ["--layer", "0", "--head", "0"] if command == "project" else []
    args = ["--model", "local/tiny-bert", "--text-file", str(text_file), *head]
    result = run(tmp_path, model_dirs, command, *args, "--out", out(tmp_path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot write") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not list((tmp_path / "cache").rglob("*.npz")), "refused before any extraction"


def test_metrics_writes_one_row_per_head_with_exactly_the_issue_columns(
    tmp_path, model_dirs, text_file
):
    from dashboard.analytics.metrics import ALL

    out_file = tmp_path / "metrics.csv"
    args = ["metrics", "--model", "local/tiny-bert", "--text-file", str(text_file)]
    out = run(tmp_path, model_dirs, *args, "--search", "the", "--out", str(out_file))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert list(rows[0]) == ["layer", "head", *ALL, "search_spread"]
    assert ALL == (
        "entropy",
        "first_token_mass",
        "prev_token_mass",
        "self_mass",
        "positional_r2",
        "qk_norm_ratio",
        "qk_offset",
        "sparsity",
        "rho_full",
        "rho_map",
        "trustworthiness",
        "topk_recall",
    )
    assert [(int(r["layer"]), int(r["head"])) for r in rows] == [
        (layer, head) for layer in range(2) for head in range(4)
    ]
    assert all(0.0 <= float(r["first_token_mass"]) <= 1.0 for r in rows)
    # without --search there is no search_spread column; --heads picks heads
    plain = tmp_path / "plain.csv"
    out = run(tmp_path, model_dirs, *args, "--heads", "1:2", "--out", str(plain))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(plain.open(encoding="utf-8")))
    assert list(rows[0]) == ["layer", "head", *ALL] and len(rows) == 1
    assert (rows[0]["layer"], rows[0]["head"]) == ("1", "2")
