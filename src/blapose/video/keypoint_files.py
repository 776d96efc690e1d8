"""Other detectors' 2D keypoint files -> Human3.6M joints in pixels per frame; 3D pose files.

Glossary: F frames listed by the file, N_t detections (people) in frame t, K keypoints of the
file's layout, J joints (17, ``blapose.skeleton.H36M`` order), T_k frames of person k.

``read_keypoints(path, format=None)`` reads one of the formats below into a ``KeypointFile``:
per frame, ``keypoints (N_t, J, 2)`` float64 pixels of the video frame (x right, y down),
``scores (N_t, J)`` float64 in [0, 1] and ``ids (N_t,)`` int64 track ids where the file has them
(else None). A missing joint has NaN coordinates and score 0, never a point at the origin.
Frames carry the video frame number the file gives (counted from 0). ``split_people`` turns the
detections into per-person arrays.

Formats (each read as its tool writes it):

- ``videopose3d``: npz of ``positions_2d`` {video: {'custom': [(T, 17, 2)]}} in COCO order and
  ``metadata`` with ``video_metadata`` {video: {'w', 'h'}} (facebookresearch/VideoPose3D
  data/prepare_data_2d_custom.py, common/custom_dataset.py); frames 0..T-1, one person, score 1
  where finite. Its object arrays go through ``blapose.data.safe_pickle`` (no code runs).
- ``openpose``: one JSON per frame, ``people[].pose_keypoints_2d`` flat x, y, c; BODY_25 (25) or
  COCO-18 (18); frame number = the last digits of the file name, as in OpenPose's
  ``<video>_000000000012_keypoints.json`` (CMU-Perceptual-Computing-Lab/openpose doc/02_output.md).
  c = 0 (written as 0, 0, 0) means not found. Coordinates are taken as pixels
  (``--keypoint_scale 0``, OpenPose's default).
- ``alphapose``: ``alphapose-results.json``, a list of {image_id, category_id, keypoints flat
  x, y, s, score, box, idx} (MVIG-SJTU/AlphaPose alphapose/utils/pPose_nms.py ``write_json``);
  COCO-17 (17), Halpe-26 (26), COCO-WholeBody (133) or Halpe-136 (136). Frame = the number in
  image_id ("12.jpg" for frame 12 of a video: alphapose/utils/detector.py). ``idx`` is a track id
  when it is one number per person (``--pose_track`` / PoseFlow); without tracking AlphaPose
  writes lists of merged box ids there, and ids are then None.
- ``coco``: COCO keypoint results, a list of {image_id, category_id, keypoints (51), score}
  (cocodataset.org/#format-results); frame = image_id; the third value is read as the score.
- ``mmpose``: predictions JSON. ``{"meta_info": ..., "instance_info": [{frame_id, instances}]}``
  as open-mmlab/mmpose demo/topdown_demo_with_mmdet.py and bottomup_demo.py write it, whose
  frame_id counts from 1; or the bare list ``[{frame_id, instances}]`` of MMPoseInferencer
  (mmpose/apis/inferencers/base_mmpose_inferencer.py), whose frame_id counts from 0. Each
  instance has ``keypoints`` [[x, y], ...], ``keypoint_scores`` and ``bbox``
  (mmpose/structures/utils.py ``split_instances``); ``track_id`` is used when present. COCO-17,
  Halpe-26, COCO-WholeBody (133), or Human3.6M when meta_info's dataset_name is 'h36m'.
- ``trc``: Sports2D / Pose2Sim pixel TRC, ``<video>_Sports2D_px_person00.trc``: a TRC header,
  then Frame#, Time, X Y Z per marker (davidpagnon/Sports2D Sports2D/process.py
  ``make_trc_with_trc_data``). X, Y are image pixels (y down, as detected), Z is 0, a missing
  value is empty (or 0, 0 when gaps were filled with zeros). Markers are named after the pose
  model's keypoints (Sports2D/Utilities/skeletons.py: HALPE_26, COCO_17, ...; Hip and Neck added).
  One person per file, the person number from ``_personNN``; a folder or several files give
  several people. Frame = Frame# - first Frame# + round(first Time x DataRate), since Sports2D
  numbers rows from the first analysed frame; fps = DataRate. The header's Units say 'm' even in
  pixel files, so the file name must contain '_px' (or Units say px).

Joints: every layout's keypoints are named with MediaPipe's landmark names where MediaPipe has
the point (COCO-17's 17 names are a subset of MediaPipe's 33), and the 17 joints are made by the
same weighted table as MediaPipe's landmarks, ``landmarks.H36M_FROM_MEDIAPIPE`` through
``landmarks_to_h36m``:

=========  ===================================================================
Hip        mean of left and right hip
RHip ...   the hip, knee, ankle, shoulder, elbow, wrist of that name
Spine      mean of both hips and both shoulders
Thorax     mean of both shoulders
Neck/Nose  half the nose, a quarter each shoulder
Head       mean of both eyes and both ears
=========  ===================================================================

BODY_25 / COCO-18 / Halpe / WholeBody extra points (neck, mid-hip, head top, feet, face, hands) are
not used. Files without eyes and ears (Sports2D / Pose2Sim TRC markers) stand the nose in for
them, so their Head is the nose: an approximation (about the trained head bone's length from
Neck/Nose, but not its direction). A joint made of several points is missing when any of its
points is (score 0 or not finite); its score is the table's weighted mean of its points' scores,
as ``landmarks_to_h36m`` maps MediaPipe's visibilities. Scores above 1 (AlphaPose heatmap maxima,
MMPose SimCC) are clipped to 1. A detection with no valid keypoint at all is dropped.

``read_poses(path)`` reads 3D poses for upstream BLAPose's ``inference.py --poses``: an npz with
array 'poses' (T, 17, 3) (hs1ang-hsu/BLAPose inference.py: ``np.load(args.poses)['poses']``),
meters, camera frame, Human3.6M order.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..bones import bone_lengths
from ..data.safe_pickle import load_npz
from ..errors import InputError
from ..skeleton import H36M
from .landmarks import (
    H36M_FROM_MEDIAPIPE,
    MEDIAPIPE_LANDMARKS,
    NUM_LANDMARKS,
    landmarks_to_h36m,
)

FORMATS = ("videopose3d", "openpose", "alphapose", "coco", "mmpose", "trc")

#: Keypoint names of each layout read, in file order: MediaPipe's landmark names where MediaPipe has
#: the point, other names for points the 17 joints do not use.
COCO_17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
           "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
           "left_knee", "right_knee", "left_ankle", "right_ankle")
LAYOUTS: dict[str, tuple[str, ...]] = {
    "coco17": COCO_17,
    # Halpe-26: COCO-17, then Head (top), Neck, Hip, big toes, small toes, heels (Fang-Haoshu/Halpe-FullBody).
    "halpe26": COCO_17 + ("head_top", "neck", "mid_hip", "left_big_toe", "right_big_toe",
                          "left_small_toe", "right_small_toe", "left_heel", "right_heel"),
    # OpenPose POSE_BODY_25_BODY_PARTS and POSE_COCO_BODY_PARTS (openpose doc/02_output.md).
    "body25": ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
               "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
               "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
               "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel"),
    "coco18": ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
               "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
               "right_eye", "left_eye", "right_ear", "left_ear"),
}
# COCO-WholeBody and Halpe-136 begin with COCO-17 and Halpe-26; their face, hand and foot points are unused.
LAYOUTS["coco_wholebody133"] = COCO_17 + tuple(f"wholebody_{i}" for i in range(17, 133))
LAYOUTS["halpe136"] = LAYOUTS["halpe26"] + tuple(f"halpe_{i}" for i in range(26, 136))
LAYOUTS["h36m"] = H36M.joint_names

_BY_COUNT = {
    "openpose": {25: "body25", 18: "coco18"},
    "alphapose": {17: "coco17", 26: "halpe26", 133: "coco_wholebody133", 136: "halpe136"},
    "coco": {17: "coco17"},
    "mmpose": {17: "coco17", 26: "halpe26", 133: "coco_wholebody133"},
}

#: Sports2D / Pose2Sim marker names (Sports2D/Utilities/skeletons.py) -> landmark names.
_MARKER_NAMES = {
    "Nose": "nose", "LEye": "left_eye", "REye": "right_eye", "LEar": "left_ear", "REar": "right_ear",
    "LShoulder": "left_shoulder", "RShoulder": "right_shoulder", "LElbow": "left_elbow",
    "RElbow": "right_elbow", "LWrist": "left_wrist", "RWrist": "right_wrist", "LHip": "left_hip",
    "RHip": "right_hip", "LKnee": "left_knee", "RKnee": "right_knee", "Rknee": "right_knee",
    "LAnkle": "left_ankle", "RAnkle": "right_ankle",
}
#: Points a layout may lack, and the point that stands in for them.
_STAND_INS = {"left_eye": "nose", "right_eye": "nose", "left_ear": "nose", "right_ear": "nose"}


@dataclass(frozen=True)
class FrameDetections:
    """The people a file lists in one video frame.

    keypoints (N, J, 2) float64 pixels; scores (N, J) float64 in [0, 1], 0 where missing (then the
    keypoint is NaN); ids (N,) int64 track ids, or None when the file has none.
    """

    frame: int
    keypoints: np.ndarray
    scores: np.ndarray
    ids: np.ndarray | None


@dataclass(frozen=True)
class KeypointFile:
    """A keypoint file read into Human3.6M joints: its frames in increasing order and what it knows of
    the video (``width``, ``height`` pixels and ``fps``, None when unknown)."""

    source: str
    format: str
    layout: str
    frames: tuple[FrameDetections, ...]
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @property
    def frame_numbers(self) -> np.ndarray:
        """(F,) int64 video frame numbers of ``frames``."""
        return np.array([f.frame for f in self.frames], dtype=np.int64)

    @property
    def has_ids(self) -> bool:
        return any(f.ids is not None for f in self.frames)

    def summary(self) -> str:
        """One line: format, layout, frames, people, ids and video size."""
        numbers = self.frame_numbers
        most = max((len(f.keypoints) for f in self.frames), default=0)
        size = f"{self.width}x{self.height}" if self.width and self.height else "frame size unknown"
        fps = f"{self.fps:g} fps" if self.fps else "fps unknown"
        return (f"{self.source}: {self.format} ({self.layout}), {len(numbers)} frame(s) "
                f"{numbers[0]}-{numbers[-1]}, up to {most} people a frame, "
                f"track ids {'yes' if self.has_ids else 'no'}, {size}, {fps}")


@dataclass(frozen=True)
class PersonKeypoints:
    """One person's detections: frames (T,) int64 video frame numbers, keypoints (T, J, 2) float64
    pixels (NaN where missing), scores (T, J) float64 in [0, 1]."""

    id: int
    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray


# ---------------------------------------------------------------------------------------------------
# Layout -> Human3.6M joints


def _landmark_sources(layout: str, names: Sequence[str], source: str) -> list[tuple[int, int]]:
    """(MediaPipe landmark index, keypoint index) pairs for every landmark ``H36M_FROM_MEDIAPIPE`` uses."""
    needed = sorted({name for weights in H36M_FROM_MEDIAPIPE.values() for name in weights})
    pairs = []
    for landmark in needed:
        name = landmark if landmark in names else _STAND_INS.get(landmark)
        if name not in names:
            raise InputError(f"{source}: its keypoints ({layout}) have no '{landmark}', needed for the 17 joints")
        pairs.append((MEDIAPIPE_LANDMARKS.index(landmark), list(names).index(name)))
    return pairs


def to_h36m(points: np.ndarray, scores: np.ndarray, layout: str, names: Sequence[str] | None = None,
            source: str = "keypoints") -> tuple[np.ndarray, np.ndarray]:
    """Human3.6M joints of keypoints in ``layout``.

    points (..., K, 2) pixels and scores (..., K) of the layout's keypoints (``LAYOUTS[layout]``, or
    ``names``); a keypoint with score <= 0 or a non-finite coordinate is missing. Returns joints
    (..., J, 2) float64 pixels (NaN where missing) and scores (..., J) float64 in [0, 1] (0 where
    missing), made through ``landmarks_to_h36m``.
    """
    points = np.asarray(points, dtype=np.float64)
    scores = np.clip(np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0), 0.0, 1.0)
    missing = (scores <= 0) | ~np.isfinite(points).all(axis=-1)
    scores = np.where(missing, 0.0, scores)
    points = np.where(missing[..., None], 0.0, points)
    if layout == "h36m":
        joints, joint_scores, joint_missing = points, scores, missing
    else:
        names = LAYOUTS[layout] if names is None else names
        pairs = _landmark_sources(layout, names, source)
        landmarks = np.zeros(points.shape[:-2] + (NUM_LANDMARKS, 3))
        for landmark, keypoint in pairs:
            landmarks[..., landmark, :2] = points[..., keypoint, :]
            landmarks[..., landmark, 2] = scores[..., keypoint]
        landmark_missing = np.zeros(points.shape[:-2] + (NUM_LANDMARKS, 1))
        for landmark, keypoint in pairs:
            landmark_missing[..., landmark, 0] = missing[..., keypoint]
        mapped = landmarks_to_h36m(landmarks)
        joints, joint_scores = mapped[..., :2], mapped[..., 2]
        joint_missing = landmarks_to_h36m(landmark_missing)[..., 0] > 0
    joints = np.where(joint_missing[..., None], np.nan, joints)
    return joints, np.where(joint_missing, 0.0, np.clip(joint_scores, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------------
# Shared helpers


@dataclass
class _Read:
    """What a reader found: the layout, its frames, the video's size and rate, and for TRC files the
    keypoint names (landmark names where they match)."""

    layout: str
    raws: list
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    names: list[str] | None = None


@dataclass
class _Raw:
    """A frame as read, before the joint mapping: points (N, K, 2), scores (N, K), ids (N,) or None."""

    frame: int
    points: np.ndarray
    scores: np.ndarray
    ids: list[int] | None


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not JSON (not UTF-8 text)") from None


def _number_in(name: str, source: Any, what: str) -> int:
    """The last run of digits in ``name`` (a file name or image id) as an int."""
    found = re.findall(r"\d+", Path(str(name)).stem)
    if not found:
        raise InputError(f"{source}: {what} '{name}' has no frame number")
    return int(found[-1])


def _flat_triplets(values: Any, source: Any, where: str) -> np.ndarray:
    """(K, 3) x, y, score from a flat list x0, y0, c0, x1, ..."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{source}: {where} is not a list of numbers") from None
    if array.ndim != 1 or array.size == 0 or array.size % 3:
        raise InputError(f"{source}: {where} has {array.size} values, expected x, y, score per keypoint")
    return array.reshape(-1, 3)


