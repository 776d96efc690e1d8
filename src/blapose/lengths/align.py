"""Aligning synthetic bone lengths with a dataset's subjects (BLAPose's data alignment).

Upstream (data/bone_length/generate_bone_length.py): each subject's lengths are the mean over
its actions of the per-action mean lengths; synthetic lengths are then shifted by one constant
vector so that their mean equals the mean of the training subjects (all but the last two, i.e.
S1-S8 of Human3.6M's S1, S5, S6, S7, S8, S9, S11) or of all subjects.

Glossary: M synthetic bodies, S subjects, B bones (16). Lengths in meters.
"""

from __future__ import annotations

import re

import numpy as np

from ..bones import bone_lengths

#: Number of trailing subjects held out for testing (Human3.6M's S9 and S11).
TEST_SUBJECT_COUNT = 2


def subject_order(subjects: list[str]) -> list[str]:
    """Subjects in natural order ('S1' < 'S5' < 'S11'), the order of the Human3.6M files."""
    def key(name: str) -> tuple:
        return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
    return sorted(subjects, key=key)


def subject_mean_lengths(poses_3d: dict[str, dict[str, np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """Per-subject lengths from world poses {subject: {action: (T, 17, 3) meters}}.

    Returns (subjects in natural order, lengths (S, 16) float64 meters), each row the mean over
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


def shift_to_mean(lengths: np.ndarray, target_mean: np.ndarray) -> np.ndarray:
    """Shift lengths (M, 16) by one vector so that their mean equals target_mean (16,)."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return lengths + (np.asarray(target_mean, dtype=np.float64) - lengths.mean(axis=0))


def aligned_sets(lengths: np.ndarray, subject_lengths: np.ndarray) -> dict[str, np.ndarray]:
    """{'train': lengths aligned to the training subjects' mean, 'all': to all subjects' mean}.

    subject_lengths (S, 16) in subject order; the last ``TEST_SUBJECT_COUNT`` rows are the test
    subjects. Needs S > TEST_SUBJECT_COUNT.
    """
    subject_lengths = np.asarray(subject_lengths, dtype=np.float64)
    if subject_lengths.ndim != 2 or len(subject_lengths) <= TEST_SUBJECT_COUNT:
        raise ValueError(f"need more than {TEST_SUBJECT_COUNT} subjects to align, got {len(subject_lengths)}")
    return {
        "train": shift_to_mean(lengths, subject_lengths[:-TEST_SUBJECT_COUNT].mean(axis=0)),
        "all": shift_to_mean(lengths, subject_lengths.mean(axis=0)),
    }
