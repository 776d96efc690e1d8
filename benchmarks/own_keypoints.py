"""Keypoint files of other detectors, made from blapose's own MediaPipe 2D, for ``eval_wild_multiview.py
--keypoints-formats``: ``blapose video --keypoints`` on the real recording.

Without OpenPose or AlphaPose at hand, the 2D that ``blapose video`` found with MediaPipe in each view
(each person followed in their masked view, ``multiview_reference.detect_views``) is written as those
tools lay out their output, then read back by ``blapose video camXX.mp4 --keypoints FILE`` in a fresh
process. The 3D then comes from the built-in lifter alone (MediaPipe's own 3D is not in such files), and
no left/right repair runs; so the rows measure the lifting of another detector's 2D, with 2D of
MediaPipe's quality.

- OpenPose: one ``<video>_<frame:012d>_keypoints.json`` per frame (a file for every frame, ``people`` empty
  where no one was found), BODY_25 keypoints flat x, y, c (CMU-Perceptual-Computing-Lab/openpose
  doc/02_output.md); Neck and MidHip are the mean of the shoulders and of the hips (as OpenPose defines
  them), big toe and heel are MediaPipe's foot index and heel, small toes 0, 0, 0 (not found); no ids.
- AlphaPose: ``alphapose-results.json``, one record per person and frame: image_id "<frame>.jpg",
  category_id 1, COCO-17 keypoints flat x, y, score, a score, box (x, y, w, h) and idx the person's track
  id, as ``--pose_track`` writes (MVIG-SJTU/AlphaPose alphapose/utils/pPose_nms.py ``write_json``).

Scores are MediaPipe's landmark visibilities; coordinates are written as Python's shortest exact
decimal (json), so the file holds MediaPipe's pixels exactly.

Glossary: T frames, L landmarks (33, MediaPipe order), K keypoints of the file's layout, J joints (17).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMATS = ("openpose", "alphapose")


@dataclass(frozen=True)
class PersonDetections:
    """One person's MediaPipe 2D in a view: track id, pixels (T, L, 2), visibility (T, L), detected (T,)."""

    id: int
    pixels: np.ndarray
    visibility: np.ndarray
    detected: np.ndarray