def _layout_of(format: str, count: int, source: Any, where: str) -> str:
    layouts = _BY_COUNT[format]
    if count not in layouts:
        known = ", ".join(f"{n} ({name})" for n, name in layouts.items())
        raise InputError(f"{source}: {where} has {count} keypoints; {format} files here have {known}")
    return layouts[count]


def _same_layout(layouts: set[str], source: Any) -> str:
    if len(layouts) > 1:
        raise InputError(f"{source}: mixed keypoint layouts ({', '.join(sorted(layouts))}) in one file")
    return layouts.pop()


def _group_by_frame(entries: list[tuple[int, np.ndarray, np.ndarray, int | None]]) -> list[_Raw]:
    """Frames from (frame, points (K, 2), scores (K,), id) entries, one per detection."""
    frames: dict[int, list] = {}
    for entry in entries:
        frames.setdefault(entry[0], []).append(entry)
    raws = []
    for frame, group in sorted(frames.items()):
        ids = [e[3] for e in group]
        raws.append(_Raw(frame, np.stack([e[1] for e in group]), np.stack([e[2] for e in group]),
                         None if any(i is None for i in ids) else ids))
    return raws


def _stack(points: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, 2) points and (N, K) scores of a frame's detections; (0, 0, 2) and (0, 0) for none."""
    if not points:
        return np.zeros((0, 0, 2)), np.zeros((0, 0))
    return np.stack(points), np.stack(scores)


