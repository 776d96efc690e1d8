"""Loading pickles and npz files from untrusted sources without running their code.

A pickle may name any importable callable and have it called while loading. The restricted
unpickler here admits only what numpy arrays and plain containers need (array reconstruction,
dtypes, numpy scalars, sets, ordered dicts); any other global is refused before it is
imported. ``load_npz`` reads object arrays of an npz (the Human3.6M files keep nested dicts
in them) through the same unpickler instead of ``np.load(allow_pickle=True)``.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib
from typing import Any, BinaryIO

import numpy as np

from ..errors import InputError

# (module, name) pairs a pickle of numpy arrays and plain containers may refer to.
_ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "slice"),
    ("__builtin__", "set"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # protocol-2 pickles spell byte strings this way
})
_NUMPY_DTYPE_MODULES = ("numpy.dtypes", "numpy._core.dtypes")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the allowlisted globals; subclass to admit a few more."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = (module, name) in _ALLOWED_GLOBALS or (
            module in _NUMPY_DTYPE_MODULES and name.endswith("DType"))
        if not allowed:
            raise pickle.UnpicklingError(f"refused to load global '{module}.{name}'")
        return super().find_class(module, name)


def _unpickle(stream: BinaryIO, source: str) -> Any:
    try:
        return RestrictedUnpickler(stream, encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise InputError(f"{source}: unsafe or corrupt pickle ({error}); only numpy arrays and "
                         "plain containers are accepted") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise InputError(f"{source}: not a readable pickle ({type(error).__name__}: {error})") from None


def loads_pickle(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` admitting only numpy arrays, plain containers and scalars."""
    return _unpickle(io.BytesIO(data), source)


def load_pickle(path: str | os.PathLike) -> Any:
    """Load a pickle file admitting only numpy arrays, plain containers and scalars."""
    with _open(path) as stream:
        return _unpickle(stream, str(path))


def _open(path: str | os.PathLike) -> BinaryIO:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a file") from None


def _read_npy(stream: BinaryIO, source: str) -> np.ndarray:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        shape, fortran_order, dtype = np.lib.format._read_array_header(stream, version)
    if not dtype.hasobject:
        count = int(np.prod(shape, dtype=np.int64))
        data = np.frombuffer(stream.read(count * dtype.itemsize), dtype=dtype, count=count)
        order = "F" if fortran_order else "C"
        return data.reshape(shape, order=order).copy()
    array = _unpickle(stream, source)
    if not isinstance(array, np.ndarray):
        raise InputError(f"{source}: object array holds {type(array).__name__}, expected an array")
    return array


def _inflate(data: bytes, source: str) -> bytes:
    """Raw DEFLATE data -> bytes: by ISA-L when python-isal is installed (``blapose[fast]``, about
    1.4x zlib's speed on pose arrays), else by zlib. Both release the GIL while they work."""
    try:
        from isal import isal_zlib as inflater
    except ImportError:
        inflater = zlib
    try:
        return inflater.decompress(data, -15)
    except inflater.error as error:
        raise InputError(f"{source}: corrupt npz file ({error})") from None


def _member_bytes(raw: BinaryIO, archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    """The uncompressed bytes of one zip member, inflated in one call and checked against its CRC.

    The member's data starts after its 30-byte local header, file name and extra field (PKWARE
    APPNOTE 4.3.7); stored and encrypted members are left to ``zipfile``.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return archive.read(info)
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise InputError(f"{source}: corrupt npz file (bad zip member header)")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw.seek(info.header_offset + 30 + name_length + extra_length)
    data = _inflate(raw.read(info.compress_size), source)
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise InputError(f"{source}: corrupt npz file (size or CRC check failed)")
    return data


def load_npz(path: str | os.PathLike) -> dict[str, Any]:
    """Read every array of an npz file; object arrays go through the restricted unpickler.

    A 0-d object array (how ``np.savez(positions_3d=some_dict)`` stores a dict) is returned as
    the object it holds.
    """
    with _open(path) as raw:
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile:
            raise InputError(f"{path}: not an npz file (not a zip archive)") from None
        arrays: dict[str, Any] = {}
        with archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                key = member[:-4]
                source = f"{path}['{key}']"
                with io.BytesIO(_member_bytes(raw, archive, archive.getinfo(member), source)) as stream:
                    try:
                        array = _read_npy(stream, source)
                    except (ValueError, EOFError) as error:
                        if isinstance(error, InputError):
                            raise
                        raise InputError(f"{path}['{key}']: unreadable array ({error})") from None
                arrays[key] = array.item() if array.dtype.hasobject and array.ndim == 0 else array
    return arrays
