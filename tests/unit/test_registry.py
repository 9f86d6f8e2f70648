import pytest

from dashboard.errors import UnsupportedModel
from dashboard.models.families import family_for
from dashboard.models.registry import DEFAULT_MODEL, discover, fingerprint, resolve_allowed


def test_default_encoder_is_found_offline():
    spec = discover().get(DEFAULT_MODEL)
    assert (spec.n_layers, spec.n_heads, spec.head_dim) == (6, 12, 32)
    assert spec.family == "bert" and 22e6 < spec.n_params < 24e6


def test_local_checkpoints_listed_and_bad_ones_explained(model_dirs):
    registry = discover((model_dirs,))
    spec = registry.get("local/tiny-bert")
    assert (spec.n_layers, spec.n_heads, spec.head_dim) == (2, 4, 8)
    reasons = {r.path.rsplit("/", 1)[-1]: r.reason for r in registry.rejected}
    assert "pickle" in reasons["pickled"] and "safetensors" in reasons["pickled"]
    assert "unsupported architecture 'MambaForCausalLM'" in reasons["alien"]
    assert "tokenizer" in reasons["no-tokenizer"]
    assert "config.json" in reasons["broken"]
    assert set(registry.models) == {DEFAULT_MODEL, "local/tiny-bert"}


def test_missing_model_dir_is_reported_not_fatal(tmp_path):
    registry = discover((tmp_path / "nowhere",))
    assert any("does not exist" in r.reason for r in registry.rejected)
    assert DEFAULT_MODEL in registry.models


def test_unknown_model_id_names_the_known_ones():
    with pytest.raises(KeyError, match="known: minilm"):
        discover().get("gpt-17")


def test_paths_outside_model_dirs_are_refused(model_dirs, tmp_path):
    assert (
        resolve_allowed(model_dirs / "tiny-bert", (model_dirs,))
        == (model_dirs / "tiny-bert").resolve()
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (model_dirs / "sneaky").symlink_to(outside)
    with pytest.raises(UnsupportedModel, match="outside"):
        resolve_allowed(model_dirs / "sneaky", (model_dirs,))
    with pytest.raises(UnsupportedModel, match="outside"):
        resolve_allowed(model_dirs / ".." / "elsewhere", (model_dirs,))
    # a checkpoint reached through such a symlink is listed as refused, never loaded
    import shutil

    shutil.copytree(model_dirs / "tiny-bert", outside / "tiny")
    (model_dirs / "via-link").symlink_to(outside / "tiny")
    registry = discover((model_dirs,))
    assert "local/via-link" not in registry.models
    assert any("outside" in r.reason for r in registry.rejected if r.path.endswith("via-link"))


def test_fingerprint_follows_weight_content(model_dirs):
    registry = discover((model_dirs,))
    spec = registry.get("local/tiny-bert")
    before = fingerprint(spec)
    weights = next((model_dirs / "tiny-bert").glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert fingerprint(spec) != before


def test_family_table_rejects_unknown_architectures():
    assert family_for("BertForMaskedLM").query == "attention.self.query"
    with pytest.raises(UnsupportedModel, match="supported families: bert, dinov2, gpt2, llama"):
        family_for(None)
