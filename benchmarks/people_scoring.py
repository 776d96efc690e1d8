"""Scores of a multi-person run: which output person follows which real person, and how well.

A run is a list of ``FollowedPerson`` (an output person: the video frames it covers, its 2D keypoints,
optionally its 3D poses and bone lengths); output ids are their places in the list. Two kinds of truth:

(a) Hand-labelled boxes (``sports2d_people.json``): per labelled frame, a box (x0, y0, x1, y1 pixels of
    the full frame) around each person in view, null when out of view.
(b) The multi-view reference (``multiview_reference.py``): each person triangulated from four calibrated
    views; re-projected into a camera it gives that person's box in every frame, and in that camera's
    frame the 3D joints the output's 3D is compared with.

Matching: in a frame, the output person covering a real person is, for (a), the one whose keypoint box
(around its finite keypoints) has the largest IoU with the real person's box, if at least ``MIN_IOU``;
for (b), where the person's joints are known, the one with the most keypoints near theirs (PCK, at
least ``MIN_PCK``), which tells apart two people whose boxes overlap. Each real person is matched on
their own, so one output person may cover two.

Scores per real person (and camera, for (b)):

- frames followed (%): share of the frames the person is in view in which some output person matches;
- identity switches: times the matched output id changes between consecutive matched frames, plus
  (counted for the video, not per person) the frames in which one output id matches two real people;
- (b) P-MPJPE (m inside; mm in reports) of the matched output's ``poses_3d`` (and
  ``poses_3d_adjusted``) on the 12 limb joints against the person's reference in the camera's frame,
  per frame after a similarity alignment, averaged over the matched frames (as ``eval_wild_multiview``);
- (b) limb length error (m): mean absolute error over thighs, shins, upper arms and forearms of the
  lengths of the output person that matches the real person most often (its ``bone_lengths`` when given,
  else the per-bone median of its own ``poses_3d`` over the frames where it matches) against the
  reference's median lengths.

Glossary: T frames of the video, T_k frames of output person k, J keypoints, L MediaPipe landmarks (33).
3D poses are Human3.6M's 17 joints (``blapose.skeleton.H36M``), meters, any origin and rotation (P-MPJPE
aligns them). ``python benchmarks/people_scoring.py`` runs the self-check on hand-made cases.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: A real person is covered by an output person whose keypoint box overlaps theirs at least this much.
MIN_IOU = 0.3
#: ... or, where their joints are known (the reference), whose keypoints are at least this share within
#: PCK_RADIUS times the person's box height of theirs.
MIN_PCK, PCK_RADIUS = 0.5, 0.1
#: Reference landmarks whose triangulation re-projects within this (pixels) place the person's box.
BOX_MAX_REPROJECTION_ERROR = 15.0
LABELS = Path(__file__).resolve().parent / "sports2d_people.json"


@dataclass
class FollowedPerson:
    """One output person: frames (T_k,) int video frames, keypoints_2d (T_k, J, 2) pixels of the full frame
    (NaN where unknown); optional poses_3d and poses_3d_adjusted (T_k, 17, 3) meters (Human3.6M joints,
    any origin) and bone_lengths (16,) meters."""

    frames: np.ndarray
    keypoints_2d: np.ndarray
    poses_3d: np.ndarray | None = None
    poses_3d_adjusted: np.ndarray | None = None
    bone_lengths: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=int)
        self.keypoints_2d = np.asarray(self.keypoints_2d, dtype=np.float64)
        shape = self.keypoints_2d.shape
        if len(shape) != 3 or shape[-1] != 2 or shape[0] != len(self.frames):
            raise ValueError(f"keypoints_2d must be (T_k, J, 2) with T_k = {len(self.frames)} frames, "
                             f"got {self.keypoints_2d.shape}")
        for name in ("poses_3d", "poses_3d_adjusted"):
            poses = getattr(self, name)
            if poses is not None and (np.shape(poses)[0] != len(self.frames) or np.shape(poses)[1:] != (17, 3)):
                raise ValueError(f"{name} must be (T_k, 17, 3) with T_k = {len(self.frames)}, got {np.shape(poses)}")


@dataclass
class Following:
    """How one real person was followed: matched output id per truth frame (-1: none), the similarity
    (IoU or PCK, see ``follow``) of the best output person."""

    frames: np.ndarray
    matched: np.ndarray
    similarity: np.ndarray

    @property
    def followed(self) -> float:
        """Share (%) of the truth frames with a match."""
        return 100.0 * float((self.matched >= 0).mean()) if len(self.matched) else float("nan")

    @property
    def switches(self) -> int:
        """Changes of the matched output id between consecutive matched frames."""
        ids = self.matched[self.matched >= 0]
        return int((ids[1:] != ids[:-1]).sum())

    @property
    def main_id(self) -> int:
        """The output id matched most often (-1 when none)."""
        ids = self.matched[self.matched >= 0]
        return int(np.bincount(ids).argmax()) if len(ids) else -1


@dataclass
class PeopleScores:
    """Per real person their ``Following``; ``shared``: (frame, output id) pairs matching two or more people."""

    people: dict[str, Following]
    shared: int = 0
    extra: dict[str, dict] = field(default_factory=dict)

    @property
    def switches(self) -> int:
        """Identity switches of the video: each person's id changes plus the shared frames."""
        return sum(following.switches for following in self.people.values()) + self.shared


