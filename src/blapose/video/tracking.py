"""Following people across frames: per-frame detections -> one identity per person.

Works on any detector's output: per frame t, keypoints (N_t, K, 2) pixels with scores (N_t, K)
(MediaPipe's 33 landmarks and visibilities, or K = 17 from OpenPose, AlphaPose ... in Human3.6M
order), optionally an appearance feature (N_t, F) per detection (``blapose.video.appearance``:
colour histograms of the clothes) and optionally identities given by the input.

Each frame is matched in two global assignments (``scipy.optimize.linear_sum_assignment``, never
greedy):

1. detections <-> tracks seen in the last ``max_gap`` frames of this scene: the cost is the
   score-weighted mean distance between the detection's keypoints and the track's keypoints
   predicted with a constant velocity, in units of the track's body size (the longest side of its
   keypoints' box), plus ``appearance_weight`` times the appearance distance; pairs farther than
   the motion gate (``motion_gate`` plus ``gate_growth`` per frame missed) cannot match;
2. the detections left <-> every other track (hidden longer, out of the frame, or seen before a
   scene cut): appearance only, up to ``reid_gate``; a track that has no appearance cannot be
   re-identified.

Detections left after both start new tracks. A scene cut (``cut=True``; ``appearance.scene_cut``
finds them from frame histograms) ends every track's motion: after it people are matched by
appearance alone, so the same person is recognised in the next shot and two people are never mixed.

Appearance distance: Hellinger distance ``sqrt(1 - sum(sqrt(p * q)))`` in [0, 1] between features
normalised to sum 1 (histograms). A track's appearance is the running mean of its detections'.

Glossary: N detections in a frame, K keypoints, F appearance features. Track ids are 0, 1, 2 ...
in the order tracks start; -1 marks a detection left out (too few confident keypoints, or a
duplicate of a better detection of the same person).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

#: Frames a track's keypoints are carried forward with its velocity; later they stay there.
MAX_EXTRAPOLATION = 5
#: Cost of a pair that may not match (any value above every gate).
_FORBIDDEN = 1e6


@dataclass(frozen=True)
class TrackerOptions:
    """How detections are matched to tracks (distances in body sizes, appearance in [0, 1]).

    min_score: a keypoint counts when its score is at least this; a detection needs
    ``min_keypoints`` such keypoints. motion_gate, gate_growth: farthest keypoint distance (body
    sizes) for a motion match, growing by ``gate_growth`` per frame the track was missed.
    max_gap: frames after its last detection that a track is still matched by motion.
    appearance_weight: weight of the appearance distance in the motion cost. reid_gate: largest
    appearance distance for re-identifying a track that is not followed by motion; reid_margin: how
    much nearer than any other hidden track (and than any other detection) a re-identified pair
    must be, so that two people who look alike start new tracks instead of being mixed. velocity_smoothing:
    weight of the previous velocity in the running velocity (0: last step only).
    duplicate_distance: two detections nearer than this (body sizes) are one person; the one with
    the higher mean score is kept.
    """

    min_score: float = 0.5
    min_keypoints: int = 4
    motion_gate: float = 0.6
    gate_growth: float = 0.05
    max_gap: int = 15
    appearance_weight: float = 0.5
    reid_gate: float = 0.35
    reid_margin: float = 0.05
    velocity_smoothing: float = 0.5
    duplicate_distance: float = 0.15


@dataclass
class Track:
    """One followed person: the last keypoints (K, 2) pixels and scores (K,), velocity (K, 2) pixels
    per frame, appearance (F,) or None, frame of the last detection, detections so far, the
    identity the input gave (None when none) and the scene it was last seen in."""

    track_id: int
    keypoints: np.ndarray
    scores: np.ndarray
    last_frame: int
    scene: int
    velocity: np.ndarray | None = None
    appearance: np.ndarray | None = None
    count: int = 0
    given_id: int | None = None

    def predict(self, frame: int) -> np.ndarray:
        """Keypoints (K, 2) pixels expected at ``frame``: constant velocity from the last detection,
        for at most ``MAX_EXTRAPOLATION`` frames."""
        if self.velocity is None:
            return self.keypoints
        return self.keypoints + self.velocity * min(frame - self.last_frame, MAX_EXTRAPOLATION)

    def size(self, min_score: float) -> float:
        """Body size (pixels): the longest side of the box of the confident keypoints (all if < 2)."""
        return body_size(self.keypoints, self.scores, min_score)


def body_size(keypoints: np.ndarray, scores: np.ndarray, min_score: float) -> float:
    """Longest side (pixels) of the box of keypoints (K, 2) scoring at least ``min_score`` (all
    keypoints when fewer than 2 do), at least 1 pixel."""
    confident = scores >= min_score
    points = keypoints[confident] if confident.sum() >= 2 else keypoints
    return max(1.0, float(np.ptp(points, axis=0).max()))


def keypoint_distance(a: np.ndarray, a_scores: np.ndarray, b: np.ndarray, b_scores: np.ndarray,
                      size: float, min_score: float) -> float:
    """Mean distance between keypoints a (K, 2) and b (K, 2) pixels in units of ``size`` pixels,
    weighted by the smaller score of each pair; keypoints confident in neither count only when no
    pair is confident in both."""
    weights = np.minimum(a_scores, b_scores)
    if (weights >= min_score).sum() >= 2:
        weights = np.where(weights >= min_score, weights, 0.0)
    weights = weights + 1e-6
    return float((np.linalg.norm(a - b, axis=-1) * weights).sum() / weights.sum() / size)


def appearance_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance in [0, 1] between non-negative features a (F,) and b (F,), each normalised to sum 1."""
    a = a / max(a.sum(), 1e-12)
    b = b / max(b.sum(), 1e-12)
    return float(np.sqrt(max(0.0, 1.0 - np.sqrt(a * b).sum())))


