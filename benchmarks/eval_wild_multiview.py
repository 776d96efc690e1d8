"""``blapose video`` on a real four-camera recording, scored against the person triangulated from all four.

Data: Pose2Sim's ``Demo_MultiPerson`` (pose2sim 0.10.49 wheel, PyPI; downloaded on first use):
four calibrated 1088x1920 phone-like cameras at 60 fps, 100 frames of a man (the subject) beside a
woman (a distractor). The reference is the man's MediaPipe landmarks triangulated from the four
views (``multiview_reference.py``: robust DLT, views' left/right labels checked against each other,
Pose2Sim's 6 Hz low-pass); its re-projection error is printed. It is a check, never training
data: nothing in blapose is fitted to it.

Each view (masked outside the box around the man, see ``multiview_reference.py``) goes through
``blapose.video.process`` with every candidate lifter and length model, with the camera's focal
length, and then again with ``--height`` (the man's height measured on the reference: his
highest eye height plus 0.12 m, the adult vertex-to-eye distance of ANSUR II's anthropometry).
Scores, per camera and as the mean of the four:

- P-MPJPE (mm) of ``poses_3d`` and ``poses_3d_adjusted`` on the 12 limb joints (hips, knees,
  ankles, shoulders, elbows, wrists) against the reference, per frame after a similarity alignment;
- limb length error (mm): mean absolute error of the median lengths of the thighs, shins, upper
  arms and forearms (``bone_lengths``; for a lifter alone, the medians of its own poses);
- depth error of ``trajectory``: the median over frames of |z - z_ref| / z_ref (%), the root
  joint's distance from the camera.

    python benchmarks/eval_wild_multiview.py [--demo DIR] [--work DIR] [--lifter NAME ...]
        [--length-model NAME|CKPT ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from multiview_reference import build_reference, find_demo  # noqa: E402

LIMB_JOINTS = ("RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "LShoulder", "LElbow", "LWrist",
               "RShoulder", "RElbow", "RWrist")
#: Limb bones by the joint they end at: thighs, shins, upper arms, forearms.
LIMB_BONES = ("RKnee", "LKnee", "RFoot", "LFoot", "RElbow", "LElbow", "RWrist", "LWrist")
#: ANSUR II (2012), adults: stature minus eye height, about 0.12 m.
EYE_TO_TOP_OF_HEAD = 0.12
LIFTERS = ("builtin", "mediapipe", "mediapipe-filtered", "mediapipe-rays", "builtin+mediapipe-rays")


def reference_height(landmarks: np.ndarray) -> float:
    """The man's standing height, meters: the 95th percentile over frames of his eyes' height above the
    floor (z = 0 of the Qualisys frame) plus ``EYE_TO_TOP_OF_HEAD``."""
    from blapose.video.landmarks import MEDIAPIPE_LANDMARKS

    eyes = [MEDIAPIPE_LANDMARKS.index(name) for name in ("left_eye", "right_eye")]
    return float(np.percentile(landmarks[:, eyes, 2].mean(axis=1), 95) + EYE_TO_TOP_OF_HEAD)


def limb_error(lengths: np.ndarray, reference_lengths: np.ndarray) -> float:
    """Mean absolute error (m) of the limb bones of lengths (16,) against the reference's (16,)."""
    from blapose.skeleton import H36M

    bones = [H36M.joint_names.index(joint) - 1 for joint in LIMB_BONES]
    return float(np.abs(np.asarray(lengths)[bones] - reference_lengths[bones]).mean())


def score(result, reference_camera: np.ndarray, reference_lengths: np.ndarray) -> dict:
    """Scores of one ``PersonResult`` against the reference joints (T, 17, 3) in that camera's frame."""
    from blapose.lengths.reference import median_lengths
    from blapose.metrics import p_mpjpe_per_frame
    from blapose.skeleton import H36M

    joints = [H36M.joint_names.index(joint) for joint in LIMB_JOINTS]
    target = reference_camera[:, joints]
    row = {"p_mpjpe": 1000 * float(p_mpjpe_per_frame(result.poses_3d[:, joints], target).mean()),
           "p_mpjpe_adjusted": 1000 * float(p_mpjpe_per_frame(result.poses_3d_adjusted[:, joints], target).mean()),
           "limb_error": 1000 * limb_error(result.bone_lengths, reference_lengths),
           "own_limb_error": 1000 * limb_error(median_lengths(result.poses_3d), reference_lengths),
           "swapped": int(result.swapped.sum()), "scale_source": result.scale_source,
           "bone_lengths_mm": [round(1000 * float(v), 1) for v in result.bone_lengths]}
    if result.trajectory is not None:
        depth = reference_camera[:, 0, 2]
        row["depth_error"] = 100 * float(np.median(np.abs(result.trajectory[:, 2] - depth) / depth))
    return row


