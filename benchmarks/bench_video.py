"""Frames per second of each stage of `blapose video`, and of the whole command, on a 720p clip.

The clip is tests/data/pose_squats.mp4 (720x1280, the pixel count of 720p) played ``--loops``
times in a row and written at 30 fps (default 4 loops: 260 frames, 8.7 s), or ``--video``.
Stages: decode + detect (MediaPipe, decoding on a worker thread), lift, lengths, adjust, write
(npz, BVH), decode + render (mp4). The command is first timed in a fresh process (start-up
included); the stages come from a second, in-process run ("total": the whole `process` call with
model loading, modules already imported).
Goal: total >= 20 frames/s on 2 CPU cores, lift + lengths + adjust under 5 % of it, rendering
(H.264) at least twice as fast as detection.

    python benchmarks/bench_video.py [--loops 4] [--threads 2] [--lifter builtin] [--compare]
                                     [--size 1920x1080] [--encoders] [--video FILE] [--no-render]

``--compare`` also times detection without the decoding thread and at full frame size.
``--size WxH`` makes the looped clip that size (the squats frames scaled to its height, centred on
grey; 1920x1080 for 1080p); with ``--video`` it scales that video's frames the same way (once through,
e.g. Sports2D's two-person demo, 1768x994, to 1920x1080). ``--no-render`` times the command and the run
without the rendered mp4 (the npz and BVH only). ``--encoders`` then times detection and rendering
alone, interleaved, with the H.264 writer and with OpenCV's MPEG-4 Part 2 ('mp4v') writer, by wall and
by CPU time.
Without the built-in models (src/blapose/assets) untrained models of the sizes named by
``--untrained-arc`` / VideoPose3D's 1024 channels and the upstream GRU are timed instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIP = Path(__file__).resolve().parent.parent / "tests" / "data" / "pose_squats.mp4"


def build_clip(folder: Path, loops: int, fps: float, size: tuple[int, int] | None = None, source: Path = CLIP
               ) -> Path:
    """The ``source`` clip (default the squats clip) repeated ``loops`` times, written at ``fps`` as mp4
    (mp4v); with ``size`` (width, height) each frame is scaled to that height and centred on a grey
    frame of that size."""
    import cv2
    import numpy as np

    from blapose.video.reader import read_frames

    frames = list(read_frames(source))
    if size is not None:
        canvas = np.full((size[1], size[0], 3), 110, np.uint8)
        scaled_width = min(size[0], round(frames[0].shape[1] * size[1] / frames[0].shape[0]))
        left = (size[0] - scaled_width) // 2
        placed = []
        for frame in frames:
            canvas[:, left:left + scaled_width] = cv2.resize(frame, (scaled_width, size[1]),
                                                             interpolation=cv2.INTER_AREA)
            placed.append(canvas.copy())
        frames = placed
    height, width = frames[0].shape[:2]
    path = folder / f"{source.stem}_x{loops}_{width}x{height}.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for _ in range(loops):
        for frame in frames:
            writer.write(frame)
    writer.release()
    return path


def untrained_models(folder: Path, architecture: str) -> tuple[str, str]:
    """Checkpoints of untrained models of realistic size (timing only)."""
    import torch

    from blapose.cli.types import int_list
    from blapose.models.checkpoint import save_checkpoint
    from blapose.models.length import BoneLengthModel
    from blapose.models.temporal import TemporalModel

    torch.manual_seed(0)
    lifter = TemporalModel(int_list(architecture), channels=1024)
    save_checkpoint(folder / "lifter.bin", {"model_pos": lifter.state_dict()})
    length = BoneLengthModel()
    with torch.no_grad():
        length.fc.weight.abs_()
    save_checkpoint(folder / "length.bin", {"model_pos": length.state_dict()})
    return str(folder / "lifter.bin"), str(folder / "length.bin")


def timed_run(video: Path, out: Path, lifter: str, length_model: str, render: bool = True
              ) -> tuple[dict[str, float], int]:
    """Stage wall times of one `process` call, plus 'CPU' (seconds of CPU time, all threads) and
    'people' (how many were followed, not a time)."""
    from blapose.video.options import Lifting, Outputs
    from blapose.video.pipeline import process

    before = os.times()
    results = process(video, lifting=Lifting(lifter, length_model), outputs=Outputs(out, render=render, bvh=True),
                      show_progress=False, log=None)
    after = os.times()
    seconds = dict(results[0].seconds)
    seconds["CPU"] = (after.user + after.system) - (before.user + before.system)
    seconds["people"] = len(results)
    return seconds, results[0].clip_frames


class Mp4vWriter:
    """OpenCV's MPEG-4 Part 2 writer behind ``blapose.viz.encode.H264Writer``'s interface (what
    blapose wrote before H.264), for comparison only."""

    def __init__(self, path, width: int, height: int, fps: float, **_) -> None:
        import cv2

        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))

    def __enter__(self) -> Mp4vWriter:
        return self

    def write(self, frame) -> None:
        self.writer.write(frame)

    def __exit__(self, *exc) -> None:
        self.writer.release()


def compare_encoders(video: Path, folder: Path, rounds: int = 2) -> None:
    """Detection against rendering with the H.264 writer and with mp4v, on the same process's results.

    Each stage is timed alone, ``rounds`` times, interleaved (detect, render H.264, render mp4v, ...)
    so that a change in the machine's load falls on all three alike; wall time and CPU time (all
    threads) are summed over the rounds. CPU seconds per frame are the work a stage costs whatever
    the load; on a shared machine their ratio is the steadier one.
    """
    from blapose.video.clip import DECODE_AHEAD
    from blapose.video.detector import detect_landmarks
    from blapose.video.options import Outputs, PersonChoice
    from blapose.video.outputs import RENDER_HEIGHT
    from blapose.video.pipeline import process
    from blapose.video.reader import FrameRange, probe_video, read_frames
    from blapose.viz import encode
    from blapose.viz.render import write_pose_video

    info = probe_video(video)
    # the one-person path over the whole frame: arrays for every frame, as write_pose_video draws them
    [result] = process(video, people=PersonChoice(person_box=(0, 0, info.width, info.height)),
                       outputs=Outputs(folder / "encoders", render=False), show_progress=False, log=None)
    frames = len(result.detected)
    h264 = encode.H264Writer

    def detect() -> None:
        detect_landmarks(read_frames(video, FrameRange(), ahead=DECODE_AHEAD), info.width, info.height)

    def render(writer) -> Path:
        encode.H264Writer = writer
        try:
            path = folder / f"render_{writer.__name__}.mp4"
            write_pose_video(path, {"lifter": result.poses_3d, "adjusted": result.poses_3d_adjusted}, result.fps,
                             frames=read_frames(video, FrameRange(), ahead=DECODE_AHEAD),
                             keypoints_2d=result.keypoints_2d, up=result.up, detected=result.detected,
                             overlay=True, faint=("lifter",), height=min(RENDER_HEIGHT, info.height))
            return path
        finally:
            encode.H264Writer = h264

    stages = {"detect (MediaPipe)": detect, "render H.264 (PyAV)": lambda: render(h264),
              "render mp4v (OpenCV)": lambda: render(Mp4vWriter)}
    wall = dict.fromkeys(stages, 0.0)
    cpu = dict.fromkeys(stages, 0.0)
    loads = [os.getloadavg()[0]]
    for _ in range(rounds):
        for name, stage in stages.items():
            before, start = os.times(), time.perf_counter()
            stage()
            after = os.times()
            wall[name] += time.perf_counter() - start
            cpu[name] += (after.user + after.system) - (before.user + before.system)
        loads.append(os.getloadavg()[0])
    count = frames * rounds
    print(f"stages alone, {rounds} interleaved rounds of {frames} frames (load average "
          f"{', '.join(f'{load:.1f}' for load in loads)}):")
    for name in stages:
        print(f"  {name:<22} {count / wall[name]:6.1f} frames/s wall, {1000 * cpu[name] / count:6.1f} ms CPU per frame")
    detect_name = next(iter(stages))
    for name in list(stages)[1:]:
        print(f"  {name} / detect: {wall[detect_name] / wall[name]:.2f}x by wall time, "
              f"{cpu[detect_name] / cpu[name]:.2f}x by CPU time")
    for writer in (h264, Mp4vWriter):
        path = folder / f"render_{writer.__name__}.mp4"
        duration, width, height = probe(path)
        size = path.stat().st_size
        print(f"  {writer.__name__:<12} {width}x{height}, {size / 1e6:.2f} MB, {size * 8 / duration / 1e6:.2f} Mbit/s")


def _fps(path: Path) -> float:
    """Frames per second of a video file."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return fps