def keypoint_boxes(keypoints: np.ndarray) -> np.ndarray:
    """Boxes (..., 4) x0, y0, x1, y1 around the finite keypoints (..., J, 2); NaN where none is finite."""
    finite = np.isfinite(keypoints).all(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"), _quiet():
        low = np.nanmin(np.where(finite, keypoints, np.nan), axis=-2)
        high = np.nanmax(np.where(finite, keypoints, np.nan), axis=-2)
    return np.concatenate([low, high], axis=-1)


class _quiet:
    """Silences numpy's all-NaN slice warnings inside a ``with``."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)


def _area(box: np.ndarray) -> np.ndarray:
    return np.clip(box[..., 2] - box[..., 0], 0, None) * np.clip(box[..., 3] - box[..., 1], 0, None)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes (..., 4) and (..., 4) (broadcast); 0 where either is NaN or empty."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    width = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    height = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    union = _area(a) + _area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.nan_to_num(iou, nan=0.0)


def output_boxes(people: list[FollowedPerson], frames: np.ndarray) -> np.ndarray:
    """(K, F, 4) keypoint boxes of each output person at the given video frames (F,); NaN where absent."""
    boxes = np.full((len(people), len(frames), 4), np.nan)
    for k, person in enumerate(people):
        index = {int(frame): i for i, frame in enumerate(person.frames)}
        rows = [index.get(int(frame), -1) for frame in frames]
        own = keypoint_boxes(person.keypoints_2d)
        for f, row in enumerate(rows):
            if row >= 0:
                boxes[k, f] = own[row]
    return boxes


def output_pck(people: list[FollowedPerson], frames: np.ndarray, keypoints: np.ndarray, boxes: np.ndarray
               ) -> np.ndarray:
    """(K, F) share of each output person's finite keypoints within ``PCK_RADIUS`` times the real person's
    box height of that person's own joints, left and right as labelled or exchanged (the better; an
    exchanged skeleton still follows the person): keypoints (F, 33, 2) MediaPipe landmarks, pixels, mapped
    to Human3.6M joints for an output with 17 keypoints (any other count: no match, 0)."""
    from blapose.skeleton import H36M
    from blapose.video.landmarks import MEDIAPIPE_LANDMARKS, NUM_LANDMARKS, landmarks_to_h36m

    swap = lambda name: name.replace("left", "#").replace("right", "left").replace("#", "right")  # noqa: E731
    mirror = {NUM_LANDMARKS: [MEDIAPIPE_LANDMARKS.index(swap(name)) for name in MEDIAPIPE_LANDMARKS],
              17: [H36M.joint_names.index({"L": "R", "R": "L"}.get(name[0], name[0]) + name[1:])
                   if name[0] in "LR" and name[1].isupper() else i for i, name in enumerate(H36M.joint_names)]}
    radius = PCK_RADIUS * (boxes[:, 3] - boxes[:, 1])
    pck = np.zeros((len(people), len(frames)))
    for k, person in enumerate(people):
        joints = person.keypoints_2d.shape[1]
        if joints not in (NUM_LANDMARKS, 17):
            continue
        truth = keypoints if joints == NUM_LANDMARKS else landmarks_to_h36m(keypoints)
        index = {int(frame): i for i, frame in enumerate(person.frames)}
        for f, frame in enumerate(frames):
            row = index.get(int(frame), -1)
            if row < 0:
                continue
            for order in (slice(None), mirror[joints]):  # left and right as labelled, or exchanged
                distance = np.linalg.norm(person.keypoints_2d[row] - truth[f][order], axis=-1)
                finite = np.isfinite(distance)
                if finite.any():
                    pck[k, f] = max(pck[k, f], (distance[finite] <= radius[f]).mean())
    return pck


def follow(people: list[FollowedPerson], truth: dict[str, tuple]) -> PeopleScores:
    """Match output people to real people.

    truth: per real person, (frames (F,) int video frames in which they are in view, boxes (F, 4) pixels)
    or (frames, boxes, keypoints (F, 33, 2) pixels of their MediaPipe landmarks). With boxes alone the
    output person of largest keypoint-box IoU covers them if it reaches ``MIN_IOU``; with keypoints, the
    output person of largest ``output_pck`` if it reaches ``MIN_PCK``.
    """
    scores, claims = {}, {}
    for name, (frames, boxes, *keypoints) in truth.items():
        frames, boxes = np.asarray(frames, dtype=int), np.asarray(boxes, dtype=np.float64)
        if people and len(frames):
            if keypoints:
                similarity, least = output_pck(people, frames, np.asarray(keypoints[0]), boxes), MIN_PCK
            else:
                similarity, least = box_iou(output_boxes(people, frames), boxes[None]), MIN_IOU
            best = similarity.argmax(axis=0)
            best_similarity = similarity[best, np.arange(len(frames))]
            matched = np.where(best_similarity >= least, best, -1)
        else:
            best_similarity, matched = np.zeros(len(frames)), np.full(len(frames), -1)
        scores[name] = Following(frames, matched, best_similarity)
        for frame, k in zip(frames, matched):
            if k >= 0:
                claims.setdefault((int(frame), int(k)), []).append(name)
    return PeopleScores(scores, sum(len(names) > 1 for names in claims.values()))


def load_labels(path: str | Path = LABELS) -> tuple[dict, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The labels file: (its header without frames, per person (frames (F,), boxes (F, 4)) in view)."""
    data = json.loads(Path(path).read_text())
    truth = {}
    for person in data["people"]:
        frames = sorted((int(frame), box[person]) for frame, box in data["frames"].items() if box.get(person))
        truth[person] = (np.array([f for f, _ in frames], dtype=int),
                         np.array([b for _, b in frames], dtype=np.float64).reshape(-1, 4))
    header = {key: value for key, value in data.items() if key != "frames"}
    return header, truth