def _check_frame(keypoints, scores, appearance, ids) -> tuple[np.ndarray, ...]:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
        raise InputError(f"keypoints have shape {keypoints.shape}, expected (N, K, 2)")
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != keypoints.shape[:2]:
        raise InputError(f"scores have shape {scores.shape}, expected {keypoints.shape[:2]}")
    if not np.isfinite(keypoints).all() or not np.isfinite(scores).all():
        raise InputError("keypoints or scores hold NaN or infinite values")
    if appearance is not None:
        appearance = np.asarray(appearance, dtype=np.float64)
        if appearance.ndim != 2 or len(appearance) != len(keypoints):
            raise InputError(f"appearance has shape {appearance.shape}, expected ({len(keypoints)}, F)")
    if ids is not None:
        ids = np.asarray(ids)
        if ids.shape != (len(keypoints),):
            raise InputError(f"ids have shape {ids.shape}, expected ({len(keypoints)},)")
        ids = ids.astype(np.int64)
    return keypoints, scores, appearance, ids


def assign(costs: np.ndarray, margin: float = 0.0) -> list[tuple[int, int]]:
    """Globally cheapest (row, column) pairs of a cost matrix (R, C) (``linear_sum_assignment``); an
    infinite cost, or ``_FORBIDDEN`` and above, forbids a pair. With ``margin``, a pair is kept only
    when its cost is lower by at least ``margin`` than every other allowed cost in its row and column,
    so that near ties are left unmatched instead of guessed."""
    allowed = np.isfinite(costs) & (costs < _FORBIDDEN)
    if not allowed.any():
        return []
    rows, cols = linear_sum_assignment(np.where(allowed, costs, _FORBIDDEN))
    pairs = []
    for r, c in zip(rows, cols):
        if not allowed[r, c]:
            continue
        rivals = np.concatenate([np.delete(costs[r], c), np.delete(costs[:, c], r)])
        if margin > 0 and (rivals < costs[r, c] + margin).any():
            continue
        pairs.append((int(r), int(c)))
    return pairs


