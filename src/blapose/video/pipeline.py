"""``blapose video``: from a video file to 2D keypoints, 3D poses, bone lengths and output files.

Stages: decode + detect (MediaPipe, decoding ahead on a thread) -> map to the Human3.6M joints and
fill frames without a person -> resample to 50 fps -> lift -> predict bone lengths -> back to the
video's frames -> adjust (BLAPose) -> write ``<name>.npz``, ``<name>.mp4`` (rendered), and with
``bvh`` ``<name>.bvh``. All files are written to temporary names and renamed together at the end,
so a failure leaves none behind.

Glossary: T video frames, J joints (17), B bones (16). Poses are meters, camera frame (x right,
y down, z forward), root-relative; keypoints are pixels of the video frame.
"""

from __future__ import annotations

import contextlib
import os
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
from . import landmarks as lm
from . import resample
from .reader import FrameRange, probe_video, read_frames
from .visibility import unseen_share, visible_joints

#: Frames decoded ahead of detection and of rendering.
DECODE_AHEAD = 8
#: Height (pixels) of the rendered video; frames are scaled to it.
RENDER_HEIGHT = 720
#: The lifter ``blapose video`` uses unless told otherwise (``--lifter``), chosen by
#: benchmarks/eval_wild_multiview.py.
DEFAULT_LIFTER = "builtin+mediapipe-rays"


