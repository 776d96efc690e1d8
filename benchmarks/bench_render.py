"""Milliseconds per frame of the pose-video renderer (blapose.viz.render), drawing and mp4 encoding included.

Cases: a 1280x720 video frame with its 2D skeleton beside two overlaid 3D poses (what
``blapose video`` writes) at 720 and 480 pixels high; the same for two people on a 1920x1080
frame at 720 pixels, each with trajectory, the feet of both unseen in every other frame (dashed);
and three 3D panels side by side (what ``blapose render`` writes) at 480, each 3D panel a front and
a side view. Poses are a synthetic walk seen by a Human3.6M camera.

    python benchmarks/bench_render.py [--frames 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
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
    from blapose.skeleton import H36M
    from blapose.viz.render import PersonTrack, write_people_video, write_pose_video

    cv2.setNumThreads(args.threads)
    world = simulate_action("Walking", MEAN_LENGTHS, args.frames, np.random.default_rng(0))
    camera = h36m_cameras("S9")[0]
    poses = camera.world_to_camera(world.astype(np.float64))
    pixels = project_to_2d(poses, camera.intrinsic_pixels()) * 0.72 + np.array([280.0, 0.0])
    relative = poses - poses[:, :1]
    frames = {}
    for width, height in ((1280, 720), (1920, 1080)):
        frames[height] = np.full((height, width, 3), 90, np.uint8)
        cv2.putText(frames[height], f"{height}p frame", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 2, (200, 200, 200), 3)
    feet = [H36M.joint_names.index(name) for name in ("RKnee", "RFoot", "LKnee", "LFoot")]
    visible = np.ones((args.frames, H36M.num_joints), bool)
    visible[::2, feet] = False
    people = []
    for number, side in ((1, -0.8), (2, 0.8)):
        trajectory = np.tile([side, 0.2, 4.5], (args.frames, 1))
        keypoints = project_to_2d(relative + trajectory[:, None], camera.intrinsic_pixels())
        keypoints = keypoints * 1.08 + np.array([1920 / 2 - camera.intrinsic_pixels()[2] * 1.08, 0.0])
        people.append(PersonTrack(number, np.arange(args.frames), {"lifter": relative, "adjusted": relative * 1.03},
                                  keypoints, visible, trajectory))
    cases = {
        "video frame + overlay, 720 px": dict(frame=720, overlay=True, height=720),
        "video frame + overlay, 480 px": dict(frame=720, overlay=True, height=480),
        "two people, 1080p frame, 720 px": dict(frame=1080, overlay=True, height=720, people=True),
        "three panels, 480 px": dict(frame=None, overlay=False, height=480),
    }
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        for name, case in cases.items():
            video = None if case["frame"] is None else (frames[case["frame"]] for _ in range(args.frames))
            started = time.perf_counter()
            if case.get("people"):
                path = write_people_video(Path(folder) / "bench.mp4", people, fps=50, frames=video,
                                          overlay=True, faint=("lifter",), height=case["height"])
            else:
                poses_to_draw = {"lifter": relative, "adjusted": relative * 1.03}
                if not case["overlay"]:
                    poses_to_draw["ground truth"] = relative
                path = write_pose_video(
                    Path(folder) / "bench.mp4", poses_to_draw, fps=50, frames=video,
                    keypoints_2d=pixels if video is not None else None, overlay=case["overlay"],
                    faint=("lifter",), height=case["height"])
            seconds = time.perf_counter() - started
            size = path.stat().st_size / 1e6
            print(f"{name:<32} {seconds / args.frames * 1000:6.1f} ms/frame  {args.frames / seconds:6.1f} fps  "
                  f"({size:.1f} MB for {args.frames} frames)")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
