"""Readers for the Human3.6M files in VideoPose3D's formats, and the sequences built from them.

Files (facebookresearch/VideoPose3D, DATASETS.md and data/prepare_data_h36m.py):
- ``data_3d_h36m.npz``: key 'positions_3d' -> {subject: {action: (T, 32, 3) float32}}, meters,
  world frame (z up). The 17 joints used everywhere are a fixed subset of the 32.
- ``data_2d_h36m_<keypoints>.npz``: key 'positions_2d' -> {subject: {action: [4 x (T, 17, 2)]}},
  pixels, one array per camera; key 'metadata' -> {'layout_name', 'num_joints',
  'keypoints_symmetry'}. A 2D sequence may be longer than its 3D one (some Human3.6M videos
  have extra frames); it is trimmed to the 3D length, as VideoPose3D's run.py does.

Glossary: T frames, J joints (17).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..geometry.camera import Camera, h36m_cameras, normalize_screen_coordinates, project_to_2d
from ..skeleton import H36M
from .safe_pickle import load_npz

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS = ("S9", "S11")
#: Indices of the 17 kept joints among Human3.6M's 32 (VideoPose3D removes the other 15).
KEPT_JOINTS_OF_32 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
#: keypoints_symmetry of the 17-joint layout: (left joints, right joints).
KEYPOINTS_SYMMETRY = (list(H36M.joints_left), list(H36M.joints_right))
ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
           "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
           "WalkTogether")


def action_name(action: str) -> str:
    """Action class of a sequence name: 'Walking 1' -> 'Walking' (VideoPose3D's grouping)."""
    return action.split(" ")[0]


def poses_3d_path(data_dir: str | os.PathLike, dataset: str = "h36m") -> Path:
    return Path(data_dir) / f"data_3d_{dataset}.npz"


def keypoints_2d_path(data_dir: str | os.PathLike, keypoints: str, dataset: str = "h36m") -> Path:
    return Path(data_dir) / f"data_2d_{dataset}_{keypoints}.npz"


def _require_key(content: dict[str, Any], key: str, path: Any, expected: str) -> Any:
    if key not in content:
        found = ", ".join(sorted(content)) or "nothing"
        raise InputError(f"{path}: missing key '{key}' ({expected}); found {found}")
    return content[key]


def _check_nested(value: Any, path: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{path}: {where} is {type(value).__name__}, expected a dict of subjects")
    for subject, actions in value.items():
        if not isinstance(actions, dict):
            raise InputError(f"{path}: {where}['{subject}'] is {type(actions).__name__}, "
                             "expected a dict of actions")
    return value


def _check_array(array: Any, path: Any, where: str, last_dim: int, min_last: bool = False) -> np.ndarray:
    if not isinstance(array, np.ndarray) or array.ndim != 3 or not np.issubdtype(array.dtype, np.number):
        shape = getattr(array, "shape", type(array).__name__)
        raise InputError(f"{path}: {where} has shape {shape}, expected (frames, joints, {last_dim})")
    if array.shape[-1] < last_dim if min_last else array.shape[-1] != last_dim:
        raise InputError(f"{path}: {where} has shape {array.shape}, expected (frames, joints, {last_dim})")
    if not np.isfinite(array).all():
        frame = int(np.argwhere(~np.isfinite(array))[0, 0])
        raise InputError(f"{path}: {where} holds NaN or infinite values (first at frame {frame})")
    return array


def load_poses_3d(path: str | os.PathLike, subjects: Collection[str] | None = None
                  ) -> dict[str, dict[str, np.ndarray]]:
    """Read ``data_3d_h36m.npz`` -> {subject: {action: (T, 17, 3) float32}}, meters, world frame.

    Accepts the original 32-joint arrays (reduced to 17) and 17-joint arrays. ``subjects`` keeps
    only those subjects (the others are neither checked nor converted).
    """
    content = load_npz(path)
    nested = _check_nested(_require_key(content, "positions_3d", path, "{subject: {action: (T, 32, 3)}}"),
                           path, "positions_3d")
    poses: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in nested.items():
        if subjects is not None and subject not in subjects:
            continue
        poses[subject] = {}
        for action, array in actions.items():
            where = f"positions_3d['{subject}']['{action}']"
            array = _check_array(array, path, where, 3)
            if array.shape[1] == 32:
                array = array[:, KEPT_JOINTS_OF_32]
            elif array.shape[1] != H36M.num_joints:
                raise InputError(f"{path}: {where} has {array.shape[1]} joints, expected 32 or 17")
            poses[subject][action] = np.ascontiguousarray(array, dtype=np.float32)
    return poses


def load_keypoints_2d(path: str | os.PathLike) -> tuple[dict[str, dict[str, list[np.ndarray]]], dict]:
    """Read ``data_2d_h36m_<keypoints>.npz`` -> ({subject: {action: [(T, 17, 2) per camera]}}, metadata).

    Keypoints are float32 pixels; extra channels beyond x, y (e.g. confidences) are dropped.
    """
    content = load_npz(path)
    metadata = _require_key(content, "metadata", path, "{'layout_name', 'num_joints', 'keypoints_symmetry'}")
    nested = _check_nested(_require_key(content, "positions_2d", path, "{subject: {action: [4 x (T, 17, 2)]}}"),
                           path, "positions_2d")
    if not isinstance(metadata, dict):
        raise InputError(f"{path}: metadata is {type(metadata).__name__}, expected a dict")
    if int(metadata.get("num_joints", H36M.num_joints)) != H36M.num_joints:
        raise InputError(f"{path}: metadata says {metadata['num_joints']} keypoints, expected "
                         f"{H36M.num_joints} in the Human3.6M layout")
    keypoints: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in nested.items():
        keypoints[subject] = {}
        for action, per_camera in actions.items():
            if not isinstance(per_camera, (list, tuple)):
                raise InputError(f"{path}: positions_2d['{subject}']['{action}'] is "
                                 f"{type(per_camera).__name__}, expected a list with one array per camera")
            arrays = []
            for camera_index, array in enumerate(per_camera):
                where = f"positions_2d['{subject}']['{action}'][{camera_index}]"
                array = _check_array(array, path, where, 2, min_last=True)
                if array.shape[1] != H36M.num_joints:
                    raise InputError(f"{path}: {where} has {array.shape[1]} keypoints, expected "
                                     f"{H36M.num_joints}")
                arrays.append(np.ascontiguousarray(array[..., :2], dtype=np.float32))
            keypoints[subject][action] = arrays
    return keypoints, metadata


def keypoints_metadata(source: str) -> dict:
    """The ``metadata`` dict of a 2D file in the 17-joint Human3.6M layout; ``source`` says where it came from."""
    return {"layout_name": "h36m", "num_joints": H36M.num_joints, "keypoints_symmetry": KEYPOINTS_SYMMETRY,
            "source": source}


def ground_truth_keypoints_2d(poses_world: np.ndarray, subject: str) -> list[np.ndarray]:
    """Project (T, J, 3) meters, world frame, through ``subject``'s four Human3.6M cameras (lens
    distortion included) -> [4 x (T, J, 2) float32 pixels], as VideoPose3D's ground-truth 2D file."""
    poses_world = np.asarray(poses_world, dtype=np.float64)
    return [project_to_2d(camera.world_to_camera(poses_world), camera.intrinsic_pixels()).astype(np.float32)
            for camera in h36m_cameras(subject)]


def write_h36m_npz(path: str | os.PathLike, **content: Any) -> Path:
    """Write a VideoPose3D-format npz (each value, e.g. nested dicts of arrays, as a 0-d object array).

    The file appears only when complete (``fileio.atomic_path``). Returns ``path``.
    """
    with atomic_path(path) as temporary:
        np.savez_compressed(temporary, **{key: np.array(value, dtype=object) for key, value in content.items()})
    return Path(path)


@dataclass(frozen=True, eq=False)
class Sequence:
    """One video: a subject performing an action seen by one camera.

    poses_3d: (T, 17, 3) float32, meters, camera frame, absolute (joint 0 is the root trajectory).
    keypoints_2d: (T, 17, 2) float32, normalised screen coordinates (see ``blapose.geometry.camera``).
    """

    subject: str
    action: str
    camera_index: int
    camera: Camera
    poses_3d: np.ndarray
    keypoints_2d: np.ndarray

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.subject, self.action, self.camera_index)

    @property
    def num_frames(self) -> int:
        return len(self.poses_3d)

    @cached_property
    def poses_root_relative(self) -> np.ndarray:
        """(T, 17, 3) float32, meters, camera frame, root joint at the origin."""
        return self.poses_3d - self.poses_3d[:, :1]


def sequences_from_arrays(poses_3d: dict[str, dict[str, np.ndarray]],
                          keypoints_2d: dict[str, dict[str, list[np.ndarray]]],
                          subjects: tuple[str, ...] | list[str],
                          source_3d: Any = "3D data", source_2d: Any = "2D data",
                          actions: tuple[str, ...] | list[str] | None = None) -> list[Sequence]:
    """Pair world-frame 3D poses with per-camera 2D keypoints (pixels) into ``Sequence`` objects.

    Trims 2D sequences longer than their 3D sequence; a shorter one is an error. ``actions``
    keeps only sequences whose action class (``action_name``) is listed.
    """
    sequences = []
    for subject in subjects:
        if subject not in poses_3d:
            raise InputError(f"{source_3d}: subject '{subject}' is missing; found {', '.join(poses_3d)}")
        if subject not in keypoints_2d:
            raise InputError(f"{source_2d}: subject '{subject}' is missing; found {', '.join(keypoints_2d)}")
        cameras = h36m_cameras(subject)
        for action, world in poses_3d[subject].items():
            if actions is not None and action_name(action) not in actions:
                continue
            if action not in keypoints_2d[subject]:
                raise InputError(f"{source_2d}: action '{action}' of subject '{subject}' is missing "
                                 f"(it is in {source_3d})")
            per_camera = keypoints_2d[subject][action]
            if len(per_camera) != len(cameras):
                raise InputError(f"{source_2d}: positions_2d['{subject}']['{action}'] has "
                                 f"{len(per_camera)} cameras, expected {len(cameras)}")
            for camera_index, (camera, pixels) in enumerate(zip(cameras, per_camera)):
                if len(pixels) < len(world):
                    raise InputError(
                        f"{source_2d}: positions_2d['{subject}']['{action}'][{camera_index}] has "
                        f"{len(pixels)} frames, fewer than the {len(world)} of the 3D sequence")
                normalized = normalize_screen_coordinates(pixels[:len(world)], camera.res_w, camera.res_h)
                sequences.append(Sequence(
                    subject=subject, action=action, camera_index=camera_index, camera=camera,
                    poses_3d=camera.world_to_camera(world).astype(np.float32),
                    keypoints_2d=normalized.astype(np.float32)))
    return sequences


def load_sequences(data_dir: str | os.PathLike = "data", keypoints: str = "cpn_ft_h36m_dbb",
                   subjects: tuple[str, ...] | list[str] = TEST_SUBJECTS, dataset: str = "h36m",
                   actions: tuple[str, ...] | list[str] | None = None) -> list[Sequence]:
    """Load the sequences of ``subjects`` from ``data_3d_<dataset>.npz`` and ``data_2d_<dataset>_<keypoints>.npz``.

    Order: subjects as given, actions in file order, cameras 0..3.
    """
    path_3d, path_2d = poses_3d_path(data_dir, dataset), keypoints_2d_path(data_dir, keypoints, dataset)
    poses_3d = load_poses_3d(path_3d)
    keypoints_2d, _ = load_keypoints_2d(path_2d)
    return sequences_from_arrays(poses_3d, keypoints_2d, subjects, path_3d, path_2d, actions)


def select_sequences(sequences: list[Sequence], actions: tuple[str, ...] | None = None,
                     downsample: int = 1) -> list[Sequence]:
    """The ``sequences`` whose action name starts with one of ``actions`` (None: all, as upstream's
    ``-a``), each thinned to every ``downsample``-th frame (2D and 3D alike)."""
    from dataclasses import replace

    if actions is not None:
        sequences = [s for s in sequences if s.action.startswith(tuple(actions))]
    if downsample > 1:
        sequences = [replace(s, poses_3d=s.poses_3d[::downsample], keypoints_2d=s.keypoints_2d[::downsample])
                     for s in sequences]
    return sequences