def _records(content: Any, source: Any, keys: tuple[str, ...]) -> list[dict]:
    if not isinstance(content, list) or not all(isinstance(r, dict) for r in content):
        raise InputError(f"{source}: expected a list of detections with {', '.join(keys)}")
    if not content:
        raise InputError(f"{source}: no people (the list of detections is empty)")
    for index, record in enumerate(content):
        absent = [key for key in keys if key not in record]
        if absent:
            raise InputError(f"{source}: detection {index} has no '{absent[0]}'")
    return content


# ---------------------------------------------------------------------------------------------------
# Readers, each -> _Read


def _read_videopose3d(path: Path, video: str | None) -> _Read:
    content = load_npz(path)
    for key in ("positions_2d", "metadata"):
        if key not in content:
            raise InputError(f"{path}: no '{key}' (a VideoPose3D custom 2D file has positions_2d and metadata)")
    positions, metadata = content["positions_2d"], content["metadata"]
    if not isinstance(positions, dict) or not positions:
        raise InputError(f"{path}: positions_2d is not a {{video: {{'custom': [(T, 17, 2)]}}}} dict")
    if video is None:
        if len(positions) != 1:
            raise InputError(f"{path}: holds {len(positions)} videos ({', '.join(map(str, positions))}); name one")
        video = next(iter(positions))
    if video not in positions:
        raise InputError(f"{path}: no video '{video}' (has {', '.join(map(str, positions))})")
    entry = positions[video]
    arrays = entry.get("custom") if isinstance(entry, dict) else None
    if not isinstance(arrays, (list, tuple)) or len(arrays) != 1:
        raise InputError(f"{path}: positions_2d['{video}'] is not {{'custom': [one (T, 17, 2) array]}}")
    keypoints = np.asarray(arrays[0], dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (17, 2) or len(keypoints) == 0:
        raise InputError(f"{path}: positions_2d['{video}']['custom'][0] has shape {keypoints.shape}, "
                         "expected (T, 17, 2)")
    metadata = metadata if isinstance(metadata, dict) else {}
    layout = {"coco": "coco17", "h36m": "h36m"}.get(metadata.get("layout_name", "coco"))
    if layout is None:
        raise InputError(f"{path}: layout_name '{metadata.get('layout_name')}' (expected coco or h36m)")
    size = (metadata.get("video_metadata") or {}).get(video) or {}
    scores = np.isfinite(keypoints).all(axis=-1).astype(np.float64)
    raws = [_Raw(t, keypoints[t:t + 1], scores[t:t + 1], None) for t in range(len(keypoints))]
    width, height = size.get("w"), size.get("h")
    return _Read(layout, raws, None if width is None else int(width), None if height is None else int(height))


def _openpose_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
        if not files:
            raise InputError(f"{path}: folder holds no .json files")
        return files
    return [path]


def _frames_read(raws: list[_Raw], layouts: set[str], path: Path) -> _Read:
    """Frames read one by one, sorted, in their one layout: frames without people get (0, K) arrays,
    and track ids are kept only when every frame with people has them."""
    if not layouts:
        raise InputError(f"{path}: no people in any frame")
    layout = _same_layout(layouts, path)
    size = len(LAYOUTS[layout])
    for raw in raws:
        if raw.points.shape[1] == 0:
            raw.points, raw.scores = np.zeros((0, size, 2)), np.zeros((0, size))
            raw.ids = None if raw.ids is None else []
    if any(raw.ids is None for raw in raws):
        for raw in raws:
            raw.ids = None
    return _Read(layout, sorted(raws, key=lambda r: r.frame))


def _read_openpose(path: Path) -> _Read:
    raws, layouts, seen = [], set(), {}
    for file in _openpose_files(path):
        content = _load_json(file)
        if not isinstance(content, dict) or not isinstance(content.get("people"), list):
            raise InputError(f"{file}: not an OpenPose frame (no 'people' list)")
        frame = _number_in(file.name.replace("_keypoints", ""), file, "file name")
        if frame in seen:
            raise InputError(f"{file}: frame {frame} again (also {seen[frame].name})")
        seen[frame] = file
        points, scores = [], []
        for index, person in enumerate(content["people"]):
            values = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
            if values is None:
                raise InputError(f"{file}: people[{index}] has no 'pose_keypoints_2d'")
            triplets = _flat_triplets(values, file, f"people[{index}].pose_keypoints_2d")
            layouts.add(_layout_of("openpose", len(triplets), file, f"people[{index}]"))
            points.append(triplets[:, :2])
            scores.append(triplets[:, 2])
        if len({len(p) for p in points}) > 1:
            raise InputError(f"{file}: mixed keypoint layouts in one frame")
        raws.append(_Raw(frame, *_stack(points, scores), None))
    return _frames_read(raws, layouts, path)


def _track_id(value: Any) -> int | None:
    """A track id from AlphaPose's idx: one number, or nested lists all holding the same number."""
    flat = np.asarray(value, dtype=object).ravel().tolist() if isinstance(value, list) else [value]
    if not flat or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        return None
    if len(set(flat)) != 1 or not float(flat[0]).is_integer():
        return None
    return int(flat[0])


def _read_results(path: Path, content: Any, format: str) -> _Read:
    """AlphaPose results or COCO keypoint results: one record per detected person."""
    records = _records(content, path, ("image_id", "keypoints"))
    entries, layouts = [], set()
    for index, record in enumerate(records):
        image_id = record["image_id"]
        frame = (image_id if isinstance(image_id, int) and not isinstance(image_id, bool)
                 else _number_in(str(image_id), path, f"detection {index}: image_id"))
        triplets = _flat_triplets(record["keypoints"], path, f"detection {index} keypoints")
        layouts.add(_layout_of(format, len(triplets), path, f"detection {index}"))
        track = _track_id(record.get("idx")) if format == "alphapose" and "idx" in record else None
        entries.append((frame, triplets[:, :2], triplets[:, 2], track))
    layout = _same_layout(layouts, path)
    raws = _group_by_frame(entries)
    if any(raw.ids is None or len(set(raw.ids)) != len(raw.ids) for raw in raws):
        for raw in raws:  # not track ids: missing somewhere, or the same id twice in one frame
            raw.ids = None
    return _Read(layout, raws)


def _read_mmpose(path: Path, content: Any) -> _Read:
    base, dataset = 0, None
    if isinstance(content, dict):
        if "instance_info" not in content:
            raise InputError(f"{path}: not MMPose predictions (no 'instance_info')")
        meta = content.get("meta_info") or {}
        dataset = meta.get("dataset_name") if isinstance(meta, dict) else None
        content, base = content["instance_info"], 1
    if isinstance(content, list) and content and all(isinstance(r, dict) and "keypoints" in r for r in content):
        content = [{"frame_id": base, "instances": content}]  # one image's instances
    records = _records(content, path, ("frame_id", "instances"))
    raws, layouts, seen = [], set(), set()
    for record in records:
        frame_id = record["frame_id"]
        if not isinstance(frame_id, int) or isinstance(frame_id, bool):
            raise InputError(f"{path}: frame_id {frame_id!r} is not a whole number")
        frame = frame_id - base
        if frame in seen:
            raise InputError(f"{path}: frame_id {frame_id} appears twice")
        seen.add(frame)
        instances = record["instances"]
        if not isinstance(instances, list):
            raise InputError(f"{path}: frame_id {frame_id}: 'instances' is not a list")
        points, scores, ids = [], [], []
        for index, instance in enumerate(instances):
            where = f"frame_id {frame_id} instance {index}"
            try:
                xy = np.asarray(instance["keypoints"], dtype=np.float64)
                score = np.asarray(instance["keypoint_scores"], dtype=np.float64)
            except (KeyError, TypeError, ValueError):
                raise InputError(f"{path}: {where} lacks numeric 'keypoints' [[x, y], ...] and "
                                 "'keypoint_scores'") from None
            if xy.ndim != 2 or xy.shape[1] < 2 or score.shape != xy.shape[:1]:
                raise InputError(f"{path}: {where}: keypoints {xy.shape} and keypoint_scores {score.shape} "
                                 "do not pair up as (K, 2) and (K,)")
            layout = _layout_of("mmpose", len(xy), path, where)
            layouts.add("h36m" if layout == "coco17" and dataset == "h36m" else layout)
            points.append(xy[:, :2])
            scores.append(score)
            track = instance.get("track_id")
            ids.append(int(track) if isinstance(track, (int, float)) and not isinstance(track, bool) else None)
        if len({len(p) for p in points}) > 1:
            raise InputError(f"{path}: frame_id {frame_id}: mixed keypoint layouts in one frame")
        raws.append(_Raw(frame, *_stack(points, scores),
                         None if any(i is None for i in ids) or len(set(ids)) != len(ids) else ids))
    return _frames_read(raws, layouts, path)


def _trc_files(path: Path | Sequence[Path]) -> list[Path]:
    if isinstance(path, Path) and path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".trc" and "_px" in p.name)
        if not files:
            raise InputError(f"{path}: folder holds no pixel TRC files (*_px_person*.trc)")
        return files
    return [path] if isinstance(path, Path) else list(path)