def mediapipe_own(reference, joints_world: np.ndarray, reference_lengths: np.ndarray) -> dict[str, dict]:
    """Scores of MediaPipe's world landmarks of each masked view as they come (no sides put right, no
    filtering, no adjustment): the baseline ``blapose video`` has to beat."""
    from blapose.lengths.reference import median_lengths
    from blapose.metrics import p_mpjpe_per_frame
    from blapose.skeleton import H36M
    from blapose.video.landmarks import fill_gaps, landmarks_to_h36m
    from multiview_reference import detect_views

    joints = [H36M.joint_names.index(joint) for joint in LIMB_JOINTS]
    rows = {}
    for name, detections in detect_views(reference.masked_videos, reference.first_boxes).items():
        camera = next(c for c in reference.cameras if c.name == name)
        world = fill_gaps(landmarks_to_h36m(detections.world), detections.detected)
        error = 1000 * float(p_mpjpe_per_frame(world[:, joints], camera.to_camera(joints_world)[:, joints]).mean())
        lengths = 1000 * limb_error(median_lengths(world), reference_lengths)
        rows[name] = {"p_mpjpe": error, "p_mpjpe_adjusted": error, "limb_error": lengths, "own_limb_error": lengths,
                      "swapped": 0, "scale_source": "-", "bone_lengths_mm": [round(1000 * float(v), 1)
                                                                             for v in median_lengths(world)]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", help="Pose2Sim's Demo_MultiPerson folder (default: from the pose2sim wheel)")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "blapose" / "eval_wild_multiview"),
                        help="folder for the wheel, the masked views and the reference")
    parser.add_argument("--lifter", action="append", help=f"lifters to compare (default: {', '.join(LIFTERS)})")
    parser.add_argument("--length-model", action="append", help="length models to compare (default: builtin)")
    parser.add_argument("--json", help="also write every score to this file")
    parser.add_argument("--default-camera", action="store_true",
                        help="also run the default lifter without the calibrated focal length (blapose's default "
                             "field of view), to see what the trajectory's depth costs then")
    args = parser.parse_args()

    from blapose.bones import bone_lengths, symmetrize_lengths
    from blapose.skeleton import H36M
    from blapose.video.landmarks import landmarks_to_h36m
    from blapose.video.pipeline import DEFAULT_LIFTER, Lifting, Outputs, PersonChoice, Scene, process

    work = Path(args.work)
    reference = build_reference(find_demo(args.demo, work), work)
    print(f"reference: {len(reference.landmarks)} frames, re-projection error median "
          f"{np.nanmedian(reference.reprojection_error):.1f} px (mean {np.nanmean(reference.reprojection_error):.1f}),"
          f" {reference.views_used.mean():.2f} views per landmark; labels exchanged in "
          f"{', '.join(f'{c.name} {n}' for c, n in zip(reference.cameras, reference.swapped.sum(axis=1)))} frames")
    joints_world = landmarks_to_h36m(reference.landmarks)
    reference_lengths = symmetrize_lengths(np.median(bone_lengths(joints_world), axis=0))
    height = reference_height(reference.landmarks)
    print(f"the man: height {height:.2f} m; limb lengths (mm) "
          + ", ".join(f"{joint} {1000 * reference_lengths[H36M.joint_names.index(joint) - 1]:.0f}"
                      for joint in LIMB_BONES))
    scores: dict[str, dict[str, dict]] = {"MediaPipe's own world landmarks, as they come": mediapipe_own(
        reference, joints_world, reference_lengths)}
    print_rows(*next(iter(scores.items())))
    runs = [(lifter, length_model, given, True) for lifter in (args.lifter or LIFTERS)
            for length_model in (args.length_model or ["builtin"]) for given in (None, height)]
    if args.default_camera:
        runs.append((DEFAULT_LIFTER, "builtin", None, False))
    for lifter, length_model, given, calibrated in runs:
        label = f"{lifter} | {length_model}" + (f" | --height {given:.2f}" if given else "") \
            + ("" if calibrated else " | default field of view")
        scores[label] = {}
        for camera in reference.cameras:
            started = time.perf_counter()
            [result] = process(reference.masked_videos[camera.name],
                               people=PersonChoice(person_box=reference.first_boxes[camera.name]),
                               lifting=Lifting(lifter, length_model, height=given),
                               scene=Scene(focal=float(camera.intrinsic[0, 0]) if calibrated else None),
                               outputs=Outputs(work / "runs" / camera.name, render=False),
                               show_progress=False, log=None)
            row = score(result, camera.to_camera(joints_world), reference_lengths)
            row["seconds"] = time.perf_counter() - started
            scores[label][camera.name] = row
        print_rows(label, scores[label])
    print_summary(scores)
    if args.json:
        Path(args.json).write_text(json.dumps({"height": height, "scores": scores}, indent=1))


def print_summary(scores: dict[str, dict[str, dict]]) -> None:
    """One markdown row per run: the means over cameras, and the cameras the adjustment made worse."""
    print("\n| lifter \\| length model \\| height | P-MPJPE poses_3d | P-MPJPE adjusted | cameras worse "
          "| limb length error | depth error |\n| --- | --- | --- | --- | --- | --- |")
    for label, rows in scores.items():
        mean = {key: np.mean([row.get(key, np.nan) for row in rows.values()])
                for key in ("p_mpjpe", "p_mpjpe_adjusted", "limb_error", "depth_error")}
        worse = sum(row["p_mpjpe_adjusted"] > row["p_mpjpe"] for row in rows.values())
        print(f"| {label.replace('|', chr(92) + '|')} | {mean['p_mpjpe']:.1f} | {mean['p_mpjpe_adjusted']:.1f} | "
              f"{worse} of {len(rows)} | {mean['limb_error']:.1f} | {mean['depth_error']:.1f} % |")


def print_rows(label: str, rows: dict[str, dict]) -> None:
    """One line per camera and the mean of the cameras."""
    keys = ("p_mpjpe", "p_mpjpe_adjusted", "own_limb_error", "limb_error", "depth_error", "swapped")
    print(f"\n{label}\n{'camera':<8}" + "".join(f"{key:>18}" for key in keys) + "   scale")
    for name, row in rows.items():
        values = "".join(f"{row.get(key, float('nan')):>18.1f}" for key in keys)
        print(f"{name:<8}{values}   {row['scale_source']}")
    mean = {key: np.mean([row.get(key, np.nan) for row in rows.values()]) for key in keys}
    print(f"{'mean':<8}" + "".join(f"{mean[key]:>18.1f}" for key in keys), flush=True)


if __name__ == "__main__":
    main()
