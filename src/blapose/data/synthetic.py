"""The built-in dataset: Human3.6M-format files of procedural motion, for demos and tests.

``make_dataset`` writes, for subjects S1, S5, S6, S7, S8 (train) and S9, S11 (test):
- ``data_3d_h36m.npz``: 32-joint world-frame poses in meters, 50 fps;
- ``data_2d_h36m_gt.npz``: their projections through the four real Human3.6M cameras
  (lens distortion included), in pixels;
- ``data_2d_h36m_cpn_ft_h36m_dbb.npz``: the same with detector-like errors (temporally
  correlated jitter, larger on the extremities, occasional glitches and left/right leg swaps),
  named like VideoPose3D's CPN detections so the upstream default ``-k`` finds it.
Bodies differ per subject (overall size and proportions); motion comes from ``motion``.
Everything is deterministic for a seed. These are synthetic data, not Human3.6M recordings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .h36m import (
    ACTIONS,
    KEPT_JOINTS_OF_32,
    TEST_SUBJECTS,
    TRAIN_SUBJECTS,
    ground_truth_keypoints_2d,
    keypoints_metadata,
    write_h36m_npz,
)
from .motion import RECIPES, simulate_action

SUBJECTS = TRAIN_SUBJECTS + TEST_SUBJECTS
# Approximate mean Human3.6M bone lengths (meters), bone order of ``skeleton.H36M``.
MEAN_LENGTHS = np.array([0.133, 0.443, 0.454, 0.133, 0.443, 0.454, 0.234, 0.257, 0.121, 0.115,
                         0.151, 0.278, 0.252, 0.151, 0.278, 0.252])
_RIGHT_BONES, _LEFT_BONES = [0, 1, 2, 13, 14, 15], [3, 4, 5, 10, 11, 12]


@dataclass(frozen=True)
class DatasetSize:
    """Sequences per action class and frames per sequence (varied by up to +-20%)."""

    takes: int
    frames: int


SIZES = {"tiny": DatasetSize(takes=1, frames=120), "small": DatasetSize(takes=1, frames=500),
         "full": DatasetSize(takes=2, frames=2300)}
# Per-joint detector noise (pixels, std) in the 17-joint order: extremities are noisier.
_NOISE_PIXELS = np.array([3.5, 4.0, 4.5, 5.5, 4.0, 4.5, 5.5, 3.0, 3.0, 3.0, 3.5, 3.5, 4.5, 6.5, 3.5, 4.5, 6.5])


def subject_bone_lengths(rng: np.random.Generator) -> np.ndarray:
    """Bone lengths (16,) meters of a random adult: overall size and proportions vary."""
    lengths = MEAN_LENGTHS * rng.normal(1.0, 0.05) * rng.normal(1.0, 0.04, size=16)
    lengths[_LEFT_BONES] = lengths[_RIGHT_BONES] * rng.normal(1.0, 0.005, size=6)
    return lengths


def take_names(action: str, takes: int) -> list[str]:
    """Sequence names of an action class, Human3.6M style: 'Walking', 'Walking 1', ..."""
    return [action if take == 0 else f"{action} {take}" for take in range(takes)]


def expand_to_32_joints(poses: np.ndarray) -> np.ndarray:
    """17-joint poses (T, 17, 3) -> Human3.6M's 32-joint layout, filling the 15 joints the
    17-joint subset drops (toes, hand ends, duplicates of hip and thorax) plausibly."""
    frames = len(poses)
    full = np.zeros((frames, 32, 3), dtype=poses.dtype)
    full[:, KEPT_JOINTS_OF_32] = poses
    hips = poses[:, 4] - poses[:, 1]
    forward = np.cross(hips, np.array([0.0, 0.0, 1.0]))
    forward[:, 2] = 0
    forward /= np.linalg.norm(forward, axis=1, keepdims=True) + 1e-9
    down = np.array([0.0, 0.0, -0.05])
    for ankle, toe, site in ((3, 4, 5), (6, 9, 10)):
        full[:, toe] = poses[:, ankle] + 0.13 * forward + down
        full[:, site] = full[:, toe] + 0.05 * forward
    full[:, 11] = poses[:, 0]
    full[:, 16] = full[:, 24] = poses[:, 8]
    for elbow, wrist, first in ((12, 13, 20), (15, 16, 28)):
        hand = poses[:, wrist] - poses[:, elbow]
        hand /= np.linalg.norm(hand, axis=1, keepdims=True) + 1e-9
        for offset, index in enumerate(range(first, first + 4)):
            full[:, index] = poses[:, wrist] + (0.03 + 0.02 * offset) * hand
    return full


def detector_noise(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keypoints (T, 17, 2) pixels with detector-like errors added."""
    frames = len(pixels)
    from scipy.signal import lfilter

    white = rng.normal(size=(frames, 17, 2))
    white[1:] *= np.sqrt(1 - 0.7 ** 2)
    correlated = lfilter([1.0], [1.0, -0.7], white, axis=0)  # AR(1): jitter that drifts over frames
    noisy = pixels + correlated * _NOISE_PIXELS[None, :, None]
    for _ in range(rng.poisson(frames / 400)):  # glitches: a joint jumps away for a few frames
        start, joint = rng.integers(frames), rng.integers(17)
        noisy[start:start + rng.integers(2, 8), joint] += rng.normal(0, 25, size=2)
    for _ in range(rng.poisson(frames / 2000)):  # left/right leg confusions
        start = rng.integers(frames)
        span = slice(start, start + rng.integers(3, 10))
        noisy[span, [1, 2, 3, 4, 5, 6]] = noisy[span, [4, 5, 6, 1, 2, 3]]
    return noisy.astype(np.float32)


