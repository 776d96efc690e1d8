"""One skeleton renderer (OpenCV) for videos in the wild and for dataset predictions.

Glossary: T frames, J joints (17, Human3.6M order of ``blapose.skeleton``). 3D poses are
(T, J, 3) float, meters, camera frame (x right, y down, z forward), root-relative or not (each
pose is centred on its root joint when drawn). 2D keypoints are (T, J, 2) float, pixels of the
video frame.

A written video shows, left to right: the video frame with its 2D skeleton (when frames or 2D
keypoints are given), then the 3D skeletons seen from one fixed viewpoint, either one panel per
pose or all poses overlaid in one panel. The view is upright: its vertical axis is the body's
"up" (``estimate_up``), not the camera's, so a tilted or rolled camera does not tilt the
skeleton; each pose stands with its lowest joint on a floor grid. Poses listed in ``faint`` are
drawn in a pale colour under the others (e.g. the lifter's pose under the adjusted one).

Drawing is cv2.line/cv2.circle on one preallocated canvas whose static parts (floor grid, titles)
are drawn once; frames are encoded with ``cv2.VideoWriter`` ('mp4v') into a temporary file that
replaces the output only when the whole video is written.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..skeleton import H36M, Skeleton

#: "Up" in the camera frame of an untilted camera (y points down in image and camera frames).
CAMERA_UP = np.array([0.0, -1.0, 0.0])

#: Colours (BGR) of right-side and left-side bones for each pose, in the order poses are given;
#: centre bones take the left colour. Faint poses are mixed towards the background.
POSE_COLOURS = (
    ((40, 40, 220), (50, 50, 50)),       # red / dark grey (VideoPose3D's convention)
    ((200, 110, 20), (120, 60, 10)),     # blue shades
    ((40, 160, 40), (20, 90, 20)),       # green shades
    ((0, 150, 230), (0, 90, 150)),       # orange shades
)
KEYPOINT_COLOURS = ((40, 40, 230), (230, 160, 30))  # right, left on the video frame (BGR)
BACKGROUND = (255, 255, 255)
GRID_COLOUR = (215, 215, 215)
#: Output height (pixels) unless asked otherwise: larger videos encode too slowly for live use.
DEFAULT_HEIGHT = 480
FAINT_MIX = 0.45  # share of the pose colour in a faint pose's colour; the rest is background


def estimate_up(poses: np.ndarray, skeleton: Skeleton = H36M) -> np.ndarray:
    """Estimate the world's up direction (3,) unit vector, camera frame, from poses (T, J, 3) meters.

    Per frame, the vector from the mid-point of the two feet to the thorax (Human3.6M joints
    RFoot, LFoot, Thorax) points roughly up for anyone standing, walking or squatting. The
    estimate is the mean of these unit vectors over all frames, then the mean again over the
    frames within 30 degrees of it, so a few frames of bending or bad detections do not move it;
    it turns exactly with the camera (rotating the poses rotates the result). Frames with
    non-finite joints are skipped; with none left the camera's up (0, -1, 0) is returned. Good for
    upright activities; a person lying down for the whole clip is not handled.
    """
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (skeleton.num_joints, 3):
        raise InputError(f"poses have shape {poses.shape}, expected (frames, {skeleton.num_joints}, 3)")
    names = skeleton.joint_names
    feet = poses[:, [names.index("RFoot"), names.index("LFoot")]].mean(axis=1)
    body_axis = poses[:, names.index("Thorax")] - feet
    norms = np.linalg.norm(body_axis, axis=-1)
    valid = np.isfinite(norms) & (norms > 1e-6)
    if not valid.any():
        return CAMERA_UP.copy()
    directions = body_axis[valid] / norms[valid, None]
    mean = directions.mean(axis=0)
    if np.linalg.norm(mean) < 1e-6:
        return CAMERA_UP.copy()
    close = directions @ (mean / np.linalg.norm(mean)) > np.cos(np.radians(30.0))
    if close.any():
        mean = directions[close].mean(axis=0)
    return mean / np.linalg.norm(mean)


def view_rotation(up: np.ndarray, azimuth_deg: float = 45.0, elevation_deg: float = 10.0) -> np.ndarray:
    """Rotation (3, 3) whose rows are the viewer's right, down and viewing direction in camera frame.

    up (3,): the world's up in the camera frame. At azimuth 0 and elevation 0 the viewer looks
    horizontally along the camera's viewing direction (its horizontal part); azimuth turns the
    viewer around the up axis (positive: to the camera's right side, looking back towards the
    middle), elevation raises the viewer so it looks down. ``points @ R.T`` gives view coordinates.
    """
    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    forward = np.array([0.0, 0.0, 1.0]) - up[2] * up
    if np.linalg.norm(forward) < 1e-6:  # camera looking straight down or up: use its x axis
        forward = np.cross(up, np.array([1.0, 0.0, 0.0]))
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, up)  # viewer's left when looking along forward with up up
    azimuth, elevation = np.radians(azimuth_deg), np.radians(elevation_deg)
    horizontal = np.cos(azimuth) * forward - np.sin(azimuth) * side
    direction = np.cos(elevation) * horizontal - np.sin(elevation) * up
    down = -up - np.dot(-up, direction) * direction
    down /= np.linalg.norm(down)
    right = np.cross(down, direction)
    return np.stack([right, down, direction])


def _mix(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return tuple(int(round(share * c + (1 - share) * b)) for c, b in zip(colour, BACKGROUND))


class PoseVideoWriter:
    """Writes a pose video frame by frame; use as a context manager (``write_pose_video`` wraps it).

    labels: names of the 3D poses, in drawing order (titles of the panels / legend).
    fps: frames per second of the output. up (3,): world up in the camera frame (see
    ``estimate_up``). frame_size (width, height) pixels of the video frames, or None for no
    frame panel. height: output height in pixels (frames are scaled to it; default the frame
    height, at most ``DEFAULT_HEIGHT``). overlay: all poses in one panel instead of one panel each.
    faint: labels drawn pale and thin. radius: meters from the root shown on each side of a panel.
    """

    def __init__(self, path: str | os.PathLike, labels: Collection[str], fps: float, up: np.ndarray,
                 frame_size: tuple[int, int] | None = None, height: int | None = None,
                 overlay: bool = False, faint: Collection[str] = (), azimuth_deg: float = 45.0,
                 elevation_deg: float = 10.0, radius: float = 1.1, skeleton: Skeleton = H36M) -> None:
        import cv2

        if not labels:
            raise InputError("no 3D poses to draw")
        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"frame rate {fps} is not a positive number")
        self.cv2, self.path, self.fps = cv2, Path(path), float(fps)
        self.labels, self.faint, self.overlay, self.skeleton = list(labels), set(faint), overlay, skeleton
        self.height = int(height or (min(frame_size[1], DEFAULT_HEIGHT) if frame_size else DEFAULT_HEIGHT))
        self.frame_size = frame_size
        self.frame_width = (int(round(frame_size[0] * self.height / frame_size[1])) // 2 * 2
                            if frame_size else 0)
        panels = 1 if overlay else len(self.labels)
        self.panel_width = self.height // 2 * 2
        self.width = self.frame_width + panels * self.panel_width
        self.rotation = view_rotation(up, azimuth_deg, elevation_deg)
        self.up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
        self.scale = self.height / (2.0 * radius)  # pixels per meter
        self.floor_row = int(self.height * 0.9)
        self.background = self._draw_background(radius)
        self.canvas = self.background.copy()
        self.right_bones = set(skeleton.bones_right)
        self.right_joints = set(skeleton.joints_right)
        self._writer = None
        self._temporary = None

    # -- static parts -------------------------------------------------------------------------
    def _panel_origin(self, index: int) -> int:
        return self.frame_width + (0 if self.overlay else index) * self.panel_width

    def _draw_background(self, radius: float) -> np.ndarray:
        cv2 = self.cv2
        canvas = np.full((self.height, self.width, 3), BACKGROUND, np.uint8)
        # Floor grid: 0.5 m squares on the floor (height 0, where each pose's lowest joint stands).
        steps = np.arange(-1.0, 1.01, 0.5)
        axis_a = np.cross(self.up, self.rotation[0])
        axis_a /= np.linalg.norm(axis_a)
        axis_b = np.cross(self.up, axis_a)
        panels = 1 if self.overlay else len(self.labels)
        for panel in range(panels):
            x0 = self._panel_origin(panel)
            cv2.rectangle(canvas, (x0, 0), (x0 + self.panel_width - 1, self.height - 1), GRID_COLOUR, 1)
            for first, second in ((axis_a, axis_b), (axis_b, axis_a)):
                for step in steps:
                    ends = np.stack([step * first + steps[0] * second, step * first + steps[-1] * second])
                    start, end = self._to_pixels(ends, x0).tolist()
                    cv2.line(canvas, tuple(start), tuple(end), GRID_COLOUR, 1, cv2.LINE_AA)
        titles = [" / ".join(self.labels)] if self.overlay else self.labels
        for panel, title in enumerate(titles):
            cv2.putText(canvas, title, (self._panel_origin(panel) + 8, 22), cv2.FONT_HERSHEY_SIMPLEX,
                        0.55, (60, 60, 60), 1, cv2.LINE_AA)
        return canvas

    def _to_pixels(self, points: np.ndarray, x0: int) -> np.ndarray:
        """Pixels (N, 2) int32 of points (N, 3) meters, camera frame, relative to the floor below the root."""
        view = points @ self.rotation[:2].T
        pixels = np.empty((len(points), 2), np.float64)
        pixels[:, 0] = x0 + self.panel_width / 2 + self.scale * view[:, 0]
        pixels[:, 1] = self.floor_row + self.scale * view[:, 1]
        return np.rint(pixels).astype(np.int32)

    # -- per frame ----------------------------------------------------------------------------
    def _pose_pixels(self, pose: np.ndarray, x0: int) -> np.ndarray | None:
        """Pixels (J, 2) int32 of one pose: root above the panel centre, lowest joint on the floor."""
        if not np.isfinite(pose).all():
            return None
        relative = pose - pose[0]
        relative -= (relative @ self.up).min() * self.up
        return self._to_pixels(relative, x0)

    def _draw_skeleton(self, pixels: np.ndarray, colours: tuple, thickness: int) -> None:
        cv2, canvas = self.cv2, self.canvas
        for bone, (parent, child) in enumerate(zip(self.skeleton.bone_parents, self.skeleton.bone_children)):
            colour = colours[0] if bone in self.right_bones else colours[1]
            cv2.line(canvas, tuple(pixels[parent].tolist()), tuple(pixels[child].tolist()), colour,
                     thickness, cv2.LINE_AA)
        for joint, point in enumerate(pixels.tolist()):
            colour = colours[0] if joint in self.right_joints else colours[1]
            cv2.circle(canvas, tuple(point), thickness + 1, colour, -1, cv2.LINE_AA)

    def _draw_frame(self, frame: np.ndarray | None, keypoints: np.ndarray | None, detected: bool) -> None:
        cv2 = self.cv2
        target = self.canvas[:, :self.frame_width]
        if frame is not None:
            if frame.shape[:2] != (self.frame_size[1], self.frame_size[0]):
                raise InputError(f"video frame of size {frame.shape[1]}x{frame.shape[0]}, expected "
                                 f"{self.frame_size[0]}x{self.frame_size[1]}")
            if frame.shape[:2] == target.shape[:2]:
                target[...] = frame
            else:
                cv2.resize(frame, (self.frame_width, self.height), dst=target, interpolation=cv2.INTER_LINEAR)
        else:
            target[...] = self.background[:, :self.frame_width]
        if keypoints is None or not np.isfinite(keypoints).all():
            return
        pixels = np.rint(keypoints * (self.frame_width / self.frame_size[0])).astype(np.int32)
        colours = KEYPOINT_COLOURS if detected else ((150, 150, 150), (110, 110, 110))
        thickness = max(2, self.height // 240)
        for bone, (parent, child) in enumerate(zip(self.skeleton.bone_parents, self.skeleton.bone_children)):
            colour = colours[0] if bone in self.right_bones else colours[1]
            cv2.line(target, tuple(pixels[parent].tolist()), tuple(pixels[child].tolist()), colour,
                     thickness, cv2.LINE_AA)

    def write(self, poses: Mapping[str, np.ndarray], frame: np.ndarray | None = None,
              keypoints: np.ndarray | None = None, detected: bool = True) -> None:
        """Draw and encode one output frame.

        poses: label -> (J, 3) meters, camera frame, for every label given at construction.
        frame: (H, W, 3) uint8 BGR video frame of ``frame_size``, or None (blank panel).
        keypoints: (J, 2) pixels of that frame, or None; ``detected`` False draws them grey.
        """
        if self._writer is None:
            raise RuntimeError("PoseVideoWriter.write outside its 'with' block")
        panel_start = self.frame_width
        self.canvas[:, panel_start:] = self.background[:, panel_start:]
        if self.frame_width:
            self._draw_frame(frame, keypoints, detected)
        thickness = max(2, self.height // 200)
        order = sorted(range(len(self.labels)), key=lambda i: self.labels[i] not in self.faint)
        for index in order:
            label = self.labels[index]
            pixels = self._pose_pixels(np.asarray(poses[label], dtype=np.float64), self._panel_origin(index))
            if pixels is None:
                continue
            colours = POSE_COLOURS[index % len(POSE_COLOURS)]
            if label in self.faint:
                self._draw_skeleton(pixels, (_mix(colours[0], FAINT_MIX), _mix(colours[1], FAINT_MIX)),
                                    max(1, thickness - 1))
            else:
                self._draw_skeleton(pixels, colours, thickness)
        self._writer.write(self.canvas)

    # -- file handling --------------------------------------------------------------------------
    def __enter__(self) -> PoseVideoWriter:
        self._atomic = atomic_path(self.path)
        try:
            self._temporary = self._atomic.__enter__()
        except OSError as error:
            raise InputError(f"{self.path}: cannot write here ({error.strerror or error})") from None
        writer = self.cv2.VideoWriter(str(self._temporary), self.cv2.VideoWriter_fourcc(*"mp4v"),
                                      self.fps, (self.width, self.height))
        if not writer.isOpened():
            self._atomic.__exit__(InputError, None, None)
            raise InputError(f"{self.path}: OpenCV cannot open an mp4 video writer here")
        self._writer = writer
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        self._writer.release()
        self._writer = None
        return self._atomic.__exit__(kind, value, traceback)


def write_pose_video(path: str | os.PathLike, poses: Mapping[str, np.ndarray], fps: float,
                     frames: Iterable[np.ndarray] | None = None, keypoints_2d: np.ndarray | None = None,
                     frame_size: tuple[int, int] | None = None, up: np.ndarray | None = None,
                     detected: np.ndarray | None = None, overlay: bool = False,
                     faint: Collection[str] = (), height: int | None = None,
                     azimuth_deg: float = 45.0, elevation_deg: float = 10.0, radius: float = 1.1,
                     progress: Any = None) -> Path:
    """Write an mp4 of 3D poses (and optionally the video frames with 2D keypoints); return its path.

    poses: label -> (T, J, 3) float, meters, camera frame (root-relative or not), all of one T.
    fps: output frame rate (the video's, or 50 for Human3.6M). frames: T BGR uint8 images (H, W, 3),
    e.g. a generator reading the video; frame_size (W, H) pixels is then taken from the first one.
    keypoints_2d: (T, J, 2) pixels of those frames; without frames it is drawn on a blank panel of
    ``frame_size`` (required then). up: world up (3,) in the camera frame; default
    ``estimate_up`` of the first pose in ``poses``. detected: (T,) bool, frames whose keypoints
    were interpolated (False) are drawn grey. overlay/faint/height/azimuth/elevation/radius: see
    ``PoseVideoWriter``. progress: optional ``blapose.progress.Progress`` updated once per frame.
    The file is written whole or not at all; the output has exactly T frames.
    """
    arrays = {label: np.asarray(array, dtype=np.float64) for label, array in poses.items()}
    lengths = {len(array) for array in arrays.values()}
    for label, array in arrays.items():
        if array.ndim != 3 or array.shape[1:] != (H36M.num_joints, 3):
            raise InputError(f"3D poses '{label}' have shape {array.shape}, expected (frames, {H36M.num_joints}, 3)")
    if len(lengths) != 1:
        raise InputError(f"3D poses differ in frame count: {({k: len(v) for k, v in arrays.items()})}")
    num_frames = lengths.pop()
    if num_frames == 0:
        raise InputError("no frames to render")
    if keypoints_2d is not None:
        keypoints_2d = np.asarray(keypoints_2d, dtype=np.float64)
        if keypoints_2d.shape != (num_frames, H36M.num_joints, 2):
            raise InputError(f"2D keypoints have shape {keypoints_2d.shape}, expected ({num_frames}, {H36M.num_joints}, 2)")
    if detected is not None and np.shape(detected) != (num_frames,):
        raise InputError(f"detected flags have shape {np.shape(detected)}, expected ({num_frames},)")
    if up is None:
        up = estimate_up(next(iter(arrays.values())))
    up = np.asarray(up, dtype=np.float64)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 1e-9:
        raise InputError(f"up must be a finite non-zero 3-vector, got {up}")
    frame_iterator = iter(frames) if frames is not None else None
    first_frame = None
    if frame_iterator is not None:
        first_frame = next(frame_iterator, None)
        if first_frame is None:
            raise InputError("the video has no frames")
        frame_size = (first_frame.shape[1], first_frame.shape[0])
    elif keypoints_2d is not None and frame_size is None:
        raise InputError("2D keypoints without video frames need frame_size (width, height)")
    if frame_iterator is None and keypoints_2d is None:
        frame_size = None
    with PoseVideoWriter(path, list(arrays), fps, up, frame_size=frame_size, height=height, overlay=overlay,
                         faint=faint, azimuth_deg=azimuth_deg, elevation_deg=elevation_deg,
                         radius=radius) as writer:
        for t in range(num_frames):
            frame = None
            if frame_iterator is not None:
                frame = first_frame if t == 0 else next(frame_iterator, None)
                if frame is None:
                    raise InputError(f"the video has {t} frames but there are {num_frames} poses")
            writer.write({label: array[t] for label, array in arrays.items()}, frame,
                         None if keypoints_2d is None else keypoints_2d[t],
                         True if detected is None else bool(detected[t]))
            if progress is not None:
                progress.update()
    return Path(path)
