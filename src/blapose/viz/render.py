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

Several people (``write_people_video``, ``PersonTrack``) share every panel, each in their own colour
(``PERSON_COLOURS``, light on the right side, dark on the left) with their number drawn above their
head; one person keeps the colours above and no number. In the 3D views each person's root stands
where their trajectory (camera frame) puts it on the floor, all views centred on and scaled to
everyone's positions over the video; people without a trajectory stand side by side. Bones that
touch a joint which was not seen (outside the frame, or scored below the detector's visibility
cut, ``blapose.video.visibility``) are drawn dashed and pale, in the frame and in the 3D views.

Drawing is cv2.polylines (all bones of one colour in one call, dashes included) on one
preallocated canvas whose static parts (floor grid, titles) are drawn once; frames are encoded
as H.264 by ``blapose.viz.encode.H264Writer`` into a temporary file that replaces the output only
when the whole video is written.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..geometry.rotations import look_at
from ..skeleton import H36M, Skeleton
from ..video.visibility import visible_joints
from . import encode

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
#: Colours (BGR) of each person when several share a video, in the order they are given: (right
#: side, left side), centre bones left; the same in the frame and in the 3D views (faint ones paled).
PERSON_COLOURS = (
    ((215, 120, 25), (120, 60, 10)),     # blue
    ((40, 40, 225), (20, 20, 120)),      # red
    ((40, 170, 40), (15, 85, 15)),       # green
    ((0, 140, 250), (0, 70, 140)),       # orange
    ((190, 60, 170), (100, 25, 90)),     # purple
    ((175, 165, 0), (90, 85, 0)),        # teal
)
#: Share of the colour kept in the dashed bones of a joint that was not seen; the rest is white.
UNSEEN_MIX = 0.55
#: Meters between the roots of people drawn side by side (when some have no trajectory).
SIDE_BY_SIDE = 0.9
#: Meters a body reaches sideways from its root and above its lowest joint (with its number): the
#: views are made large enough for these around every person's position.
BODY_REACH, BODY_TOP = 0.45, 1.98
#: Share of the output height above the floor of the lowest-drawn person.
FLOOR_SHARE = 0.9
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


@dataclass
class PersonTrack:
    """One person to render, over the video frames in which they are followed.

    number: drawn above them when a video shows several people. frames (T_k,) int: the video
    frames (from 0, increasing) of the person's rows; they appear in no other frame. poses: label
    -> (T_k, J, 3) float, meters, camera frame, root-relative or not. keypoints_2d: (T_k, J, 2)
    float, pixels of the video frames, or None. visible: (T_k, J) bool, joints seen
    (``blapose.video.visibility.visible_joints``), or None for all; keypoints outside the frame
    count as unseen either way. trajectory: (T_k, 3) float, meters, camera frame: where the root
    is, placing the person in the 3D views; or None.
    """

    number: int
    frames: np.ndarray
    poses: Mapping[str, np.ndarray]
    keypoints_2d: np.ndarray | None = None
    visible: np.ndarray | None = None
    trajectory: np.ndarray | None = None


@dataclass(frozen=True)
class PersonFrame:
    """One person in one output frame, as ``PoseVideoWriter.draw`` takes them.

    poses: label -> (J, 3) float, meters, camera frame, for every label of the writer.
    keypoints: (J, 2) float, pixels of the video frame, or None. visible: (J,) bool, joints seen,
    or None for all. position: (3,) float, meters, camera frame: where the root stands (only its
    place on the floor counts), or None for the views' centre. slot: the person's index in the
    writer's ``numbers`` (their colour and number).
    """

    poses: Mapping[str, np.ndarray]
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None
    position: np.ndarray | None = None
    slot: int = 0