@dataclass
class Tracker:
    """Online tracker: call ``update`` once per frame, in order; it returns each detection's track id."""

    options: TrackerOptions = field(default_factory=TrackerOptions)
    tracks: list[Track] = field(default_factory=list)
    frame: int = -1
    scene: int = 0

    def followed(self, frame: int | None = None) -> list[Track]:
        """Tracks still matched by motion at ``frame`` (default: the next one): seen in this scene
        within ``max_gap`` frames."""
        frame = self.frame + 1 if frame is None else frame
        return [track for track in self.tracks
                if track.scene == self.scene and frame - track.last_frame <= self.options.max_gap]

    def update(self, keypoints: np.ndarray, scores: np.ndarray, appearance: np.ndarray | None = None,
               ids: np.ndarray | None = None, cut: bool = False, frame: int | None = None) -> np.ndarray:
        """Assign one frame's detections to tracks; returns their track ids (N,) int64 (-1: left out).

        keypoints (N, K, 2) pixels; scores (N, K); appearance (N, F) non-negative or None; ids (N,)
        int identities given by the input (-1: none) or None: a detection with a given id joins the
        track that had it (or starts one), never another. cut: a scene cut before this frame.
        frame: this frame's index (default: the previous one plus 1).
        """
        keypoints, scores, appearance, ids = _check_frame(keypoints, scores, appearance, ids)
        frame = self.frame + 1 if frame is None else int(frame)
        if frame <= self.frame:
            raise InputError(f"frame {frame} does not come after frame {self.frame}")
        self.frame = frame
        if cut:
            self.scene += 1
        result = np.full(len(keypoints), -1, dtype=np.int64)
        candidates = self._candidates(keypoints, scores, ids)
        assigned: set[int] = set()

        if ids is not None:  # identities from the input decide first
            by_given = {track.given_id: track for track in self.tracks if track.given_id is not None}
            for d in [d for d in candidates if ids[d] >= 0]:
                track = by_given.get(int(ids[d]))
                if track is None or track.track_id in assigned:
                    track = self._start(keypoints[d], scores[d], None if appearance is None else appearance[d])
                    track.given_id = int(ids[d])
                else:
                    self._observe(track, keypoints[d], scores[d], None if appearance is None else appearance[d])
                assigned.add(track.track_id)
                result[d] = track.track_id
            candidates = [d for d in candidates if ids[d] < 0]

        free = [track for track in self.tracks if track.track_id not in assigned]
        moving = [track for track in free if track.scene == self.scene
                  and frame - track.last_frame <= self.options.max_gap]
        pairs = self._match(candidates, moving, lambda d, t: self._motion_cost(d, t, keypoints, scores, appearance))
        for d, track in pairs:
            self._observe(track, keypoints[d], scores[d], None if appearance is None else appearance[d])
            result[d] = track.track_id
        matched = {track.track_id for _, track in pairs}
        candidates = [d for d in candidates if result[d] < 0]

        hidden = [track for track in free if track.track_id not in matched and track not in moving]
        if appearance is not None:
            pairs = self._match(candidates, hidden, lambda d, t: self._reid_cost(d, t, appearance),
                                margin=self.options.reid_margin)
            for d, track in pairs:
                self._observe(track, keypoints[d], scores[d], appearance[d], restart=True)
                result[d] = track.track_id
            candidates = [d for d in candidates if result[d] < 0]

        for d in candidates:
            track = self._start(keypoints[d], scores[d], None if appearance is None else appearance[d])
            result[d] = track.track_id
        return result

    def _candidates(self, keypoints: np.ndarray, scores: np.ndarray, ids: np.ndarray | None) -> list[int]:
        """Detections with enough confident keypoints, duplicates of a better one removed (only
        among detections without a given id)."""
        options = self.options
        good = [d for d in range(len(keypoints)) if (scores[d] >= options.min_score).sum() >= options.min_keypoints]
        given = [d for d in good if ids is not None and ids[d] >= 0]
        good = [d for d in good if d not in given]
        good.sort(key=lambda d: -scores[d].mean())
        kept: list[int] = given
        for d in good:
            size = body_size(keypoints[d], scores[d], options.min_score)
            if all(keypoint_distance(keypoints[d], scores[d], keypoints[k], scores[k], size, options.min_score)
                   >= options.duplicate_distance for k in kept):
                kept.append(d)
        return sorted(kept)

    def _motion_cost(self, d: int, track: Track, keypoints, scores, appearance) -> float:
        options = self.options
        gap = self.frame - track.last_frame
        distance = keypoint_distance(keypoints[d], scores[d], track.predict(self.frame), track.scores,
                                     track.size(options.min_score), options.min_score)
        if distance > options.motion_gate + options.gate_growth * (gap - 1):
            return _FORBIDDEN
        if appearance is not None and track.appearance is not None:
            distance += options.appearance_weight * appearance_distance(appearance[d], track.appearance)
        return distance

    def _reid_cost(self, d: int, track: Track, appearance: np.ndarray) -> float:
        if track.appearance is None:
            return _FORBIDDEN
        distance = appearance_distance(appearance[d], track.appearance)
        return distance if distance <= self.options.reid_gate else _FORBIDDEN

    @staticmethod
    def _match(candidates: list[int], tracks: list[Track], cost, margin: float = 0.0) -> list[tuple[int, Track]]:
        """Globally cheapest pairs (detection, track) with an allowed cost (``assign``)."""
        if not candidates or not tracks:
            return []
        costs = np.array([[cost(d, track) for track in tracks] for d in candidates])
        return [(candidates[r], tracks[c]) for r, c in assign(costs, margin)]

    def _start(self, keypoints: np.ndarray, scores: np.ndarray, appearance: np.ndarray | None) -> Track:
        track = Track(len(self.tracks), keypoints, scores, self.frame, self.scene)
        self.tracks.append(track)
        self._observe(track, keypoints, scores, appearance)
        return track

    def _observe(self, track: Track, keypoints: np.ndarray, scores: np.ndarray,
                 appearance: np.ndarray | None, restart: bool = False) -> None:
        """Move ``track`` to a detection of this frame: keypoints, velocity, appearance, scene."""
        if track.count > 0 and not restart:
            step = (keypoints - track.keypoints) / (self.frame - track.last_frame)
            both = np.minimum(scores, track.scores)[:, None] >= self.options.min_score
            step = np.where(both, step, 0.0 if track.velocity is None else track.velocity)
            smoothing = self.options.velocity_smoothing
            track.velocity = step if track.velocity is None else smoothing * track.velocity + (1 - smoothing) * step
        else:
            track.velocity = None
        track.keypoints, track.scores = keypoints, scores
        track.last_frame, track.scene = self.frame, self.scene
        if appearance is not None:
            appearance = appearance / max(appearance.sum(), 1e-12)
            track.appearance = appearance if track.appearance is None else (
                track.appearance * min(track.count, 30) + appearance) / (min(track.count, 30) + 1)
        track.count += 1