@dataclass
class VideoResult:
    """What ``process`` found and wrote; array shapes and units as in the npz (see ``NPZ_KEYS``)."""

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
    seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def visible(self) -> np.ndarray:
        """(T, 17) bool: joints seen in each frame (inside it, visibility at least ``VISIBLE_SCORE``)."""
        return visible_joints(self.keypoints_2d, (self.width, self.height), self.scores)

    def arrays(self) -> dict[str, np.ndarray]:
        """The npz content: the keys of ``NPZ_KEYS`` (``trajectory`` only when it was computed)."""
        arrays = {"keypoints_2d": self.keypoints_2d.astype(np.float32), "scores": self.scores.astype(np.float32),
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


#: npz keys and what they hold.
NPZ_KEYS = {
    "keypoints_2d": "(T, 17, 2) float32, pixels, Human3.6M joint order; frames without a person interpolated",
    "scores": "(T, 17) float32, MediaPipe landmark visibility mapped to the joints; 0 where not detected",
    "detected": "(T,) bool, False where no person was found and the frame was filled in",
    "swapped": "(T,) bool, frames whose left and right labels were exchanged back (blapose.video.swaps)",
    "poses_3d": "(T, 17, 3) float32, meters, camera frame, root-relative: the lifter's poses",
    "poses_3d_adjusted": "(T, 17, 3) float32, meters, camera frame, root-relative: bones set to bone_lengths",
    "bone_lengths": "(16,) float32 meters, bone i ends at joint i + 1; (T, 16) with --causal; the joints of "
                    "the video's keypoints (blapose.video.lengths)",
    "scale_source": "str, what set the size of bone_lengths: 'height' (--height), 'model' or 'fallback'",
    "trajectory": "(T, 3) float32, meters, camera frame: the root joint's position (absent with --no-trajectory)",
    "focal_length": "float, pixels: the focal length the trajectory assumed (--focal, --fov or the default)",
    "fps": "float, frames per second of the video",
    "width": "int, frame width in pixels",
    "height": "int, frame height in pixels",
    "up": "(3,) float32, the world's up direction in the camera frame, estimated from the poses",
}


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


def _frame_count_message(path: Path, frames: int) -> str:
    what = "no frames" if frames == 0 else "only one frame"
    return f"{path} has {what} in the chosen range; at least 2 are needed"


def up_direction(poses: np.ndarray) -> np.ndarray:
    """The world's up (3,) in the camera frame, from poses (T, J, 3) (the renderer's estimate)."""
    from ..viz.render import estimate_up

    return estimate_up(poses)


def process(path: str | os.PathLike, out_dir: str | os.PathLike | None = None, lifter: str = DEFAULT_LIFTER,
            length_model: str = "builtin", bidirectional: bool | None = None, causal: bool = False,
            render: bool = True, bvh: bool = False, start: float | None = None, end: float | None = None,
            height: float | None = None, focal: float | None = None, fov: float | None = None,
            person_box: tuple[float, float, float, float] | None = None, trajectory: bool = True,
            show_progress: bool = True, log: Callable[[str], None] | None = print) -> VideoResult:
    """Turn the video at ``path`` into 2D keypoints, 3D poses and bone lengths, and write the outputs.

    out_dir: output folder (default ``output/<video name>``). lifter: 'builtin', one of
    ``models.MEDIAPIPE_LIFTERS``, a checkpoint path, or several of these joined by '+' (their
    mean); length_model: 'builtin' or a checkpoint path; bidirectional: the ``-bi`` flag (None: read
    from the checkpoint). causal: per-frame lengths from
    past frames only (GRU models). render / bvh: write ``<name>.mp4`` / ``<name>.bvh`` beside
    ``<name>.npz``. start / end: seconds of the video to use. height: the person's standing height
    in meters, which sets the size of the bone lengths. focal (pixels) or fov (degrees across the
    long side): the camera, for the trajectory (default ``geometry.DEFAULT_FOV_LONG_SIDE_DEG``).
    person_box: (x0, y0, x1, y1) pixels around the person to follow in the first frame.
    trajectory: also place the person in the scene (npz ``trajectory``, BVH root motion).
    log: where the summary goes (None: nowhere). Bad input raises ``InputError`` before any
    output file exists.
    """
    from .geometry import focal_length
    from .models import load_length_model, load_lifter

    total_start = time.perf_counter()
    seconds: dict[str, float] = {}
    info = probe_video(path)
    if bvh and causal:
        raise InputError("--bvh needs one set of bone lengths per video; drop --causal")
    if causal and height is not None:
        raise InputError("--height sets one size for the whole video; drop --causal")
    if height is not None and not (0.5 <= height <= 2.6):
        raise InputError(f"--height {height} is not a person's standing height in meters (0.5-2.6)")
    focal_pixels = focal_length(info.width, info.height, focal, fov)
    frame_range = FrameRange.from_seconds(info.fps, start, end)
    name = info.path.stem
    folder = Path(out_dir) if out_dir is not None else Path("output") / name
    targets = {"npz": folder / f"{name}.npz"}
    if render:
        targets["mp4"] = folder / f"{name}.mp4"
    if bvh:
        targets["bvh"] = folder / f"{name}.bvh"
    if any(target.resolve() == info.path.resolve() for target in targets.values()):
        raise InputError(f"the output would overwrite the input video {info.path}; choose another --out")

    lifting_models = [load_lifter(name) for name in lifter.split("+")]
    lengths_model = load_length_model(length_model, bidirectional)
    if causal and lengths_model.bidirectional:
        raise InputError("--causal needs a unidirectional (GRU) length model; this one is bidirectional")
    created = _prepare_output_folder(folder)
    try:
        result = _analyse(info, frame_range, lifting_models, lengths_model, lifter, causal, seconds, show_progress,
                          height=height, focal=focal_pixels, person_box=person_box, trajectory=trajectory)
        _write_outputs(result, info, frame_range, targets, seconds, show_progress)
    except BaseException:
        _remove_empty(created)
        raise
    seconds["total"] = time.perf_counter() - total_start
    result.seconds, result.files = seconds, targets
    if log is not None:
        log(summary(result, info.path))
    return result


def _lift(lifter: str, lifting_models: list, model_keypoints: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
          world: np.ndarray, info, focal: float) -> np.ndarray:
    """Root-relative poses (T, J, 3) meters, camera frame, of the chosen lifter (see ``models``); a
    lifter ``A+B`` gives the mean of A's and B's poses."""
    from .geometry import low_pass, poses_on_rays
    from .models import lift

    poses = []
    for name, model in zip(lifter.split("+"), lifting_models):
        if model is not None:
            poses.append(resample.to_video_rate(lift(model, model_keypoints), info.fps, len(keypoints)))
            continue
        mediapipe = world - world[:, :1]
        if name == "mediapipe-rays":
            mediapipe = poses_on_rays(mediapipe, keypoints, scores, focal, info.width, info.height)
        if name != "mediapipe":
            mediapipe = low_pass(mediapipe, info.fps)
        poses.append(mediapipe)
    mean = np.mean(poses, axis=0)
    return mean - mean[:, :1]


def _analyse(info, frame_range: FrameRange, lifting_models: list, lengths_model, lifter: str, causal: bool,
             seconds: dict[str, float], show_progress: bool, height: float | None, focal: float,
             person_box, trajectory: bool) -> VideoResult:
    """Detect, map, put sides right, lift, predict lengths and adjust; stage times go into ``seconds``."""
    from .detector import detect_landmarks
    from .geometry import low_pass, root_trajectory
    from .lengths import choose_lengths
    from .models import predict_bone_lengths
    from .swaps import fix_swaps

    expected = info.frame_count - frame_range.first
    if frame_range.stop is not None:
        expected = min(expected, frame_range.stop - frame_range.first)
    stage = time.perf_counter()
    with native_stderr_silenced() as stderr, Progress(total=max(expected, 0) or None, description="detect 2D",
                                                      unit="frame", enabled=show_progress, stream=stderr) as bar:
        detections = detect_landmarks(read_frames(info.path, frame_range, ahead=DECODE_AHEAD),
                                      info.width, info.height, bar, person_box=person_box)
    seconds["decode + detect"] = time.perf_counter() - stage
    frames = len(detections.detected)
    if frames < 2:
        raise InputError(_frame_count_message(info.path, frames))
    if not detections.detected.any():
        raise InputError(f"no person was detected in any of the {frames} frames of {info.path}")

    stage = time.perf_counter()
    with Progress(total=frames, description="lift 3D", unit="frame", enabled=show_progress) as lifting:
        detected = detections.detected
        sides = fix_swaps(detections.pixels, detections.visibility, detections.world, detected)
        keypoints = lm.fill_gaps(lm.landmarks_to_h36m(sides.pixels), detected)
        scores = lm.landmarks_to_h36m(sides.visibility[..., None])[..., 0] * detected[:, None]
        world = lm.fill_gaps(lm.landmarks_to_h36m(sides.world), detected)
        normalized = normalize_screen_coordinates(keypoints, info.width, info.height)
        model_keypoints = resample.to_model_rate(normalized, info.fps)
        poses = _lift(lifter, lifting_models, model_keypoints, keypoints, scores, world, info, focal)
        lifting.update(frames)
    seconds["lift"] = time.perf_counter() - stage

    stage = time.perf_counter()
    with Progress(total=frames, description="bone lengths + adjust", unit="frame", enabled=show_progress) as bar:
        predicted = predict_bone_lengths(lengths_model, model_keypoints, causal)
        if causal:
            lengths, scale_source, note = predicted[resample.latest_model_frame(frames, info.fps)], "model", ""
        else:
            choice = choose_lengths(predicted, median_lengths(poses), height)
            lengths, scale_source, note = choice.lengths, choice.scale_source, choice.note
        seconds["lengths"] = time.perf_counter() - stage
        stage = time.perf_counter()
        adjusted = adjust_poses(poses, lengths)
        up = up_direction(adjusted)
        path = None
        if trajectory:
            path = low_pass(root_trajectory(adjusted, keypoints, scores, focal, info.width, info.height), info.fps)
        seconds["adjust"] = time.perf_counter() - stage
        bar.update(frames)
    return VideoResult(keypoints, scores, detected, poses, adjusted, lengths, info.fps, info.width,
                       info.height, up, trajectory=path, focal_length=focal, swapped=sides.exchanged,
                       scale_source=scale_source, lengths_note=note)


def _write_outputs(result: VideoResult, info, frame_range: FrameRange, targets: dict[str, Path],
                   seconds: dict[str, float], show_progress: bool) -> None:
    """Write every output to a temporary name; rename them all only when all are complete."""
    with contextlib.ExitStack() as stack:
        temporary = {kind: stack.enter_context(atomic_path(target)) for kind, target in targets.items()}
        stage = time.perf_counter()
        np.savez(temporary["npz"], **result.arrays())
        if "bvh" in temporary:
            from .bvh import write_bvh

            upright = upright_frame(result.up)  # camera frame -> the BVH file's upright frame
            roots = None if result.trajectory is None else result.trajectory @ upright.T
            write_bvh(temporary["bvh"], result.poses_3d_adjusted @ upright.T, result.bone_lengths, result.fps,
                      root_positions=roots)
        seconds["write"] = time.perf_counter() - stage
        if "mp4" in temporary:
            from ..viz.render import write_pose_video

            stage = time.perf_counter()
            frames = len(result.detected)
            with native_stderr_silenced() as stderr, Progress(total=frames, description="render", unit="frame",
                                                              enabled=show_progress, stream=stderr) as bar:
                write_pose_video(temporary["mp4"], {"lifter": result.poses_3d, "adjusted": result.poses_3d_adjusted},
                                 result.fps, frames=read_frames(info.path, frame_range, ahead=DECODE_AHEAD),
                                 keypoints_2d=result.keypoints_2d, up=result.up, detected=result.detected,
                                 visible=result.visible(), overlay=True, faint=("lifter",),
                                 height=min(RENDER_HEIGHT, info.height),
                                 progress=bar)
            seconds["decode + render"] = time.perf_counter() - stage


def summary(result: VideoResult, path: Path) -> str:
    """The closing report: frames, frames without a person, bone lengths (mm), time per stage, fps."""
    frames = len(result.detected)
    missing = int((~result.detected).sum())
    lengths = result.bone_lengths if result.bone_lengths.ndim == 1 else result.bone_lengths[-1]
    which = "" if result.bone_lengths.ndim == 1 else " (last frame, causal)"
    names = [H36M.joint_names[child] for child in H36M.bone_children]
    length_text = ", ".join(f"{n} {v * 1000:.0f}" for n, v in zip(names, lengths))
    total = result.seconds.get("total", float("nan"))
    stages = ", ".join(f"{stage} {value:.2f} s" for stage, value in result.seconds.items() if stage != "total")
    swapped = 0 if result.swapped is None else int(result.swapped.sum())
    sizes = {"height": "sized to the given --height", "model": "size from the length model",
             "fallback": "size and proportions from the video's own poses"}
    lines = [
        f"{path.name}: {frames} frames at {result.fps:g} fps, {result.width}x{result.height}",
        f"frames without a person: {missing} ({100 * missing / frames:.0f} %, filled by interpolation); "
        f"left and right put back in {swapped} frames",
        f"bone lengths{which}, mm, by the joint each bone ends at ({sizes[result.scale_source]}): {length_text}",
    ]
    if result.lengths_note:
        lines.append(f"note: {result.lengths_note}")
    share = unseen_share(result.visible())
    unseen = [f"{H36M.joint_names[joint]} {100 * share[joint]:.0f} %" for joint in np.argsort(-share, kind="stable")
              if share[joint] >= 0.1]
    if unseen:
        lines.append(f"joints not seen (drawn dashed), share of frames: {', '.join(unseen)}")
    if result.trajectory is not None:
        depth = np.median(result.trajectory[:, 2])
        lines.append(f"position: median distance from the camera {depth:.2f} m "
                     f"(focal length {result.focal_length:.0f} px)")
    lines.append(f"time: {stages}; total {total:.2f} s = {frames / total:.1f} frames/s")
    lines += [f"wrote {target}" for target in result.files.values()]
    return "\n".join(lines)
