"""An .npz written in place: its arrays' shapes are known first, their values are filled in by
position, in any order, and the file is finished once — never built in memory, never copied.

An extraction captures a corpus's queries and keys item by item in batch order (items sorted
by length), while a layer is stored [head, position, d_head] in corpus order. Writing each
item's rows straight to their place in the layer's file saves reading the whole layer back,
reordering it and writing it again (a BERT-base on 20,000 tokens has 1.5 GB of Q/K). Writes go
through the file descriptor, not a memory map, so a worker's resident memory holds a batch,
not a layer. The file is a plain uncompressed zip of .npy members that `np.load` reads (and
checks: each member's CRC is computed when the file is finished).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

# zip64 throughout (as np.savez(force_zip64) would): a layer may pass 4 GiB
_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header; its name, then its zip64 extra
_LOCAL_EXTRA = struct.Struct("<HHQQ")  # zip64: sizes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header; name, extra
_CENTRAL_EXTRA = struct.Struct("<HHQQQ")  # zip64: sizes, where the local header is
_END64 = struct.Struct("<IQHHIIQQQQ")  # zip64 end of central directory record
_LOCATOR = struct.Struct("<IIQI")  # zip64 end of central directory locator
_END = struct.Struct("<IHHHHIIH")  # end of central directory record
_CRC_AT = 14  # the CRC field's place in a local header
_VERSION = 45  # zip 4.5: zip64
_DATE = 0x21  # 1980-01-01 in MS-DOS format: the files carry no time
_MASK = 0xFFFFFFFF  # "see the zip64 extra"
_CHUNK = 2**24  # bytes read at a time for the CRC


class NpzInPlace:
    """`NpzInPlace(path, {"q": shape, …})`, then `put_rows` in any order, then `finish()`."""

    def __init__(self, path: Path, shapes: dict[str, tuple[int, ...]], dtype=np.float32) -> None:
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        self.shapes = {name: tuple(int(n) for n in shape) for name, shape in shapes.items()}
        self.members: dict[str, tuple[int, int, int, int]] = {}  # (header, data, size, npy)
        # private, as the cache's own files are (mkstemp): it is moved there as it is
        with os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            for name, shape in self.shapes.items():
                npy = _npy_header(shape, self.dtype)
                size = len(npy) + int(np.prod(shape, dtype=np.int64)) * self.dtype.itemsize
                filename = f"{name}.npy".encode()
                header_at = f.tell()
                f.write(_LOCAL.pack(0x04034B50, _VERSION, 0, 0, 0, _DATE, 0, _MASK, _MASK,
                                    len(filename), _LOCAL_EXTRA.size))  # fmt: skip
                f.write(filename)
                f.write(_LOCAL_EXTRA.pack(1, _LOCAL_EXTRA.size - 4, size, size))
                data_at = f.tell()
                f.write(npy)
                self.members[name] = (header_at, data_at, size, len(npy))
                f.seek(data_at + size)
            f.truncate()  # the arrays' bytes: zeros until put_rows writes them
        self._fd: int | None = os.open(self.path, os.O_WRONLY)

    def put_rows(self, name: str, block: np.ndarray, start: int) -> None:
        """block [a, n, …] into member `name` [a, N, …] at [:, start : start + n]."""
        shape = self.shapes[name]
        block = np.asarray(block, dtype=self.dtype)
        if block.ndim != len(shape) or block.shape[0] != shape[0] or block.shape[2:] != shape[2:]:
            raise ValueError(f"{name}: a block {block.shape} does not fit {shape}")
        if not 0 <= start <= shape[1] - block.shape[1]:
            raise ValueError(f"{name}: rows {start}–{start + block.shape[1]} outside {shape[1]}")
        _, data_at, _, npy = self.members[name]
        row = int(np.prod(shape[2:], dtype=np.int64)) * self.dtype.itemsize
        assert self._fd is not None, "finished already"
        for a in range(shape[0]):  # one write each (a copy only where block[a] is strided)
            rows = np.ascontiguousarray(block[a])
            os.pwrite(self._fd, rows, data_at + npy + (a * shape[1] + start) * row)

    def finish(self) -> Path:
        """Each member's CRC, then the central directory: a complete .npz."""
        self.close()
        central = bytearray()
        with open(self.path, "r+b") as f:
            for name, (header_at, data_at, size, _) in self.members.items():
                crc = _crc(f, data_at, size)
                f.seek(header_at + _CRC_AT)
                f.write(struct.pack("<I", crc))
                filename = f"{name}.npy".encode()
                central += _CENTRAL.pack(0x02014B50, _VERSION, _VERSION, 0, 0, 0, _DATE, crc,
                                         _MASK, _MASK, len(filename), _CENTRAL_EXTRA.size, 0,
                                         0, 0, 0o600 << 16, _MASK)  # fmt: skip
                central += filename
                central += _CENTRAL_EXTRA.pack(1, _CENTRAL_EXTRA.size - 4, size, size, header_at)
            at = f.seek(0, os.SEEK_END)
            count = len(self.members)
            f.write(bytes(central))
            end64 = at + len(central)
            f.write(_END64.pack(0x06064B50, _END64.size - 12, _VERSION, _VERSION, 0, 0, count,
                                count, len(central), at))  # fmt: skip
            f.write(_LOCATOR.pack(0x07064B50, 0, end64, 1))
            f.write(_END.pack(0x06054B50, 0, 0, count, count, _MASK, _MASK, 0))
        return self.path

    def close(self) -> None:
        """Stops writing (an unfinished file is not an .npz: the caller deletes it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape},
    )
    return header.getvalue()


def _crc(f, begin: int, size: int) -> int:
    buffer = memoryview(bytearray(_CHUNK))
    f.seek(begin)
    crc, left = 0, size
    while left:
        n = f.readinto(buffer[: min(_CHUNK, left)])
        if not n:
            raise OSError(f"{f.name} ended {left:,} bytes early")
        crc = zlib.crc32(buffer[:n], crc)
        left -= n
    return crc