def _parse_trc(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, float | None]:
    """Marker names, Frame# (F,), Time (F,), X Y (F, M, 2) and DataRate of one TRC file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a TRC file (not text)") from None
    if len(lines) < 5 or not lines[0].startswith("PathFileType") or not lines[3].startswith("Frame#"):
        raise InputError(f"{path}: not a TRC file (expected PathFileType, a header and Frame# lines)")
    header = dict(zip(lines[1].split("\t"), lines[2].split("\t")))
    units = header.get("Units", "").strip().lower()
    if "_px" not in path.name and units not in ("px", "pixel", "pixels"):
        raise InputError(f"{path}: not a pixel TRC (Units '{units}', no '_px' in the name); "
                         "read Sports2D's *_px_person00.trc")
    names = [name for name in lines[3].split("\t")[2:] if name.strip()]
    rows = []
    for number, line in enumerate(lines[5:], 6):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 + 3 * len(names):
            raise InputError(f"{path}: line {number} has {len(fields)} columns, expected {2 + 3 * len(names)}")
        try:
            rows.append([float(v) if v.strip() else math.nan for v in fields[:2 + 3 * len(names)]])
        except ValueError:
            raise InputError(f"{path}: line {number} holds a value that is not a number") from None
    if not rows or not names:
        raise InputError(f"{path}: no people (no markers or no frames)")
    table = np.array(rows)
    if not np.isfinite(table[:, :2]).all():
        raise InputError(f"{path}: a Frame# or Time value is empty")
    coordinates = table[:, 2:].reshape(len(table), len(names), 3)[..., :2]
    try:
        rate = float(header["DataRate"])
    except (KeyError, ValueError):
        rate = None
    return names, table[:, 0], table[:, 1], coordinates, rate if rate and rate > 0 else None


def _read_trc(path: Path | Sequence[Path]) -> _Read:
    files = _trc_files(path)
    people, rates, layouts = [], set(), set()
    for order, file in enumerate(files):
        names, numbers, times, xy, rate = _parse_trc(file)
        found = re.search(r"_person(\d+)", file.stem)
        person = int(found.group(1)) if found else order
        landmark_names = [_MARKER_NAMES.get(n, n) for n in names]
        # Sports2D writes 0, 0 for gaps it fills with zeros (and for a person it deletes).
        missing = ~np.isfinite(xy).all(axis=-1) | (xy == 0).all(axis=-1)
        offset = round(times[0] * rate) if rate else 0
        frames = (numbers - numbers[0]).astype(np.int64) + offset
        layouts.add(",".join(landmark_names))
        rates.add(rate)
        people.append((person, frames, xy, np.where(missing, 0.0, 1.0), names, landmark_names))
    if len(layouts) > 1:
        raise InputError(f"{files[0]}: the TRC files name different markers; read one pose model at a time")
    ids = [p[0] for p in people]
    if len(set(ids)) != len(ids):
        raise InputError(f"{files[0]}: two TRC files are the same person number")
    entries = []
    for person, frames, xy, scores, _, _ in people:
        entries += [(int(f), xy[t], scores[t], person) for t, f in enumerate(frames)]
    rate = rates.pop() if len(rates) == 1 else None
    markers = people[0][4]
    return _Read(f"{len(markers)} TRC markers", _group_by_frame(entries), fps=rate,
                 names=people[0][5])


# ---------------------------------------------------------------------------------------------------
# Entry points


def detect_format(path: str | os.PathLike | Sequence[str | os.PathLike]) -> str:
    """The format of a keypoint file, folder or list of TRC files, from extension, folder contents and keys."""
    if not isinstance(path, (str, os.PathLike)):
        paths = [Path(p) for p in path]
        if paths and all(p.suffix.lower() == ".trc" for p in paths):
            return "trc"
        raise InputError("several keypoint files are read only as Sports2D TRC files (one person each)")
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        suffixes = {p.suffix.lower() for p in path.iterdir()}
        if ".trc" in suffixes:
            return "trc"
        if ".json" in suffixes:
            return "openpose"
        raise InputError(f"{path}: folder holds neither OpenPose .json frames nor Sports2D .trc files")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "videopose3d"
    if suffix == ".trc":
        return "trc"
    if suffix != ".json":
        raise InputError(f"{path}: unknown keypoint file type '{suffix}' (expected .json, .npz, .trc or a folder)")
    return _json_format(path, _load_json(path))


def _json_format(path: Path, content: Any) -> str:
    if isinstance(content, dict):
        if "people" in content:
            return "openpose"
        if "instance_info" in content:
            return "mmpose"
        raise InputError(f"{path}: JSON object with keys {', '.join(sorted(map(str, content)))[:80]}: "
                         "not OpenPose ('people') or MMPose ('instance_info')")
    if isinstance(content, list):
        if not content:
            raise InputError(f"{path}: no people (empty list)")
        first = content[0]
        if isinstance(first, dict):
            if "instances" in first:
                return "mmpose"
            if "keypoint_scores" in first:
                return "mmpose"
            if "image_id" in first and "keypoints" in first:
                alphapose = any(("idx" in r or "box" in r or isinstance(r.get("image_id"), str))
                                for r in content if isinstance(r, dict))
                return "alphapose" if alphapose else "coco"
    raise InputError(f"{path}: JSON not recognised as OpenPose, AlphaPose, COCO results or MMPose predictions")


def read_keypoints(path: str | os.PathLike | Sequence[str | os.PathLike], format: str | None = None,
                   video: str | None = None) -> KeypointFile:
    """Read 2D keypoints of another detector into Human3.6M joints per video frame (see the module doc).

    path: a file, a folder (OpenPose JSON frames, Sports2D TRC files) or a list of TRC files.
    format: one of ``FORMATS``; None detects it. video: the video's name inside a VideoPose3D npz
    holding several. Raises ``InputError`` naming the file when it cannot be read, names no people,
    has a keypoint count of no known layout or mixes layouts.
    """
    content = None
    if format is None:
        single = isinstance(path, (str, os.PathLike)) and Path(path).is_file()
        if single and Path(path).suffix.lower() == ".json":  # parse a large results file once
            content = _load_json(Path(path))
            format = _json_format(Path(path), content)
        else:
            format = detect_format(path)
    elif format not in FORMATS:
        raise InputError(f"unknown keypoint format '{format}' (expected one of {', '.join(FORMATS)})")
    many = not isinstance(path, (str, os.PathLike))
    if many and format != "trc":
        raise InputError(f"several files are read only as TRC files, not {format}")
    source = ", ".join(str(p) for p in path) if many else str(path)
    location = [Path(p) for p in path] if many else Path(path)
    if not many and not location.exists():
        raise InputError(f"{location}: file not found")
    if format == "videopose3d":
        read = _read_videopose3d(location, video)
    elif format == "openpose":
        read = _read_openpose(location)
    elif format == "trc":
        read = _read_trc(location)
    else:
        if location.is_dir():
            raise InputError(f"{location}: is a folder; {format} results are one JSON file")
        content = _load_json(location) if content is None else content
        read = (_read_mmpose(location, content) if format == "mmpose"
                else _read_results(location, content, format))
    frames = []
    for raw in read.raws:
        joints, scores = to_h36m(raw.points, raw.scores, read.layout, read.names, source)
        keep = scores.any(axis=-1)
        ids = None if raw.ids is None else np.array(raw.ids, dtype=np.int64)[keep]
        frames.append(FrameDetections(raw.frame, joints[keep], scores[keep], ids))
    if not any(len(f.keypoints) for f in frames):
        raise InputError(f"{source}: no people with any keypoint in any frame")
    return KeypointFile(source, format, read.layout, tuple(frames), read.width, read.height, read.fps)


def split_people(keypoints: KeypointFile) -> list[PersonKeypoints]:
    """Per-person arrays of a keypoint file, ordered by id.

    With track ids, each id is a person (frames where they appear). Without, every frame must hold
    at most one detection: that is person 0. Raises ``InputError`` otherwise (a tracker must pick).
    """
    tracks: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for frame in keypoints.frames:
        if frame.ids is None:
            if len(frame.keypoints) > 1:
                raise InputError(f"{keypoints.source}: frame {frame.frame} holds {len(frame.keypoints)} people "
                                 "and the file has no track ids; follow one with a tracker")
            ids = [0] * len(frame.keypoints)
        else:
            ids = frame.ids.tolist()
        for person, joints, scores in zip(ids, frame.keypoints, frame.scores):
            tracks.setdefault(int(person), []).append((frame.frame, joints, scores))
    return [PersonKeypoints(person, np.array([t[0] for t in track], dtype=np.int64),
                            np.stack([t[1] for t in track]), np.stack([t[2] for t in track]))
            for person, track in sorted(tracks.items())]


def read_poses(path: str | os.PathLike) -> np.ndarray:
    """3D poses (T, J, 3) float64 of an npz (array 'poses', or its only array) or an npy file.

    Meters, camera frame, Human3.6M joint order, as upstream BLAPose's ``inference.py --poses`` reads
    them. Raises ``InputError`` for another shape, non-finite values or lengths that look like
    millimetres.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() == ".npy":
        try:
            poses = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise InputError(f"{path}: not a plain numeric npy array ({error})") from None
    else:
        content = load_npz(path)
        if "poses" in content:
            poses = content["poses"]
        elif len(content) == 1:
            poses = next(iter(content.values()))
        else:
            raise InputError(f"{path}: no array 'poses' (has {', '.join(sorted(content)) or 'nothing'})")
    if not isinstance(poses, np.ndarray) or poses.dtype.kind not in "fiu":
        raise InputError(f"{path}: poses are not a numeric array")
    if poses.ndim != 3 or poses.shape[1:] != (H36M.num_joints, 3) or len(poses) == 0:
        raise InputError(f"{path}: poses have shape {poses.shape}, expected (T, {H36M.num_joints}, 3)")
    poses = poses.astype(np.float64)
    if not np.isfinite(poses).all():
        bad = np.flatnonzero(~np.isfinite(poses).all(axis=(1, 2)))
        raise InputError(f"{path}: poses hold non-finite values (first in frame {bad[0]})")
    median = float(np.median(bone_lengths(poses)))
    if median > 5.0:
        raise InputError(f"{path}: median bone length {median:.1f} looks like millimetres; expected meters")
    return poses