def layout_points(pixels: np.ndarray, visibility: np.ndarray, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe landmarks (..., L, 2) pixels and visibilities (..., L) as the keypoints (..., K, 2) and
    scores (..., K) of a layout of ``blapose.video.keypoint_files.LAYOUTS``; points MediaPipe does not
    have are 0 with score 0."""
    from blapose.video.keypoint_files import LAYOUTS
    from blapose.video.landmarks import MEDIAPIPE_LANDMARKS

    derived = {"neck": ("left_shoulder", "right_shoulder"), "mid_hip": ("left_hip", "right_hip"),
               "left_big_toe": ("left_foot_index",), "right_big_toe": ("right_foot_index",)}
    names = LAYOUTS[layout]
    points = np.zeros(pixels.shape[:-2] + (len(names), 2))
    scores = np.zeros(visibility.shape[:-1] + (len(names),))
    for k, name in enumerate(names):
        sources = derived.get(name, (name,) if name in MEDIAPIPE_LANDMARKS else ())
        if not sources:
            continue
        rows = [MEDIAPIPE_LANDMARKS.index(source) for source in sources]
        points[..., k, :] = pixels[..., rows, :].mean(axis=-2)
        scores[..., k] = visibility[..., rows].min(axis=-1)
    return points, scores


def _flat(points: np.ndarray, scores: np.ndarray) -> list[float]:
    """x, y, c per keypoint, flat; a keypoint of score 0 as 0, 0, 0 (OpenPose's 'not found')."""
    values = np.concatenate([points, scores[:, None]], axis=1)
    values[scores <= 0] = 0.0
    return [float(v) for v in values.ravel()]


def write_openpose(folder: Path, stem: str, people: list[PersonDetections]) -> Path:
    """An OpenPose BODY_25 JSON folder of every frame (see the module docstring); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = len(people[0].detected)
    layouts = [layout_points(p.pixels, p.visibility, "body25") for p in people]
    for t in range(frames):
        found = [{"person_id": [-1], "pose_keypoints_2d": _flat(points[t], scores[t]),
                  "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                  "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                  "hand_right_keypoints_3d": []}
                 for person, (points, scores) in zip(people, layouts) if person.detected[t]]
        (folder / f"{stem}_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": found}))
    return folder


def write_alphapose(path: Path, people: list[PersonDetections]) -> Path:
    """An AlphaPose results JSON (COCO-17, tracked: idx = the person's id; see the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    layouts = [layout_points(p.pixels, p.visibility, "coco17") for p in people]
    records = []
    for t in range(len(people[0].detected)):
        for person, (points, scores) in zip(people, layouts):
            if not person.detected[t]:
                continue
            seen = points[t][scores[t] > 0]
            low, high = seen.min(axis=0), seen.max(axis=0)
            records.append({"image_id": f"{t}.jpg", "category_id": 1, "keypoints": _flat(points[t], scores[t]),
                            "score": float(scores[t].mean() + 1.0 + 1.25 * scores[t].max()),
                            "box": [float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])],
                            "idx": int(person.id)})
    path.write_text(json.dumps(records))
    return path


def write_keypoints(format: str, target: Path, stem: str, people: list[PersonDetections]) -> Path:
    """The keypoint file (or folder) of ``format`` for ``people`` under ``target``; returns its path."""
    if format == "openpose":
        return write_openpose(target / "openpose", stem, people)
    if format == "alphapose":
        return write_alphapose(target / "alphapose-results.json", people)
    raise ValueError(f"unknown keypoint format {format!r}; known: {', '.join(FORMATS)}")


def run_blapose_video(video: Path, keypoints: Path, out: Path, focal: float | None) -> list[dict]:
    """``blapose video VIDEO --keypoints FILE --no-render [--focal F] --out OUT`` in a fresh process; the
    npz of every person it wrote, in person order, as dicts of arrays."""
    command = [sys.executable, "-m", "blapose", "video", str(video), "--keypoints", str(keypoints), "--no-render",
               "--out", str(out)]
    if focal is not None:
        command += ["--focal", f"{focal:.3f}"]
    for old in out.glob("*_person*.npz"):
        old.unlink()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    files = sorted(out.glob(f"{video.stem}_person*.npz"), key=lambda p: int(p.stem.rsplit("person", 1)[1]))
    return [dict(np.load(path)) for path in files]


def file_joints(person: PersonDetections) -> tuple[np.ndarray, np.ndarray]:
    """The 17 joints (T, J, 2) pixels the file gives for a person (NaN in frames without a detection, and
    where a joint's landmarks include one of score 0) and their presence (T, J) bool."""
    from blapose.video.landmarks import H36M_FROM_MEDIAPIPE, MEDIAPIPE_LANDMARKS, landmarks_to_h36m

    joints = landmarks_to_h36m(person.pixels)
    present = np.stack([np.all([person.visibility[:, MEDIAPIPE_LANDMARKS.index(name)] > 0 for name in weights],
                               axis=0) for weights in H36M_FROM_MEDIAPIPE.values()], axis=1)
    present &= person.detected[:, None]
    return np.where(present[..., None], joints, np.nan), present


def match_outputs(outputs: list[dict], people: list[PersonDetections]) -> dict[int, tuple[int, int]]:
    """Per file person id: (the output person whose npz keypoints_2d equal theirs (within 0.001 pixel on
    every joint the file gives) in most frames, that number of frames); (-1, 0) for a person no output
    carries."""
    matches = {}
    for person in people:
        joints, present = file_joints(person)
        best, best_frames = -1, 0
        for k, output in enumerate(outputs):
            frames = output["frames"]
            inside = (frames >= 0) & (frames < len(joints))
            rows = frames[inside]
            own = output["keypoints_2d"][inside].astype(np.float64)
            equal = (np.abs(own - joints[rows]) < 1e-3).all(axis=-1) | ~present[rows]
            count = int((equal.all(axis=1) & present[rows].any(axis=1)).sum())
            if count > best_frames:
                best, best_frames = k, count
        matches[person.id] = (best, best_frames)
    return matches


def difference_to_file(outputs: list[dict], people: list[PersonDetections]) -> tuple[float, int]:
    """How far the npz keypoints_2d are from the file's: over every output person's detected frames, the
    largest absolute difference (pixels) to the nearest of the file's detections in that frame (over the
    joints that detection gives), and the number of output frames compared."""
    files = [file_joints(person) for person in people]
    largest, compared = 0.0, 0
    for output in outputs:
        for row in np.flatnonzero(output["detected"]):
            frame = int(output["frames"][row])
            own = output["keypoints_2d"][row].astype(np.float64)
            candidates = [float(np.abs(own - joints[frame])[present[frame]].max())
                          for joints, present in files if frame < len(joints) and present[frame].any()]
            if candidates:
                largest, compared = max(largest, min(candidates)), compared + 1
    return largest, compared