def score_labels(people: list[FollowedPerson], path: str | Path = LABELS) -> PeopleScores:
    """(a): ``follow`` against the hand-labelled boxes."""
    return follow(people, load_labels(path)[1])


# --- (b) the multi-view reference -----------------------------------------------------------------------

def reference_pixels(camera, landmarks_world: np.ndarray) -> np.ndarray:
    """Landmarks (T, L, 3) meters world frame -> (T, L, 2) pixels of the camera's (distorted) image."""
    import cv2

    points = camera.to_camera(landmarks_world).reshape(-1, 3)
    image, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), camera.intrinsic, camera.distortion)
    return image.reshape(landmarks_world.shape[:2] + (2,))


def reference_truth(camera, reference) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``multiview_reference.Reference`` person seen by ``camera``: the frames (F,) in which they are in
    view (the centre of their box inside the image), their boxes (F, 4) pixels around the well triangulated
    landmarks, and their re-projected landmarks (F, 33, 2) pixels."""
    pixels = reference_pixels(camera, reference.landmarks)
    trusted = reference.reprojection_error <= BOX_MAX_REPROJECTION_ERROR
    few = trusted.sum(axis=1) < 4
    trusted[few] = True
    boxes = keypoint_boxes(np.where(trusted[..., None], pixels, np.nan))
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    width, height = camera.size
    inside = (centre[:, 0] >= 0) & (centre[:, 0] < width) & (centre[:, 1] >= 0) & (centre[:, 1] < height)
    return np.flatnonzero(inside), boxes[inside], pixels[inside]


def _poses_at(people: list[FollowedPerson], following: Following, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The matched outputs' poses (M, 17, 3) at the matched truth frames, and those frames' rows (M,)."""
    rows, poses = [], []
    for row, (frame, k) in enumerate(zip(following.frames, following.matched)):
        person = people[k] if k >= 0 else None
        values = None if person is None else getattr(person, key)
        if values is None:
            continue
        index = np.flatnonzero(person.frames == frame)
        rows.append(row)
        poses.append(values[index[0]])
    return np.array(poses).reshape(-1, 17, 3), np.array(rows, dtype=int)


