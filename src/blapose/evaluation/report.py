"""Action-wise evaluation reports: before/after adjustment, in millimetres.

Aggregation follows BLAPose bone_adjust.py and VideoPose3D: a metric is averaged over the
frames of each video, videos of one action class are averaged weighted by their frame counts,
and the reported figure is the plain mean over action classes. Errors are computed in meters
and converted to millimetres once, here (the direction error, unitless, is scaled by 1000 as
upstream prints it).
"""

from __future__ import annotations

import csv
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import metrics
from ..bones import bones_to_poses, poses_to_bones
from ..data.h36m import action_name
from ..fileio import atomic_path

BEFORE_METRICS = ("mpjpe", "p_mpjpe", "mpjve", "length_error", "direction_error")
AFTER_METRICS = ("mpjpe", "p_mpjpe", "mpjve", "length_error")
LABELS = {"mpjpe": "MPJPE (Protocol #1)", "p_mpjpe": "P-MPJPE (Protocol #2)", "n_mpjpe": "N-MPJPE",
          "mpjve": "MPJVE (velocity)", "length_error": "Bone length error",
          "direction_error": "Bone direction error (x1000)"}


@dataclass(frozen=True)
class Video:
    """One evaluated video: predicted and ground-truth poses (T, 17, 3), meters, camera frame,
    root-relative, and the lengths to adjust with: (16,) for the video or (T, 16) per frame."""

    key: tuple[str, str, int]
    predicted: np.ndarray
    target: np.ndarray
    lengths: np.ndarray | None = None


#: Videos evaluated together as one batch: consecutive videos of equal length, up to this many frames.
#: Small batches keep numpy's temporaries at a few MB, which malloc reuses; batches of 10,000 frames
#: made the kernel map fresh pages for them (half a million page faults, 1.3 s, on Human3.6M's test set).
BATCH_FRAMES = 2_500


def _equal_length_batches(videos: list[Video], max_frames: int = BATCH_FRAMES) -> list[list[Video]]:
    """Split ``videos`` in order into runs of equal frame count holding at most ``max_frames`` frames
    (a longer video forms a batch of its own; the cameras of a short take share one)."""
    batches: list[list[Video]] = []
    for video in videos:
        frames = len(video.predicted)
        current = batches[-1] if batches else None
        if current and len(current[0].predicted) == frames and (len(current) + 1) * frames <= max_frames:
            current.append(video)
        else:
            batches.append([video])
    return batches


