"""Aligning synthetic bone lengths with a dataset's subjects (BLAPose's data alignment).

Upstream (data/bone_length/generate_bone_length.py): each subject's lengths are the mean over
its actions of the per-action mean lengths (``blapose.lengths.reference.subject_mean_lengths``);
synthetic lengths are then shifted by one constant
vector so that their mean equals the mean of the training subjects (all but the last two, i.e.
S1-S8 of Human3.6M's S1, S5, S6, S7, S8, S9, S11) or of all subjects.

Glossary: M synthetic bodies, S subjects, B bones (16). Lengths in meters.
"""

from __future__ import annotations

import numpy as np

#: Number of trailing subjects held out for testing (Human3.6M's S9 and S11).
TEST_SUBJECT_COUNT = 2


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
