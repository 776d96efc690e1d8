"""Each person's 2D track, ready for lifting, from MediaPipe's landmarks or another detector's keypoint file.

From MediaPipe (``from_landmarks``): the sides put right (``swaps.fix_swaps``, which needs MediaPipe's
3D), the 33 landmarks mapped to the 17 joints, frames without a detection filled between their
neighbours (``landmarks.fill_gaps``). From a keypoint file (``keypoint_tracks``): the people by the
file's track ids when every frame has them, else followed by ``tracking.track_detections`` and the
finished tracks of a file without ids joined by time and place (``stitching``, ``KEYPOINT_STITCH``); each
joint the file misses is filled in time from the frames that have it (a joint missing in all of a
person's frames stands on its parent joint) and scored 0. No swap repair (no 3D to judge by).
``choose_people`` keeps those followed long enough and, on request, the N followed longest;
``person_in_box`` picks the person a box names.

Glossary: T_k frames of person k's span (contiguous video frames from their first to their last
detection), J joints (17, Human3.6M order), L landmarks (33, MediaPipe order). Keypoints are pixels
of the video frame (x right, y down); MediaPipe's world landmarks are meters, origin at the
mid-hips, camera-aligned (x right, y down, z away from the camera).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..skeleton import H36M
from .keypoint_files import KeypointFile, split_people
from .landmarks import fill_gaps, landmarks_to_h36m
from .stitching import StitchOptions, Tracklet, stitch_tracklets
from .swaps import fix_swaps
from .tracking import TrackerOptions, ids_to_tracks, track_detections

#: Joining the tracks of a keypoint file without ids, on time and place alone (no colour, no metric
#: 3D): the later track starts within half a body size of where the earlier one ended (plus 2 body
#: sizes per second of the gap), at most a second later, and no other track could as well be the
#: earlier one's successor or the later one's predecessor (margin of half the reach).
KEYPOINT_STITCH = StitchOptions(reach=0.5, max_speed=2.0, max_gap=1.0, place_weight=1.0, margin=0.5)
#: Frame rate assumed for the stitching gates when neither the caller nor the file gives one.
ASSUMED_FPS = 30.0


@dataclass
class Track2D:
    """One person's 2D over their span.

    person: the detector's or the file's id. frames (T_k,) int64: contiguous video frames.
    keypoints (T_k, J, 2) float64 pixels, every joint filled. scores (T_k, J) float64 in [0, 1]: the
    detector's confidence, 0 where the joint was missing or the frame filled. detected (T_k,) bool:
    False where the person was not found and the frame was filled in. world (T_k, J, 3) float64
    meters: MediaPipe's metric 3D as joints, filled like the keypoints (None for a keypoint file).
    swapped (T_k,) bool: frames whose left and right were put back (None where not repaired).
    """

    person: int
    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    detected: np.ndarray
    world: np.ndarray | None = None
    swapped: np.ndarray | None = None


def from_landmarks(person: int, frames: np.ndarray, detected: np.ndarray, pixels: np.ndarray,
                   visibility: np.ndarray, world: np.ndarray) -> Track2D:
    """A MediaPipe person (``people.PersonLandmarks``' fields: frames (T_k,), detected (T_k,), pixels
    (T_k, L, 2), visibility (T_k, L), world (T_k, L, 3)) with sides put right, mapped and filled."""
    detected = np.asarray(detected, dtype=bool)
    sides = fix_swaps(pixels, visibility, world, detected)
    keypoints = fill_gaps(landmarks_to_h36m(sides.pixels), detected)
    scores = landmarks_to_h36m(sides.visibility[..., None])[..., 0] * detected[:, None]
    joints_world = fill_gaps(landmarks_to_h36m(sides.world), detected)
    return Track2D(int(person), np.asarray(frames, dtype=np.int64), keypoints, scores, detected, joints_world,
                   sides.exchanged)


def fill_joints(keypoints: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Keypoints (T, J, 2) with the joints where ``present`` (T, J) bool is False filled in.

    A joint present in some frames is interpolated linearly in time between them (held before the
    first and after the last); a joint present in none stands on its parent joint (the root, on the
    mean of the joints that are present). At least one joint must be present somewhere.
    """
    keypoints = np.array(keypoints, dtype=np.float64)
    present = np.asarray(present, dtype=bool)
    if not present.any():
        raise InputError("no keypoint of this person is present in any frame")
    never = ~present.any(axis=0)
    for joint in np.flatnonzero(~never):
        keypoints[:, joint] = fill_gaps(keypoints[:, joint], present[:, joint])
    for joint in np.flatnonzero(never):  # parents come before their children in H36M's order
        parent = H36M.parents[joint]
        keypoints[:, joint] = keypoints[:, ~never].mean(axis=1) if parent < 0 else keypoints[:, parent]
    return keypoints


def _track(person: int, frames: np.ndarray, keypoints: np.ndarray, scores: np.ndarray) -> Track2D:
    """A person's detections at video ``frames`` (N,) increasing, keypoints (N, J, 2) NaN where
    missing, scores (N, J), laid over their contiguous span and filled."""
    span = np.arange(frames[0], frames[-1] + 1, dtype=np.int64)
    rows = frames - frames[0]
    detected = np.zeros(len(span), dtype=bool)
    detected[rows] = True
    points = np.full((len(span), H36M.num_joints, 2), np.nan)
    points[rows] = keypoints
    confidence = np.zeros((len(span), H36M.num_joints))
    confidence[rows] = np.where(np.isfinite(keypoints).all(axis=-1), scores, 0.0)
    present = (confidence > 0) & np.isfinite(points).all(axis=-1)
    return Track2D(int(person), span, fill_joints(points, present), np.where(present, confidence, 0.0), detected)


