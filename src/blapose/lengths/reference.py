"""Reference bone lengths, to compare predictions with or to adjust poses to: the ground truth of
each video, the subjects' means, and a video's own median.

Glossary: S subjects, T frames, J joints (17), L bones (16). Lengths in meters; left/right
averaged where said. Videos are keyed (subject, action, camera index), as ``blapose.data.h36m.Sequence.key``.

Upstream BLAPose (main.py ``eval_bone_length``) takes a video's true lengths as the mean over its
frames; its data alignment (data/bone_length/generate_bone_length.py) takes a subject's lengths as
the mean over actions of each action's mean lengths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..bones import bone_lengths, symmetrize_lengths
from ..errors import InputError

Key = tuple[str, str, int]


def true_lengths(sequences: Iterable[Any], dtype: Any = np.float64) -> dict[Key, np.ndarray]:
    """Ground-truth lengths (L,) meters of each video, the mean over its frames (upstream).

    sequences: objects with ``key`` and ``poses_3d`` (T, J, 3) meters (``blapose.data.h36m.Sequence``).
    The means are computed in float64 and returned as ``dtype``.
    """
    return {s.key: bone_lengths(np.asarray(s.poses_3d, dtype=np.float64)).mean(axis=0).astype(dtype)
            for s in sequences}


def subject_order(subjects: list[str]) -> list[str]:
    """Subjects in natural order ('S1' < 'S5' < 'S11'), the order of the Human3.6M files."""
    def key(name: str) -> tuple:
        return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
    return sorted(subjects, key=key)


def subject_mean_lengths(poses_3d: Mapping[str, Mapping[str, np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """Per-subject lengths from poses {subject: {action: (T, J, 3) meters}} (any frame).

    Returns (subjects in natural order, lengths (S, L) float64 meters), each row the mean over
    actions of the action's mean bone lengths (not left/right averaged, as upstream).
    """
    subjects = subject_order(list(poses_3d))
    rows = []
    for subject in subjects:
        per_action = [bone_lengths(np.asarray(poses, dtype=np.float64)).mean(axis=0)
                      for poses in poses_3d[subject].values()]
        if not per_action:
            raise ValueError(f"subject {subject} has no actions")
        rows.append(np.mean(per_action, axis=0))
    return subjects, np.stack(rows)


def subject_mean_baselines(poses_3d: Mapping[str, Mapping[str, np.ndarray]],
                           train_subjects: Iterable[str]) -> dict[str, np.ndarray]:
    """{'train': training subjects' mean, 'all': all subjects' mean}, left/right averaged (L,) meters.

    poses_3d: {subject: {action: (T, J, 3) meters}} (any frame); subject means as
    ``subject_mean_lengths``; 'all' is every subject of ``poses_3d`` (upstream's ``_all`` alignment).
    """
    subjects, rows = subject_mean_lengths(dict(poses_3d))
    train = [subjects.index(s) for s in train_subjects if s in subjects]
    missing = [s for s in train_subjects if s not in subjects]
    if missing:
        raise InputError(f"training subject(s) {', '.join(missing)} missing from the 3D data "
                         f"(found {', '.join(subjects)})")
    return {"train": symmetrize_lengths(rows[train].mean(axis=0)), "all": symmetrize_lengths(rows.mean(axis=0))}


def training_mean_lengths(train_sequences: Iterable[Any]) -> np.ndarray:
    """Mean over the training subjects of their mean bone lengths, left/right averaged (L,) meters.

    train_sequences: ``blapose.data.h36m.Sequence`` objects of the training subjects; subject
    means as ``subject_mean_lengths``, reading camera 0's copy of each video (lengths do not
    depend on the camera).
    """
    poses: dict[str, dict[str, np.ndarray]] = {}
    for sequence in train_sequences:
        if sequence.camera_index == 0:
            poses.setdefault(sequence.subject, {})[sequence.action] = sequence.poses_3d
    return subject_mean_baselines(poses, poses)["train"]


def median_lengths(poses: Any) -> np.ndarray:
    """A video's own lengths (..., L) float64 meters: per bone the median over frames of the bone
    lengths of poses (..., T, J, 3) meters (any frame), left/right averaged."""
    return symmetrize_lengths(np.median(bone_lengths(np.asarray(poses, dtype=np.float64)), axis=-2))
