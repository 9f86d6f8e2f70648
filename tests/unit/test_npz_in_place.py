"""An .npz written in place, rows in any order, reads back as the arrays it was given."""

import zipfile

import numpy as np
import pytest

from dashboard.npz_in_place import NpzInPlace
from dashboard.store import Store


def _layer(seed=0, heads=3, kv_heads=2, tokens=17, d=4):
    rng = np.random.default_rng(seed)
    return {
        "q": rng.normal(size=(heads, tokens, d)).astype(np.float32),
        "k": rng.normal(size=(kv_heads, tokens, d)).astype(np.float32),
    }


def _write_shuffled(path, arrays, seed=0):
    """Rows in pieces of random sizes, the pieces in random order (as batches sorted by length
    deliver a corpus's items)."""
    written = NpzInPlace(path, {name: a.shape for name, a in arrays.items()})
    tokens = next(iter(arrays.values())).shape[1]
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, tokens), size=4, replace=False))
    pieces = list(zip([0, *cuts], [*cuts, tokens], strict=True))
    for i in rng.permutation(len(pieces)):
        start, stop = pieces[i]
        for name, a in arrays.items():
            written.put_rows(name, a[:, start:stop], int(start))
    return written.finish()


def test_rows_in_any_order_read_back_bit_for_bit_by_np_load(tmp_path):
    arrays = _layer()
    path = _write_shuffled(tmp_path / "layer.npz", arrays)
    assert zipfile.ZipFile(path).testzip() is None  # every member's CRC checks
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(arrays)
        for name, a in arrays.items():
            assert npz[name].dtype == a.dtype and np.array_equal(npz[name], a)


def test_a_block_that_does_not_fit_is_refused(tmp_path):
    arrays = _layer()
    written = NpzInPlace(tmp_path / "layer.npz", {name: a.shape for name, a in arrays.items()})
    q = arrays["q"]
    with pytest.raises(ValueError, match="does not fit"):
        written.put_rows("q", q[:2], 0)  # a head short
    with pytest.raises(ValueError, match="outside"):
        written.put_rows("q", q[:, :5], q.shape[1] - 4)  # past the last row
    written.close()


def test_the_store_adopts_the_file_as_an_entry(tmp_path):
    arrays = _layer(seed=1)
    path = _write_shuffled(tmp_path / "spill.npz", arrays, seed=1)
    store = Store(tmp_path / "cache")
    store.adopt("qk-0123456789abcdef", path, {"layer": 0})
    assert not path.exists()  # moved (the same file system), not copied
    loaded, meta = store.load("qk-0123456789abcdef")
    assert meta["layer"] == 0
    assert all(np.array_equal(loaded[name], a) for name, a in arrays.items())
