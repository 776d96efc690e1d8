"""Predicted bone lengths on disk, in the upstream ``lengths_dict.npz`` / ``lengths_list.npz`` formats.

Formats (upstream BLAPose ``length_model_inference.py``), lengths in meters, 16 bones:
- ``lengths_dict.npz``: key 'lengths' -> {subject: {action: [one array per camera, index order]}},
  each array (16,) (non-causal) or (T, 16) (causal, one row per frame).
- ``lengths_list.npz``: key 'lengths' -> the same arrays in a list ordered by subject, action,
  camera: a (N, 16) float array (non-causal) or an object array of (T, 16) arrays (causal).
  blapose adds the keys 'subjects', 'actions' and 'cameras' ((N,) each) naming every row, so
  that readers need not rely on the order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import InputError
from .fileio import atomic_path

Key = tuple[str, str, int]


def lengths_dict_from_predictions(predictions: Mapping[Key, np.ndarray]) -> dict[str, dict[str, list[np.ndarray]]]:
    """{(subject, action, camera): lengths} -> {subject: {action: [lengths of camera 0, 1, ...]}}.

    Subjects and actions keep the order of ``predictions``; every action must have the cameras
    0..n-1 (raises ``InputError`` naming the gap otherwise).
    """
    nested: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    for (subject, action, camera), lengths in predictions.items():
        nested.setdefault(subject, {}).setdefault(action, {})[int(camera)] = np.asarray(lengths)
    result: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in nested.items():
        result[subject] = {}
        for action, cameras in actions.items():
            if sorted(cameras) != list(range(len(cameras))):
                raise InputError(f"lengths of {subject} '{action}' cover cameras {sorted(cameras)}, "
                                 f"expected 0..{len(cameras) - 1}")
            result[subject][action] = [cameras[index] for index in range(len(cameras))]
    return result


def ordered_keys(predictions: Mapping[Key, np.ndarray], subjects: Sequence[str] | None = None) -> list[Key]:
    """Keys in upstream list order: subjects as given (default: first appearance), then actions, cameras."""
    nested = lengths_dict_from_predictions(predictions)
    subjects = list(nested) if subjects is None else list(subjects)
    missing = [s for s in subjects if s not in nested]
    if missing:
        raise InputError(f"no predicted lengths for subject(s) {', '.join(missing)}")
    return [(subject, action, camera) for subject in subjects
            for action, per_camera in nested[subject].items() for camera in range(len(per_camera))]


def save_lengths(predictions: Mapping[Key, np.ndarray], dict_path: str | os.PathLike,
                 list_path: str | os.PathLike, subjects: Sequence[str] | None = None) -> None:
    """Write ``lengths_dict.npz`` and ``lengths_list.npz`` (formats in the module docstring), atomically."""
    keys = ordered_keys(predictions, subjects)
    arrays = [np.asarray(predictions[key], dtype=np.float32) for key in keys]
    nested = lengths_dict_from_predictions({key: predictions[key] for key in keys})
    if all(a.ndim == 1 for a in arrays):
        as_list = np.stack(arrays)
    else:
        as_list = np.empty(len(arrays), dtype=object)
        as_list[:] = arrays
    names = dict(subjects=np.array([k[0] for k in keys]), actions=np.array([k[1] for k in keys]),
                 cameras=np.array([k[2] for k in keys], dtype=np.int64))
    with atomic_path(dict_path) as temporary:
        np.savez_compressed(temporary, lengths=nested)
    with atomic_path(list_path) as temporary:
        np.savez_compressed(temporary, lengths=as_list, **names)


def load_lengths_dict(path: str | os.PathLike) -> dict[Key, np.ndarray]:
    """Read a ``lengths_dict.npz`` -> {(subject, action, camera): (16,) or (T, 16) float32 meters}.

    Every array must be finite; errors name the file and the entry.
    """
    from .data.safe_pickle import load_npz

    content = load_npz(path)
    nested = content.get("lengths")
    if not isinstance(nested, dict):
        found = ", ".join(sorted(content)) or "nothing"
        raise InputError(f"{path}: expected key 'lengths' holding {{subject: {{action: [per camera]}}}}; "
                         f"found {found}")
    flat: dict[Key, np.ndarray] = {}
    for subject, actions in nested.items():
        if not isinstance(actions, dict):
            raise InputError(f"{path}: lengths['{subject}'] is {type(actions).__name__}, expected a dict")
        for action, per_camera in actions.items():
            if not isinstance(per_camera, (list, tuple, np.ndarray)):
                raise InputError(f"{path}: lengths['{subject}']['{action}'] is {type(per_camera).__name__}, "
                                 "expected one array per camera")
            for camera, lengths in enumerate(per_camera):
                where = f"lengths['{subject}']['{action}'][{camera}]"
                if not isinstance(lengths, np.ndarray) or lengths.ndim not in (1, 2) or lengths.shape[-1] != 16:
                    shape = getattr(lengths, "shape", type(lengths).__name__)
                    raise InputError(f"{path}: {where} has shape {shape}, expected (16,) or (frames, 16)")
                lengths = lengths.astype(np.float32)
                if not np.isfinite(lengths).all():
                    raise InputError(f"{path}: {where} holds NaN or infinite lengths")
                flat[(str(subject), str(action), camera)] = lengths
    return flat


def default_output_paths(data_dir: str | os.PathLike = "data", causal: bool = False) -> tuple[Path, Path]:
    """Upstream output names: data/lengths_dict.npz and data/lengths_list.npz (``_causal`` suffix when causal)."""
    suffix = "_causal" if causal else ""
    return Path(data_dir) / f"lengths_dict{suffix}.npz", Path(data_dir) / f"lengths_list{suffix}.npz"
