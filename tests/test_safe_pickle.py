import os
import pickle
import sys

import numpy as np
import pytest

from blapose.data.safe_pickle import load_npz, load_pickle, loads_pickle
from blapose.errors import InputError


class _Payload:
    """An object whose unpickling would create a file: the canary for code execution."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_arrays_and_plain_containers_load(tmp_path):
    """Numpy arrays, scalars, dicts, lists, tuples and sets come back intact (protocols 2 and 4)."""
    value = {"a": [np.arange(6, dtype=np.float32).reshape(2, 3), ("S9", "Walking 1")], "b": np.float64(2.5),
             "c": {1, 2}}
    for protocol in (2, 4):
        path = tmp_path / f"ok{protocol}.pkl"
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = load_pickle(path)
        np.testing.assert_array_equal(loaded["a"][0], value["a"][0])
        assert loaded["a"][1] == ("S9", "Walking 1") and loaded["b"] == 2.5 and loaded["c"] == {1, 2}


def test_pickle_calling_a_function_is_refused_and_not_run(tmp_path):
    """A pickle that would call open() is refused with the global's name and creates no file."""
    canary = tmp_path / "canary"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([_Payload(str(canary))]))
    with pytest.raises(InputError, match="open'"):
        load_pickle(path)
    assert not canary.exists()


def test_npz_object_array_with_code_is_refused(tmp_path):
    """An npz whose object array would run code is refused the same way."""
    canary = tmp_path / "canary"
    path = tmp_path / "evil.npz"
    np.savez(path, positions_3d=np.array([_Payload(str(canary))], dtype=object))
    with pytest.raises(InputError, match="refused"):
        load_npz(path)
    assert not canary.exists()


def test_npz_with_nested_dict_and_plain_arrays(tmp_path):
    """0-d object arrays unwrap to their dict; numeric arrays load without pickle."""
    path = tmp_path / "data.npz"
    np.savez_compressed(path, positions_3d={"S1": {"Walk": np.ones((2, 17, 3))}}, other=np.arange(3))
    content = load_npz(path)
    assert content["positions_3d"]["S1"]["Walk"].shape == (2, 17, 3)
    np.testing.assert_array_equal(content["other"], np.arange(3))


@pytest.mark.parametrize("data", [b"not a pickle", b""])
def test_garbage_is_a_clear_error(data):
    """Bytes that are no pickle raise InputError."""
    with pytest.raises(InputError):
        loads_pickle(data)


def test_missing_file_and_non_zip_npz(tmp_path):
    """Missing files and non-zip npz files are named in the error."""
    with pytest.raises(InputError, match="not found"):
        load_pickle(tmp_path / "absent.pkl")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"plain text")
    with pytest.raises(InputError, match="not an npz"):
        load_npz(bad)
    assert os.path.exists(bad)


@pytest.mark.parametrize("inflater", ["zlib", "isal"])
def test_npz_members_read_in_one_call_equal_numpy(tmp_path, monkeypatch, inflater):
    """Compressed and stored npz members read back equal to numpy's reader, by zlib or ISA-L."""
    if inflater == "zlib":
        monkeypatch.setitem(sys.modules, "isal", None)  # the import fails: zlib is used
    else:
        pytest.importorskip("isal")
    arrays = {"a": np.arange(5000, dtype=np.float32).reshape(50, 100), "b": np.array([1, 2, 3])}
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    np.savez(tmp_path / "s.npz", **arrays)
    for name in ("c.npz", "s.npz"):
        loaded = load_npz(tmp_path / name)
        assert set(loaded) == set(arrays)
        for key, array in arrays.items():
            np.testing.assert_array_equal(loaded[key], array)


def test_corrupt_npz_member_is_one_line_error(tmp_path):
    """A flipped byte inside a compressed member is refused with an InputError naming the member."""
    np.savez_compressed(tmp_path / "c.npz", a=np.random.default_rng(0).normal(size=(200, 50)))
    data = bytearray((tmp_path / "c.npz").read_bytes())
    data[len(data) // 3] ^= 0xFF
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"c\.npz\['a'\]: corrupt npz file"):
        load_npz(tmp_path / "c.npz")


def _member_data_offset(path, member):
    """Byte offset of ``member``'s compressed data in the zip file at ``path``."""
    import struct
    import zipfile

    info = zipfile.ZipFile(path).getinfo(member)
    header = path.read_bytes()[info.header_offset:info.header_offset + 30]
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def test_large_members_stream_through_chunks_intact(tmp_path):
    """Members of several inflate chunks (a plain array and a pickled dict of arrays) load exactly."""
    rng = np.random.default_rng(1)
    plain = rng.normal(size=(300_000, 3)).astype(np.float32)  # 3.6 MB: several 1 MB chunks
    nested = {"S9": {"Walking": rng.normal(size=(20_000, 32, 3)).astype(np.float32),
                     "Eating": np.zeros((40_000, 32, 3), np.float32)}}  # compresses to almost nothing
    np.savez_compressed(tmp_path / "big.npz", plain=plain, positions_3d=nested)
    loaded = load_npz(tmp_path / "big.npz")
    np.testing.assert_array_equal(loaded["plain"], plain)
    for action, array in nested["S9"].items():
        np.testing.assert_array_equal(loaded["positions_3d"]["S9"][action], array)


def test_truncated_member_is_one_line_error(tmp_path):
    """A member whose deflate stream is cut short (zip directory intact) is refused, not read short."""
    np.savez_compressed(tmp_path / "c.npz", a=np.random.default_rng(0).normal(size=(2000, 50)))
    offset, size = _member_data_offset(tmp_path / "c.npz", "a.npy")
    data = bytearray((tmp_path / "c.npz").read_bytes())
    data[offset + size // 2:offset + size] = bytes(size - size // 2)  # the second half zeroed
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"c\.npz\['a'\]: (corrupt npz file|truncated array)"):
        load_npz(tmp_path / "c.npz")


@pytest.mark.parametrize("value", [np.arange(1000.0), {"S1": {"Walking": np.ones((3000, 32, 3))}}],
                         ids=["plain array", "pickled dict"])
def test_member_with_wrong_crc_is_refused(tmp_path, value):
    """Intact deflate data whose CRC disagrees with the zip directory is refused after reading, in
    one line that names the member (also when the unpickler is the reader)."""
    import zipfile

    np.savez_compressed(tmp_path / "c.npz", a=value)
    info = zipfile.ZipFile(tmp_path / "c.npz").getinfo("a.npy")
    data = bytearray((tmp_path / "c.npz").read_bytes())
    central = data.rindex(b"PK\x01\x02")  # the member's central directory entry: CRC at offset 16
    data[central + 16:central + 20] = ((info.CRC ^ 1) & 0xFFFFFFFF).to_bytes(4, "little")
    data[info.header_offset + 14:info.header_offset + 18] = ((info.CRC ^ 1) & 0xFFFFFFFF).to_bytes(4, "little")
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"^\S*c\.npz\['a'\]: corrupt npz file \(size or CRC check failed\)$"):
        load_npz(tmp_path / "c.npz")
