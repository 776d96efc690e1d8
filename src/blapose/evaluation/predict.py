"""Prediction and evaluation of the lifting model and the fine-tuned (mix) model.

Glossary: T frames, J joints (17), P bones (16), R receptive field.
Poses are meters, camera frame; keypoints are normalised screen coordinates; reports are in mm.

- ``predict_sequence`` (from ``blapose.models.inference``, which videos use too): one sequence's
  poses with flip test-time augmentation, the lifting model's output as it comes.
- ``predict_poses``: root-relative poses of many sequences, the format ``blapose predict``
  writes for ``blapose adjust``.
- ``evaluate_model``: action-wise MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE (#3) and MPJVE,
  aggregated by ``blapose.evaluation.report.action_wise``. A lifting model is scored as VideoPose3D's
  ``run.py`` ``evaluate()`` scores it: the ground truth's root joint at the origin, the prediction
  not moved (MPJPE, N-MPJPE and MPJVE see its root offset, P-MPJPE does not).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from ..errors import InputError
from ..lengths_io import Key, LengthLookup
from ..models.inference import predict_sequence, whole_sequence_form  # noqa: F401  (predict_sequence: its home was here)
from ..models.mix import MixModel
from ..progress import progress as show_progress
from ..train import flush_subnormal_floats
from ..train.pose import lengths_of_sequences


# ----------------------------------------------------------------------------------------------
# Prediction
# ----------------------------------------------------------------------------------------------

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
        from ..lengths_io import describe_key

        raise InputError(f"the model predicted NaN or infinite poses for {describe_key(key)} (first at frame "
                         f"{int(np.argmax(bad))} of {len(bad)}); nothing written")


def predict_poses(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                  flip: bool = True, progress: bool = False, raw: bool = False) -> dict[Key, np.ndarray]:
    """Predicted poses {(subject, action, camera): (T, 17, 3) float32}, meters, camera frame, root-relative.

    Arguments as ``predict_each``. ``raw`` returns the temporal model's own poses instead (what a
    mix model rebuilds from). A lifting model's poses are re-centred on purpose: BLAPose's
    prediction files, which ``blapose adjust`` reads, hold root-relative poses. Scores come from
    ``evaluate_model``, which does not re-centre them. A pose that is not finite stops it with
    ``InputError`` naming the first such video and frame (``require_finite_poses``).
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


# ----------------------------------------------------------------------------------------------
# Evaluation
# ----------------------------------------------------------------------------------------------

#: How each kind of model is scored, as the printed report states it.
LIFT_PROTOCOL = ("VideoPose3D run.py evaluate() protocol: ground-truth root at the origin, the model's "
                 "poses not re-centred")
MIX_PROTOCOL = "BLAPose protocol: poses rebuilt from a root at the origin with the bone lengths"

#: Reported metrics, computed in meters and reported in mm by ``blapose.evaluation.report``.
EVALUATION_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "length_error", "direction_error")


