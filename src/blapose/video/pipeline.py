"""``blapose video``: from a video (or another detector's keypoints) to every person's 2D keypoints, 3D
poses, bone lengths and output files.

Stages (``process``): read the clip (probe the video, or read the keypoint file) -> detect and follow
every person (MediaPipe: ``people.detect_people``, or with ``person_box`` today's one-person
``detector.detect_landmarks``; a keypoint file: its ids or ``tracking``) -> per person (``follow``:
sides put right, joints mapped, gaps filled; then lift at 50 fps, predict and check bone lengths,
adjust, place in the scene) -> write ``<name>_person<K>.npz`` (and ``.bvh``, ``.trc``, ``.c3d``) for
each person K = 1, 2, ... in order of first appearance, and one ``<name>.mp4`` with everyone. All
files are written to temporary names and renamed together at the end, so a failure leaves none.
Each stage has its own options object: ``Source``, ``PersonChoice``, ``Lifting``, ``Scene``, ``Outputs``.

Glossary: T clip frames, T_k frames of person k (their ``frames``), J joints (17), B bones (16).
Poses are meters, camera frame (x right, y down, z forward), root-relative; keypoints are pixels of
the video frame.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bones import adjust_poses
from ..errors import InputError
from ..fileio import atomic_path
from ..geometry.camera import normalize_screen_coordinates
from ..geometry.rotations import upright_frame
from ..lengths.reference import median_lengths
from ..native_stderr import native_stderr_silenced
from ..progress import Progress
from ..skeleton import H36M
from . import resample
from .follow import Track2D, choose_people, from_landmarks, keypoint_tracks, person_in_box
from .keypoint_files import KeypointFile, read_keypoints, read_poses
from .reader import FrameRange, probe_video, read_frames
from .visibility import unseen_share, visible_joints

#: Frames decoded ahead of detection and of rendering.
DECODE_AHEAD = 8
#: Height (pixels) of the rendered video; frames are scaled to it.
RENDER_HEIGHT = 720
#: The lifter ``blapose video`` uses on MediaPipe's keypoints unless told otherwise (``--lifter``),
#: chosen by benchmarks/eval_wild_multiview.py.
DEFAULT_LIFTER = "builtin+mediapipe-rays"
#: The lifter for another detector's keypoints: MediaPipe's own 3D does not exist for them.
KEYPOINTS_LIFTER = "builtin"


# ---------------------------------------------------------------------------------------------------
# Options, one per stage


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


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass
class PersonResult:
    """One person: what ``process`` found and wrote; array shapes and units as in the npz (``NPZ_KEYS``),
    per-frame arrays over the person's ``frames``."""

    number: int
    frames: np.ndarray
    keypoints_2d: np.ndarray
    scores: np.ndarray
    detected: np.ndarray
    poses_3d: np.ndarray
    poses_3d_adjusted: np.ndarray
    bone_lengths: np.ndarray
    fps: float
    width: int
    height: int
    up: np.ndarray
    trajectory: np.ndarray | None = None
    focal_length: float = float("nan")
    swapped: np.ndarray | None = None
    scale_source: str = "model"
    lengths_note: str = ""
    clip_frames: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def visible(self) -> np.ndarray:
        """(T_k, 17) bool: joints seen in each frame (inside it, score at least ``VISIBLE_SCORE``)."""
        return visible_joints(self.keypoints_2d, (self.width, self.height), self.scores)

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz content: the keys of ``NPZ_KEYS`` (``trajectory`` only when it was computed)."""
        arrays = {"frames": self.frames.astype(np.int64),
                  "keypoints_2d": self.keypoints_2d.astype(np.float32), "scores": self.scores.astype(np.float32),
                  "detected": self.detected.astype(bool), "poses_3d": self.poses_3d.astype(np.float32),
                  "poses_3d_adjusted": self.poses_3d_adjusted.astype(np.float32),
                  "bone_lengths": self.bone_lengths.astype(np.float32), "fps": np.float64(self.fps),
                  "width": np.int64(self.width), "height": np.int64(self.height),
                  "up": self.up.astype(np.float32), "focal_length": np.float64(self.focal_length),
                  "swapped": (np.zeros(len(self.detected), dtype=bool) if self.swapped is None
                              else self.swapped.astype(bool)),
                  "scale_source": np.str_(self.scale_source)}
        if self.trajectory is not None:
            arrays["trajectory"] = self.trajectory.astype(np.float32)
        return arrays


#: The name of one person's results before several people were followed (kept for a release).
VideoResult = PersonResult

#: npz keys and what they hold; T_k is the number of the person's frames.
NPZ_KEYS = {
    "frames": "(T_k,) int64, the video frames (from 0) the person's per-frame arrays cover: contiguous, from "
              "their first to their last detection",
    "keypoints_2d": "(T_k, 17, 2) float32, pixels, Human3.6M joint order; a keypoint file's keypoints as given "
                    "where it has them; frames and joints without a detection interpolated",
    "scores": "(T_k, 17) float32, the detector's confidence (MediaPipe's landmark visibility mapped to the "
              "joints, or the file's scores); 0 where not detected",
    "detected": "(T_k,) bool, False where the person was not found and the frame was filled in",
    "swapped": "(T_k,) bool, frames whose left and right labels were exchanged back (blapose.video.swaps; "
               "MediaPipe only)",
    "poses_3d": "(T_k, 17, 3) float32, meters, camera frame, root-relative: the lifter's poses (or --poses' "
                "as given, root subtracted)",
    "poses_3d_adjusted": "(T_k, 17, 3) float32, meters, camera frame, root-relative: bones set to bone_lengths",
    "bone_lengths": "(16,) float32 meters, bone i ends at joint i + 1; (T_k, 16) with --causal; the joints of "
                    "the video's keypoints (blapose.video.lengths)",
    "scale_source": "str, what set the size of bone_lengths: 'height' (--height), 'model' or 'fallback'",
    "trajectory": "(T_k, 3) float32, meters, camera frame: the root joint's position (absent with "
                  "--no-trajectory)",
    "focal_length": "float, pixels: the focal length the trajectory assumed (--focal, --fov or the default)",
    "fps": "float, frames per second of the video",
    "width": "int, frame width in pixels",
    "height": "int, frame height in pixels",
    "up": "(3,) float32, the world's up direction in the camera frame, estimated from everyone's poses",
}


@dataclass
class Clip:
    """The frames people are looked for in: ``name`` of the outputs, the video (None: keypoints
    alone), its rate and frame size, the video frames ``frames`` (first, stop), how many frames the
    clip holds (``count``, known for a video once decoded), the words naming the 2D source and the
    keypoint file when the 2D come from one."""

    name: str
    video: Path | None
    fps: float
    width: int
    height: int
    frames: FrameRange
    count: int
    source_2d: str
    keypoints: KeypointFile | None = None


# ---------------------------------------------------------------------------------------------------
# The pipeline


def process(path: str | os.PathLike | None = None, *, source: Source | None = None,
            people: PersonChoice | None = None, lifting: Lifting | None = None, scene: Scene | None = None,
            outputs: Outputs | None = None, show_progress: bool = True,
            log: Callable[[str], None] | None = print) -> list[PersonResult]:
    """Find every person in the video at ``path`` (or in ``source.keypoints``), lift them to 3D with
    adjusted bone lengths and write the outputs; one ``PersonResult`` per person, numbered by first
    appearance. Each options object defaults to its class's defaults. log: where the summary goes
    (None: nowhere). Bad input raises ``InputError`` before any output file exists.
    """
    from .geometry import focal_length

    source, people, lifting = source or Source(), people or PersonChoice(), lifting or Lifting()
    scene, outputs = scene or Scene(), outputs or Outputs()
    total_start = time.perf_counter()
    seconds: dict[str, float] = {}
    _check_options(path, source, people, lifting, outputs)
    clip = open_clip(path, source)
    focal = focal_length(clip.width, clip.height, scene.focal, scene.fov)
    folder = Path(outputs.out_dir) if outputs.out_dir is not None else Path("output") / clip.name
    _check_not_inputs(folder, clip.name, (path, source.keypoints, source.poses))
    lifter = lifting.lifter or (KEYPOINTS_LIFTER if clip.keypoints is not None else DEFAULT_LIFTER)
    models = _load_models(lifter, lifting, source)
    given = _read_given_poses(source.poses)
    created = _prepare_output_folder(folder)
    try:
        tracks = find_people(clip, people, seconds, show_progress)
        _check_people(tracks, clip, source, lifting, given)
        stage = time.perf_counter()
        results = lift_people(tracks, clip, lifter, models, lifting, scene, focal, given, show_progress)
        seconds["lift + lengths + adjust"] = time.perf_counter() - stage
        targets = _targets(folder, clip, len(results), outputs)
        write_outputs(results, clip, targets, seconds, show_progress, label="given" if given is not None else "lifter")
        _remove_stale(folder, clip.name, targets)
    except BaseException:
        _remove_empty(created)
        raise
    seconds["total"] = time.perf_counter() - total_start
    for result, files in zip(results, targets["people"]):
        result.seconds = seconds
        result.files = {**files, **({"mp4": targets["mp4"]} if "mp4" in targets else {})}
    if log is not None:
        log(summary(results, clip, _source_3d(lifter, source), people))
    return results


def _check_options(path, source: Source, people: PersonChoice, lifting: Lifting, outputs: Outputs) -> None:
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


def open_clip(path: str | os.PathLike | None, source: Source) -> Clip:
    """The clip to look for people in: the video's rate, size and frames (probed, not decoded), or a
    keypoint file read whole, with its rate and size from the video, the options or the file."""
    keypoints = None
    if source.keypoints is not None:
        keypoints = read_keypoints(source.keypoints, source.keypoints_format)
        words = f"{keypoints.format} keypoints ({keypoints.layout}) from {keypoints.source}"
    if path is not None:
        info = probe_video(path)
        frames = FrameRange.from_seconds(info.fps, source.start, source.end)
        count = _expected_frames(info.frame_count, frames)
        if keypoints is not None and count == 0:  # the container does not say: up to the file's last frame
            count = max(int(keypoints.frame_numbers.max()) + 1 - frames.first, 0)
        clip = Clip(info.path.stem, info.path, info.fps, info.width, info.height, frames, count,
                    "MediaPipe Pose" if keypoints is None else words, keypoints)
        if keypoints is not None:
            listed = keypoints.frame_numbers
            last = int(listed[listed < (frames.stop if frames.stop is not None else np.inf)].max(initial=-1))
            if info.frame_count and last >= info.frame_count:
                raise InputError(f"{keypoints.source} lists frame {last}, but {info.path} has "
                                 f"{info.frame_count} frames (0-{info.frame_count - 1})")
        return clip
    fps = source.fps if source.fps is not None else keypoints.fps
    if fps is None:
        raise InputError(f"{keypoints.source} does not give the frame rate; give --fps")
    size = source.size if source.size is not None else (
        (keypoints.width, keypoints.height) if keypoints.width and keypoints.height else None)
    if size is None:
        raise InputError(f"{keypoints.source} does not give the frame size; give --size WIDTH,HEIGHT")
    frames = FrameRange.from_seconds(fps, source.start, source.end)
    listed = keypoints.frame_numbers
    inside = listed[(listed >= frames.first) & ((listed < frames.stop) if frames.stop is not None else True)]
    if len(inside) == 0:
        raise InputError(f"{keypoints.source} lists no frame in the chosen seconds")
    frames = FrameRange(int(inside.min()), int(inside.max()) + 1)
    return Clip(Path(source.keypoints).stem, None, float(fps), int(size[0]), int(size[1]), frames,
                frames.stop - frames.first, words, keypoints)


def _expected_frames(frame_count: int, frames: FrameRange) -> int:
    """Frames of ``frames`` in a video of ``frame_count`` frames (the container's estimate)."""
    stop = frame_count if frames.stop is None else min(frame_count, frames.stop)
    return max(stop - frames.first, 0)


def _load_models(lifter: str, lifting: Lifting, source: Source) -> tuple[list, object]:
    """The lifting models (None for MediaPipe's 3D; none with ``source.poses``) and the length model."""
    from .models import load_length_model, load_lifter

    lifting_models = [] if source.poses is not None else [load_lifter(name) for name in lifter.split("+")]
    lengths_model = load_length_model(lifting.length_model, lifting.bidirectional)
    if lifting.causal and lengths_model.bidirectional:
        raise InputError("--causal needs a unidirectional (GRU) length model; this one is bidirectional")
    return lifting_models, lengths_model


def _read_given_poses(path: str | os.PathLike | None) -> np.ndarray | None:
    return None if path is None else read_poses(path)


def find_people(clip: Clip, choice: PersonChoice, seconds: dict[str, float], show_progress: bool) -> list[Track2D]:
    """Read or detect, then follow: each chosen person's 2D track (``follow.Track2D``), ordered by first
    frame. Sets ``clip.count`` to the frames decoded. Raises ``InputError`` when nobody is left."""
    stage = time.perf_counter()
    if clip.keypoints is not None:
        tracks = keypoint_tracks(clip.keypoints, clip.frames.first, clip.frames.first + clip.count)
        if choice.person_box is not None:
            tracks = [person_in_box(tracks, choice.person_box)]
        seconds["read keypoints + follow"] = time.perf_counter() - stage
    else:
        tracks = _detect(clip, choice, show_progress)
        seconds["decode + detect + follow"] = time.perf_counter() - stage
        if clip.count < 2:
            what = "no frames" if clip.count == 0 else "only one frame"
            raise InputError(f"{clip.video} has {what} in the chosen range; at least 2 are needed")
        if not tracks:
            raise InputError(f"no person was detected in any of the {clip.count} frames of {clip.video}")
    if choice.person_box is not None:
        return tracks
    needed = max(2, math.ceil(choice.min_seconds * clip.fps - 1e-9))
    chosen = choose_people(tracks, choice.people, needed)
    if not chosen:
        where = clip.video if clip.video is not None else clip.keypoints.source
        raise InputError(f"nobody in {where} was followed in at least {needed} frames ({choice.min_seconds:g} s; "
                         f"{len(tracks)} seen for less); lower --min-seconds")
    return chosen


def _detect(clip: Clip, choice: PersonChoice, show_progress: bool) -> list[Track2D]:
    """MediaPipe on the video's frames: every person (``people.detect_people``), or with a box the one
    person ``detector.detect_landmarks`` follows over the whole clip."""
    from .detector import detect_landmarks
    from .people import detect_people

    decoded = 0

    def frames():
        nonlocal decoded
        for frame in read_frames(clip.video, clip.frames, ahead=DECODE_AHEAD):
            decoded += 1
            yield frame

    with native_stderr_silenced() as stderr, Progress(total=clip.count or None, description="detect 2D",
                                                      unit="frame", enabled=show_progress, stream=stderr) as bar:
        if choice.person_box is not None:
            found = detect_landmarks(frames(), clip.width, clip.height, bar, person_box=choice.person_box)
            clip.count = decoded
            if not found.detected.any():
                return []
            span = clip.frames.first + np.arange(len(found.detected))
            return [from_landmarks(0, span, found.detected, found.pixels, found.visibility, found.world)]
        people = detect_people(frames(), clip.width, clip.height, bar, min_seconds=0.0, fps=clip.fps)
    clip.count = decoded
    return [from_landmarks(p.person, clip.frames.first + p.frames, p.detected, p.pixels, p.visibility, p.world)
            for p in people]


def _check_people(tracks: list[Track2D], clip: Clip, source: Source, lifting: Lifting,
                  given: np.ndarray | None) -> None:
    """Options that hold for one person only, and --poses' frame count."""
    if len(tracks) > 1:
        for flag, used in (("--poses", source.poses is not None), ("--height", lifting.height is not None)):
            if used:
                raise InputError(f"{flag} describes one person, and {len(tracks)} were followed; choose one "
                                 "with --people 1 or --person-box")
    if given is not None and len(given) != clip.count:
        last = clip.frames.first + clip.count - 1
        raise InputError(f"--poses {source.poses} holds {len(given)} poses; the clip has {clip.count} frames "
                         f"({clip.frames.first}-{last}), one pose each")


def lift_people(tracks: list[Track2D], clip: Clip, lifter: str, models: tuple[list, object], lifting: Lifting,
                scene: Scene, focal: float, given: np.ndarray | None, show_progress: bool) -> list[PersonResult]:
    """Every person through ``lift_person``, numbered 1, 2, ... in the order given, with one shared up."""
    results = []
    with Progress(total=sum(len(t.frames) for t in tracks), description="lift 3D + lengths", unit="frame",
                  enabled=show_progress) as bar:
        for number, track in enumerate(tracks, 1):
            results.append(lift_person(number, track, clip, lifter, models, lifting, scene, focal, given))
            bar.update(len(track.frames))
    _share_up(results)
    return results


def lift_person(number: int, track: Track2D, clip: Clip, lifter: str, models: tuple[list, object],
                lifting: Lifting, scene: Scene, focal: float, given: np.ndarray | None) -> PersonResult:
    """One person: lift at 50 fps (or take ``given`` poses (T, J, 3) of the clip), predict and check
    bone lengths, adjust, and place in the scene."""
    from .geometry import low_pass, root_trajectory
    from .lengths import choose_lengths
    from .models import predict_bone_lengths

    lifting_models, lengths_model = models
    frames = len(track.frames)
    normalized = normalize_screen_coordinates(track.keypoints, clip.width, clip.height)
    model_keypoints = resample.to_model_rate(normalized, clip.fps)
    if given is not None:
        poses = given[track.frames - clip.frames.first]
        poses = poses - poses[:, :1]
    else:
        poses = _lift(lifter, lifting_models, model_keypoints, track, clip, focal)
    predicted = predict_bone_lengths(lengths_model, model_keypoints, lifting.causal)
    if lifting.causal:
        lengths, scale_source, note = predicted[resample.latest_model_frame(frames, clip.fps)], "model", ""
    else:
        choice = choose_lengths(predicted, median_lengths(poses), lifting.height)
        lengths, scale_source, note = choice.lengths, choice.scale_source, choice.note
    adjusted = adjust_poses(poses, lengths)
    path = None
    if scene.trajectory:
        path = low_pass(root_trajectory(adjusted, track.keypoints, track.scores, focal, clip.width, clip.height),
                        clip.fps)
    return PersonResult(number, track.frames, track.keypoints, track.scores, track.detected, poses, adjusted,
                        lengths, clip.fps, clip.width, clip.height, up_direction(adjusted), trajectory=path,
                        focal_length=focal, swapped=track.swapped, scale_source=scale_source, lengths_note=note,
                        clip_frames=clip.count)


def _lift(lifter: str, lifting_models: list, model_keypoints: np.ndarray, track: Track2D, clip: Clip,
          focal: float) -> np.ndarray:
    """Root-relative poses (T_k, J, 3) meters, camera frame, of the chosen lifter (see ``models``); a
    lifter ``A+B`` gives the mean of A's and B's poses."""
    from .geometry import low_pass, poses_on_rays
    from .models import lift

    poses = []
    for name, model in zip(lifter.split("+"), lifting_models):
        if model is not None:
            poses.append(resample.to_video_rate(lift(model, model_keypoints), clip.fps, len(track.keypoints)))
            continue
        mediapipe = track.world - track.world[:, :1]
        if name == "mediapipe-rays":
            mediapipe = poses_on_rays(mediapipe, track.keypoints, track.scores, focal, clip.width, clip.height)
        if name != "mediapipe":
            mediapipe = low_pass(mediapipe, clip.fps)
        poses.append(mediapipe)
    mean = np.mean(poses, axis=0)
    return mean - mean[:, :1]


def up_direction(poses: np.ndarray) -> np.ndarray:
    """The world's up (3,) in the camera frame, from poses (T, J, 3) (the renderer's estimate)."""
    from ..viz.render import estimate_up

    return estimate_up(poses)


def _share_up(results: list[PersonResult]) -> None:
    """One up for everyone in the clip: the estimate from all their adjusted poses (one person: theirs)."""
    if len(results) > 1:
        up = up_direction(np.concatenate([result.poses_3d_adjusted for result in results]))
        for result in results:
            result.up = up


# ---------------------------------------------------------------------------------------------------
# Writing


def _prepare_output_folder(folder: Path) -> list[Path]:
    """Make sure ``folder`` can take files; return the folders created here, deepest first."""
    created = []
    missing = folder.absolute()
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        _remove_empty(created)
        raise InputError(f"cannot write to output folder {folder} ({error.strerror or error})") from None
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _check_not_inputs(folder: Path, name: str, inputs) -> None:
    """Refuse an output folder where an input file has the name of an output (``<name>.mp4``,
    ``<name>_person<K>.npz``, ...): writing would replace it."""
    pattern = re.compile(rf"{re.escape(name)}(\.mp4|_person\d+\.(npz|bvh|trc|c3d))")
    for item in inputs:
        if item is not None and Path(item).parent.resolve() == folder.resolve() and pattern.fullmatch(Path(item).name):
            raise InputError(f"the outputs would overwrite the input {item}; choose another --out")


def _targets(folder: Path, clip: Clip, count: int, outputs: Outputs) -> dict:
    """{'people': [{kind: path}] per person, 'mp4': path (with a video and ``render``)}."""
    people = []
    for number in range(1, count + 1):
        stem = folder / f"{clip.name}_person{number}"
        files = {"npz": stem.with_suffix(".npz")}
        files.update({kind: stem.with_suffix(f".{kind}") for kind in ("bvh", "trc", "c3d") if getattr(outputs, kind)})
        people.append(files)
    targets: dict = {"people": people}
    if outputs.render and clip.video is not None:
        targets["mp4"] = folder / f"{clip.name}.mp4"
    return targets


def _remove_stale(folder: Path, name: str, targets: dict) -> None:
    """Remove ``<name>_person<K>`` files an earlier run left in ``folder`` that this run did not write
    (it followed fewer people, or was asked for fewer kinds of file), so the folder holds one run."""
    written = {path.name for files in targets["people"] for path in files.values()}
    pattern = re.compile(rf"{re.escape(name)}_person\d+\.(npz|bvh|trc|c3d)")
    for path in folder.iterdir():
        if pattern.fullmatch(path.name) and path.name not in written and path.is_file():
            path.unlink()


def write_outputs(results: list[PersonResult], clip: Clip, targets: dict, seconds: dict[str, float],
                  show_progress: bool, label: str = "lifter") -> None:
    """Write every output to a temporary name; rename them all only when all are complete."""
    from .bvh import write_bvh
    from .c3d import write_c3d
    from .trc import H36M_MARKER_NAMES, person_markers, write_trc

    with contextlib.ExitStack() as stack:
        stage = time.perf_counter()
        for result, files in zip(results, targets["people"]):
            temporary = {kind: stack.enter_context(atomic_path(target)) for kind, target in files.items()}
            np.savez(temporary["npz"], **result.arrays())
            upright = upright_frame(result.up)  # camera frame -> the BVH file's upright frame
            if "bvh" in temporary:
                roots = None if result.trajectory is None else result.trajectory @ upright.T
                write_bvh(temporary["bvh"], result.poses_3d_adjusted @ upright.T, result.bone_lengths, result.fps,
                          root_positions=roots)
            if "trc" in temporary or "c3d" in temporary:
                markers = person_markers(result.poses_3d_adjusted, upright, result.trajectory, result.detected)
                first = int(result.frames[0])
                if "trc" in temporary:
                    write_trc(temporary["trc"], markers, H36M_MARKER_NAMES, result.fps, first_frame=first,
                              file_name=files["trc"].name)
                if "c3d" in temporary:
                    write_c3d(temporary["c3d"], markers, H36M_MARKER_NAMES, result.fps, first_frame=first)
        seconds["write"] = time.perf_counter() - stage
        if "mp4" in targets:
            stage = time.perf_counter()
            _render(stack.enter_context(atomic_path(targets["mp4"])), results, clip, show_progress, label)
            seconds["decode + render"] = time.perf_counter() - stage


def _render(path: Path, results: list[PersonResult], clip: Clip, show_progress: bool, label: str) -> None:
    """Everyone in one mp4 of the clip's frames: 2D on the video, 3D placed by their trajectories."""
    from ..viz.render import PersonTrack, write_people_video

    tracks = [PersonTrack(result.number, result.frames - clip.frames.first,
                          {label: result.poses_3d, "adjusted": result.poses_3d_adjusted},
                          keypoints_2d=result.keypoints_2d, visible=result.visible() & result.detected[:, None],
                          trajectory=result.trajectory) for result in results]
    with native_stderr_silenced() as stderr, Progress(total=clip.count, description="render", unit="frame",
                                                      enabled=show_progress, stream=stderr) as bar:
        write_people_video(path, tracks, clip.fps, frames=read_frames(clip.video, clip.frames, ahead=DECODE_AHEAD),
                           num_frames=clip.count, up=results[0].up, overlay=True, faint=(label,),
                           height=min(RENDER_HEIGHT, clip.height), progress=bar)


# ---------------------------------------------------------------------------------------------------
# Summary


def _source_3d(lifter: str, source: Source) -> str:
    if source.poses is not None:
        return f"the 3D poses of {source.poses} (--poses)"
    text = f"the lifter {lifter}"
    if source.keypoints is not None:
        text += " (MediaPipe's own 3D does not exist for another detector's keypoints)"
    return text


def summary(results: list[PersonResult], clip: Clip, source_3d: str, choice: PersonChoice) -> str:
    """The closing report: the clip and its sources, then per person their frames, frames without a
    detection, height and bone lengths (mm), unseen joints and place; time per stage, files written."""
    from .lengths import Population

    population = Population.load()
    where = clip.video.name if clip.video is not None else clip.keypoints.source
    lines = [f"{where}: {clip.count} frames at {clip.fps:g} fps, {clip.width}x{clip.height}; 2D from "
             f"{clip.source_2d}; 3D from {source_3d}"]
    if clip.keypoints is not None:
        lines.append("left and right swaps not repaired (that needs MediaPipe's 3D)")
    if choice.person_box is not None:
        who = "the person in --person-box"
    elif choice.people == "all":
        who = f"everyone followed for at least {choice.min_seconds:g} s"
    else:
        who = f"the {choice.people} followed longest, each for at least {choice.min_seconds:g} s"
    lines.append(f"people: {len(results)} ({who})")
    names = [H36M.joint_names[child] for child in H36M.bone_children]
    sizes = {"height": "sized to the given --height", "model": "size from the length model",
             "fallback": "size and proportions from the video's own poses"}
    for result in results:
        frames = len(result.frames)
        missing = int((~result.detected).sum())
        lengths = result.bone_lengths if result.bone_lengths.ndim == 1 else result.bone_lengths[-1]
        which = "" if result.bone_lengths.ndim == 1 else " (last frame, causal)"
        swapped = "" if result.swapped is None else f"; left and right put back in {int(result.swapped.sum())}"
        lines.append(f"person {result.number}: {frames} frames ({result.frames[0]}-{result.frames[-1]}), "
                     f"{missing} without a detection ({100 * missing / frames:.0f} %, filled){swapped}; "
                     f"height about {float(population.height_of(lengths)):.2f} m ({sizes[result.scale_source]})")
        lines.append(f"  bone lengths{which}, mm, by the joint each bone ends at: "
                     + ", ".join(f"{n} {v * 1000:.0f}" for n, v in zip(names, lengths)))
        if result.lengths_note:
            lines.append(f"  note: {result.lengths_note}")
        share = unseen_share(result.visible() & result.detected[:, None])
        unseen = [f"{H36M.joint_names[joint]} {100 * share[joint]:.0f} %"
                  for joint in np.argsort(-share, kind="stable") if share[joint] >= 0.1]
        if unseen:
            lines.append(f"  joints not seen (drawn dashed), share of frames: {', '.join(unseen)}")
        if result.trajectory is not None:
            lines.append(f"  position: median distance from the camera {np.median(result.trajectory[:, 2]):.2f} m "
                         f"(focal length {result.focal_length:.0f} px)")
    seconds = results[0].seconds
    total = seconds.get("total", float("nan"))
    stages = ", ".join(f"{stage} {value:.2f} s" for stage, value in seconds.items() if stage != "total")
    lines.append(f"time: {stages}; total {total:.2f} s = {clip.count / total:.1f} frames/s")
    files = [path for result in results for kind, path in result.files.items() if kind != "mp4"]
    files += [results[0].files["mp4"]] if "mp4" in results[0].files else []
    lines += [f"wrote {path}" for path in files]
    if clip.video is None:
        lines.append("no video: nothing rendered")
    return "\n".join(lines)
