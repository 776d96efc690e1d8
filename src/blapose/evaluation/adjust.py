"""The BLAPose adjustment of a lifting model's predictions, evaluated: from files to a report (``blapose adjust``).

Adjusted poses keep each predicted bone's direction and take the given lengths (``blapose.bones``);
errors before and after are computed here in meters, video by video, and aggregated action-wise
in millimetres by ``blapose.evaluation.report`` (as BLAPose bone_adjust.py and VideoPose3D do).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import metrics
from ..bones import bones_to_poses, poses_to_bones
from ..data.h36m import action_name, load_poses_3d
from ..data.predictions import SequenceKey, prediction_keys, read_predictions
from ..errors import InputError
from ..geometry.camera import h36m_cameras
from ..geometry.rotations import quaternion_to_matrix
from ..lengths.io import load_lengths_dict
from .report import action_wise

BEFORE_METRICS = ("mpjpe", "p_mpjpe", "mpjve", "length_error", "direction_error")
AFTER_METRICS = ("mpjpe", "p_mpjpe", "mpjve", "length_error")


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



def ground_truth_root_relative(poses_world: dict[str, dict[str, np.ndarray]], keys: list[SequenceKey],
                               source: Any = "ground truth") -> dict[SequenceKey, np.ndarray]:
    """Camera-frame, root-relative ground truth (T, 17, 3) float32 meters for each (subject, action, camera).

    poses_world: {subject: {action: (T, 17, 3)}} meters, world frame. The camera translation
    cancels in root-relative poses, so each camera only rotates the take's root-relative poses.
    """
    rotations: dict[str, list[np.ndarray]] = {}
    relative: dict[tuple[str, str], np.ndarray] = {}
    result = {}
    for subject, action, camera in keys:
        if subject not in poses_world or action not in poses_world[subject]:
            raise InputError(f"{source}: no 3D poses for subject '{subject}', action '{action}'")
        if subject not in rotations:
            rotations[subject] = [quaternion_to_matrix(np.asarray(c.orientation)).astype(np.float32)
                                  for c in h36m_cameras(subject)]
        if (subject, action) not in relative:
            world = np.asarray(poses_world[subject][action], dtype=np.float32)
            relative[(subject, action)] = world - world[:, :1]
        take = relative[(subject, action)]
        # world_to_camera is (x - t) @ R; as one (T * 17, 3) product.
        result[(subject, action, camera)] = (take.reshape(-1, 3) @ rotations[subject][camera]).reshape(take.shape)
    return result


def videos_for_adjustment(predictions: dict[SequenceKey, np.ndarray], lengths: dict[SequenceKey, np.ndarray],
                          ground_truth: dict[SequenceKey, np.ndarray], causal: bool,
                          sources: tuple[Any, Any] = ("predictions", "lengths")) -> list[Video]:
    """Pair predictions with ground truth and lengths by key, checking frame counts and shapes."""
    prediction_source, lengths_source = sources
    videos = []
    for key, predicted in predictions.items():
        target = ground_truth[key]
        if len(predicted) != len(target):
            raise InputError(f"{prediction_source}: {key} has {len(predicted)} frames but the ground truth "
                             f"has {len(target)}")
        if key not in lengths:
            raise InputError(f"{lengths_source}: no lengths for subject '{key[0]}', action '{key[1]}', "
                             f"camera {key[2]}")
        video_lengths = lengths[key]
        if causal and video_lengths.shape != (len(predicted), 16):
            raise InputError(f"{lengths_source}: {key} has lengths of shape {video_lengths.shape}, expected "
                             f"({len(predicted)}, 16) per frame for --causal (infer them with --causal)")
        if not causal and video_lengths.size != 16:
            raise InputError(f"{lengths_source}: {key} has lengths of shape {video_lengths.shape}, expected "
                             "(16,); per-frame lengths need --causal")
        videos.append(Video(key=key, predicted=predicted, target=target, lengths=video_lengths))
    return videos


def adjust_files(prediction_path: str | os.PathLike, lengths_path: str | os.PathLike,
                 ground_truth_path: str | os.PathLike, action_dict_path: str | os.PathLike | None = None,
                 causal: bool = False, keep_adjusted: bool = True
                 ) -> tuple[dict[str, Any], dict[SequenceKey, np.ndarray]]:
    """Adjust predictions from files and evaluate them -> (report in mm, adjusted poses by key).

    Adjusted poses are (T, 17, 3) meters, camera frame, root-relative; with ``keep_adjusted``
    False they are not kept and the second item is empty. Only the predicted subjects of the
    ground truth are converted, and the ground-truth file is decompressed on a second thread
    (zlib releases the GIL) while the predictions and lengths are read.
    """
    keys = prediction_keys(prediction_path, action_dict_path)
    if not keys:
        raise InputError(f"{prediction_path}: holds no predictions")
    subjects = {subject for subject, _, _ in keys}
    with ThreadPoolExecutor(max_workers=1) as reader:
        poses_world = reader.submit(load_poses_3d, ground_truth_path, subjects)
        predictions = read_predictions(prediction_path, action_dict_path)
        lengths = load_lengths_dict(lengths_path)
        poses_world = poses_world.result()
    ground_truth = ground_truth_root_relative(poses_world, list(predictions), ground_truth_path)
    videos = videos_for_adjustment(predictions, lengths, ground_truth, causal, (prediction_path, lengths_path))
    return adjust_and_report(videos, causal=causal, keep_adjusted=keep_adjusted)