def keypoint_tracks(keypoints: KeypointFile, first: int = 0, stop: int | None = None,
                    fps: float | None = None) -> list[Track2D]:
    """The people of a keypoint file in video frames [first, stop), ordered by their first frame.

    People are the file's track ids when every frame with detections has them, or the one person
    of a file with at most one detection a frame; otherwise ``tracking.track_detections`` follows
    the detections (missing keypoints count with score 0) and, in a file with no ids at all, tracks
    that never share a frame are joined by ``stitching.stitch_tracklets`` with ``KEYPOINT_STITCH``
    (its gates in seconds at ``fps``: the video's rate, else the file's, else ``ASSUMED_FPS``).
    Where the file has a joint, the track keeps its keypoint exactly.
    """
    frames = tuple(f for f in keypoints.frames if f.frame >= first and (stop is None or f.frame < stop))
    if not any(len(f.keypoints) for f in frames):
        raise InputError(f"{keypoints.source}: no person in the chosen frames")
    listed = [f for f in frames if len(f.keypoints)]
    if all(f.ids is not None for f in listed) or max(len(f.keypoints) for f in listed) <= 1:
        people = split_people(dataclasses.replace(keypoints, frames=tuple(listed)))
        tracks = [_track(p.id, p.frames, p.keypoints, p.scores) for p in people]
    else:
        rate = fps if fps is not None else keypoints.fps if keypoints.fps is not None else ASSUMED_FPS
        tracks = _tracked(listed, rate)
    return sorted(tracks, key=lambda track: (int(track.frames[0]), track.person))


def _tracked(listed: Sequence, fps: float) -> list[Track2D]:
    """Tracks of detections without ids in some frames (``FrameDetections`` with N_t people, increasing
    frames); with no ids at all, finished tracks joined by time and place (``KEYPOINT_STITCH``)."""
    start = listed[0].frame
    count = listed[-1].frame - start + 1
    joints = H36M.num_joints
    empty = (np.zeros((0, joints, 2)), np.zeros((0, joints)))
    per_frame = [empty] * count
    for f in listed:
        per_frame[f.frame - start] = (f.keypoints, f.scores)
    given_ids = [np.full(len(k), -1) for k, _ in per_frame] if any(f.ids is not None for f in listed) else None
    if given_ids is not None:
        for f in listed:
            if f.ids is not None:
                given_ids[f.frame - start] = f.ids
    ids = track_detections([np.nan_to_num(k) for k, _ in per_frame], [s for _, s in per_frame], ids=given_ids)
    people = ids_to_tracks(ids)
    if given_ids is None and len(people) > 1:
        people = _joined(people, per_frame, fps)
    tracks = []
    for track_id, members in people.items():
        rows = np.array([t for t, _ in members])
        points = np.stack([per_frame[t][0][d] for t, d in members])
        scores = np.stack([per_frame[t][1][d] for t, d in members])
        tracks.append(_track(track_id, rows + start, points, scores))
    return tracks


def _joined(people: dict[int, list[tuple[int, int]]], per_frame: Sequence[tuple[np.ndarray, np.ndarray]],
            fps: float) -> dict[int, list[tuple[int, int]]]:
    """Tracks (id -> (row, detection) pairs in increasing rows, ``tracking.ids_to_tracks``) of detections
    ``per_frame`` ((N_t, J, 2) pixels NaN where missing, (N_t, J) scores) joined into people by
    ``stitching.stitch_tracklets``; each person keeps the smallest id of their tracks."""
    ids = sorted(people)
    tracklets = []
    for track_id in ids:
        points = np.stack([per_frame[t][0][d] for t, d in people[track_id]])
        scores = np.stack([per_frame[t][1][d] for t, d in people[track_id]])
        missing = ~np.isfinite(points).all(axis=-1)
        tracklets.append(Tracklet(np.array([t for t, _ in people[track_id]]), np.nan_to_num(points),
                                  np.where(missing, 0.0, scores)))
    groups = stitch_tracklets(tracklets, fps, KEYPOINT_STITCH, TrackerOptions().min_score)
    joined: dict[int, list[tuple[int, int]]] = {}
    first: dict[int, int] = {}
    for track_id, group in zip(ids, groups):
        joined.setdefault(first.setdefault(group, track_id), []).extend(people[track_id])
    return {track_id: sorted(members) for track_id, members in joined.items()}


def choose_people(tracks: Sequence[Track2D], count: str | int, min_frames: int) -> list[Track2D]:
    """The tracks detected in at least ``min_frames`` frames; with ``count`` an int, the ``count`` of
    them detected in the most frames. Ordered by first frame, as given."""
    kept = [track for track in tracks if int(track.detected.sum()) >= min_frames]
    if count != "all":
        longest = sorted(range(len(kept)), key=lambda k: -int(kept[k].detected.sum()))[:int(count)]
        kept = [kept[k] for k in sorted(longest)]
    return kept


def person_in_box(tracks: Sequence[Track2D], box: Sequence[float]) -> Track2D:
    """The track with most of its present joints inside ``box`` (x0, y0, x1, y1) pixels in the first
    frame anyone is detected in; ``InputError`` when no one has a joint there."""
    x0, y0, x1, y1 = box
    first = min(int(track.frames[track.detected][0]) for track in tracks)
    best, most = None, 0
    for track in tracks:
        row = first - int(track.frames[0])
        if row < 0 or row >= len(track.frames) or not track.detected[row]:
            continue
        points, present = track.keypoints[row], track.scores[row] > 0
        inside = int((present & (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0)
                      & (points[:, 1] <= y1)).sum())
        if inside > most:
            best, most = track, inside
    if best is None:
        raise InputError(f"--person-box {','.join(f'{v:g}' for v in box)}: no person's keypoints lie in it "
                         f"in frame {first}, the first with a person")
    return best
