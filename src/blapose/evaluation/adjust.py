"""The adjustment of a lifting model's predictions, from files to a report (``blapose adjust``)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..camera import h36m_cameras, quaternion_to_matrix
from ..data.h36m import load_poses_3d
from ..data.predictions import SequenceKey, prediction_keys, read_predictions
from ..errors import InputError
from ..lengths_io import load_lengths_dict
from .report import Video, adjust_and_report


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
