"""Multi-person benchmark: who is followed, how steadily, and how well each person's 3D fits.

Videos:
- Sports2D's demo (sports2d 0.8.34 wheel, PyPI, downloaded on first use): a man on a roof doing a back
  flip and jumping down, a woman walking past on the grass; scored against the hand-labelled boxes of
  ``sports2d_people.json`` (every 10th frame).
- Pose2Sim's ``Demo_MultiPerson`` (pose2sim 0.10.49 wheel), each of its four cameras on its own; scored
  against the man and the woman triangulated from all four views (``multiview_reference.py``).

Methods (rows):
- MediaPipe Tasks ``PoseLandmarker`` with ``num_poses`` N and detection confidence c
  (``mediapipe_landmarker.py``, built from the wheel's own networks). It gives no identities: its people
  are linked into tracks by their place in its per-frame output, which is what a user of the API gets.
  3D: its world landmarks mapped to Human3.6M joints; lengths: the median of those.
- blapose (``blapose_people``): every person followed by ``blapose video``.

Scores (``people_scoring.py``): frames followed (%), identity switches, and on Demo_MultiPerson
P-MPJPE (mm, 12 limb joints) and limb length error (mm) per person.

    python benchmarks/eval_people.py [--sports2d FILE] [--demo DIR] [--work DIR] [--num-poses N ...]
        [--confidence C ...] [--no-blapose] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mediapipe_landmarker import FramePeople, run_landmarker  # noqa: E402
from multiview_reference import PEOPLE, build_reference, find_demo, unpack_from_wheel  # noqa: E402
from people_scoring import LABELS, FollowedPerson, PeopleScores, score_labels, score_reference  # noqa: E402

SPORTS2D = "sports2d==0.8.34"
SPORTS2D_VIDEO = "Sports2D/Demo/demo.mp4"
NUM_POSES = (2, 4)
CONFIDENCES = (0.5, 0.3)


def find_sports2d(path: str | None, cache: Path) -> Path:
    """Sports2D's demo video: ``path`` when given, else taken from the sports2d wheel (downloaded from PyPI
    into ``cache`` the first time)."""
    if path:
        if not Path(path).is_file():
            sys.exit(f"{path}: no such video")
        return Path(path)
    target = cache / SPORTS2D_VIDEO
    if not target.is_file():
        unpack_from_wheel(SPORTS2D, SPORTS2D_VIDEO, cache)
    return target


def mediapipe_tracks(frames: list[FramePeople]) -> list[FollowedPerson]:
    """MediaPipe's per-frame people linked by their place in its output: track i holds the i-th person
    of every frame that has at least i + 1. keypoints_2d: the 33 landmarks (pixels); poses_3d: the
    world landmarks as Human3.6M joints (meters, mid-hip origin)."""
    from blapose.video.landmarks import landmarks_to_h36m

    tracks = []
    for slot in range(max((len(people) for people in frames), default=0)):
        indices = [t for t, people in enumerate(frames) if len(people) > slot]
        pixels = np.stack([frames[t].pixels[slot] for t in indices])
        world = np.stack([frames[t].world[slot] for t in indices])
        tracks.append(FollowedPerson(np.array(indices), pixels, poses_3d=landmarks_to_h36m(world)))
    return tracks


def blapose_people(video: str | Path, focal: float | None = None) -> list[tuple]:
    """Every person ``blapose video`` follows in ``video`` (``blapose.video.process`` with its defaults,
    nothing rendered): a list of (frames (T_k,) int, keypoints_2d (T_k, 17, 2) pixels, NaN where the
    person was not detected, poses_3d (T_k, 17, 3) meters, poses_3d_adjusted (T_k, 17, 3) meters,
    bone_lengths (16,) meters). focal (pixels): the camera's, for the trajectory.
    """
    import tempfile

    from blapose.video.options import Outputs, Scene
    from blapose.video.pipeline import process

    with tempfile.TemporaryDirectory() as folder:
        results = process(video, scene=Scene(focal=focal), outputs=Outputs(folder, render=False),
                          show_progress=False, log=None)
    return [(result.frames, np.where(result.detected[:, None, None], result.keypoints_2d, np.nan),
             result.poses_3d, result.poses_3d_adjusted, result.bone_lengths) for result in results]


def as_followed(rows: list[tuple]) -> list[FollowedPerson]:
    """``blapose_people``'s tuples as ``FollowedPerson``."""
    return [FollowedPerson(frames, keypoints, poses, adjusted, lengths)
            for frames, keypoints, poses, adjusted, lengths in rows]


def methods(args) -> list[tuple[str, object]]:
    """(label, function video, focal -> list[FollowedPerson]) of every row."""
    rows = [(f"MediaPipe PoseLandmarker num_poses={n} conf={c}",
             lambda video, focal, n=n, c=c: mediapipe_tracks(run_landmarker(video, n, c)))
            for n in args.num_poses for c in args.confidence]
    if not args.no_blapose:
        rows.append(("blapose", lambda video, focal: as_followed(blapose_people(video, focal))))
    return rows


def run(method, video: Path, focal: float | None = None) -> tuple[list[FollowedPerson], float]:
    """The method's people in a video and the seconds it took."""
    from blapose.native_stderr import native_stderr_silenced

    started = time.perf_counter()
    with native_stderr_silenced():
        people = method(video, focal)
    return people, time.perf_counter() - started


def label_row(scores: PeopleScores, count: int, seconds: float) -> dict:
    """One Sports2D table row."""
    row = {"people": count, "seconds": round(seconds, 1), "switches": scores.switches, "shared": scores.shared}
    for name, following in scores.people.items():
        row[f"followed_{name}"] = following.followed
        row[f"switches_{name}"] = following.switches
    return row


