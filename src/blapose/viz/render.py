"""One skeleton renderer (OpenCV) for videos in the wild and for dataset predictions.

Glossary: T frames, J joints (17, Human3.6M order of ``blapose.skeleton``). 3D poses are
(T, J, 3) float, meters, camera frame (x right, y down, z forward), root-relative or not (each
pose is centred on its root joint when drawn). 2D keypoints are (T, J, 2) float, pixels of the
video frame. V views in every 3D panel (``VIEWS``: front, side).

A written video shows, left to right: the video frame with its 2D skeleton (when frames or 2D
keypoints are given), then the 3D skeletons, either one panel per pose or all poses overlaid in
one panel. Every panel is two views of the same poses side by side, "front" and "side"
(``VIEWS``): the front view looks along the camera's viewing direction laid flat on the floor
(what the camera sees, but upright), the side view is the front view turned 90 degrees about
up, so depth the camera cannot see (thighs pointing at it in a squat) is across the side view.
Both views are upright: their vertical axis is the body's "up" (``estimate_up``), not the
camera's, so a tilted or rolled camera does not tilt the skeleton; each pose stands with its
lowest joint on a floor grid, at the same height and scale in both views. Poses listed in
``faint`` are drawn in a pale colour under the others (e.g. the lifter's pose under the adjusted
one).

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
from ..geometry.rotations import look_at
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
TITLE_COLOUR = (60, 60, 60)
#: Output height (pixels) unless asked otherwise: larger videos encode too slowly for live use.
DEFAULT_HEIGHT = 480
FAINT_MIX = 0.45  # share of the pose colour in a faint pose's colour; the rest is background
#: The views of every 3D panel, left to right: title and turn (degrees about up) from the front view.
VIEWS = (("front", 0.0), ("side", 90.0))
#: Width of one view as a share of the output height.
VIEW_ASPECT = 0.75


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


def view_direction(up: np.ndarray, azimuth_deg: float = 0.0, elevation_deg: float = 10.0) -> np.ndarray:
    """The viewer's unit viewing direction (3,) in the camera frame.

    up (3,): the world's up in the camera frame. At azimuth 0 and elevation 0 the viewer looks
    horizontally along the camera's viewing direction (its horizontal part); azimuth turns the
    viewer around the up axis (positive: to the camera's right side, looking back towards the
    middle), elevation raises the viewer so it looks down. The view's rotation (rows right, down,
    direction) is ``geometry.rotations.look_at(direction, up)``.
    """
    up = np.asarray(up, dtype=np.float64)
    up = up / np.linalg.norm(up)
    forward = np.array([0.0, 0.0, 1.0]) - up[2] * up
    if np.linalg.norm(forward) < 1e-6:  # camera looking straight down or up: use its x axis
        forward = np.cross(up, np.array([1.0, 0.0, 0.0]))
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, up)  # viewer's right when looking along forward with up up
    azimuth, elevation = np.radians(azimuth_deg), np.radians(elevation_deg)
    horizontal = np.cos(azimuth) * forward - np.sin(azimuth) * side
    return np.cos(elevation) * horizontal - np.sin(elevation) * up


def _mix(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return tuple(int(round(share * c + (1 - share) * b)) for c, b in zip(colour, BACKGROUND))


class PoseVideoWriter:
    """Writes a pose video frame by frame; use as a context manager (``write_pose_video`` wraps it).

    labels: names of the 3D poses, in drawing order (legend of the panels). fps: frames per
    second of the output. up (3,): world up in the camera frame (see ``estimate_up``).
    frame_size (width, height) pixels of the video frames, or None for no frame panel. height:
    output height in pixels (frames are scaled to it; default the frame height, at most
    ``DEFAULT_HEIGHT``). overlay: all poses in one panel instead of one panel each. faint: labels
    drawn pale and thin. azimuth_deg: turn of the front view about up from the camera's viewing
    direction (the side view is ``VIEWS``' 90 degrees further); elevation_deg: how far both views
    look down. radius: meters from the floor grid's centre to the top and bottom of a view
    (sets the scale, shared by all views; a view is ``VIEW_ASPECT`` times as wide as high).
    """

    def __init__(self, path: str | os.PathLike, labels: Collection[str], fps: float, up: np.ndarray,
                 frame_size: tuple[int, int] | None = None, height: int | None = None,
                 overlay: bool = False, faint: Collection[str] = (), azimuth_deg: float = 0.0,
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
        #: Labels shown in each panel; every panel is one view per entry of ``VIEWS``.
        self.panels = [self.labels] if overlay else [[label] for label in self.labels]
        self.view_width = max(2, int(self.height * VIEW_ASPECT) // 2 * 2)
        self.width = self.frame_width + len(self.panels) * len(VIEWS) * self.view_width
        self.up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
        #: (V, 3, 3): rows right, down, viewing direction of each view, camera frame.
        self.rotations = np.stack([look_at(view_direction(up, azimuth_deg + turn, elevation_deg), self.up)
                                   for _, turn in VIEWS])
        self._projection = self.rotations[:, :2].reshape(-1, 3).T  # (3, 2V): points -> view x, y
        self.scale = self.height / (2.0 * radius)  # pixels per meter
        self.floor_row = int(self.height * 0.9)
        self.right_bones = set(skeleton.bones_right)
        self.right_joints = set(skeleton.joints_right)
        self.background = self._draw_background()
        self.canvas = self.background.copy()
        self._writer = None
        self._temporary = None

    # -- geometry -----------------------------------------------------------------------------
    def view_origin(self, panel: int, view: int) -> int:
        """Column (pixels) of the left edge of view ``view`` (index into ``VIEWS``) of panel ``panel``."""
        return self.frame_width + (panel * len(VIEWS) + view) * self.view_width

    def _to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Pixels (V, N, 2) int32 in each view (from its left edge) of points (N, 3) meters, camera
        frame, relative to the point of the floor below the root."""
        view = (points @ self._projection).reshape(len(points), len(VIEWS), 2).transpose(1, 0, 2)
        pixels = view * self.scale
        pixels[..., 0] += self.view_width / 2
        pixels[..., 1] += self.floor_row
        return np.rint(pixels).astype(np.int32)

    def pose_pixels(self, pose: np.ndarray) -> np.ndarray | None:
        """Pixels (V, J, 2) int32 of one pose (J, 3) meters, camera frame, in each view of ``VIEWS``.

        Columns count from the view's left edge. The root is above the view's centre and the
        lowest joint (along up) on the floor, so all views share the floor and the vertical scale.
        None when a joint is not finite.
        """
        if not np.isfinite(pose).all():
            return None
        relative = pose - pose[0]
        relative -= (relative @ self.up).min() * self.up
        return self._to_pixels(relative)

    # -- static parts -------------------------------------------------------------------------
    def _draw_background(self) -> np.ndarray:
        """The canvas (height, width, 3) uint8 without poses: view borders, floor grids, titles, legends."""
        cv2 = self.cv2
        canvas = np.full((self.height, self.width, 3), BACKGROUND, np.uint8)
        font_scale = max(0.4, 0.55 * self.height / DEFAULT_HEIGHT)
        line_height = int(round(40 * font_scale))
        for panel, labels in enumerate(self.panels):
            for view, (title, _) in enumerate(VIEWS):
                x0 = self.view_origin(panel, view)
                target = canvas[:, x0:x0 + self.view_width]
                self._draw_floor(target, view)
                cv2.rectangle(target, (0, 0), (self.view_width - 1, self.height - 1), GRID_COLOUR, 1)
                lines = [(title, TITLE_COLOUR)]
                if view == 0:
                    lines += [(label, self._colours(label)[0]) for label in labels]
                for row, (text, colour) in enumerate(lines, start=1):
                    cv2.putText(target, text, (8, row * line_height), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                                colour, 1, cv2.LINE_AA)
        return canvas

    def _draw_floor(self, target: np.ndarray, view: int) -> None:
        """Floor grid of view ``view`` into ``target`` (one view's columns): 0.5 m squares at height 0."""
        steps = np.arange(-1.0, 1.01, 0.5)
        axis_a = np.cross(self.up, self.rotations[0, 0])  # the front view's horizontal viewing direction
        axis_a /= np.linalg.norm(axis_a)
        axis_b = np.cross(self.up, axis_a)
        for first, second in ((axis_a, axis_b), (axis_b, axis_a)):
            for step in steps:
                ends = np.stack([step * first + steps[0] * second, step * first + steps[-1] * second])
                start, end = self._to_pixels(ends)[view].tolist()
                self.cv2.line(target, tuple(start), tuple(end), GRID_COLOUR, 1, self.cv2.LINE_AA)

    # -- per frame ----------------------------------------------------------------------------
    def _colours(self, label: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """(right, left) BGR colours of a pose: its entry of ``POSE_COLOURS``, paled when faint."""
        colours = POSE_COLOURS[self.labels.index(label) % len(POSE_COLOURS)]
        if label in self.faint:
            return _mix(colours[0], FAINT_MIX), _mix(colours[1], FAINT_MIX)
        return colours

    def _draw_skeleton(self, target: np.ndarray, pixels: np.ndarray, colours: tuple, thickness: int,
                       joints: bool = True) -> None:
        """Bones (and joints) of pixels (J, 2) int32 into ``target``; right-side parts in colours[0]."""
        cv2 = self.cv2
        for bone, (parent, child) in enumerate(zip(self.skeleton.bone_parents, self.skeleton.bone_children)):
            colour = colours[0] if bone in self.right_bones else colours[1]
            cv2.line(target, tuple(pixels[parent].tolist()), tuple(pixels[child].tolist()), colour,
                     thickness, cv2.LINE_AA)
        if joints:
            for joint, point in enumerate(pixels.tolist()):
                colour = colours[0] if joint in self.right_joints else colours[1]
                cv2.circle(target, tuple(point), thickness + 1, colour, -1, cv2.LINE_AA)

    def _draw_frame(self, frame: np.ndarray | None, keypoints: np.ndarray | None, detected: bool) -> None:
        target = self.canvas[:, :self.frame_width]
        if frame is not None:
            if frame.shape[:2] != (self.frame_size[1], self.frame_size[0]):
                raise InputError(f"video frame of size {frame.shape[1]}x{frame.shape[0]}, expected "
                                 f"{self.frame_size[0]}x{self.frame_size[1]}")
            if frame.shape[:2] == target.shape[:2]:
                target[...] = frame
            else:
                self.cv2.resize(frame, (self.frame_width, self.height), dst=target,
                                interpolation=self.cv2.INTER_LINEAR)
        else:
            target[...] = self.background[:, :self.frame_width]
        if keypoints is None or not np.isfinite(keypoints).all():
            return
        pixels = np.rint(keypoints * (self.frame_width / self.frame_size[0])).astype(np.int32)
        colours = KEYPOINT_COLOURS if detected else ((150, 150, 150), (110, 110, 110))
        self._draw_skeleton(target, pixels, colours, max(2, self.height // 240), joints=False)

    def draw(self, poses: Mapping[str, np.ndarray], frame: np.ndarray | None = None,
             keypoints: np.ndarray | None = None, detected: bool = True) -> np.ndarray:
        """Draw one output frame and return it: (height, width, 3) uint8 BGR, reused by the next call.

        poses: label -> (J, 3) meters, camera frame, for every label given at construction.
        frame: (H, W, 3) uint8 BGR video frame of ``frame_size``, or None (blank panel).
        keypoints: (J, 2) pixels of that frame, or None; ``detected`` False draws them grey.
        """
        self.canvas[:, self.frame_width:] = self.background[:, self.frame_width:]
        if self.frame_width:
            self._draw_frame(frame, keypoints, detected)
        thickness = max(2, self.height // 200)
        for panel, labels in enumerate(self.panels):
            for label in sorted(labels, key=lambda label: label not in self.faint):  # faint ones first
                pixels = self.pose_pixels(np.asarray(poses[label], dtype=np.float64))
                if pixels is None:
                    continue
                width = max(1, thickness - 1) if label in self.faint else thickness
                for view, view_pixels in enumerate(pixels):
                    x0 = self.view_origin(panel, view)
                    self._draw_skeleton(self.canvas[:, x0:x0 + self.view_width], view_pixels,
                                        self._colours(label), width)
        return self.canvas

    def write(self, poses: Mapping[str, np.ndarray], frame: np.ndarray | None = None,
              keypoints: np.ndarray | None = None, detected: bool = True) -> None:
        """Draw one output frame (arguments as ``draw``) and encode it."""
        if self._writer is None:
            raise RuntimeError("PoseVideoWriter.write outside its 'with' block")
        self._writer.write(self.draw(poses, frame, keypoints, detected))

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
                     azimuth_deg: float = 0.0, elevation_deg: float = 10.0, radius: float = 1.1,
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
            raise InputError(f"2D keypoints have shape {keypoints_2d.shape}, "
                             f"expected ({num_frames}, {H36M.num_joints}, 2)")
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