def person_lengths(people: list[FollowedPerson], following: Following) -> np.ndarray | None:
    """Lengths (16,) meters of the output person matching a real person most often: its ``bone_lengths``
    when given, else the per-bone median of its own ``poses_3d`` over the frames where it matches."""
    from blapose.lengths.reference import median_lengths

    k = following.main_id
    if k < 0:
        return None
    person = people[k]
    if person.bone_lengths is not None:
        return np.asarray(person.bone_lengths, dtype=np.float64)
    if person.poses_3d is None:
        return None
    frames = following.frames[following.matched == k]
    return median_lengths(person.poses_3d[np.isin(person.frames, frames)])


def score_reference(people: list[FollowedPerson], camera, references: dict) -> PeopleScores:
    """(b): ``follow`` against each reference person re-projected into ``camera``, plus per person
    ``extra[name]`` = {"p_mpjpe", "p_mpjpe_adjusted", "limb_error"} in meters (NaN where not measurable).

    references: by person name, a ``multiview_reference.Reference`` (landmarks (T, 33, 3) world frame).
    """
    from blapose.bones import bone_lengths, symmetrize_lengths
    from blapose.metrics import p_mpjpe_per_frame
    from blapose.skeleton import H36M
    from blapose.video.landmarks import landmarks_to_h36m
    from eval_wild_multiview import LIMB_JOINTS, limb_error

    scores = follow(people, {name: reference_truth(camera, reference) for name, reference in references.items()})
    joints = [H36M.joint_names.index(joint) for joint in LIMB_JOINTS]
    for name, reference in references.items():
        world = landmarks_to_h36m(reference.landmarks)
        target = camera.to_camera(world)[scores.people[name].frames]
        lengths = symmetrize_lengths(np.median(bone_lengths(world), axis=0))
        row = {}
        for key in ("poses_3d", "poses_3d_adjusted"):
            poses, rows = _poses_at(people, scores.people[name], key)
            error = p_mpjpe_per_frame(poses[:, joints], target[rows][:, joints]) if len(rows) else np.array([np.nan])
            row["p_mpjpe" if key == "poses_3d" else "p_mpjpe_adjusted"] = float(np.mean(error))
        own = person_lengths(people, scores.people[name])
        row["limb_error"] = float("nan") if own is None else limb_error(own, lengths)
        scores.extra[name] = row
    return scores


# --- self-check on hand-made cases ----------------------------------------------------------------------

def _walker(frames: np.ndarray, x0: float, speed: float, size: float = 100.0) -> np.ndarray:
    """Keypoints (T, 4, 2): the corners of a square of ``size`` pixels moving right at ``speed`` px/frame."""
    left = x0 + speed * frames[:, None]
    corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float64) * size
    return corners[None] + np.stack([left[:, 0], np.full(len(frames), 100.0)], axis=1)[:, None]


