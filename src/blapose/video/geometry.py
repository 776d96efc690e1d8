"""Pinhole geometry of a video: its focal length, viewing rays, MediaPipe's 3D put on the 2D, the
person's position in the scene, and temporal low-pass filtering.

Camera model: a pinhole at the origin of the camera frame (x right, y down, z forward, meters)
with focal length ``focal`` pixels and principal point at the centre of the frame; lens
distortion is ignored. A pixel (u, v) lies on the viewing ray ((u - cx) / f, (v - cy) / f, 1)
(``blapose.geometry.camera.viewing_rays`` with ``pinhole_intrinsic``).

Glossary: T frames, J joints (17). Keypoints are pixels of the video frame; poses are meters,
camera frame, root-relative unless said otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..geometry.camera import viewing_rays

#: Field of view across the image's long side when neither --focal nor --fov is given, degrees:
#: a phone's main camera (26-28 mm equivalent lens: 66-69 degrees across a 36 mm frame) and the
#: middle of the virtual cameras the built-in models were trained through (50-80 degrees).
DEFAULT_FOV_LONG_SIDE_DEG = 65.0
#: Cut-off of the zero-phase low-pass filter of 3D motion, Hz: the usual choice for human
#: movement kinematics (Winter, Biomechanics and Motor Control of Human Movement: 6 Hz).
LOW_PASS_CUTOFF_HZ = 6.0
LOW_PASS_ORDER = 4


def focal_length(width: int, height: int, focal: float | None = None, fov: float | None = None) -> float:
    """Focal length in pixels: ``focal`` when given, else from ``fov`` (degrees across the long side),
    else from ``DEFAULT_FOV_LONG_SIDE_DEG``."""
    if focal is not None and fov is not None:
        raise InputError("give --focal or --fov, not both")
    if focal is not None:
        if not (math.isfinite(focal) and focal > 0):
            raise InputError(f"--focal {focal} must be a positive number of pixels")
        return float(focal)
    fov = DEFAULT_FOV_LONG_SIDE_DEG if fov is None else fov
    if not (math.isfinite(fov) and 1.0 <= fov <= 179.0):
        raise InputError(f"--fov {fov} must be between 1 and 179 degrees (across the long side)")
    return max(width, height) / 2 / math.tan(math.radians(fov) / 2)


def pinhole_intrinsic(focal: float, width: int, height: int) -> np.ndarray:
    """(4,) float64 [f, f, cx, cy] pixels: the video's pinhole, principal point at the frame's centre
    (for ``blapose.geometry.camera.viewing_rays``)."""
    return np.array([focal, focal, width / 2, height / 2], dtype=np.float64)


def _pixel_rays(keypoints: np.ndarray, focal: float, width: int, height: int) -> np.ndarray:
    """Rays (..., 3) float64, z = 1, camera frame, through keypoints (..., 2) pixels."""
    return viewing_rays(np.asarray(keypoints, dtype=np.float64), pinhole_intrinsic(focal, width, height))


def _root_offsets(poses: np.ndarray, rays: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per frame, the root position t (T, 3) minimising sum_j w_j |ray_j (P_jz + t_z) - (P_j + t)|_xy^2.

    poses (T, J, 3) root-relative, rays (T, J, 3), weights (T, J) >= 0. Linear in t: for each joint
    t_x - a_j t_z = a_j P_jz - P_jx with a_j the ray's x (and the same for y).
    """
    frames, joints = weights.shape
    system = np.zeros((frames, 2 * joints, 3))
    target = np.zeros((frames, 2 * joints))
    for axis in (0, 1):
        rows = slice(axis, None, 2)
        system[:, rows, axis] = 1.0
        system[:, rows, 2] = -rays[..., axis]
        target[:, rows] = rays[..., axis] * poses[..., 2] - poses[..., axis]
    root_weight = np.sqrt(np.repeat(weights, 2, axis=1))
    system, target = system * root_weight[..., None], target * root_weight
    normal = np.einsum("tki,tkj->tij", system, system) + 1e-9 * np.eye(3)
    return np.linalg.solve(normal, np.einsum("tki,tk->ti", system, target)[..., None])[..., 0]


def root_trajectory(poses: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, focal: float,
                    width: int, height: int) -> np.ndarray:
    """The root joint's position (T, 3) meters, camera frame, that puts metric root-relative poses
    (T, J, 3) onto keypoints (T, J, 2) pixels: per frame the least-squares fit of the pinhole
    projection, joints weighted by ``scores`` (T, J) (all equal where a frame's scores are all 0).

    The depth comes from the poses' size: a body with longer bones seen the same size stands farther.
    """
    poses = np.asarray(poses, dtype=np.float64)
    weights = np.asarray(scores, dtype=np.float64).clip(0.0, 1.0)
    weights = np.where(weights.sum(axis=1, keepdims=True) > 0, weights, 1.0)
    return _root_offsets(poses, _pixel_rays(keypoints, focal, width, height), weights)


def poses_on_rays(poses: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, focal: float,
                  width: int, height: int) -> np.ndarray:
    """Root-relative poses (T, J, 3) meters, camera frame: each joint of ``poses`` (e.g. MediaPipe's world
    landmarks, camera-aligned) moved onto its keypoint's viewing ray at its own depth.

    The poses are first placed in the scene (``root_trajectory``); then joint j goes to
    ray_j * z_j, where z_j is its depth there, blended with where it was by its score: a joint the
    detector did not see keeps the 3D model's guess. Depths stay the 3D model's; what changes is
    the position across the image, which the 2D keypoints measure better.
    """
    poses = np.asarray(poses, dtype=np.float64)
    root = root_trajectory(poses, keypoints, scores, focal, width, height)
    placed = poses + root[:, None, :]
    on_rays = _pixel_rays(keypoints, focal, width, height) * placed[..., 2:3]
    weight = np.asarray(scores, dtype=np.float64).clip(0.0, 1.0)[..., None]
    fused = weight * on_rays + (1 - weight) * placed
    return fused - fused[:, :1]


def low_pass(values: np.ndarray, fps: float, cutoff_hz: float = LOW_PASS_CUTOFF_HZ) -> np.ndarray:
    """Values (T, ...) filtered forwards and backwards in time (zero phase) by a Butterworth low-pass of
    order ``LOW_PASS_ORDER``; returned unchanged when the cut-off is at or above the Nyquist frequency
    or the clip is too short to filter."""
    from scipy.signal import butter, filtfilt

    values = np.asarray(values, dtype=np.float64)
    if cutoff_hz >= fps / 2 or len(values) < 2:
        return values.copy()
    numerator, denominator = butter(LOW_PASS_ORDER, cutoff_hz / (fps / 2))
    return filtfilt(numerator, denominator, values, axis=0, padlen=min(len(values) - 1, 3 * LOW_PASS_ORDER))
