"""Synthetic bone-length files in upstream BLAPose's format.

Format (upstream data/bone_length/generate_bone_length.py): an npz with one key 'data' holding a
(M, 16) float array of bone lengths in meters, bones in blapose.skeleton.H36M order. Names:
``bone_lengths_<model>_<gender>.npz`` (unaligned), ``bone_lengths_<model>_<gender>_train.npz`` and
``..._all.npz`` (aligned), ``bone_lengths_h36m.npz`` (one row per Human3.6M subject). Bodies whose
joints follow a video's keypoints (``--joints mediapipe``) are ``bone_lengths_<model>_mediapipe_<gender>.npz``
and also hold each body's standing height (key 'height', (M,) meters).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...bones import require_valid_lengths
from ...errors import InputError
from ...fileio import atomic_path
from ...skeleton import H36M


def synthetic_lengths_name(body_model: str, gender: str, alignment: str | None = None, joints: str = "h36m") -> str:
    """``bone_lengths_<model>[_mediapipe]_<gender>[_<alignment>].npz``; alignment is None, 'train' or 'all'."""
    suffix = "" if alignment is None else f"_{alignment}"
    definition = "" if joints == "h36m" else f"_{joints}"
    return f"bone_lengths_{body_model}{definition}_{gender}{suffix}.npz"


SUBJECT_LENGTHS_NAME = "bone_lengths_h36m.npz"


def write_lengths(path: str | os.PathLike, lengths: np.ndarray, heights: np.ndarray | None = None) -> Path:
    """Write lengths (M, 16) meters to ``path`` under key 'data' as float32 (as upstream), atomically;
    with ``heights`` (M,) meters, also under key 'height'."""
    lengths = np.asarray(lengths, dtype=np.float64)
    if lengths.ndim != 2 or lengths.shape[1] != H36M.num_bones or not np.isfinite(lengths).all():
        raise ValueError(f"lengths must be finite (M, {H36M.num_bones}), got shape {lengths.shape}")
    extra = {}
    if heights is not None:
        heights = np.asarray(heights, dtype=np.float64)
        if heights.shape != lengths.shape[:1] or not np.isfinite(heights).all():
            raise ValueError(f"heights must be finite ({len(lengths)},), got shape {heights.shape}")
        extra["height"] = heights.astype(np.float32)
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, data=lengths.astype(np.float32), **extra)
    return Path(path)


def read_lengths(path: str | os.PathLike) -> np.ndarray:
    """Read a bone-length file -> (M, 16) float64 meters (no pickles are loaded); refuses lengths that
    are not finite and positive, naming the row and the bone."""
    try:
        with np.load(path, allow_pickle=False) as content:
            if "data" not in content.files:
                raise InputError(f"{path}: expected key 'data' with (M, 16) bone lengths, found {content.files}")
            lengths = np.asarray(content["data"], dtype=np.float64)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"{path}: not a readable npz file ({error})") from None
    if lengths.ndim != 2 or lengths.shape[1] != H36M.num_bones:
        raise InputError(f"{path}: 'data' has shape {lengths.shape}, expected (M, {H36M.num_bones})")
    require_valid_lengths(lengths, f"{path}: 'data' (index = row)")
    return lengths