def self_check() -> None:
    """Hand-made cases with known answers; raises AssertionError on a wrong one."""
    frames = np.arange(0, 100)
    a, b = _walker(frames, 0, 2), _walker(frames, 600, -2)  # cross at frame 150: never within 100 frames
    truth = {"A": (frames[::10], keypoint_boxes(a[::10])), "B": (frames[::10], keypoint_boxes(b[::10]))}

    perfect = follow([FollowedPerson(frames, a), FollowedPerson(frames, b)], truth)
    assert [s.followed for s in perfect.people.values()] == [100.0, 100.0] and perfect.switches == 0

    reordered = follow([FollowedPerson(frames, b), FollowedPerson(frames, a)], truth)
    assert [s.main_id for s in reordered.people.values()] == [1, 0] and reordered.switches == 0

    half = frames < 50  # output 0 is A then B, output 1 is B then A: one switch each
    swapped = follow([FollowedPerson(frames, np.where(half[:, None, None], a, b)),
                      FollowedPerson(frames, np.where(half[:, None, None], b, a))], truth)
    assert [s.switches for s in swapped.people.values()] == [1, 1] and swapped.switches == 2

    only_a = follow([FollowedPerson(frames[:30], a[:30])], truth)  # A for 30 frames (3 labels), B never
    assert only_a.people["A"].followed == 30.0 and only_a.people["B"].followed == 0.0 and only_a.switches == 0

    both = np.concatenate([a, b], axis=1)  # one output spanning both people's keypoints
    merged = follow([FollowedPerson(frames, both)], {"A": truth["A"], "B": (frames[::10], keypoint_boxes(b[::10]))})
    assert all(s.followed == 0 for s in merged.people.values()) and merged.switches == 0  # IoU below MIN_IOU

    near = keypoint_boxes(a[::10])  # two real people in the same place: one output covers both
    shared = follow([FollowedPerson(frames, a)], {"A": (frames[::10], near), "A2": (frames[::10], near)})
    assert shared.shared == 10 and shared.switches == 10

    assert follow([], truth).people["A"].followed == 0.0

    rng = np.random.default_rng(1)  # two people in the same box, told apart by their joints
    first, second = rng.uniform(0, 200, size=(2, 10, 33, 2))
    box = np.tile([0.0, 0.0, 200.0, 200.0], (10, 1))
    same_box = follow([FollowedPerson(frames[:10], second)],
                      {"A": (frames[:10], box, first), "B": (frames[:10], box, second)})
    assert same_box.people["A"].followed == 0.0 and same_box.people["B"].followed == 100.0
    from blapose.video.landmarks import MEDIAPIPE_LANDMARKS

    mirrored = [MEDIAPIPE_LANDMARKS.index(name.replace("left", "#").replace("right", "left").replace("#", "right"))
                for name in MEDIAPIPE_LANDMARKS]
    exchanged = follow([FollowedPerson(frames[:10], second[:, mirrored])], {"B": (frames[:10], box, second)})
    assert exchanged.people["B"].followed == 100.0  # left and right exchanged: still the same person

    assert np.isclose(box_iou([0, 0, 2, 2], [1, 1, 3, 3]), 1 / 7) and box_iou([0, 0, 1, 1], [np.nan] * 4) == 0
    _check_reference_scores()
    print("people_scoring self-check: all cases pass")


def _check_reference_scores() -> None:
    """P-MPJPE 0 and limb error 0 for an output that is the reference seen through the camera, similarity
    transformed; the man's output id follows him and not the woman."""
    from blapose.video.landmarks import landmarks_to_h36m
    from multiview_reference import CalibratedCamera, Reference

    rng = np.random.default_rng(0)
    frames = np.arange(20)
    camera = CalibratedCamera("cam", np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]]), np.zeros(4),
                              np.eye(3), np.array([0.0, 0.0, 5.0]), (1000, 1000))
    body = rng.normal(scale=0.3, size=(33, 3))
    references = {}
    for name, shift in (("man", -0.8), ("woman", 0.8)):
        landmarks = body[None] + np.array([shift, 0, 0]) + rng.normal(scale=0.01, size=(len(frames), 33, 3))
        references[name] = Reference([camera], landmarks, np.zeros((len(frames), 33)), np.full((len(frames), 33), 4),
                                     np.zeros((1, len(frames)), dtype=bool), {}, {}, 60.0)
    people = []
    for name in ("woman", "man"):
        landmarks = references[name].landmarks
        poses = 1.7 * camera.to_camera(landmarks_to_h36m(landmarks)) @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]).T
        people.append(FollowedPerson(frames, reference_pixels(camera, landmarks), poses_3d=poses))
    scores = score_reference(people, camera, references)
    assert scores.people["man"].main_id == 1 and scores.people["woman"].main_id == 0 and scores.switches == 0
    for name in ("man", "woman"):
        assert scores.extra[name]["p_mpjpe"] < 1e-6, scores.extra
        assert np.isnan(scores.extra[name]["p_mpjpe_adjusted"])
        # the poses are 1.7 times the reference: lengths differ by 0.7 times the reference's
        lengths = scores.extra[name]["limb_error"]
        assert lengths > 0.05, lengths
    people[1].bone_lengths = _reference_lengths(references["man"])
    assert score_reference(people, camera, references).extra["man"]["limb_error"] < 1e-9


def _reference_lengths(reference) -> np.ndarray:
    from blapose.bones import bone_lengths, symmetrize_lengths
    from blapose.video.landmarks import landmarks_to_h36m

    return symmetrize_lengths(np.median(bone_lengths(landmarks_to_h36m(reference.landmarks)), axis=0))


if __name__ == "__main__":
    self_check()
