"""Predicted 3D poses in BLAPose's file formats.

Upstream formats (hs1ang-hsu/BLAPose bone_adjust.py and length_model_inference.py):
- ``action_dict.pkl``: {action class: [(subject, action), ...]}.
- ``prediction.pkl``: list of (T, 17, 3) arrays, meters, camera frame, root-relative; for each
  action class in ``action_dict`` order, each (subject, action) pair, cameras 0..3.
(Per-video bone lengths, ``lengths_dict.npz`` / ``lengths_list.npz``, live in ``blapose.lengths.io``.)
blapose also writes and reads predictions as an npz with one array per video under the key
'<subject>/<action>/<camera>' (no pickles involved).

Everything here is keyed explicitly by (subject, action, camera index).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..skeleton import H36M
from .h36m import action_name
from .safe_pickle import load_npz, load_pickle

SequenceKey = tuple[str, str, int]
NUM_CAMERAS = 4


def read_action_dict(path: str | os.PathLike) -> dict[str, list[tuple[str, str]]]:
    """Read ``action_dict.pkl`` -> {action class: [(subject, action), ...]}."""
    content = load_pickle(path)
    if not isinstance(content, dict):
        raise InputError(f"{path}: holds {type(content).__name__}, expected a dict "
                         "{action class: [(subject, action), ...]}")
    result = {}
    for action_class, pairs in content.items():
        if not isinstance(pairs, (list, tuple)) or not all(
                isinstance(pair, (list, tuple)) and len(pair) == 2 for pair in pairs):
            raise InputError(f"{path}: entry '{action_class}' must be a list of (subject, action) pairs")
        result[str(action_class)] = [(str(subject), str(action)) for subject, action in pairs]
    return result


def keys_in_action_order(action_dict: dict[str, list[tuple[str, str]]]) -> list[SequenceKey]:
    """Video keys in the order of upstream's prediction list: action classes, pairs, cameras."""
    return [(subject, action, camera) for pairs in action_dict.values() for subject, action in pairs
            for camera in range(NUM_CAMERAS)]


def action_dict_for(keys: list[SequenceKey]) -> dict[str, list[tuple[str, str]]]:
    """Group the (subject, action) pairs of ``keys`` by action class, in first-seen order."""
    grouped: dict[str, list[tuple[str, str]]] = {}
    for subject, action, _ in keys:
        pairs = grouped.setdefault(action_name(action), [])
        if (subject, action) not in pairs:
            pairs.append((subject, action))
    return grouped


def _check_poses(array: Any, path: Any, where: str) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[1:] != (H36M.num_joints, 3):
        shape = getattr(array, "shape", type(array).__name__)
        raise InputError(f"{path}: {where} has shape {shape}, expected (frames, {H36M.num_joints}, 3)")
    if not np.isfinite(array).all():
        raise InputError(f"{path}: {where} holds NaN or infinite values")
    return np.asarray(array, dtype=np.float32)


def _npz_key(key: SequenceKey) -> str:
    return f"{key[0]}/{key[1]}/{key[2]}"


def _parse_npz_key(name: str, path: Any) -> SequenceKey:
    parts = name.rsplit("/", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        raise InputError(f"{path}: key '{name}' is not '<subject>/<action>/<camera>'")
    return (parts[0], parts[1], int(parts[2]))


def prediction_keys(path: str | os.PathLike, action_dict_path: str | os.PathLike | None = None
                    ) -> list[SequenceKey]:
    """The (subject, action, camera) keys that ``read_predictions`` will return, in its order,
    without reading the poses: from ``action_dict_path`` for a ``.pkl`` list, from the member
    names of a ``.npz``."""
    if str(path).endswith(".npz"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = [name[:-4] for name in archive.namelist() if name.endswith(".npy")]
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except (zipfile.BadZipFile, IsADirectoryError):
            raise InputError(f"{path}: not an npz file (not a zip archive)") from None
        return [_parse_npz_key(name, path) for name in names]
    if action_dict_path is None:
        raise InputError(f"{path}: a prediction list needs its action_dict.pkl (--act) for the order")
    return keys_in_action_order(read_action_dict(action_dict_path))


def read_predictions(path: str | os.PathLike, action_dict_path: str | os.PathLike | None = None
                     ) -> dict[SequenceKey, np.ndarray]:
    """Read predicted poses -> {(subject, action, camera): (T, 17, 3) float32, meters}.

    ``.pkl`` files are upstream prediction lists and need ``action_dict_path`` for their order;
    ``.npz`` files are blapose's keyed format.
    """
    if str(path).endswith(".npz"):
        return {_parse_npz_key(name, path): _check_poses(array, path, f"['{name}']")
                for name, array in load_npz(path).items()}
    keys = prediction_keys(path, action_dict_path)
    arrays = load_pickle(path)
    if not isinstance(arrays, (list, tuple)):
        raise InputError(f"{path}: holds {type(arrays).__name__}, expected a list of (frames, 17, 3) arrays")
    if len(arrays) != len(keys):
        raise InputError(f"{path}: holds {len(arrays)} arrays but {action_dict_path} lists {len(keys)} "
                         f"videos ({len(keys) // NUM_CAMERAS} sequences x {NUM_CAMERAS} cameras)")
    return {key: _check_poses(array, path, f"item {index} {key}")
            for index, (key, array) in enumerate(zip(keys, arrays))}


def write_predictions(out_dir: str | os.PathLike, predictions: dict[SequenceKey, np.ndarray]) -> list[Path]:
    """Write prediction.pkl + action_dict.pkl (upstream) and predictions.npz (keyed) into ``out_dir``.

    Every video of an action needs all four cameras for the upstream list format.
    """
    out_dir = Path(out_dir)
    action_dict = action_dict_for(list(predictions))
    ordered_keys = keys_in_action_order(action_dict)
    missing = [key for key in ordered_keys if key not in predictions]
    if missing:
        raise InputError(f"predictions lack camera(s) of {len(missing)} video(s), e.g. {missing[0]}; "
                         "the upstream list format needs cameras 0-3 of every sequence")
    written = []
    with atomic_path(out_dir / "prediction.pkl") as temporary, open(temporary, "wb") as stream:
        pickle.dump([np.asarray(predictions[key], np.float32) for key in ordered_keys], stream, protocol=4)
    written.append(out_dir / "prediction.pkl")
    with atomic_path(out_dir / "action_dict.pkl") as temporary, open(temporary, "wb") as stream:
        pickle.dump(action_dict, stream, protocol=4)
    written.append(out_dir / "action_dict.pkl")
    written.append(write_predictions_npz(out_dir / "predictions.npz", predictions))
    return written


def write_predictions_npz(path: str | os.PathLike, predictions: dict[SequenceKey, np.ndarray]) -> Path:
    """Write poses (T, 17, 3) float32 meters keyed '<subject>/<action>/<camera>' into one npz.

    Stored uncompressed: float poses shrink by only about a tenth under zlib, which costs some
    ten seconds on a Human3.6M-sized test set against a fraction of a second.
    """
    with atomic_path(path) as temporary:
        np.savez(temporary, **{_npz_key(key): np.asarray(poses, np.float32) for key, poses in predictions.items()})
    return Path(path)
