"""Evaluating a bone-length model: length errors on whole test videos, detected and augmented 2D.

Errors are mean absolute bone-length errors over the 16 bones, averaged over videos with equal
weight (upstream main.py ``eval_bone_length``). Units: meters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ...geometry.floor import calibration_vector
from ...lengths.reference import true_lengths
from ...models.checkpoint import load_checkpoint, resolve_checkpoint_path
from ...models.length import BoneLengthModel, length_model_from_checkpoint, predict_lengths
from ..device import resolve_device  # noqa: F401  (re-exported: its home was this module)
from .batches import ROOT_OFFSET_STD, LengthSampler, augmented_keypoints, make_length_sampler
from .config import LengthTrainingConfig, load_length_table, load_training_sequences


@dataclass(frozen=True)
class LengthErrors:
    """Mean absolute bone-length errors, meters: on detected 2D and on augmented test videos."""

    detected: float
    augmented: float


def augmented_test_keypoints(sequences: Sequence, sampler: LengthSampler | None,
                             reference_lengths: dict, rng: np.random.Generator
                             ) -> tuple[dict, dict]:
    """Test videos re-posed with other lengths and re-projected: ({key: (T, J, 2)}, {key: (16,) m}).

    With no sampler or an 'smpl' one, each video gets the ground-truth lengths of a random test
    video (upstream ``UnchunkedGeneratorBoneLengths``); the random types draw from ``sampler`` for
    the video's subject. Root offsets ~ N(0, 0.5 m) per axis.
    """
    from ...bones import poses_to_bones

    keys = list(reference_lengths)
    keypoints, targets = {}, {}
    for sequence in sequences:
        if sampler is None or sampler.kind == "smpl":
            lengths = reference_lengths[keys[rng.integers(0, len(keys))]][None]
        else:
            lengths = sampler.sample(rng, [sequence.subject])
        offset = rng.normal(0.0, ROOT_OFFSET_STD, size=3).astype(np.float32)
        directions, _ = poses_to_bones(sequence.poses_3d)
        projected = augmented_keypoints(
            torch.from_numpy(np.asarray(directions, np.float32))[None], torch.from_numpy(lengths),
            torch.from_numpy(sequence.poses_3d[None, :, 0] + offset),
            torch.from_numpy(sequence.camera.intrinsic())[None], torch.zeros(1, dtype=torch.bool))
        keypoints[sequence.key] = projected[0].numpy()
        targets[sequence.key] = lengths[0]
    return keypoints, targets


def mean_length_error(predicted: dict, target: dict) -> float:
    """Mean over videos of the mean absolute bone-length error, meters."""
    return float(np.mean([np.abs(predicted[key] - target[key]).mean() for key in target]))


def evaluate(model: BoneLengthModel, test_sequences: Sequence, sampler: LengthSampler | None,
             seed: int, progress: bool = False) -> LengthErrors:
    """Length errors on the test videos' 2D keypoints and on augmented copies (drawn from ``seed``).

    ``sampler`` gives the lengths of the augmented copies for the random augmentation types; None
    or 'smpl' uses other test videos' ground-truth lengths (``augmented_test_keypoints``).
    """
    reference = true_lengths(test_sequences, np.float32)
    detected = predict_lengths(model, test_sequences, progress=progress)
    rng = np.random.default_rng(seed)
    keypoints, targets = augmented_test_keypoints(test_sequences, sampler, reference, rng)
    calibrations = {s.key: calibration_vector(s.camera) for s in test_sequences}  # copies keep their camera
    augmented = predict_lengths(model, keypoints, progress=progress, calibrations=calibrations)
    return LengthErrors(detected=mean_length_error(detected, reference),
                        augmented=mean_length_error(augmented, targets))


def evaluate_checkpoint(config: LengthTrainingConfig, checkpoint_name: str) -> LengthErrors:
    """Length errors of a saved model on the config's test subjects (``--evaluate -t length``)."""
    path = resolve_checkpoint_path(checkpoint_name, config.run.checkpoint_dir)
    model = length_model_from_checkpoint(load_checkpoint(path), str(path), config.model.bidirectional)
    model.to(resolve_device(config.run.device))
    sampler = None
    augmentation, data = config.augmentation, config.data
    if augmentation.length_aug_type != "smpl":  # 'smpl' evaluation needs no table (test lengths are swapped)
        sampler = make_length_sampler(augmentation.length_aug_type, load_length_table(augmentation.bone_length_aug),
                                      data.subjects_train, data.subjects_test, augmentation.bone_length_aug)
    return evaluate(model, load_training_sequences(config, data.subjects_test), sampler, config.schedule.seed + 1,
                    progress=config.run.progress)

