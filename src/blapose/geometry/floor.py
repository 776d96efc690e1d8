"""Floor geometry of a calibrated camera: the feet on the floor, the person's plane.

Glossary: B videos, T frames, J joints (17); ``...`` any leading batch dims. World frame z up,
meters, floor at z = 0 (Human3.6M's). Camera frame x right, y down, z forward (``blapose.geometry.camera``).
2D keypoints are normalised screen coordinates (the image width spans [-1, 1]).

A camera is described relative to the floor by its *calibration vector* (``CALIBRATION_SIZE``
values, ``calibration_vector``): the normalised intrinsics of ``Camera.intrinsic`` (9: focal,
centre, 3 radial and 2 tangential distortion coefficients), the world's up direction in the
camera frame (3: the camera's pitch and roll) and the height of the camera centre above the
floor (1, meters). Where the camera stands on the floor and which way it turns about the
vertical tell nothing about a person's size, so the vector leaves them out.

The feet fix the person's distance: a foot standing on the floor has its ankle at a known height
above it, so the ankle's viewing ray cut with the plane at that height gives the ankle's 3D
position (``standing_ankle``). The lower foot is the one whose cut lies nearer the camera (a raised
foot's ray passes above the plane and meets it further away). Every keypoint's ray cut with the
vertical plane through that ankle, facing the camera, then gives the keypoint's position in
meters on the person's plane: across and above the floor (``person_plane_points``).

Functions accept numpy arrays or torch tensors and return the same kind.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _backend as xp
from ..errors import InputError
from ..skeleton import H36M, Skeleton
from .camera import Camera

#: Values of a calibration vector: intrinsics (9), up in the camera frame (3), height (1).
CALIBRATION_SIZE = 13
#: Entries of a calibration vector that change sign when the image is mirrored (x -> -x): the
#: principal point's x, the first tangential coefficient and the up direction's x.
MIRRORED_ENTRIES = (2, 7, 9)
#: A viewing ray must point at least this much downwards (cosine with the up direction) to meet
#: the floor in front of the camera; flatter rays are treated as this steep.
MIN_DOWNWARD = 0.02


def world_up_in_camera(camera: Camera) -> np.ndarray:
    """World z axis (up) as a unit vector (3,) float32 in ``camera``'s frame."""
    points = camera.world_to_camera(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    return (points[1] - points[0]).astype(np.float32)


def calibration_vector(camera: Camera) -> np.ndarray:
    """(13,) float32: normalised intrinsics, world up in the camera frame, camera height (m)."""
    return np.concatenate([camera.intrinsic(), world_up_in_camera(camera),
                           [camera.translation[2]]]).astype(np.float32)


def mirror_calibration(calibration: Any) -> Any:
    """Calibration vectors (..., 13) of the horizontally mirrored images (x negated)."""
    sign = np.ones(CALIBRATION_SIZE)
    sign[list(MIRRORED_ENTRIES)] = -1.0
    return calibration * xp.like(sign, calibration)


def floor_depth(rays: Any, up: Any, camera_height: Any, point_height: float) -> Any:
    """Depths (...,) meters at which rays (..., 3) (z = 1) reach ``point_height`` above the floor.

    up (..., 3) world up in the camera frame; camera_height (...,) meters. A point at depth t
    on ray d lies ``camera_height + t (up . d)`` above the floor; rays that do not point down by
    at least ``MIN_DOWNWARD`` are treated as that steep.
    """
    downward = xp.clip(-(rays * up).sum(-1), MIN_DOWNWARD, None)
    return (camera_height - point_height) / downward


def foot_joints(skeleton: Skeleton = H36M) -> tuple[int, int]:
    """Indices of the right and left ankle joints ('RFoot', 'LFoot' in Human3.6M's naming)."""
    return skeleton.joint_names.index("RFoot"), skeleton.joint_names.index("LFoot")


def standing_ankle(rays: Any, up: Any, camera_height: Any, ankle_height: float,
                   skeleton: Skeleton = H36M) -> Any:
    """The lower ankle's position (..., 3) meters, camera frame: of the two ankles' rays cut with
    the plane ``ankle_height`` above the floor, the nearer cut. rays (..., J, 3); up (..., 3);
    camera_height (...,) meters."""
    right, left = foot_joints(skeleton)
    cuts = [rays[..., joint, :] * floor_depth(rays[..., joint, :], up, camera_height, ankle_height)[..., None]
            for joint in (right, left)]
    return xp.where((cuts[0][..., 2] < cuts[1][..., 2])[..., None], cuts[0], cuts[1])


def person_plane_points(rays: Any, up: Any, camera_height: Any, ankle_height: float,
                        skeleton: Skeleton = H36M) -> Any:
    """Keypoints on the person's vertical plane (..., J, 2) meters: (across, above the floor).

    rays (..., J, 3) camera frame (``camera.viewing_rays``); up (..., 3); camera_height (...,) meters.
    The plane holds the standing ankle (``standing_ankle``) and is perpendicular to the
    horizontal direction from the camera to it; 'across' runs along the camera's x axis laid
    level, from the standing ankle; 'above' is the height above the floor.
    """
    ankle = standing_ankle(rays, up, camera_height, ankle_height, skeleton)   # (..., 3)
    facing = _level(ankle, up)                                               # level, camera -> ankle
    x_axis = ankle * 0 + xp.like(np.array([1.0, 0.0, 0.0]), ankle)
    across = _level(x_axis - (x_axis * facing).sum(-1)[..., None] * facing, up)
    reach = xp.clip((rays * facing[..., None, :]).sum(-1), 1e-3, None)        # (..., J)
    points = rays * ((ankle * facing).sum(-1)[..., None] / reach)[..., None]
    across_floor = ((points - ankle[..., None, :]) * across[..., None, :]).sum(-1)
    above_floor = camera_height[..., None] + (points * up[..., None, :]).sum(-1)
    return xp.concatenate([across_floor[..., None], above_floor[..., None]], axis=-1)


def _level(vectors: Any, up: Any) -> Any:
    """Vectors (..., 3) with their component along ``up`` (..., 3) removed, normalised to unit length."""
    level = vectors - (vectors * up).sum(-1)[..., None] * up
    return level / xp.vector_norm(level)[..., None]


def standing_ankle_height(poses_world: Any, skeleton: Skeleton = H36M) -> float:
    """Median over all frames of the lower ankle's height above the floor, meters.

    poses_world: iterable of (T, J, 3) meters, world frame (z up, floor at z = 0), e.g. the
    training subjects' motions; the height is then assumed for every video.
    """
    feet = list(foot_joints(skeleton))
    heights = [np.asarray(poses, np.float64)[:, feet, 2].min(axis=-1) for poses in poses_world]
    if not heights:
        raise InputError("no motions to measure the ankles' standing height on")
    return float(np.median(np.concatenate(heights)))
