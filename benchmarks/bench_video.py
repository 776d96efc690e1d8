"""Frames per second of each stage of `blapose video`, and of the whole command, on a 720p clip.

The clip is tests/data/pose_squats.mp4 (720x1280, the pixel count of 720p) played ``--loops``
times in a row and written at 30 fps (default 4 loops: 260 frames, 8.7 s), or ``--video``.
Stages: decode + detect (MediaPipe, decoding on a worker thread), lift, lengths, adjust, write
(npz, BVH), decode + render (mp4). The command is first timed in a fresh process (start-up
included); the stages come from a second, in-process run ("total": the whole `process` call with
model loading, modules already imported).
Goal: total >= 20 frames/s on 2 CPU cores, lift + lengths + adjust under 5 % of it.

    python benchmarks/bench_video.py [--loops 4] [--threads 2] [--lifter builtin] [--compare]

``--compare`` also times detection without the decoding thread and at full frame size.
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


def build_clip(folder: Path, loops: int, fps: float) -> Path:
    """The squats clip repeated ``loops`` times, written at ``fps`` as mp4 (mp4v)."""
    import cv2

    from blapose.video.reader import read_frames

    frames = list(read_frames(CLIP))
    height, width = frames[0].shape[:2]
    path = folder / f"squats_x{loops}.mp4"
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


def timed_run(video: Path, out: Path, lifter: str, length_model: str) -> tuple[dict[str, float], int]:
    """Stage wall times of one `process` call, plus 'CPU' (seconds of CPU time, all threads)."""
    from blapose.video.pipeline import process

    before = os.times()
    result = process(video, out_dir=out, lifter=lifter, length_model=length_model, bvh=True,
                     show_progress=False, log=None)
    after = os.times()
    seconds = dict(result.seconds)
    seconds["CPU"] = (after.user + after.system) - (before.user + before.system)
    return seconds, len(result.detected)


def report(title: str, seconds: dict[str, float], frames: int, threads: int) -> None:
    print(f"{title}: {frames} frames")
    for stage, value in seconds.items():
        print(f"  {stage:<16} {value:7.2f} s  {frames / value:8.1f} frames/s")
    models = sum(seconds.get(stage, 0.0) for stage in ("lift", "lengths", "adjust"))
    print(f"  lift + lengths + adjust: {100 * models / seconds['total']:.1f} % of the total")
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
    args = parser.parse_args()

    import cv2
    import torch

    from blapose.video import detector, pipeline
    from blapose.video.models import BUILTIN_LENGTH_MODEL, BUILTIN_LIFTER

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        video = args.video or build_clip(folder, args.loops, args.fps)
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
        print(f"video {video.name}: {size}; {args.threads} threads")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "blapose", "video", str(video), "--out", str(folder / "cli"),
                        "--bvh", "--lifter", lifter, "--length-model", length_model], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        command = time.perf_counter() - start
        seconds, frames = timed_run(video, folder / "out", lifter, length_model)
        print(f"the command in a fresh process (imports and model loading included): {command:.2f} s, "
              f"{frames / command:.1f} frames/s")
        report("in-process, after a first run", seconds, frames, args.threads)
        if args.compare:
            pipeline.DECODE_AHEAD = 0
            seconds, frames = timed_run(video, folder / "sequential", lifter, length_model)
            report("decoding on the main thread", seconds, frames, args.threads)
            pipeline.DECODE_AHEAD, detector.DETECTION_SIZE = 8, 100_000
            seconds, frames = timed_run(video, folder / "full-size", lifter, length_model)
            report("detection on full-size frames", seconds, frames, args.threads)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark took {time.perf_counter() - start:.0f} s")
