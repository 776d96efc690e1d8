"""Milliseconds per frame of the pose-video renderer (blapose.viz.render), drawing and mp4 encoding included.

Cases: a 1280x720 video frame with its 2D skeleton beside two overlaid 3D poses (what
``blapose video`` writes) at 720 and 480 pixels high, and three 3D panels side by side (what
``blapose render`` writes) at 480, each 3D panel a front and a side view. Poses are a synthetic
walk seen by a Human3.6M camera.

    python benchmarks/bench_render.py [--frames 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2, help="OpenCV threads")
    args = parser.parse_args()

    import cv2

    from blapose.data.motion import simulate_action
    from blapose.data.synthetic import MEAN_LENGTHS
    from blapose.geometry.camera import h36m_cameras, project_to_2d
    from blapose.viz.render import write_pose_video

    cv2.setNumThreads(args.threads)
    world = simulate_action("Walking", MEAN_LENGTHS, args.frames, np.random.default_rng(0))
    camera = h36m_cameras("S9")[0]
    poses = camera.world_to_camera(world.astype(np.float64))
    pixels = project_to_2d(poses, camera.intrinsic_pixels()) * 0.72 + np.array([280.0, 0.0])
    frame = np.full((720, 1280, 3), 90, np.uint8)
    cv2.putText(frame, "720p frame", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (200, 200, 200), 3)
    relative = poses - poses[:, :1]
    cases = {
        "video frame + overlay, 720 px": dict(frames=True, overlay=True, height=720),
        "video frame + overlay, 480 px": dict(frames=True, overlay=True, height=480),
        "three panels, 480 px": dict(frames=False, overlay=False, height=480),
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, case in cases.items():
            poses_to_draw = {"lifter": relative, "adjusted": relative * 1.03}
            if not case["overlay"]:
                poses_to_draw["ground truth"] = relative
            started = time.perf_counter()
            path = write_pose_video(
                Path(folder) / "bench.mp4", poses_to_draw, fps=50,
                frames=(frame for _ in range(args.frames)) if case["frames"] else None,
                keypoints_2d=pixels if case["frames"] else None, overlay=case["overlay"],
                faint=("lifter",), height=case["height"])
            seconds = time.perf_counter() - started
            size = path.stat().st_size / 1e6
            print(f"{name:<32} {seconds / args.frames * 1000:6.1f} ms/frame  {args.frames / seconds:6.1f} fps  "
                  f"({size:.1f} MB for {args.frames} frames)")


if __name__ == "__main__":
    main()
