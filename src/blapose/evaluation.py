"""The adjustment of a lifting model's predictions, from files to a report (``blapose adjust``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .bones import adjust_poses
from .camera import h36m_cameras
from .data.h36m import load_poses_3d
from .data.predictions import SequenceKey, read_predictions
from .errors import InputError
from .lengths_io import load_lengths_dict
from .report import Video, adjustment_report


def ground_truth_root_relative(poses_world: dict[str, dict[str, np.ndarray]], keys: list[SequenceKey],
                               source: Any = "ground truth") -> dict[SequenceKey, np.ndarray]:
    """Camera-frame, root-relative ground truth (T, 17, 3) meters for each (subject, action, camera)."""
    cameras = {}
    result = {}
    for subject, action, camera in keys:
        if subject not in poses_world or action not in poses_world[subject]:
            raise InputError(f"{source}: no 3D poses for subject '{subject}', action '{action}'")
        if subject not in cameras:
            cameras[subject] = h36m_cameras(subject)
        posed = cameras[subject][camera].world_to_camera(poses_world[subject][action]).astype(np.float32)
        result[(subject, action, camera)] = posed - posed[:, :1]
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
    False they are not built and the second item is empty.
    """
    predictions = read_predictions(prediction_path, action_dict_path)
    if not predictions:
        raise InputError(f"{prediction_path}: holds no predictions")
    lengths = load_lengths_dict(lengths_path)
    ground_truth = ground_truth_root_relative(load_poses_3d(ground_truth_path), list(predictions),
                                              ground_truth_path)
    videos = videos_for_adjustment(predictions, lengths, ground_truth, causal, (prediction_path, lengths_path))
    report = adjustment_report(videos, causal=causal)
    if not keep_adjusted:
        return report, {}
    adjusted = {video.key: adjust_poses(video.predicted - video.predicted[:, :1],
                                        np.asarray(video.lengths, np.float32)).astype(np.float32)
                for video in videos}
    return report, adjusted
