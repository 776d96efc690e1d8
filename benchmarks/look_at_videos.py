"""Rendered frames of every candidate lifter on real clips, and the squat clip's knee angle over time.

For each clip and each ``--lifter`` candidate, runs ``blapose video`` (built-in length model) and
keeps one rendered frame; the frames of one clip are stacked, candidates top to bottom, into
``<out>/video_<clip>_candidates.jpg``. For the squat clip it also plots the knee angle (the mean of
both knees' angle between thigh and shin, degrees, of ``poses_3d_adjusted``; for ``mediapipe``,
MediaPipe's own world landmarks as they come, ``poses_3d``) over the clip into
``<out>/video_squat_knees.png`` and prints the angle at the deepest frame (where MediaPipe's own
knee angle is smallest).

Clips: tests/data/pose_squats.mp4; the benchmark recording's second camera (masked as
``eval_wild_multiview.py`` masks it; run that first, or give --work); the sports2d wheel's demo
video (``--sports2d FILE``, from ``pip download sports2d --no-deps``: Sports2D/Demo/demo.mp4).

    python benchmarks/look_at_videos.py [--out docs] [--work DIR] [--sports2d demo.mp4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

CANDIDATES = ("builtin", "mediapipe", "mediapipe-rays", "builtin+mediapipe-rays")
SQUATS = Path(__file__).resolve().parent.parent / "tests" / "data" / "pose_squats.mp4"
#: Width (pixels) each rendered frame is scaled to in the stacked image.
SHEET_WIDTH = 900


def knee_angles(poses: np.ndarray) -> np.ndarray:
    """Per frame (T,) degrees: the mean over both legs of the angle at the knee of poses (T, 17, 3)."""
    from blapose.skeleton import H36M

    angles = []
    for hip, knee, foot in (("RHip", "RKnee", "RFoot"), ("LHip", "LKnee", "LFoot")):
        index = [H36M.joint_names.index(name) for name in (hip, knee, foot)]
        thigh = poses[:, index[0]] - poses[:, index[1]]
        shin = poses[:, index[2]] - poses[:, index[1]]
        cosine = (thigh * shin).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    return np.mean(angles, axis=0)


def rendered_frame(video: Path, index: int):
    """Frame ``index`` (BGR uint8) of a rendered mp4."""
    from blapose.video.reader import FrameRange, read_frames

    for number, frame in enumerate(read_frames(video, FrameRange())):
        if number == index:
            return frame
    raise ValueError(f"{video} has no frame {index}")


def labelled(frame, text: str):
    import cv2

    scaled = cv2.resize(frame, (SHEET_WIDTH, round(frame.shape[0] * SHEET_WIDTH / frame.shape[1])))
    cv2.putText(scaled, text, (10, scaled.shape[0] - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2, cv2.LINE_AA)
    return scaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for the images (default docs)")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "blapose" / "eval_wild_multiview"),
                        help="eval_wild_multiview.py's work folder (the masked views)")
    parser.add_argument("--sports2d", help="the sports2d wheel's Sports2D/Demo/demo.mp4")
    parser.add_argument("--lifter", action="append", help=f"candidates (default: {', '.join(CANDIDATES)})")
    args = parser.parse_args()

    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from blapose.video.options import Lifting, Outputs, PersonChoice, Scene
    from blapose.video.pipeline import process

    clips = {"squat": (SQUATS, 34, {})}
    work = Path(args.work)
    masked = work / "cam02_masked.avi"
    if masked.is_file():
        from multiview_reference import build_reference, find_demo

        reference = build_reference(find_demo(None, work), work)
        camera = next(c for c in reference.cameras if c.name == "cam02")
        clips["multiview_cam02"] = (masked, 55, {"focal": float(camera.intrinsic[0, 0]),
                                                 "person_box": reference.first_boxes["cam02"]})
    if args.sports2d:
        clips["sports2d"] = (Path(args.sports2d), 172, {})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    candidates = args.lifter or list(CANDIDATES)
    with tempfile.TemporaryDirectory() as folder:
        for clip, (path, frame, extra) in clips.items():
            rows, knees = [], {}
            for lifter in candidates:
                target = Path(folder) / clip / lifter.replace("+", "_")
                result = process(path, people=PersonChoice(person_box=extra.get("person_box")),
                                 lifting=Lifting(lifter), scene=Scene(focal=extra.get("focal")),
                                 outputs=Outputs(target), show_progress=False, log=None)[0]
                rows.append(labelled(rendered_frame(result.files["mp4"], frame), f"--lifter {lifter}"))
                knees[lifter] = knee_angles(result.poses_3d if lifter == "mediapipe" else result.poses_3d_adjusted)
            cv2.imwrite(str(out / f"video_{clip}_candidates.jpg"), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 80])
            print(f"wrote {out / f'video_{clip}_candidates.jpg'} (frame {frame})")
            if clip == "squat":
                deepest = int(np.argmin(knees.get("mediapipe", next(iter(knees.values())))))
                figure, axes = plt.subplots(figsize=(8, 3.2))
                for lifter, angles in knees.items():
                    axes.plot(np.arange(len(angles)) / 5.0, angles, label=lifter)
                axes.axvline(deepest / 5.0, color="grey", linestyle=":", linewidth=1)
                axes.set_xlabel("time (s)")
                axes.set_ylabel("knee angle (degrees)")
                axes.set_title("Squat clip: knee angle, adjusted poses (mediapipe: its own 3D); 180 = straight")
                axes.legend(fontsize=8)
                figure.tight_layout()
                figure.savefig(out / "video_squat_knees.png", dpi=110)
                print(f"deepest frame {deepest} (MediaPipe's own smallest knee angle): "
                      + ", ".join(f"{lifter} {angles[deepest]:.0f}" for lifter, angles in knees.items()))


if __name__ == "__main__":
    main()
