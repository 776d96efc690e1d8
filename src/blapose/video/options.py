"""The options of ``blapose video``, one frozen object per stage of ``pipeline.process``: where the 2D
(and 3D) come from (``Source``), who is followed (``PersonChoice``), how 2D becomes 3D with bone
lengths (``Lifting``), the camera (``Scene``) and what is written (``Outputs``); ``check_options``
refuses the combinations that make no sense before anything is read.

Units: seconds, pixels, meters; 3D poses (T, 17, 3) meters, camera frame (x right, y down,
z forward), Human3.6M joint order.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..errors import InputError

#: The lifter ``blapose video`` uses on MediaPipe's keypoints unless told otherwise (``--lifter``),
#: chosen by benchmarks/eval_wild_multiview.py.
DEFAULT_LIFTER = "builtin+mediapipe-rays"
#: The lifter for another detector's keypoints: MediaPipe's own 3D does not exist for them.
KEYPOINTS_LIFTER = "builtin"


@dataclass(frozen=True)
class Source:
    """Where the 2D (and 3D) come from.

    start / end: seconds of the video (or of the keypoint file's frames) to use. keypoints: another
    detector's keypoint file or folder (``keypoint_files.read_keypoints``) lifted instead of running
    MediaPipe; keypoints_format: its format (None: detected). poses: an npz/npy of 3D poses (T, 17, 3)
    meters, camera frame, Human3.6M order (``keypoint_files.read_poses``), one per clip frame, used
    instead of a lifter. fps / size (width, height) pixels: the clip's rate and frame size for
    keypoints without a video, when the file does not give them.
    """

    start: float | None = None
    end: float | None = None
    keypoints: str | os.PathLike | None = None
    keypoints_format: str | None = None
    poses: str | os.PathLike | None = None
    fps: float | None = None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class PersonChoice:
    """Who is followed: ``people`` 'all' (everyone detected in at least ``min_seconds`` of the clip) or
    an int N (the N of them detected longest); person_box (x0, y0, x1, y1) pixels around the one
    person to follow in the first frame (MediaPipe: ``detector.detect_landmarks`` follows them over
    the whole clip, as when ``blapose video`` followed one person)."""

    people: str | int = "all"
    person_box: tuple[float, float, float, float] | None = None
    min_seconds: float = 1.0


@dataclass(frozen=True)
class Lifting:
    """How 2D becomes 3D with bone lengths.

    lifter: 'builtin', one of ``models.MEDIAPIPE_LIFTERS``, a checkpoint path, or several joined by
    '+' (their mean); None: ``DEFAULT_LIFTER`` on MediaPipe's keypoints, ``KEYPOINTS_LIFTER`` on a
    keypoint file's. length_model: 'builtin' or a checkpoint path; bidirectional: the ``-bi`` flag
    (None: read from the checkpoint). causal: per-frame lengths from past frames only (GRU models).
    height: the person's standing height in meters, which sets the size of the bone lengths.
    """

    lifter: str | None = None
    length_model: str = "builtin"
    bidirectional: bool | None = None
    causal: bool = False
    height: float | None = None


@dataclass(frozen=True)
class Scene:
    """The camera: focal (pixels) or fov (degrees across the long side), default
    ``geometry.DEFAULT_FOV_LONG_SIDE_DEG``; trajectory: place each person in the scene (npz
    ``trajectory``, BVH root motion, TRC/C3D markers where the person stands)."""

    focal: float | None = None
    fov: float | None = None
    trajectory: bool = True


@dataclass(frozen=True)
class Outputs:
    """What is written: out_dir (default ``output/<name>``); render: ``<name>.mp4`` with everyone (only
    with a video); bvh / trc / c3d: ``<name>_person<K>.bvh`` / ``.trc`` / ``.c3d`` per person beside
    the npz."""

    out_dir: str | os.PathLike | None = None
    render: bool = True
    bvh: bool = False
    trc: bool = False
    c3d: bool = False


def check_options(path, source: Source, people: PersonChoice, lifting: Lifting, outputs: Outputs) -> None:
    """Refuse, in one line each, options that contradict each other or make no sense."""
    from .models import MEDIAPIPE_LIFTERS

    if path is None and source.keypoints is None:
        raise InputError("give a video, or 2D keypoints with --keypoints")
    if source.keypoints_format is not None and source.keypoints is None:
        raise InputError("--keypoints-format names the format of --keypoints; give --keypoints")
    if path is not None and (source.fps is not None or source.size is not None):
        raise InputError("--fps and --size describe keypoints without a video; the video gives its own")
    if source.fps is not None and not (math.isfinite(source.fps) and source.fps > 0):
        raise InputError(f"--fps {source.fps} is not a positive frame rate")
    if source.size is not None and (len(source.size) != 2 or min(source.size) < 1):
        raise InputError(f"--size {source.size} is not WIDTH,HEIGHT in pixels")
    if outputs.bvh and lifting.causal:
        raise InputError("--bvh needs one set of bone lengths per video; drop --causal")
    if lifting.causal and lifting.height is not None:
        raise InputError("--height sets one size for the whole video; drop --causal")
    if lifting.height is not None and not (0.5 <= lifting.height <= 2.6):
        raise InputError(f"--height {lifting.height} is not a person's standing height in meters (0.5-2.6)")
    count = people.people
    if count != "all" and not (isinstance(count, int) and not isinstance(count, bool) and count >= 1):
        raise InputError(f"--people {count!r} must be 'all' or a number of people (at least 1)")
    if people.person_box is not None and count not in ("all", 1):
        raise InputError(f"--person-box follows one person; drop --people {count}")
    if not (math.isfinite(people.min_seconds) and people.min_seconds >= 0):
        raise InputError(f"--min-seconds {people.min_seconds} must be a number of seconds (0 or more)")
    lifters = [] if lifting.lifter is None else lifting.lifter.split("+")
    if source.keypoints is not None and any(name in MEDIAPIPE_LIFTERS for name in lifters):
        raise InputError(f"--lifter {lifting.lifter}: MediaPipe's 3D exists only for MediaPipe's keypoints, "
                         "not for --keypoints; use builtin or a checkpoint")
    if source.poses is not None and lifting.lifter is not None:
        raise InputError("--poses gives the 3D poses, so no lifter runs; drop --lifter")
    if outputs.c3d:
        try:
            import ezc3d  # noqa: F401
        except ImportError:
            raise InputError("--c3d needs the ezc3d library: pip install 'blapose[c3d]'") from None
