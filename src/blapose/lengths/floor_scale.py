"""The geometric size baseline: the one scale at which a skeleton standing on the floor fits the 2D.

Glossary: T frames, J joints (17), L bones (16). Meters; camera frame x right, y down, z forward;
2D keypoints in normalised screen coordinates (``blapose.geometry.camera``); floor geometry as in
``blapose.geometry.floor``.

No learning: for each frame, a template pose (the lifter's pose, say, resized to the training
subjects' mean lengths) is stood with its lower ankle (along the world's up direction) on the
floor, where that ankle's viewing ray meets the plane ``ankle_height`` above the floor. Scaling
the pose about that ankle by s moves every other joint's image; the frame's scale is the s whose
projection (lens distortion included) is nearest the 2D keypoints in the least-squares sense,
searched on a grid of ``COARSE_STEP`` and then of ``SCALE_STEP`` around the best. The video's scale
is the median over its frames, and its lengths are the template's times that scale: the size the
geometry alone gives, with the template's proportions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..bones import adjust_poses, bone_lengths
from ..errors import InputError
from ..geometry.camera import Camera, project_to_2d, viewing_rays
from ..geometry.floor import calibration_vector, floor_depth, foot_joints
from ..skeleton import H36M, Skeleton

#: Scales searched (factor on the template's size): a coarse grid, then a fine one around its best.
SCALE_RANGE = (0.6, 1.6)
COARSE_STEP = 0.02
SCALE_STEP = 0.001

Key = tuple[str, str, int]


def frame_scales(template: np.ndarray, keypoints: np.ndarray, camera: Camera, ankle_height: float,
                 skeleton: Skeleton = H36M) -> np.ndarray:
    """Best-fitting scale (T,) of each frame of ``template`` (T, J, 3) meters, camera frame (any
    root offset), against keypoints (T, J, 2) normalised screen coordinates of ``camera``."""
    template = np.asarray(template, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if template.ndim != 3 or template.shape[1:] != (skeleton.num_joints, 3) \
            or keypoints.shape != template.shape[:2] + (2,):
        raise InputError(f"template poses {template.shape} and keypoints {keypoints.shape} must be "
                         f"(T, {skeleton.num_joints}, 3) and (T, {skeleton.num_joints}, 2)")
    calibration = calibration_vector(camera).astype(np.float64)
    intrinsic, up, height = calibration[:9], calibration[9:12], calibration[12]
    feet = np.array(foot_joints(skeleton))
    lower = feet[np.argmin(template[:, feet] @ up, axis=1)]                      # (T,)
    frames = np.arange(len(template))
    ray = viewing_rays(keypoints[frames, lower][:, None], intrinsic)[:, 0]       # (T, 3)
    ankle = ray * floor_depth(ray, up, height, ankle_height)[:, None]
    relative = template - template[frames, lower][:, None]                      # (T, J, 3)
    coarse = np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + COARSE_STEP / 2, COARSE_STEP)
    best = _best_scale(coarse[None], ankle, relative, keypoints, intrinsic)
    fine = best[:, None] + np.arange(-COARSE_STEP, COARSE_STEP + SCALE_STEP / 2, SCALE_STEP)[None]
    return _best_scale(fine, ankle, relative, keypoints, intrinsic)


def _best_scale(scales: np.ndarray, ankle: np.ndarray, relative: np.ndarray, keypoints: np.ndarray,
                intrinsic: np.ndarray) -> np.ndarray:
    """Per frame, the one of scales (T or 1, S) whose pose ankle (T, 3) + s relative (T, J, 3)
    projects nearest keypoints (T, J, 2) (sum of squares over joints): (T,)."""
    placed = ankle[:, None, None] + scales[:, :, None, None] * relative[:, None]   # (T, S, J, 3)
    residual = ((project_to_2d(placed, intrinsic) - keypoints[:, None]) ** 2).sum(axis=(-1, -2))
    scales = np.broadcast_to(scales, residual.shape)
    return scales[np.arange(len(scales)), np.argmin(residual, axis=1)]

def floor_scale_baseline(poses: Mapping[Key, np.ndarray], sequences: Iterable[Any], lengths: np.ndarray,
                         ankle_height: float) -> dict[Key, np.ndarray]:
    """The geometric baseline per video: {key: (L,) meters}, ``lengths`` (L,) times the video's scale.

    poses: {(subject, action, camera): (T, J, 3) meters, camera frame}, e.g. a lifter's predictions,
    whose directions are given ``lengths`` to make the template; sequences: the videos' 2D keypoints
    and cameras (``blapose.data.h36m.Sequence``), each needing an entry in ``poses`` of as many frames.
    """
    result = {}
    for sequence in sequences:
        if sequence.key not in poses:
            raise InputError(f"no poses for {sequence.key} to fit the floor scale to")
        template = adjust_poses(np.asarray(poses[sequence.key], np.float64), np.asarray(lengths, np.float64))
        result[sequence.key] = floor_scale_lengths(template, sequence.keypoints_2d, sequence.camera,
                                                   ankle_height)[0]
    return result


def floor_scale_lengths(template: np.ndarray, keypoints: np.ndarray, camera: Camera, ankle_height: float,
                        skeleton: Skeleton = H36M) -> tuple[np.ndarray, float]:
    """(lengths (L,) meters, scale): the template's median bone lengths times the video's scale
    (the median of ``frame_scales``)."""
    scale = float(np.median(frame_scales(template, keypoints, camera, ankle_height, skeleton)))
    return scale * np.median(bone_lengths(np.asarray(template, np.float64), skeleton), axis=0), scale
