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

``--person woman`` scores the woman instead, each view masked outside the box around her (her
first-frame boxes: ``multiview_reference.PEOPLE``). ``--keypoints-formats openpose,alphapose`` adds
``blapose video camXX.mp4 --keypoints FILE`` rows: the MediaPipe 2D of each person of
``--keypoints-people`` (found as above, in their own masked views) written as an OpenPose JSON folder
and an AlphaPose results file (``own_keypoints.py``), run on the unmasked view with its focal length and
scored per person in the same way, over the frames the output person covering them spans; the npz
keypoints_2d are checked against the file's. ``--lifter none`` leaves out the lifter rows.

    python benchmarks/eval_wild_multiview.py [--demo DIR] [--work DIR] [--lifter NAME ...]
        [--length-model NAME|CKPT ...] [--json FILE] [--person man|woman]
        [--keypoints-formats openpose,alphapose] [--keypoints-people man,woman]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import own_keypoints  # noqa: E402
from multiview_reference import PEOPLE, build_reference, detect_views, find_demo  # noqa: E402

LIMB_JOINTS = ("RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "LShoulder", "LElbow", "LWrist",
               "RShoulder", "RElbow", "RWrist")
#: Limb bones by the joint they end at: thighs, shins, upper arms, forearms.
LIMB_BONES = ("RKnee", "LKnee", "RFoot", "LFoot", "RElbow", "LElbow", "RWrist", "LWrist")
#: ANSUR II (2012), adults: stature minus eye height, about 0.12 m.
EYE_TO_TOP_OF_HEAD = 0.12
LIFTERS = ("builtin", "mediapipe", "mediapipe-filtered", "mediapipe-rays", "builtin+mediapipe-rays")


