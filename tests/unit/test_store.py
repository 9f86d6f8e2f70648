import json

import numpy as np
import pytest

from dashboard.store import Store, make_key


def test_round_trip_keeps_arrays_and_metadata(tmp_path):
    store = Store(tmp_path)
    key = make_key("coords", model="m", layer=1)
    store.save(
        key,
        {"coords": np.arange(6, dtype=np.float32).reshape(3, 2), "token": np.array(["a", "b"])},
        {"layer": 1},
    )
    arrays, meta = store.load(key)
    assert arrays["coords"].dtype == np.float32 and arrays["coords"].shape == (3, 2)
    assert list(arrays["token"]) == ["a", "b"]
    assert meta["layer"] == 1 and meta["key"] == key


def test_keys_change_with_every_input():
    base = make_key("coords", model="m", corpus="c", params={"method": "pca", "seed": 0})
    assert base == make_key("coords", corpus="c", model="m", params={"seed": 0, "method": "pca"})
    assert base != make_key("coords", model="m", corpus="c", params={"method": "pca", "seed": 1})
    assert base != make_key("coords", model="m2", corpus="c", params={"method": "pca", "seed": 0})
    assert base != make_key("tokens", model="m", corpus="c", params={"method": "pca", "seed": 0})


def test_object_arrays_are_refused_so_nothing_needs_pickle(tmp_path):
    with pytest.raises(TypeError, match="pickle"):
        Store(tmp_path).save("coords-x1", {"bad": np.array([{"a": 1}], dtype=object)}, {})


def test_corrupt_entry_is_a_miss_and_is_removed(tmp_path):
    store = Store(tmp_path)
    key = make_key("coords", n=1)
    store.save(key, {"coords": np.zeros((4, 2), np.float32)}, {})
    npz, sidecar = store._paths(key)
    npz.write_bytes(b"garbage, not a zip file")
    assert store.load(key) is None
    assert not npz.exists() and not sidecar.exists()
    store.save(
        key, {"coords": np.ones((4, 2), np.float32)}, {}
    )  # recomputed value can be stored again
    assert store.load(key)[0]["coords"].sum() == 8


def test_pickled_npz_is_not_loaded(tmp_path):
    store = Store(tmp_path)
    key = make_key("coords", n=2)
    store.save(key, {"coords": np.zeros(2)}, {})
    npz, _ = store._paths(key)
    np.savez(npz, coords=np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    assert store.load(key) is None  # allow_pickle=False refuses it: a miss, not an unpickle


def test_missing_sidecar_means_incomplete(tmp_path):
    store = Store(tmp_path)
    key = make_key("coords", n=3)
    store.save(key, {"coords": np.zeros(2)}, {"a": 1})
    store._paths(key)[1].unlink()
    assert not store.has(key) and store.load(key) is None


def test_sidecar_is_plain_json(tmp_path):
    store = Store(tmp_path)
    key = make_key("tokens", n=4)
    store.save(key, {}, {"n_tokens": 5})
    assert json.loads(store._paths(key)[1].read_text())["n_tokens"] == 5
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic writes leave no temp files


def test_the_temporary_files_of_killed_writes_are_swept_once_old(tmp_path):
    """A writer killed mid-write (SIGKILL) leaves its .tmp- file; the sweep removes those older
    than ABANDONED_AFTER_S, never a recent one (a write may still be running) nor an entry."""
    import os
    import time

    from dashboard.store import ABANDONED_AFTER_S

    store = Store(tmp_path)
    key = make_key("coords", n=5)
    store.save(key, {"coords": np.zeros(2)}, {})
    folder = store._paths(key)[0].parent
    old, recent = folder / ".tmp-abc.npz", folder / ".tmp-def.npz"
    store.overflow.mkdir(parents=True, exist_ok=True)
    old_overflow = store.overflow / ".tmp-ghi.json"
    for path in (old, recent, old_overflow):
        path.write_bytes(b"half")
    long_ago = time.time() - ABANDONED_AFTER_S - 60
    for path in (old, old_overflow):
        os.utime(path, (long_ago, long_ago))
    assert store.sweep_abandoned() == 2
    assert not old.exists() and not old_overflow.exists() and recent.exists()
    assert store.load(key) is not None, "the entry itself stays"
    assert store.sweep_abandoned() == 0
