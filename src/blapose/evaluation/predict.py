"""Prediction of datasets with the lifting model and the fine-tuned (mix) model.

Glossary: T frames, J joints (17), P bones (16), R receptive field.
Poses are meters, camera frame; keypoints are normalised screen coordinates.

- ``predict_sequence`` (from ``blapose.models.inference``, which videos use too): one sequence's
  poses with flip test-time augmentation, the lifting model's output as it comes.
- ``predict_each``: that for many sequences, with the bone lengths a mix model needs.
- ``predict_poses``: root-relative poses of many sequences, the format ``blapose predict``
  writes for ``blapose adjust``.
- ``validation_mpjpe``: the MPJPE a training run prints each epoch.

Scoring a model action-wise is ``blapose.evaluation.protocol``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch import nn

from ..errors import InputError
from ..lengths.io import Key, LengthLookup
from ..models.inference import predict_sequence, whole_sequence_form
from ..models.mix import MixModel
from ..progress import progress as show_progress
from ..train import flush_subnormal_floats
from ..train.pose import lengths_of_sequences


def root_relative(poses: np.ndarray) -> np.ndarray:
    """Poses (..., T, J, 3) with each frame's root joint moved to the origin (same units and frame)."""
    return poses - poses[..., :1, :]


def predict_each(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                 flip: bool = True, progress: bool = False, description: str = "predicting"
                 ) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """(sequence, raw, final) for each of ``sequences``, raw and final as ``predict_sequence`` gives them.

    model: a lifting model (either form) or a ``MixModel``. For a mix model, bone lengths come from
    ``length_lookup`` {(subject, action, camera): (16,) meters} when given, else from its length
    model (``InputError`` when it has none). ``progress`` counts the videos under ``description``.
    """
    flush_subnormal_floats()
    whole = whole_sequence_form(model)
    lengths = None
    if isinstance(whole, MixModel):
        if length_lookup is not None:
            lengths = lengths_of_sequences(sequences, length_lookup)
        elif whole.length_model is None:
            raise InputError("this fine-tuned model has no length model: pass the predicted bone lengths "
                             "of the videos")
    videos = show_progress(sequences, len(sequences), description, unit="video", enabled=progress)
    for index, sequence in enumerate(videos):
        raw, final = predict_sequence(whole, sequence.keypoints_2d, None if lengths is None else lengths[index],
                                      flip)
        yield sequence, raw, final


def require_finite_poses(key: Key, *poses: np.ndarray) -> None:
    """Raise ``InputError`` naming the video ``key`` and its first frame where any of ``poses``
    (each (T, J, 3)) holds a NaN or infinite coordinate; nothing happens when all are finite."""
    bad = np.zeros(len(poses[0]), dtype=bool)
    for array in poses:
        bad |= ~np.isfinite(array).reshape(len(array), -1).all(axis=1)
    if bad.any():
        from ..lengths.io import describe_key

        raise InputError(f"the model predicted NaN or infinite poses for {describe_key(key)} (first at frame "
                         f"{int(np.argmax(bad))} of {len(bad)}); nothing written")


def predict_poses(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                  flip: bool = True, progress: bool = False, raw: bool = False) -> dict[Key, np.ndarray]:
    """Predicted poses {(subject, action, camera): (T, 17, 3) float32}, meters, camera frame, root-relative.

    Arguments as ``predict_each``. ``raw`` returns the temporal model's own poses instead (what a
    mix model rebuilds from). A lifting model's poses are re-centred on purpose: BLAPose's
    prediction files, which ``blapose adjust`` reads, hold root-relative poses. Scores come from
    ``blapose.evaluation.protocol.evaluate_model``, which does not re-centre them. A pose that is
    not finite stops it with ``InputError`` naming the first such video and frame
    (``require_finite_poses``).
    """
    poses = {}
    for sequence, raw_poses, final in predict_each(model, sequences, length_lookup, flip, progress):
        chosen = raw_poses if raw else final
        require_finite_poses(tuple(sequence.key), chosen)
        poses[tuple(sequence.key)] = root_relative(chosen)
    return poses


def validation_mpjpe(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None
                     ) -> float:
    """MPJPE (meters) over all frames of ``sequences``, without test-time augmentation.

    As VideoPose3D's per-epoch validation: the ground truth's root at the origin, a lifting
    model's poses as they come (not re-centred); a mix model's poses are rebuilt from the root.
    """
    errors = [np.linalg.norm(final - sequence.poses_root_relative, axis=-1).mean(axis=-1)
              for sequence, _, final in predict_each(model, sequences, length_lookup, flip=False)]
    return float(np.concatenate(errors).mean())
