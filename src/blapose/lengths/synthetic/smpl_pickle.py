"""Reading SMPL model files (``SMPL_*.pkl``) without running code from them.

The official SMPL 1.1.0 files for Python 2.7 are protocol-0 pickles whose arrays are partly
chumpy ``Ch`` objects (e.g. ``shapedirs``) and scipy ``csc_matrix`` objects (``J_regressor``).
Unpickling them the usual way imports chumpy and scipy and lets the file call their code.
Here the file goes through blapose's restricted unpickler (``blapose.data.safe_pickle``) with a
narrow extension that never imports chumpy or scipy:

- ``chumpy.ch.Ch`` (only the plain value class, no chumpy operation classes) and
  ``scipy.sparse[._]csc.csc_matrix`` are replaced by inert record classes that only keep the
  attribute dict the pickle stores (``x`` for Ch; ``data``/``indices``/``indptr``/``_shape``
  for csc);
- ``copy_reg._reconstructor`` (how protocol-0 pickles create those objects) is replaced by a
  function that only creates instances of those record classes;
- after loading, records become plain numpy arrays (csc is densified by our own code).

Everything else still goes through the restricted unpickler's allowlist.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from ...data import safe_pickle
from ...errors import InputError


class _PickledRecord:
    """An object rebuilt from a pickle as nothing but its stored attribute dict."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) form
            state = state[0]
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"unexpected state {type(state).__name__} for {type(self).__name__}")
        self.state = state


class PickledChumpyArray(_PickledRecord):
    """What a pickled ``chumpy.ch.Ch`` holds: its value in ``state['x']``."""

    def to_array(self) -> np.ndarray:
        if "x" not in self.state:
            raise pickle.UnpicklingError("chumpy object without a value 'x'")
        return np.asarray(_plain(self.state["x"]))


class PickledCscMatrix(_PickledRecord):
    """What a pickled ``scipy.sparse.csc_matrix`` holds: compressed sparse columns."""

    def to_array(self) -> np.ndarray:
        shape = self.state.get("_shape", self.state.get("shape"))
        try:
            rows, columns = (int(size) for size in shape)
            data = np.asarray(self.state["data"], dtype=np.float64)
            indices = np.asarray(self.state["indices"], dtype=np.int64)
            indptr = np.asarray(self.state["indptr"], dtype=np.int64)
        except (KeyError, TypeError, ValueError):
            raise pickle.UnpicklingError("csc_matrix without data/indices/indptr/shape") from None
        if len(indptr) != columns + 1 or len(indices) != len(data) or indptr[-1] != len(data) \
                or (len(indices) and (indices.min() < 0 or indices.max() >= rows)):
            raise pickle.UnpicklingError("inconsistent csc_matrix arrays")
        dense = np.zeros((rows, columns))
        column_of_entry = np.repeat(np.arange(columns), np.diff(indptr))
        np.add.at(dense, (indices, column_of_entry), data)
        return dense


_RECORD_CLASSES: dict[tuple[str, str], type] = {
    ("chumpy.ch", "Ch"): PickledChumpyArray,
    ("scipy.sparse.csc", "csc_matrix"): PickledCscMatrix,
    ("scipy.sparse._csc", "csc_matrix"): PickledCscMatrix,
}


def _reconstruct_record(cls: type, base: type, state: Any) -> _PickledRecord:
    """Stand-in for ``copy_reg._reconstructor`` that only creates record objects."""
    if cls not in _RECORD_CLASSES.values() or base is not object or state is not None:
        raise pickle.UnpicklingError("refused to reconstruct an object other than a chumpy/csc record")
    return cls()


class _SmplUnpickler(safe_pickle.RestrictedUnpickler):
    """The restricted unpickler plus the chumpy/csc records above."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECORD_CLASSES:
            return _RECORD_CLASSES[(module, name)]
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return _reconstruct_record
        if (module, name) in (("__builtin__", "object"), ("builtins", "object")):
            return object
        return super().find_class(module, name)


def _plain(value: Any) -> Any:
    """Replace records by numpy arrays, recursively through dicts, lists and tuples."""
    if isinstance(value, (PickledChumpyArray, PickledCscMatrix)):
        return value.to_array()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


def load_smpl_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """Load an SMPL ``.pkl`` -> dict of plain numpy arrays (and strings), chumpy and scipy not needed.

    Raises ``InputError`` when the file is missing, not a pickle, or refers to anything outside
    numpy arrays, plain containers, chumpy ``Ch`` values and csc matrices.
    """
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed by the with block below; only open's error is translated)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    with stream:
        try:
            content = _SmplUnpickler(stream, encoding="latin1").load()
        except pickle.UnpicklingError as error:
            raise InputError(f"{path}: unsafe or unsupported SMPL pickle ({error})") from None
        except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
            raise InputError(f"{path}: not a readable SMPL pickle ({type(error).__name__}: {error})") from None
    if not isinstance(content, dict):
        raise InputError(f"{path}: holds {type(content).__name__}, expected a dict of SMPL arrays")
    try:
        return _plain(content)
    except pickle.UnpicklingError as error:
        raise InputError(f"{path}: unsupported SMPL pickle ({error})") from None
