"""Action-wise scores of a lifting or fine-tuned (mix) model on a dataset's videos (``blapose evaluate``).

Glossary: T frames, J joints (17). Poses are meters, camera frame; reports are in mm.

``evaluate_model`` reports MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE (#3), MPJVE and the bone
errors, aggregated by ``blapose.evaluation.report.action_wise``. A lifting model is scored as
VideoPose3D's ``run.py`` ``evaluate()`` scores it: the ground truth's root joint at the origin, the
prediction not moved (MPJPE, N-MPJPE and MPJVE see its root offset, P-MPJPE does not); a mix model
as BLAPose does (``blapose.evaluation.report.MIX_PROTOCOL``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from .. import metrics
from ..data.h36m import action_name
from ..errors import InputError
from ..lengths.io import Key, LengthLookup
from ..models.mix import MixModel
from .predict import predict_each, require_finite_poses, root_relative
from .report import action_wise

#: Reported metrics, computed in meters and reported in mm by ``blapose.evaluation.report``.
EVALUATION_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "length_error", "direction_error")


def video_metrics(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Frame means of each metric for one video's poses (T, J, 3) meters (direction error unitless)."""
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
