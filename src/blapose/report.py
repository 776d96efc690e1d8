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

from . import metrics
from .bones import bones_to_poses, poses_to_bones
from .data.h36m import action_name
from .fileio import atomic_path

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


class _Concatenated:
    """Videos stacked along the frame axis, with per-video reductions of per-frame values."""

    def __init__(self, frame_counts: list[int]):
        self.counts = np.asarray(frame_counts, dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])

    def video_means(self, per_frame: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.asarray(per_frame, np.float64), self.starts) / self.counts

    def repeat(self, per_video: np.ndarray) -> np.ndarray:
        return np.repeat(per_video, self.counts, axis=0)

    def video_velocity_errors(self, predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
        """MPJVE of each video, from poses (F, J, 3) stacked along frames; 0 for 1-frame videos."""
        per_step = metrics.mpjpe_per_frame(np.diff(predicted, axis=0), np.diff(target, axis=0))
        ends = self.starts + self.counts - 1
        inside = np.ones(len(per_step), dtype=bool)
        inside[ends[:-1]] = False  # the step from one video's last frame to the next video's first
        sums = np.add.reduceat(np.where(inside, per_step, 0.0), self.starts) if len(per_step) else 0
        sums = np.where(self.counts > 1, sums, 0.0)
        return sums / np.maximum(self.counts - 1, 1)


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


def _pose_errors(stack: _Concatenated, poses: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Per-video MPJPE, P-MPJPE and MPJVE (meters) of stacked poses (F, J, 3) against the target."""
    return {"mpjpe": stack.video_means(metrics.mpjpe_per_frame(poses, target)),
            "p_mpjpe": stack.video_means(metrics.p_mpjpe_per_frame(poses, target)),
            "mpjve": stack.video_velocity_errors(poses, target)}


def adjustment_report(videos: list[Video], causal: bool = False) -> dict[str, Any]:
    """Errors before and after the BLAPose adjustment of each video's predicted poses.

    Adjusted poses keep the predicted bone directions, take ``video.lengths`` and are rebuilt
    from the root at the origin (as BLAPose bone_adjust.py does). ``causal`` says the lengths are
    per frame (T, 16). The "after" length error compares against the ground-truth lengths of the
    first frame for per-video lengths, and frame by frame for causal ones (as upstream).
    Returns {"before": {...}, "after": {...}, "per_action": {class: {"before", "after"}},
    "frames": F} with values in mm.
    """
    if not videos:
        raise ValueError("no videos to evaluate")
    stack = _Concatenated([len(video.predicted) for video in videos])
    predicted = np.concatenate([video.predicted for video in videos]).astype(np.float32, copy=False)
    target = np.concatenate([video.target for video in videos]).astype(np.float32, copy=False)
    if causal:
        lengths = np.concatenate([np.broadcast_to(video.lengths, (len(video.predicted), 16))
                                  for video in videos]).astype(np.float32)
    else:
        lengths = stack.repeat(np.stack([np.reshape(video.lengths, 16) for video in videos])).astype(np.float32)

    predicted_directions, predicted_lengths = poses_to_bones(predicted)
    target_directions, target_lengths = poses_to_bones(target)
    adjusted = bones_to_poses(predicted_directions, lengths)

    if causal:
        reference_lengths = target_lengths
    else:
        reference_lengths = stack.repeat(target_lengths[stack.starts])
    # The two pose evaluations are independent numpy work that releases the GIL: run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        before_job = pool.submit(_pose_errors, stack, predicted, target)
        after_job = pool.submit(_pose_errors, stack, adjusted, target)
        before, after = before_job.result(), after_job.result()
    before["length_error"] = stack.video_means(np.abs(predicted_lengths - target_lengths).mean(axis=-1))
    before["direction_error"] = stack.video_means(metrics.mean_distance(predicted_directions, target_directions))
    after["length_error"] = stack.video_means(np.abs(reference_lengths - lengths).mean(axis=-1))

    actions = [action_name(video.key[1]) for video in videos]
    overall_before, actions_before = action_wise(actions, stack.counts, {k: before[k] for k in BEFORE_METRICS})
    overall_after, actions_after = action_wise(actions, stack.counts, {k: after[k] for k in AFTER_METRICS})
    return {
        "before": overall_before,
        "after": overall_after,
        "per_action": {action: {"before": actions_before[action], "after": actions_after[action]}
                       for action in actions_before},
        "frames": int(stack.counts.sum()),
    }


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