def action_wise(actions: list[str], frame_counts: list[int] | np.ndarray,
                per_video: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Aggregate per-video metrics (meters) -> (mean over action classes, per action class), in mm.

    actions: the action class of each video; frame_counts: its frames; per_video: metric name ->
    (V,) values. Within a class videos are weighted by frames.
    """
    counts = np.asarray(frame_counts, dtype=np.float64)
    classes = list(dict.fromkeys(actions))
    labels = np.array(actions)
    per_action = {}
    for action in classes:
        mask = labels == action
        weight = counts[mask].sum()
        per_action[action] = {name: float((values[mask] * counts[mask]).sum() / weight * 1000)
                              for name, values in per_video.items()}
    overall = {name: float(np.mean([per_action[action][name] for action in classes])) for name in per_video}
    return overall, per_action


def _frame_mean(per_frame: np.ndarray) -> np.ndarray:
    """(V, T) per-frame values -> (V,) float64 means over the frames of each video."""
    return per_frame.mean(axis=-1, dtype=np.float64)


def _pose_errors(poses: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Per-video MPJPE, P-MPJPE and MPJVE (meters) of poses (V, T, J, 3) against the target."""
    if poses.shape[1] > 1:
        velocity = _frame_mean(metrics.mpjpe_per_frame(np.diff(poses, axis=1), np.diff(target, axis=1)))
    else:
        velocity = np.zeros(len(poses))
    return {"mpjpe": _frame_mean(metrics.mpjpe_per_frame(poses, target)),
            "p_mpjpe": _frame_mean(metrics.p_mpjpe_per_frame(poses, target)),
            "mpjve": velocity}


def _batch_errors(videos: list[Video], causal: bool, keep_adjusted: bool
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray | None]:
    """Errors of videos of equal length before and after adjustment -> (before, after, adjusted).

    before/after map metric names to (V,) per-video means in meters; adjusted is (V, T, 17, 3)
    float32 meters, root at the origin, or None unless ``keep_adjusted``.
    """
    frames = len(videos[0].predicted)
    predicted = np.stack([video.predicted for video in videos]).astype(np.float32, copy=False)
    target = np.stack([video.target for video in videos]).astype(np.float32, copy=False)
    lengths = np.stack([np.broadcast_to(video.lengths, (frames, 16)) if causal
                        else np.reshape(video.lengths, (1, 16)) for video in videos]).astype(np.float32)

    predicted_directions, predicted_lengths = poses_to_bones(predicted)
    target_directions, target_lengths = poses_to_bones(target)
    adjusted = bones_to_poses(predicted_directions, lengths)
    # Upstream compares per-video lengths with the ground truth of the first frame, causal ones frame by frame.
    reference_lengths = target_lengths if causal else target_lengths[:, :1]

    before = _pose_errors(predicted, target)
    before["length_error"] = _frame_mean(np.abs(predicted_lengths - target_lengths).mean(axis=-1))
    before["direction_error"] = _frame_mean(metrics.mean_distance(predicted_directions, target_directions))
    after = _pose_errors(adjusted, target)
    after["length_error"] = _frame_mean(np.abs(reference_lengths - lengths).mean(axis=-1))
    return before, after, adjusted if keep_adjusted else None


def adjust_and_report(videos: list[Video], causal: bool = False, keep_adjusted: bool = False
                      ) -> tuple[dict[str, Any], dict[tuple[str, str, int], np.ndarray]]:
    """Errors before and after the BLAPose adjustment of each video's predicted poses.

    Adjusted poses keep the predicted bone directions, take ``video.lengths`` and are rebuilt
    from the root at the origin (as BLAPose bone_adjust.py does). ``causal`` says the lengths are
    per frame (T, 16). The "after" length error compares against the ground-truth lengths of the
    first frame for per-video lengths, and frame by frame for causal ones (as upstream).
    Returns (report, adjusted): report is {"before": {...}, "after": {...}, "per_action":
    {class: {"before", "after"}}, "frames": F} with values in mm; adjusted maps each video's key
    to its adjusted poses (T, 17, 3) float32 meters, camera frame, root-relative, when
    ``keep_adjusted`` (else it is empty).

    Videos are evaluated in batches of equal length on as many threads as this process may use
    CPUs (numpy releases the GIL in its array loops), so a batch's arrays stay small and in cache.
    """
    if not videos:
        raise ValueError("no videos to evaluate")
    batches = _equal_length_batches(videos)
    usable_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(len(batches), usable_cpus)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda batch: _batch_errors(batch, causal, keep_adjusted), batches))
    before = {name: np.concatenate([result[0][name] for result in results]) for name in BEFORE_METRICS}
    after = {name: np.concatenate([result[1][name] for result in results]) for name in AFTER_METRICS}
    adjusted = {video.key: poses for batch, result in zip(batches, results) if result[2] is not None
                for video, poses in zip(batch, result[2])}

    actions = [action_name(video.key[1]) for video in videos]
    counts = [len(video.predicted) for video in videos]
    overall_before, actions_before = action_wise(actions, counts, before)
    overall_after, actions_after = action_wise(actions, counts, after)
    report = {
        "before": overall_before,
        "after": overall_after,
        "per_action": {action: {"before": actions_before[action], "after": actions_after[action]}
                       for action in actions_before},
        "frames": int(sum(counts)),
    }
    return report, adjusted


def adjustment_report(videos: list[Video], causal: bool = False) -> dict[str, Any]:
    """The report of ``adjust_and_report`` alone (values in mm)."""
    return adjust_and_report(videos, causal)[0]


def format_report(report: dict[str, Any], print_action: bool = False) -> str:
    """A before/after table of a report, one row per metric, values in mm rounded to 0.1."""
    lines = []
    if print_action:
        for action, values in report["per_action"].items():
            lines.append(f"---- {action} ----")
            lines.extend(_metric_rows(values["before"], values["after"]))
        lines.append("")
    lines.append(f"Action-wise average over {len(report['per_action'])} actions, {report['frames']} frames:")
    lines.extend(_metric_rows(report["before"], report["after"]))
    return "\n".join(lines)


def _metric_rows(before: dict[str, float], after: dict[str, float]) -> list[str]:
    rows = [f"  {'metric':<30}{'before':>10}{'after':>10}  (mm)"]
    for name, value in before.items():
        adjusted = f"{after[name]:>10.1f}" if name in after else f"{'-':>10}"
        rows.append(f"  {LABELS.get(name, name):<30}{value:>10.1f}{adjusted}")
    return rows


def write_json(path: str | os.PathLike, report: dict[str, Any]) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(report, indent=2) + "\n")


def write_csv(path: str | os.PathLike, report: dict[str, Any]) -> None:
    """One row per action class and one for the average; columns before_* and after_* in mm."""
    before_names = list(report["before"])
    after_names = list(report["after"])
    header = ["action"] + [f"before_{n}" for n in before_names] + [f"after_{n}" for n in after_names]
    rows = [[action] + [round(values["before"][n], 2) for n in before_names]
            + [round(values["after"][n], 2) for n in after_names]
            for action, values in sorted(report["per_action"].items())]
    rows.append(["Average"] + [round(report["before"][n], 2) for n in before_names]
                + [round(report["after"][n], 2) for n in after_names])
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(header)
            writer.writerows(rows)