class PoseVideoWriter:
    """Writes a pose video frame by frame; use as a context manager (``write_pose_video`` wraps it).

    labels: names of the 3D poses, in drawing order (legend of the panels). fps: frames per
    second of the output. up (3,): world up in the camera frame (see ``estimate_up``).
    frame_size (width, height) pixels of the video frames, or None for no frame panel. height:
    output height in pixels, made even (frames are scaled to it; default the frame height, at
    most ``DEFAULT_HEIGHT``). overlay: all poses in one panel instead of one panel each. faint: labels
    drawn pale and thin. azimuth_deg: turn of the front view about up from the camera's viewing
    direction (the side view is ``VIEWS``' 90 degrees further); elevation_deg: how far both views
    look down. radius: meters from the floor grid's centre to the top and bottom of a view
    (sets the scale, shared by all views; a view is ``VIEW_ASPECT`` times as wide as high).
    numbers: the people's numbers, one per colour slot; with several, colours tell people apart
    (``PERSON_COLOURS``) and numbers are drawn, with one, colours tell poses apart. positions:
    (N, 3) float, meters, camera frame: every place a root will be drawn at (``PersonFrame``'s
    position); the views are then centred on them and ``radius`` grows so that all fit.
    """

    def __init__(self, path: str | os.PathLike, labels: Collection[str], fps: float, up: np.ndarray,
                 frame_size: tuple[int, int] | None = None, height: int | None = None,
                 overlay: bool = False, faint: Collection[str] = (), azimuth_deg: float = 0.0,
                 elevation_deg: float = 10.0, radius: float = 1.1, skeleton: Skeleton = H36M,
                 numbers: Sequence[int] = (1,), positions: np.ndarray | None = None) -> None:
        import cv2

        if not labels:
            raise InputError("no 3D poses to draw")
        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"frame rate {fps} is not a positive number")
        self.cv2, self.path, self.fps = cv2, Path(path), float(fps)
        self.labels, self.faint, self.overlay, self.skeleton = list(labels), set(faint), overlay, skeleton
        height = int(height or (min(frame_size[1], DEFAULT_HEIGHT) if frame_size else DEFAULT_HEIGHT))
        self.height = max(2, height // 2 * 2)  # H.264 (yuv420p) needs an even size
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
        self.numbers = [int(number) for number in numbers]
        self.several = len(self.numbers) > 1
        self._place(positions, radius)
        self._parents = np.array(skeleton.bone_parents)
        self._children = np.array(skeleton.bone_children)
        self._bone_right = np.isin(np.arange(skeleton.num_bones), skeleton.bones_right)
        self._joint_right = np.isin(np.arange(skeleton.num_joints), skeleton.joints_right)
        self.background = self._draw_background()
        self.canvas = self.background.copy()
        self._writer = None

    # -- geometry -----------------------------------------------------------------------------
    def view_origin(self, panel: int, view: int) -> int:
        """Column (pixels) of the left edge of view ``view`` (index into ``VIEWS``) of panel ``panel``."""
        return self.frame_width + (panel * len(VIEWS) + view) * self.view_width

    def _floor_spots(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 3) meters, camera frame, moved along up onto the floor plane through the camera."""
        return points - (points @ self.up)[..., None] * self.up

    def _place(self, positions: np.ndarray | None, radius: float) -> None:
        """Centre, scale and floor rows of the views so that roots at ``positions`` (N, 3) all fit."""
        #: (3,) meters, camera frame: the point of the floor plane at the centre of every view.
        self.centre = np.zeros(3)
        rows = np.zeros(len(VIEWS))
        self.grid_extent = 1.0  # meters from the centre to the floor grid's edges
        spots = None if positions is None else np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        if spots is not None and np.isfinite(spots).all(axis=1).any():
            spots = self._floor_spots(spots[np.isfinite(spots).all(axis=1)])
            axes = np.stack([self.rotations[0, 0], np.cross(self.up, self.rotations[0, 0])])  # on the floor
            along = spots @ axes.T
            self.centre = (along.min(axis=0) + along.max(axis=0)) / 2 @ axes
            view = ((spots - self.centre) @ self._projection).reshape(len(spots), len(VIEWS), 2)
            reach = np.abs(view[..., 0]).max() + BODY_REACH
            rows = view[..., 1].max(axis=0)  # (V,) meters: how far below the centre the nearest spot is drawn
            spread = (view[..., 1].max(axis=0) - view[..., 1].min(axis=0)).max()
            radius = max(radius, reach / VIEW_ASPECT, (spread + BODY_TOP) / (2 * FLOOR_SHARE))
            self.grid_extent = max(1.0, np.ceil((np.abs(along - along.mean(axis=0)).max() + 0.5) * 2) / 2)
        self.radius = float(radius)
        self.scale = self.height / (2.0 * radius)  # pixels per meter
        self.floor_row = int(self.height * FLOOR_SHARE)
        #: (V,) float: the row of the views' centre, so that the nearest person's floor is ``floor_row``.
        self.floor_rows = self.floor_row - rows * self.scale

    def _to_pixels(self, points: np.ndarray) -> np.ndarray:
        """Pixels (V, N, 2) int32 in each view (from its left edge) of points (N, 3) meters, camera
        frame, relative to the views' centre on the floor."""
        view = (points @ self._projection).reshape(len(points), len(VIEWS), 2).transpose(1, 0, 2)
        pixels = view * self.scale
        pixels[..., 0] += self.view_width / 2
        pixels[..., 1] += self.floor_rows[:, None]
        return np.rint(np.clip(pixels, -1e5, 1e5)).astype(np.int32)

    def pose_pixels(self, pose: np.ndarray, position: np.ndarray | None = None) -> np.ndarray | None:
        """Pixels (V, J, 2) int32 of one pose (J, 3) meters, camera frame, in each view of ``VIEWS``.

        Columns count from the view's left edge. The root is above ``position`` (3,) meters,
        camera frame (its place on the floor), or above the views' centre when None, and the lowest
        joint (along up) is on the floor, so all views share the floor and the vertical scale.
        None when a joint is not finite.
        """
        if not np.isfinite(pose).all():
            return None
        relative = pose - pose[0]
        relative -= (relative @ self.up).min() * self.up
        if position is not None and np.isfinite(position).all():
            relative += self._floor_spots(np.asarray(position, dtype=np.float64)) - self.centre
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
                    lines += [(label, self._legend_colour(label)) for label in labels]
                    if panel == 0 and self.frame_size:
                        lines.append(("dashed: not seen", _mix(TITLE_COLOUR, UNSEEN_MIX)))
                for row, (text, colour) in enumerate(lines, start=1):
                    cv2.putText(target, text, (8, row * line_height), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                                colour, 1, cv2.LINE_AA)
        return canvas

    def _draw_floor(self, target: np.ndarray, view: int) -> None:
        """Floor grid of view ``view`` into ``target`` (one view's columns): 0.5 m squares at height 0."""
        steps = np.arange(-self.grid_extent, self.grid_extent + 0.01, 0.5)
        axis_a = np.cross(self.up, self.rotations[0, 0])  # the front view's horizontal viewing direction
        axis_a /= np.linalg.norm(axis_a)
        axis_b = np.cross(self.up, axis_a)
        for first, second in ((axis_a, axis_b), (axis_b, axis_a)):
            for step in steps:
                ends = np.stack([step * first + steps[0] * second, step * first + steps[-1] * second])
                start, end = self._to_pixels(ends)[view].tolist()
                self.cv2.line(target, tuple(start), tuple(end), GRID_COLOUR, 1, self.cv2.LINE_AA)

    # -- per frame ----------------------------------------------------------------------------
    def _colours(self, label: str, slot: int = 0) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """(right, left) BGR colours of a pose of person ``slot``: the person's entry of
        ``PERSON_COLOURS`` when there are several, else the label's of ``POSE_COLOURS``; paled when faint."""
        if self.several:
            colours = PERSON_COLOURS[slot % len(PERSON_COLOURS)]
        else:
            colours = POSE_COLOURS[self.labels.index(label) % len(POSE_COLOURS)]
        if label in self.faint:
            return _mix(colours[0], FAINT_MIX), _mix(colours[1], FAINT_MIX)
        return colours

    def _keypoint_colours(self, slot: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """(right, left) BGR colours of person ``slot``'s 2D skeleton on the video frame."""
        return PERSON_COLOURS[slot % len(PERSON_COLOURS)] if self.several else KEYPOINT_COLOURS

    def _legend_colour(self, label: str) -> tuple[int, int, int]:
        """Colour of a label in the legend: its pose colour, or grey (pale when faint) when colours
        tell people apart."""
        if self.several:
            return _mix(TITLE_COLOUR, FAINT_MIX) if label in self.faint else TITLE_COLOUR
        return self._colours(label)[0]

    def _dashes(self, segments: np.ndarray, thickness: int) -> np.ndarray:
        """Dashes (K, 2, 2) int32 along segments (M, 2, 2) int32 pixels, each segment at least one dash."""
        dash, period = 3 * thickness + 2, 5 * thickness + 5
        start = segments[:, 0].astype(np.float64)
        vector = segments[:, 1] - start
        length = np.maximum(np.hypot(vector[:, 0], vector[:, 1]), 1.0)
        count = np.ceil(length / period).astype(np.int64)
        segment = np.repeat(np.arange(len(segments)), count)
        step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        ends = np.stack([step * period, np.minimum(step * period + dash, length[segment])], axis=1)
        points = start[segment, None] + (ends / length[segment, None])[..., None] * vector[segment, None]
        return np.rint(points).astype(np.int32)

    def _draw_skeleton(self, target: np.ndarray, pixels: np.ndarray, colours: tuple, thickness: int,
                       seen: np.ndarray | None = None, present: np.ndarray | None = None,
                       joints: bool = True) -> None:
        """Bones (and joints) of pixels (J, 2) int32 into ``target``; right-side parts in colours[0].

        seen (J,) bool: bones touching a joint not seen are dashed and pale, such joints get no dot.
        present (J,) bool: bones touching a joint not present are not drawn at all.
        """
        cv2 = self.cv2
        segments = np.stack([pixels[self._parents], pixels[self._children]], axis=1)  # (B, 2, 2)
        bone_seen = None if seen is None else seen[self._parents] & seen[self._children]
        bone_present = (np.ones(len(segments), bool) if present is None
                        else present[self._parents] & present[self._children])
        for right, colour in ((True, colours[0]), (False, colours[1])):
            side = (self._bone_right == right) & bone_present
            solid = side if bone_seen is None else side & bone_seen
            if solid.any():
                cv2.polylines(target, segments[solid], False, colour, thickness, cv2.LINE_AA)
            if bone_seen is not None and (side & ~bone_seen).any():
                cv2.polylines(target, self._dashes(segments[side & ~bone_seen], thickness), False,
                              _mix(colour, UNSEEN_MIX), thickness, cv2.LINE_AA)
            if joints:
                dots = self._joint_right == right
                if seen is not None:
                    dots &= seen
                if dots.any():
                    points = pixels[dots][:, None]
                    cv2.polylines(target, np.concatenate([points, points], axis=1), False, colour,
                                  2 * thickness + 3, cv2.LINE_AA)

    def _draw_number(self, target: np.ndarray, pixels: np.ndarray, slot: int, taken: list[tuple[int, int, int, int]],
                     outline: bool = False) -> None:
        """Person ``slot``'s number into ``target``, centred above the highest of pixels (N, 2) int32,
        moved right of any box (x0, y0, x1, y1) in ``taken`` it would cover; its box is added there."""
        cv2 = self.cv2
        text = str(self.numbers[slot])
        font_scale = max(0.5, 0.8 * self.height / DEFAULT_HEIGHT)
        weight = max(1, int(round(2 * self.height / DEFAULT_HEIGHT)))
        (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, weight)
        top = int(np.argmin(pixels[:, 1]))
        x = int(pixels[top, 0]) - width // 2
        y = max(height + 2, int(pixels[top, 1]) - height // 2 - weight - 2)
        for x0, y0, x1, y1 in sorted(taken):
            if x < x1 and x + width > x0 and y > y0 and y - height < y1:
                x = x1 + weight + 2
        taken.append((x, y - height, x + width, y))
        if outline:
            cv2.putText(target, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, BACKGROUND, weight + 3,
                        cv2.LINE_AA)
        cv2.putText(target, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                    PERSON_COLOURS[slot % len(PERSON_COLOURS)][0], weight, cv2.LINE_AA)

    def _draw_frame(self, frame: np.ndarray | None, people: Sequence[PersonFrame]) -> None:
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
        ratio = self.frame_width / self.frame_size[0]
        taken = []
        for person in people:
            if person.keypoints is None:
                continue
            keypoints = np.asarray(person.keypoints, dtype=np.float64)
            present = np.isfinite(keypoints).all(axis=-1)
            if not present.any():
                continue
            pixels = np.rint(np.clip(np.where(present[:, None], keypoints, 0.0) * ratio, -1e5, 1e5)).astype(np.int32)
            seen = present if person.visible is None else present & person.visible
            self._draw_skeleton(target, pixels, self._keypoint_colours(person.slot), max(2, self.height // 240),
                                seen, present, joints=False)
            if self.several:
                self._draw_number(target, pixels[present], person.slot, taken, outline=True)

    def draw(self, people: Sequence[PersonFrame], frame: np.ndarray | None = None) -> np.ndarray:
        """Draw one output frame and return it: (height, width, 3) uint8 BGR, reused by the next call.

        people: those shown in this frame (``PersonFrame``: poses of every label, keypoints,
        visibility, position). frame: (H, W, 3) uint8 BGR video frame of ``frame_size``, or None
        (blank panel). Faint poses are drawn first, under every person's solid ones.
        """
        self.canvas[:, self.frame_width:] = self.background[:, self.frame_width:]
        if self.frame_width:
            self._draw_frame(frame, people)
        thickness = max(2, self.height // 200)
        for panel, labels in enumerate(self.panels):
            last_drawn = {}  # slot -> (V, J, 2) pixels of that person's last pose in this panel
            for label in sorted(labels, key=lambda label: label not in self.faint):  # faint ones first
                width = max(1, thickness - 1) if label in self.faint else thickness
                for person in people:
                    pixels = self.pose_pixels(np.asarray(person.poses[label], dtype=np.float64), person.position)
                    if pixels is None:
                        continue
                    colours = self._colours(label, person.slot)
                    for view, view_pixels in enumerate(pixels):
                        x0 = self.view_origin(panel, view)
                        self._draw_skeleton(self.canvas[:, x0:x0 + self.view_width], view_pixels, colours,
                                            width, person.visible)
                    last_drawn[person.slot] = pixels
            if self.several:
                taken = [[] for _ in VIEWS]
                for slot, pixels in last_drawn.items():
                    for view, view_pixels in enumerate(pixels):
                        x0 = self.view_origin(panel, view)
                        self._draw_number(self.canvas[:, x0:x0 + self.view_width], view_pixels, slot, taken[view])
        return self.canvas

    def write(self, people: Sequence[PersonFrame], frame: np.ndarray | None = None) -> None:
        """Draw one output frame (arguments as ``draw``) and encode it."""
        if self._writer is None:
            raise RuntimeError("PoseVideoWriter.write outside its 'with' block")
        self._writer.write(self.draw(people, frame))

    # -- file handling --------------------------------------------------------------------------
    def __enter__(self) -> PoseVideoWriter:
        writer = encode.H264Writer(self.path, self.width, self.height, self.fps)
        writer.__enter__()
        self._writer = writer
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        writer, self._writer = self._writer, None
        return writer.__exit__(kind, value, traceback)


def _checked_track(person: PersonTrack, labels: list[str], frame_size: tuple[int, int] | None) -> PersonTrack:
    """``person`` with arrays as float64/int64/bool, shapes checked (InputError naming the person),
    and ``visible`` made False for keypoints outside the frame."""
    joints = H36M.num_joints
    name = f"person {person.number}"
    frames = np.asarray(person.frames)
    if frames.ndim != 1 or len(frames) == 0 or not np.issubdtype(frames.dtype, np.integer):
        raise InputError(f"{name}: frames must be a non-empty 1-D array of frame numbers, got shape {frames.shape}")
    if frames[0] < 0 or (np.diff(frames) <= 0).any():
        raise InputError(f"{name}: frames must be increasing frame numbers from 0")
    count = len(frames)
    if set(person.poses) != set(labels):
        raise InputError(f"{name}: 3D poses {sorted(person.poses)}, expected {sorted(labels)} like the first person")
    poses = {}
    for label in labels:
        array = np.asarray(person.poses[label], dtype=np.float64)
        if array.shape != (count, joints, 3):
            raise InputError(f"{name}: 3D poses '{label}' have shape {array.shape}, expected ({count}, {joints}, 3)")
        poses[label] = array
    checked = {}
    for field_name, shape in (("keypoints_2d", (count, joints, 2)), ("visible", (count, joints)),
                              ("trajectory", (count, 3))):
        value = getattr(person, field_name)
        if value is not None:
            value = np.asarray(value, dtype=bool if field_name == "visible" else np.float64)
            if value.shape != shape:
                raise InputError(f"{name}: {field_name} has shape {value.shape}, expected {shape}")
        checked[field_name] = value
    if checked["keypoints_2d"] is not None:
        seen = visible_joints(checked["keypoints_2d"], frame_size)
        checked["visible"] = seen if checked["visible"] is None else seen & checked["visible"]
    return PersonTrack(person.number, frames.astype(np.int64), poses, **checked)


def _positions(people: list[PersonTrack], up: np.ndarray, azimuth_deg: float) -> list[np.ndarray | None]:
    """Where each person's root stands in every one of their frames, (T_k, 3) meters, camera frame:
    their trajectory when everyone has one; else several people stand side by side (``SIDE_BY_SIDE``
    apart along the front view's right), one person stands in the middle (None)."""
    if all(person.trajectory is not None for person in people):
        return [person.trajectory for person in people]
    if len(people) == 1:
        return [None]
    right = look_at(view_direction(up, azimuth_deg), np.asarray(up, dtype=np.float64))[0]
    middle = (len(people) - 1) / 2
    return [np.tile((slot - middle) * SIDE_BY_SIDE * right, (len(person.frames), 1))
            for slot, person in enumerate(people)]


def write_people_video(path: str | os.PathLike, people: Sequence[PersonTrack], fps: float,
                       frames: Iterable[np.ndarray] | None = None, num_frames: int | None = None,
                       frame_size: tuple[int, int] | None = None, up: np.ndarray | None = None,
                       overlay: bool = False, faint: Collection[str] = (), height: int | None = None,
                       azimuth_deg: float = 0.0, elevation_deg: float = 10.0, radius: float = 1.1,
                       progress: Any = None) -> Path:
    """Write an mp4 of several people's 3D poses (and optionally the video with their 2D keypoints).

    people: ``PersonTrack`` each (number, frames, poses of the same labels, keypoints, visible,
    trajectory); each is drawn only in their own frames. With several people each has a colour
    (``PERSON_COLOURS``) and their number above them; in the 3D views they stand where their
    trajectories put them (all must have one; otherwise they stand side by side, in the given
    order), views centred and scaled to fit everyone over the whole video. One person is drawn
    as ``write_pose_video`` draws them. fps: output frame rate. frames: BGR uint8 images (H, W, 3)
    of the video, e.g. a generator reading it; frame_size (W, H) pixels is then taken from the
    first one; without frames 2D keypoints are drawn on a blank panel of ``frame_size`` (required
    then). num_frames: frames of the output (default: up to the last frame anyone is followed in).
    up: world up (3,) in the camera frame; default ``estimate_up`` of everyone's first poses.
    overlay/faint/height/azimuth/elevation/radius: see ``PoseVideoWriter``. progress: optional
    ``blapose.progress.Progress`` updated once per frame. The file is written whole or not at all.
    """
    if not people:
        raise InputError("no people to draw")
    numbers = [int(person.number) for person in people]
    if len(set(numbers)) != len(numbers):
        raise InputError(f"people's numbers repeat: {numbers}")
    labels = list(people[0].poses)
    if not labels:
        raise InputError(f"person {numbers[0]}: no 3D poses to draw")
    frame_iterator = iter(frames) if frames is not None else None
    first_frame = None
    if frame_iterator is not None:
        first_frame = next(frame_iterator, None)
        if first_frame is None:
            raise InputError("the video has no frames")
        frame_size = (first_frame.shape[1], first_frame.shape[0])
    elif any(person.keypoints_2d is not None for person in people) and frame_size is None:
        raise InputError("2D keypoints without video frames need frame_size (width, height)")
    if frame_iterator is None and all(person.keypoints_2d is None for person in people):
        frame_size = None
    people = [_checked_track(person, labels, frame_size) for person in people]
    last = max(int(person.frames[-1]) for person in people) + 1
    if num_frames is None:
        num_frames = last
    elif num_frames < last:
        raise InputError(f"people are followed up to frame {last - 1}, but the video has {num_frames} frames")
    if up is None:
        up = estimate_up(np.concatenate([person.poses[labels[0]] for person in people]))
    up = np.asarray(up, dtype=np.float64)
    if up.shape != (3,) or not np.isfinite(up).all() or np.linalg.norm(up) < 1e-9:
        raise InputError(f"up must be a finite non-zero 3-vector, got {up}")
    positions = _positions(people, up, azimuth_deg)
    every_position = [p for p in positions if p is not None]
    rows = np.full((len(people), num_frames), -1)  # rows[k, t]: person k's row of video frame t, -1: absent
    for slot, person in enumerate(people):
        rows[slot, person.frames] = np.arange(len(person.frames))
    with PoseVideoWriter(path, labels, fps, up, frame_size=frame_size, height=height, overlay=overlay, faint=faint,
                         azimuth_deg=azimuth_deg, elevation_deg=elevation_deg, radius=radius, numbers=numbers,
                         positions=np.concatenate(every_position) if every_position else None) as writer:
        for t in range(num_frames):
            frame = None
            if frame_iterator is not None:
                frame = first_frame if t == 0 else next(frame_iterator, None)
                if frame is None:
                    raise InputError(f"the video has {t} frames but there are poses for {num_frames}")
            shown = []
            for slot, person in enumerate(people):
                row = rows[slot, t]
                if row < 0:
                    continue
                shown.append(PersonFrame(
                    {label: array[row] for label, array in person.poses.items()},
                    None if person.keypoints_2d is None else person.keypoints_2d[row],
                    None if person.visible is None else person.visible[row],
                    None if positions[slot] is None else positions[slot][row], slot))
            writer.write(shown, frame)
            if progress is not None:
                progress.update()
    return Path(path)


def write_pose_video(path: str | os.PathLike, poses: Mapping[str, np.ndarray], fps: float,
                     frames: Iterable[np.ndarray] | None = None, keypoints_2d: np.ndarray | None = None,
                     frame_size: tuple[int, int] | None = None, up: np.ndarray | None = None,
                     detected: np.ndarray | None = None, overlay: bool = False,
                     faint: Collection[str] = (), height: int | None = None,
                     azimuth_deg: float = 0.0, elevation_deg: float = 10.0, radius: float = 1.1,
                     progress: Any = None, visible: np.ndarray | None = None) -> Path:
    """Write an mp4 of one person's 3D poses (and optionally the video frames with 2D keypoints); return its path.

    poses: label -> (T, J, 3) float, meters, camera frame (root-relative or not), all of one T.
    fps: output frame rate (the video's, or 50 for Human3.6M). frames: T BGR uint8 images (H, W, 3),
    e.g. a generator reading the video; frame_size (W, H) pixels is then taken from the first one.
    keypoints_2d: (T, J, 2) pixels of those frames; without frames it is drawn on a blank panel of
    ``frame_size`` (required then). up: world up (3,) in the camera frame; default
    ``estimate_up`` of the first pose in ``poses``. detected: (T,) bool, frames whose keypoints
    were interpolated (False) have every joint drawn as unseen. visible: (T, J) bool joints seen
    (``blapose.video.visibility.visible_joints``); bones of unseen joints, and of keypoints
    outside the frame, are dashed and pale. overlay/faint/height/azimuth/elevation/radius: see
    ``PoseVideoWriter``. progress: optional ``blapose.progress.Progress`` updated once per frame.
    The file is written whole or not at all; the output has exactly T frames. This is
    ``write_people_video`` with one person followed in every frame.
    """
    arrays = {label: np.asarray(array, dtype=np.float64) for label, array in poses.items()}
    if not arrays:
        raise InputError("no 3D poses to draw")
    for label, array in arrays.items():
        if array.ndim != 3 or array.shape[1:] != (H36M.num_joints, 3):
            raise InputError(f"3D poses '{label}' have shape {array.shape}, expected (frames, {H36M.num_joints}, 3)")
    lengths = {len(array) for array in arrays.values()}
    if len(lengths) != 1:
        raise InputError(f"3D poses differ in frame count: {({k: len(v) for k, v in arrays.items()})}")
    num_frames = lengths.pop()
    if num_frames == 0:
        raise InputError("no frames to render")
    if keypoints_2d is not None and np.shape(keypoints_2d) != (num_frames, H36M.num_joints, 2):
        raise InputError(f"2D keypoints have shape {np.shape(keypoints_2d)}, "
                         f"expected ({num_frames}, {H36M.num_joints}, 2)")
    if visible is not None and np.shape(visible) != (num_frames, H36M.num_joints):
        raise InputError(f"visibility flags have shape {np.shape(visible)}, expected ({num_frames}, {H36M.num_joints})")
    if detected is not None:
        if np.shape(detected) != (num_frames,):
            raise InputError(f"detected flags have shape {np.shape(detected)}, expected ({num_frames},)")
        seen = np.repeat(np.asarray(detected, dtype=bool)[:, None], H36M.num_joints, axis=1)
        visible = seen if visible is None else seen & np.asarray(visible, dtype=bool)
    if up is None:
        up = estimate_up(next(iter(arrays.values())))
    person = PersonTrack(1, np.arange(num_frames), arrays, keypoints_2d=keypoints_2d, visible=visible)
    return write_people_video(path, [person], fps, frames=frames, num_frames=num_frames, frame_size=frame_size,
                              up=up, overlay=overlay, faint=faint, height=height, azimuth_deg=azimuth_deg,
                              elevation_deg=elevation_deg, radius=radius, progress=progress)