def print_sports2d(rows: dict[str, dict], names: dict[str, str]) -> None:
    """The Sports2D table: per method, frames followed and switches per labelled person."""
    heads = [f"{names[p]}: followed % / switches" for p in names]
    print("\n| method | output people | " + " | ".join(heads) + " | switches in all | s |")
    print("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- | --- |")
    for label, row in rows.items():
        cells = [f"{row[f'followed_{p}']:.0f} / {row[f'switches_{p}']}" for p in names]
        print(f"| {label} | {row['people']} | " + " | ".join(cells) + f" | {row['switches']} | {row['seconds']:.0f} |")


def reference_row(scores: PeopleScores, count: int, seconds: float) -> dict:
    """One Demo_MultiPerson table row (P-MPJPE and limb errors in mm)."""
    row = {"people": count, "seconds": round(seconds, 1), "switches": scores.switches, "shared": scores.shared}
    for name, following in scores.people.items():
        extra = scores.extra[name]
        row.update({f"followed_{name}": following.followed, f"switches_{name}": following.switches,
                    f"p_mpjpe_{name}": 1000 * extra["p_mpjpe"],
                    f"p_mpjpe_adjusted_{name}": 1000 * extra["p_mpjpe_adjusted"],
                    f"limb_error_{name}": 1000 * extra["limb_error"]})
    return row


def print_reference(title: str, rows: dict[str, dict]) -> None:
    """A Demo_MultiPerson table: per method and person, followed %, switches, P-MPJPE of poses_3d and of
    poses_3d_adjusted and limb error (mm)."""
    people = list(PEOPLE)
    heads = [f"{p}: followed % / switches / P-MPJPE / adjusted / limb mm" for p in people]
    print(f"\n{title}\n| method | output people | " + " | ".join(heads) + " | switches in all |")
    print("| --- | --- | " + " | ".join("---" for _ in heads) + " | --- |")
    for label, row in rows.items():
        cells = [f"{row[f'followed_{p}']:.0f} / {row[f'switches_{p}']:.3g} / {row[f'p_mpjpe_{p}']:.1f} / "
                 f"{_mm(row[f'p_mpjpe_adjusted_{p}'])} / {row[f'limb_error_{p}']:.1f}" for p in people]
        print(f"| {label} | {row['people']:.3g} | " + " | ".join(cells) + f" | {row['switches']:.3g} |")


def _mm(value: float) -> str:
    """A figure in mm, '-' where there is none (MediaPipe's rows have no adjusted poses)."""
    return "-" if np.isnan(value) else f"{value:.1f}"


def mean_rows(per_camera: dict[str, dict[str, dict]]) -> dict[str, dict]:
    """Per method, the mean over cameras of every number (NaN-aware)."""
    means = {}
    for camera_rows in per_camera.values():
        for label, row in camera_rows.items():
            means.setdefault(label, []).append(row)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a person never followed in any camera: NaN
        return {label: {key: float(np.nanmean([r[key] for r in rows])) for key in rows[0]}
                for label, rows in means.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sports2d", help="Sports2D's demo.mp4 (default: from the sports2d wheel)")
    parser.add_argument("--demo", help="Pose2Sim's Demo_MultiPerson folder (default: from the pose2sim wheel)")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "blapose" / "eval_wild_multiview"),
                        help="folder for the wheels and the multi-view references")
    parser.add_argument("--num-poses", type=int, action="append", help=f"MediaPipe's num_poses (default {NUM_POSES})")
    parser.add_argument("--confidence", type=float, action="append",
                        help=f"MediaPipe's detection confidence (default {CONFIDENCES})")
    parser.add_argument("--no-blapose", action="store_true", help="leave out blapose's own row")
    parser.add_argument("--json", help="also write every row to this file")
    args = parser.parse_args()
    args.num_poses, args.confidence = args.num_poses or list(NUM_POSES), args.confidence or list(CONFIDENCES)

    work = Path(args.work)
    rows = methods(args)
    results: dict[str, dict] = {}

    video = find_sports2d(args.sports2d, work)
    header = json.loads(LABELS.read_text())
    print(f"Sports2D demo: {video}", flush=True)
    results["sports2d"] = {}
    for label, method in rows:
        people, seconds = run(method, video)
        results["sports2d"][label] = label_row(score_labels(people), len(people), seconds)
    print_sports2d(results["sports2d"], header["people"])

    demo = find_demo(args.demo, work)
    references = {person: build_reference(demo, work, person=person) for person in PEOPLE}
    for person, reference in references.items():
        print(f"reference {person}: re-projection error median {np.nanmedian(reference.reprojection_error):.1f} px "
              f"(mean {np.nanmean(reference.reprojection_error):.1f}), {reference.views_used.mean():.2f} views per "
              "landmark", flush=True)
    cameras = references["man"].cameras
    per_camera: dict[str, dict[str, dict]] = {}
    for camera in cameras:
        per_camera[camera.name] = {}
        for label, method in rows:
            people, seconds = run(method, demo / "videos" / f"{camera.name}.mp4", float(camera.intrinsic[0, 0]))
            scores = score_reference(people, camera, references)
            per_camera[camera.name][label] = reference_row(scores, len(people), seconds)
        print_reference(f"Demo_MultiPerson {camera.name}", per_camera[camera.name])
    print_reference("Demo_MultiPerson, mean of the four cameras", mean_rows(per_camera))
    results["demo_multiperson"] = per_camera
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