def generate(seed: int = 0, size: str = "small") -> tuple[dict, dict, dict]:
    """Build the dataset in memory -> (positions_3d, positions_2d ground truth, positions_2d detected).

    positions_3d: {subject: {action: (T, 32, 3) float32 meters, world}}; the 2D dicts:
    {subject: {action: [4 x (T', 17, 2) float32 pixels]}} with T' >= T (a few sequences carry
    extra trailing frames, as some Human3.6M videos do).
    """
    if size not in SIZES:
        raise ValueError(f"unknown dataset size {size!r}; choose from {', '.join(SIZES)}")
    plan = SIZES[size]
    root = np.random.default_rng(seed)
    positions_3d: dict = {}
    positions_2d: dict = {}
    detected_2d: dict = {}
    for subject in SUBJECTS:
        rng = np.random.default_rng(root.integers(2 ** 63))
        lengths = subject_bone_lengths(rng)
        positions_3d[subject], positions_2d[subject], detected_2d[subject] = {}, {}, {}
        for action in ACTIONS:
            for name in take_names(action, plan.takes):
                frames = int(plan.frames * rng.uniform(0.8, 1.2))
                extra = int(rng.integers(1, 4)) if rng.random() < 0.15 else 0
                world = simulate_action(action, lengths, frames + extra, rng)
                positions_3d[subject][name] = expand_to_32_joints(world[:frames])
                exact = ground_truth_keypoints_2d(world, subject)
                positions_2d[subject][name] = exact
                detected_2d[subject][name] = [detector_noise(pixels, rng) for pixels in exact]
    return positions_3d, positions_2d, detected_2d


def make_dataset(out_dir: str | os.PathLike = "data", seed: int = 0, size: str = "small") -> list[Path]:
    """Write the three Human3.6M-format files of the built-in dataset into ``out_dir``."""
    positions_3d, positions_2d, detected_2d = generate(seed, size)
    out_dir = Path(out_dir)
    metadata = keypoints_metadata(f"blapose built-in synthetic dataset (seed {seed}, size {size})")
    files = {
        "data_3d_h36m.npz": {"positions_3d": positions_3d},
        "data_2d_h36m_gt.npz": {"positions_2d": positions_2d, "metadata": metadata},
        "data_2d_h36m_cpn_ft_h36m_dbb.npz": {"positions_2d": detected_2d, "metadata": metadata},
    }
    return [write_h36m_npz(out_dir / name, **content) for name, content in files.items()]


assert set(RECIPES) == set(ACTIONS)