def probe(path: Path) -> tuple[float, int, int]:
    """Duration (s) and frame size of a video file."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    return frames / fps, width, height


def report(title: str, seconds: dict[str, float], frames: int, threads: int) -> None:
    seconds = dict(seconds)
    print(f"{title}: {frames} frames, {seconds.pop('people', '?')} people followed")
    for stage, value in seconds.items():
        print(f"  {stage:<16} {value:7.2f} s  {frames / value:8.1f} frames/s")
    models = sum(seconds.get(stage, 0.0) for stage in ("lift", "lengths", "adjust", "lift + lengths + adjust"))
    print(f"  lift + lengths + adjust: {100 * models / seconds['total']:.1f} % of the total")
    detect = next((value for stage, value in seconds.items() if stage.startswith("decode + detect")), None)
    if detect and "decode + render" in seconds:
        print(f"  decode + render is {detect / seconds['decode + render']:.2f}x as fast as decode + detect + follow")
    print(f"  CPU time / {threads} cores: {frames / (seconds['CPU'] / threads):.1f} frames/s "
          f"(what {threads} otherwise idle cores could reach at best); load average now "
          f"{os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="time this video instead of the looped squats clip")
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate of the looped clip")
    parser.add_argument("--threads", type=int, default=2, help="torch and OpenCV threads")
    parser.add_argument("--lifter", default="builtin+mediapipe-rays", help="default: blapose video's own")
    parser.add_argument("--length-model", default="builtin")
    parser.add_argument("--untrained-arc", default="3,3,3,3,3")
    parser.add_argument("--compare", action="store_true",
                        help="also time detection without the decoding thread and at full frame size")
    parser.add_argument("--size", metavar="WxH", help="frame size of the looped clip, e.g. 1920x1080")
    parser.add_argument("--encoders", action="store_true",
                        help="also render with OpenCV's mp4v writer and compare it with H.264")
    parser.add_argument("--no-render", dest="render", action="store_false",
                        help="write the npz and BVH only, no rendered mp4")
    parser.add_argument("--no-command", dest="command", action="store_false",
                        help="skip timing the command in a fresh process")
    args = parser.parse_args()

    import cv2
    import torch

    from blapose.video import clip, detector
    from blapose.video.models import BUILTIN_LENGTH_MODEL, BUILTIN_LIFTER

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        size = tuple(int(value) for value in args.size.lower().split("x")) if args.size else None
        if args.video is not None and size is not None:
            video = build_clip(folder, 1, _fps(args.video), size, source=args.video)
        else:
            video = args.video or build_clip(folder, args.loops, args.fps, size)
        lifter, length_model = args.lifter, args.length_model
        if (lifter == "builtin" and not BUILTIN_LIFTER.is_file()) or (
                length_model == "builtin" and not BUILTIN_LENGTH_MODEL.is_file()):
            untrained = untrained_models(folder, args.untrained_arc)
            if lifter == "builtin" and not BUILTIN_LIFTER.is_file():
                lifter = untrained[0]
                print(f"no built-in lifter: timing an untrained -arc {args.untrained_arc}, 1024-channel one")
            if length_model == "builtin" and not BUILTIN_LENGTH_MODEL.is_file():
                length_model = untrained[1]
                print("no built-in length model: timing an untrained upstream-size GRU")
        info = cv2.VideoCapture(str(video))
        size = f"{int(info.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(info.get(cv2.CAP_PROP_FRAME_HEIGHT))}"
        info.release()
        print(f"video {video.name}: {size}; {args.threads} threads; "
              f"{'rendering' if args.render else 'no rendering'}; load average {os.getloadavg()[0]:.1f}")
        if args.command:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "blapose", "video", str(video), "--out", str(folder / "cli"),
                            "--bvh", "--lifter", lifter, "--length-model", length_model]
                           + ([] if args.render else ["--no-render"]), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            command = time.perf_counter() - start
        seconds, frames = timed_run(video, folder / "out", lifter, length_model, args.render)
        if args.command:
            print(f"the command in a fresh process (imports and model loading included): {command:.2f} s, "
                  f"{frames / command:.1f} frames/s")
        report("in-process, after a first run", seconds, frames, args.threads)
        if args.encoders:
            compare_encoders(video, folder)
        if args.compare:
            clip.DECODE_AHEAD = 0
            seconds, frames = timed_run(video, folder / "sequential", lifter, length_model, args.render)
            report("decoding on the main thread", seconds, frames, args.threads)
            clip.DECODE_AHEAD, detector.DETECTION_SIZE = 8, 100_000
            seconds, frames = timed_run(video, folder / "full-size", lifter, length_model, args.render)
            report("detection on full-size frames", seconds, frames, args.threads)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark took {time.perf_counter() - start:.0f} s")
