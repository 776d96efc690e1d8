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
    except InputError:  # the stream's own one-line error (a corrupt npz member), as it is
        raise
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
        flat = np.empty(count, dtype=dtype)
        if stream.readinto(flat.view(np.uint8)) != flat.nbytes:
            raise InputError(f"{source}: truncated array data (expected {flat.nbytes} bytes)")
        return flat.reshape(shape, order="F" if fortran_order else "C")
    array = _unpickle(stream, source)
    if not isinstance(array, np.ndarray):
        raise InputError(f"{source}: object array holds {type(array).__name__}, expected an array")
    return array


def _inflater() -> Any:
    """The zlib-compatible module that inflates npz members: ISA-L when python-isal is installed
    (``blapose[fast]``, about 1.4x zlib's speed on pose arrays), else zlib."""
    try:
        from isal import isal_zlib

        return isal_zlib
    except ImportError:
        return zlib


class _InflatingReader(io.RawIOBase):
    """A deflated zip member read as a stream, inflated straight into the caller's buffers.

    The unpickler reads each array's bytes with ``readinto`` into the bytes object that becomes
    the array's memory, so the member's uncompressed data is never held whole a second time.
    Input is read and inflated in chunks of ``CHUNK`` bytes; the CRC and size are checked when
    the member's end is reached.
    """

    CHUNK = 1 << 20

    def __init__(self, raw: BinaryIO, info: zipfile.ZipInfo, source: str):
        super().__init__()
        self._raw, self._info, self._source = raw, info, source
        self._inflater = _inflater()
        self._decompressor = self._inflater.decompressobj(-15)
        self._compressed_left = info.compress_size
        self._pending = b""  # input given to the decompressor but not yet inflated (max_length)
        self._produced = 0
        self._crc = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self._decompressor.eof:
            if not self._pending and self._compressed_left:
                self._pending = self._raw.read(min(self.CHUNK, self._compressed_left))
                if not self._pending:
                    raise InputError(f"{self._source}: corrupt npz file (member ends early)")
                self._compressed_left -= len(self._pending)
            try:
                output = self._decompressor.decompress(self._pending, min(self.CHUNK, len(view) - filled))
            except self._inflater.error as error:
                raise InputError(f"{self._source}: corrupt npz file ({error})") from None
            self._pending = self._decompressor.unconsumed_tail
            if not output and not self._pending and not self._compressed_left and not self._decompressor.eof:
                raise InputError(f"{self._source}: corrupt npz file (deflate stream ends early)")
            view[filled:filled + len(output)] = output
            filled += len(output)
            self._crc = self._inflater.crc32(output, self._crc)
        self._produced += filled
        if self._decompressor.eof and not self._checked:
            self._checked = True
            if self._produced != self._info.file_size or (self._crc & 0xFFFFFFFF) != self._info.CRC:
                raise InputError(f"{self._source}: corrupt npz file (size or CRC check failed)")
        return filled


def _open_member(raw: BinaryIO, archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> BinaryIO:
    """A buffered stream of one zip member's uncompressed bytes.

    Deflated members are inflated as they are read (their data starts after the 30-byte local
    header, file name and extra field: PKWARE APPNOTE 4.3.7); stored and encrypted members are
    left to ``zipfile``.
    """
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return io.BytesIO(archive.read(info))
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise InputError(f"{source}: corrupt npz file (bad zip member header)")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw.seek(info.header_offset + 30 + name_length + extra_length)
    return io.BufferedReader(_InflatingReader(raw, info, source), buffer_size=1 << 16)


def _read_to_end(stream: BinaryIO) -> None:
    """Read whatever is left of ``stream``, so that a member's size and CRC get checked."""
    while stream.read(1 << 16):
        pass


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
                with _open_member(raw, archive, archive.getinfo(member), source) as stream:
                    try:
                        array = _read_npy(stream, source)
                        _read_to_end(stream)
                    except (ValueError, EOFError) as error:
                        if isinstance(error, InputError):
                            raise
                        raise InputError(f"{path}['{key}']: unreadable array ({error})") from None
                arrays[key] = array.item() if array.dtype.hasobject and array.ndim == 0 else array
    return arrays