def reference_height(landmarks: np.ndarray) -> float:
    """The person's standing height, meters: the 95th percentile over frames of his eyes' height above the
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


def mediapipe_own(reference, joints_world: np.ndarray, reference_lengths: np.ndarray,
                  detections: dict | None = None) -> dict[str, dict]:
    """Scores of MediaPipe's world landmarks of each masked view as they come (no sides put right, no
    filtering, no adjustment): the baseline ``blapose video`` has to beat. detections: those of
    ``detect_views`` on the reference's masked views, when already found."""
    from blapose.lengths.reference import median_lengths
    from blapose.metrics import p_mpjpe_per_frame
    from blapose.skeleton import H36M
    from blapose.video.landmarks import fill_gaps, landmarks_to_h36m
    joints = [H36M.joint_names.index(joint) for joint in LIMB_JOINTS]
    rows = {}
    found = detections if detections is not None else detect_views(reference.masked_videos, reference.first_boxes)
    for name, detections in found.items():
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
    parser.add_argument("--lifter", action="append",
                        help=f"lifters to compare (default: {', '.join(LIFTERS)}; none: no lifter rows)")
    parser.add_argument("--length-model", action="append", help="length models to compare (default: builtin)")
    parser.add_argument("--json", help="also write every score to this file")
    parser.add_argument("--default-camera", action="store_true",
                        help="also run the default lifter without the calibrated focal length (blapose's default "
                             "field of view), to see what the trajectory's depth costs then")
    parser.add_argument("--person", choices=tuple(PEOPLE), default="man", help="who is scored (default: the man)")
    parser.add_argument("--keypoints-formats", type=names_from(own_keypoints.FORMATS), default=[],
                        help="also run blapose video --keypoints on blapose's MediaPipe 2D written in these formats "
                             f"(comma list of {', '.join(own_keypoints.FORMATS)})")
    parser.add_argument("--keypoints-people", type=names_from(tuple(PEOPLE)), default=list(PEOPLE),
                        help="the people written into those files, each scored (default: man,woman)")
    args = parser.parse_args()

    from blapose.bones import bone_lengths, symmetrize_lengths
    from blapose.skeleton import H36M
    from blapose.video.landmarks import landmarks_to_h36m
    from blapose.video.options import DEFAULT_LIFTER, Lifting, Outputs, PersonChoice, Scene
    from blapose.video.pipeline import process

    work = Path(args.work)
    demo = find_demo(args.demo, work)
    reference = build_reference(demo, work, person=args.person)
    print(f"reference: {len(reference.landmarks)} frames, re-projection error median "
          f"{np.nanmedian(reference.reprojection_error):.1f} px (mean {np.nanmean(reference.reprojection_error):.1f}),"
          f" {reference.views_used.mean():.2f} views per landmark; labels exchanged in "
          f"{', '.join(f'{c.name} {n}' for c, n in zip(reference.cameras, reference.swapped.sum(axis=1)))} frames")
    joints_world = landmarks_to_h36m(reference.landmarks)
    reference_lengths = symmetrize_lengths(np.median(bone_lengths(joints_world), axis=0))
    height = reference_height(reference.landmarks)
    print(f"the {args.person}: height {height:.2f} m; limb lengths (mm) "
          + ", ".join(f"{joint} {1000 * reference_lengths[H36M.joint_names.index(joint) - 1]:.0f}"
                      for joint in LIMB_BONES))
    detections = {args.person: detect_views(reference.masked_videos, reference.first_boxes)}
    scores: dict[str, dict[str, dict]] = {"MediaPipe's own world landmarks, as they come": mediapipe_own(
        reference, joints_world, reference_lengths, detections[args.person])}
    print_rows(*next(iter(scores.items())))
    lifters = [] if args.lifter == ["none"] else (args.lifter or LIFTERS)
    runs = [(lifter, length_model, given, True) for lifter in lifters
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
    if args.keypoints_formats:
        scores.update(keypoint_rows(demo, work, args.keypoints_formats, args.keypoints_people,
                                    {args.person: reference}, detections))
    print_summary(scores)
    if args.json:
        Path(args.json).write_text(json.dumps({"height": height, "scores": scores}, indent=1))


def keypoint_rows(demo: Path, work: Path, formats: list[str], people: list[str], references: dict,
                  detections: dict) -> dict[str, dict[str, dict]]:
    """Rows of ``blapose video camXX.mp4 --keypoints FILE`` per format and scored person (see the module
    docstring); references and detections (by person, then camera) are completed here as needed. Each
    row adds 'outputs' (people in the output), 'followed' (% of the clip's frames the person's output
    spans), 'frames_equal' (frames whose npz keypoints equal the person's in the file) and, per camera,
    'max_difference' (pixels, npz keypoints_2d against the file's, all output people's detected frames)."""
    from blapose.bones import bone_lengths, symmetrize_lengths
    from blapose.video.landmarks import landmarks_to_h36m
    from own_keypoints import PersonDetections, difference_to_file, match_outputs, run_blapose_video, write_keypoints

    for person in people:
        if person not in references:
            references[person] = build_reference(demo, work, person=person)
        if person not in detections:
            detections[person] = detect_views(references[person].masked_videos, references[person].first_boxes)
    truth = {}
    for person in people:
        world = landmarks_to_h36m(references[person].landmarks)
        truth[person] = (world, symmetrize_lengths(np.median(bone_lengths(world), axis=0)))
    rows: dict[str, dict[str, dict]] = {}
    cameras = references[people[0]].cameras
    for format in formats:
        labels = {person: f"{format} keypoints file ({'+'.join(people)}) | builtin | the {person}"
                  for person in people}
        for camera in cameras:
            found = [PersonDetections(number, detections[person][camera.name].pixels,
                                      detections[person][camera.name].visibility,
                                      detections[person][camera.name].detected)
                     for number, person in enumerate(people, 1)]
            folder = work / "keypoints" / format / camera.name
            path = write_keypoints(format, folder, camera.name, found)
            started = time.perf_counter()
            outputs = run_blapose_video(demo / "videos" / f"{camera.name}.mp4", path, folder / "out",
                                        float(camera.intrinsic[0, 0]))
            seconds = time.perf_counter() - started
            matches = match_outputs(outputs, found)
            difference, compared = difference_to_file(outputs, found)
            for number, person in enumerate(people, 1):
                index, equal = matches[number]
                world, lengths = truth[person]
                if index < 0:
                    row = {key: float("nan") for key in ("p_mpjpe", "p_mpjpe_adjusted", "limb_error",
                                                         "own_limb_error", "depth_error")}
                    row.update(swapped=0, scale_source="-", followed=0.0)
                else:
                    output = outputs[index]
                    frames = output["frames"]
                    result = SimpleNamespace(poses_3d=output["poses_3d"], poses_3d_adjusted=output["poses_3d_adjusted"],
                                             bone_lengths=output["bone_lengths"], swapped=output["swapped"],
                                             scale_source=str(output["scale_source"]),
                                             trajectory=output.get("trajectory"))
                    row = score(result, camera.to_camera(world)[frames], lengths)
                    row["followed"] = 100 * len(frames) / len(world)
                row.update(outputs=len(outputs), output=index + 1, frames_equal=equal, max_difference=difference,
                           frames_compared=compared, seconds=seconds)
                rows.setdefault(labels[person], {})[camera.name] = row
            print(f"{format} {camera.name}: {len(outputs)} people out; "
                  + "; ".join(f"the {person}: output {matches[n][0] + 1}, {matches[n][1]} frames equal to the file"
                              for n, person in enumerate(people, 1))
                  + f"; npz keypoints_2d against the file's: largest difference {difference:.2g} px over "
                  f"{compared} detected frames", flush=True)
    for label, per_camera in rows.items():
        print_rows(label, per_camera)
        print("followed % per camera: "
              + ", ".join(f"{name} {row['followed']:.0f}" for name, row in per_camera.items()))
    return rows


def names_from(choices: tuple[str, ...]):
    """An argparse type: a comma list (``blapose.cli.types.comma_list``) of names out of ``choices``."""
    from blapose.cli.types import comma_list

    def parse(text: str) -> list[str]:
        names = list(comma_list(text))
        if not names or any(name not in choices for name in names):
            raise argparse.ArgumentTypeError(f"{text!r}: give a comma list of {', '.join(choices)}")
        return names
    return parse


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