def video_metrics(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Frame means of each metric for one video's poses (T, J, 3) meters (direction error unitless)."""
    from .. import metrics

    return {
        "mpjpe": float(metrics.mpjpe_per_frame(predicted, target).mean()),
        "p_mpjpe": float(metrics.p_mpjpe_per_frame(predicted, target).mean()),
        "n_mpjpe": float(metrics.n_mpjpe_per_frame(predicted, target).mean()),
        "mpjve": float(metrics.mpjve(predicted, target)),
        "length_error": float(metrics.bone_length_error_per_frame(predicted, target).mean()),
        "direction_error": float(metrics.bone_direction_error_per_frame(predicted, target).mean()),
    }


def evaluation_report(targets: Mapping[Key, np.ndarray], after: Mapping[Key, np.ndarray],
                      before: Mapping[Key, np.ndarray] | None = None) -> dict[str, Any]:
    """Action-wise report in mm, with the schema of ``blapose adjust``'s report.

    targets, after, before: {(subject, action, camera): (T, 17, 3)} meters, camera frame; targets
    root-relative (root joint at the origin). ``before`` holds the lifting model's own poses,
    scored as given (a root offset counts), and ``after`` the poses rebuilt with bone lengths; a
    plain lifting model has only ``before`` (pass its poses as ``before`` and ``after={}``) and its
    "after" entries are empty. Per video each metric is its frame mean (MPJVE: the mean over the
    T - 1 frame differences); aggregation (frame-weighted within an action class, plain mean over
    classes, as VideoPose3D's ``run_evaluation``) is ``blapose.evaluation.report.action_wise``.
    """
    from ..data.h36m import action_name
    from .report import action_wise

    keys = list(before if before is not None else after)
    if not keys:
        raise InputError("no videos to evaluate")
    actions = [action_name(key[1]) for key in keys]
    counts = [len(targets[key]) for key in keys]
    parts = {}
    for name, predictions in (("before", before), ("after", after)):
        if not predictions:
            parts[name] = ({}, {action: {} for action in dict.fromkeys(actions)})
            continue
        per_video = [video_metrics(predictions[key], targets[key]) for key in keys]
        values = {metric: np.array([v[metric] for v in per_video]) for metric in EVALUATION_METRICS}
        parts[name] = action_wise(actions, counts, values)
    return {"before": parts["before"][0], "after": parts["after"][0],
            "per_action": {action: {"before": parts["before"][1][action], "after": parts["after"][1][action]}
                           for action in parts["before"][1]},
            "frames": int(sum(counts))}


def evaluate_model(model: nn.Module, sequences: Sequence[Any], length_lookup: LengthLookup | None = None,
                   flip: bool = True, progress: bool = False, by_subject: bool = False) -> dict[str, Any]:
    """Evaluate a lifting or mix model on ``sequences`` -> ``evaluation_report`` (mm).

    Lifting model: VideoPose3D ``run.py`` ``evaluate()``'s protocol. Its poses, not re-centred,
    are "before" and "after" is empty; the targets are the ground truth with its root joint at the
    origin. Mix model (BLAPose's evaluation, unchanged): "before" is its temporal model's own poses
    moved to a root at the origin, "after" the poses rebuilt from the root with the bone lengths
    (from ``length_lookup`` or, without one, its length model run on each whole sequence). Flip
    test-time augmentation unless ``flip`` is False. A pose that is not finite stops it with
    ``InputError`` naming the first such video and frame (``require_finite_poses``). ``by_subject``
    adds "per_subject": {subject: the same report of that subject's videos alone}.
    """
    is_mix = isinstance(model, MixModel)
    raw, final, targets = {}, {}, {}
    for sequence, raw_poses, final_poses in predict_each(model, sequences, length_lookup, flip, progress,
                                                         "evaluating"):
        key = tuple(sequence.key)
        require_finite_poses(key, raw_poses, final_poses)
        raw[key] = root_relative(raw_poses) if is_mix else raw_poses
        final[key] = final_poses
        targets[key] = sequence.poses_root_relative
    report = evaluation_report(targets, after=final if is_mix else {}, before=raw)
    if by_subject:
        report["per_subject"] = {}
        for subject in dict.fromkeys(key[0] for key in raw):
            keys = [key for key in raw if key[0] == subject]
            after = {key: final[key] for key in keys} if is_mix else {}
            report["per_subject"][subject] = evaluation_report(targets, after, before={key: raw[key] for key in keys})
    return report


def headline(report: Mapping[str, Any]) -> dict[str, float]:
    """The final poses' action-wise averages in mm: "after" when there is one, else "before"."""
    return dict(report["after"] or report["before"])


def format_evaluation(report: Mapping[str, Any]) -> str:
    """A per-action table of the final poses' errors in mm, the average, and the raw poses' average."""
    names = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
    titles = ("MPJPE (P1)", "P-MPJPE (P2)", "N-MPJPE", "MPJVE")
    final = "after" if report["after"] else "before"
    lines = [f"{'action':<14}" + "".join(f"{t:>14}" for t in titles)]
    for action, values in report["per_action"].items():
        lines.append(f"{action:<14}" + "".join(f"{values[final][n]:>14.1f}" for n in names))
    lines.append(f"{'Average':<14}" + "".join(f"{report[final][n]:>14.1f}" for n in names))
    lines.append(f"Protocol #1   (MPJPE) action-wise average: {report[final]['mpjpe']:.1f} mm")
    lines.append(f"Protocol #2 (P-MPJPE) action-wise average: {report[final]['p_mpjpe']:.1f} mm")
    lines.append(f"Protocol #3 (N-MPJPE) action-wise average: {report[final]['n_mpjpe']:.1f} mm")
    lines.append(f"Velocity      (MPJVE) action-wise average: {report[final]['mpjve']:.2f} mm")
    lines.append(f"Bone length error: {report[final]['length_error']:.1f} mm, bone direction error "
                 f"(x1000): {report[final]['direction_error']:.1f}")
    if report["after"]:
        lines.append(f"Temporal model's own poses (before the bone lengths): MPJPE "
                     f"{report['before']['mpjpe']:.1f} mm, P-MPJPE {report['before']['p_mpjpe']:.1f} mm")
    lines.append(f"{report['frames']} frames; " + (MIX_PROTOCOL if report["after"] else LIFT_PROTOCOL))
    return "\n".join(lines)