def track_detections(keypoints: Sequence[np.ndarray], scores: Sequence[np.ndarray],
                     appearance: Sequence[np.ndarray] | None = None, ids: Sequence[np.ndarray] | None = None,
                     cuts: Sequence[bool] | np.ndarray | None = None,
                     options: TrackerOptions | None = None) -> list[np.ndarray]:
    """Track ids per frame for a whole sequence of detections (offline use of ``Tracker``).

    keypoints: T arrays (N_t, K, 2) pixels; scores: T arrays (N_t, K); appearance: T arrays (N_t, F)
    or None; ids: T arrays (N_t,) int given identities (-1: none) or None; cuts (T,) bool, True where
    a scene cut comes before the frame. Returns T arrays (N_t,) int64 track ids (-1: left out),
    tracks numbered in the order they start.
    """
    if len(scores) != len(keypoints):
        raise InputError(f"{len(scores)} frames of scores for {len(keypoints)} frames of keypoints")
    for name, values in (("appearance", appearance), ("ids", ids), ("cuts", cuts)):
        if values is not None and len(values) != len(keypoints):
            raise InputError(f"{len(values)} frames of {name} for {len(keypoints)} frames of keypoints")
    tracker = Tracker(options or TrackerOptions())
    return [tracker.update(keypoints[t], scores[t], None if appearance is None else appearance[t],
                           None if ids is None else ids[t], bool(cuts[t]) if cuts is not None else False)
            for t in range(len(keypoints))]


def ids_to_tracks(ids: Sequence[np.ndarray]) -> dict[int, list[tuple[int, int]]]:
    """{track id: [(frame, detection index), ...]} from per-frame ids (``track_detections``), frames
    ascending, tracks in id order; -1 left out."""
    tracks: dict[int, list[tuple[int, int]]] = {}
    for frame, frame_ids in enumerate(ids):
        for detection, track_id in enumerate(np.asarray(frame_ids).tolist()):
            if track_id >= 0:
                tracks.setdefault(track_id, []).append((frame, detection))
    return dict(sorted(tracks.items()))
