"""Joining the pieces of one person's track after tracking: clothes colour and body proportions.

The online tracker (``tracking``) starts a new track when a person comes back too changed to be
recognised by the colour of their clothes alone (backlight, a turn, a jump out of sight). This pass
looks at the finished tracks ("tracklets") as a whole: two tracklets that never share a frame may
be one person. A pair is a candidate only when

- the later one starts after the earlier one ends (no shared frame, ever), at most ``max_gap``
  seconds later;
- the colour distance (``tracking.appearance_distance``) between the earlier one's last and the
  later one's first ``window_seconds`` of detections is at most ``colour_gate`` (when neither has an
  appearance, as for a keypoint file without its video's frames, colour is no cue; when only one
  has, the pair is refused);
- their body proportions do not clearly differ: ``proportion_distance`` at most ``proportion_gate``;
- the later one starts within reach of where the earlier one ended: at most ``reach`` plus
  ``max_speed`` body sizes per second of the gap away.

Candidates are joined by one global assignment (``scipy.optimize.linear_sum_assignment``) of each
tracklet to at most one successor, cost colour distance plus ``proportion_weight`` times the
proportion distance plus ``place_weight`` times the distance between end and start as a fraction of
its reach; with ``margin``, an assigned pair is kept only when its cost is lower by at least
``margin`` than every other allowed cost of the earlier tracklet's successors and the later one's
predecessors (an ambiguous pair stays apart). Joined pairs chain into one person.

Body proportions are a person's bone lengths measured on MediaPipe's metric world landmarks, each
bone a median over the tracklet's frames, divided by the geometric mean of all bones (so overall
size, which MediaPipe's world landmarks barely carry, drops out); compared in log units against the
tracklet's own frame-to-frame spread of the same bone. Measured on Sports2D's demo and Pose2Sim's
Demo_MultiPerson (thirds of every track against thirds of the same and the other person): the cue
is weak. Same person 0.2 to 1.8, different people 0.65 to 2.2: proportions can veto a pair whose
bodies clearly differ, they cannot prove two tracklets are one person; colour, time and place do
most of the work.

Glossary: T_k frames of tracklet k (its detections only), L landmarks (33, MediaPipe order), F
appearance features, B bones (``MEDIAPIPE_BONES``). Pixels are full-frame pixels; world landmarks are
meters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .tracking import appearance_distance, assign, body_size

#: Bones by MediaPipe landmark index, left and right of a pair averaged: upper arm, forearm, thigh,
#: shin, shoulder width, hip width, side of the torso (shoulder to hip).
MEDIAPIPE_BONES: tuple[tuple[tuple[int, int], ...], ...] = (
    ((11, 13), (12, 14)), ((13, 15), (14, 16)), ((23, 25), (24, 26)), ((25, 27), (26, 28)),
    ((11, 12),), ((23, 24),), ((11, 23), (12, 24)),
)
#: Smallest spread (log units) of a bone's proportion: MediaPipe's own wobble on a still person.
PROPORTION_FLOOR = 0.02
#: A bone counts in a frame when both its landmarks are at least this visible.
MIN_VISIBILITY = 0.5


@dataclass(frozen=True)
class StitchOptions:
    """When two tracklets are one person (colour in [0, 1], proportions in spreads, places in body sizes).

    colour_gate: largest colour distance. proportion_gate: largest ``proportion_distance``.
    proportion_weight: weight of the proportion distance in the cost. window_seconds: seconds of
    detections next to the gap whose colour is compared. reach, max_speed: the later tracklet's first
    detection is at most ``reach + max_speed * gap seconds`` body sizes from the earlier one's last.
    max_gap: most seconds between the earlier one's last and the later one's first detection.
    place_weight: weight of the place cost (that distance over its reach, in [0, 1]).
    margin: how much cheaper than any rival of its row and column a pair must be to be joined (0: no
    such check).
    """

    colour_gate: float = 0.5
    proportion_gate: float = 1.5
    proportion_weight: float = 0.2
    window_seconds: float = 1.0
    reach: float = 1.0
    max_speed: float = 3.0
    max_gap: float = float("inf")
    place_weight: float = 0.0
    margin: float = 0.0


@dataclass
class Tracklet:
    """One track as the tracker left it.

    frames (T_k,) int ascending: frames with a detection. keypoints (T_k, K, 2) pixels, scores
    (T_k, K) in [0, 1]. world (T_k, L, 3) meters (MediaPipe world landmarks) or None; visibility
    (T_k, L) or None (then ``scores``). appearance (T_k, F) non-negative or None.
    """

    frames: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    world: np.ndarray | None = None
    visibility: np.ndarray | None = None
    appearance: np.ndarray | None = None


def body_proportions(world: np.ndarray, visibility: np.ndarray | None = None,
                     bones: Sequence[Sequence[tuple[int, int]]] = MEDIAPIPE_BONES) -> tuple[np.ndarray, np.ndarray]:
    """A person's proportions and their spread from world landmarks (T, L, 3) meters (any scale).

    visibility (T, L) in [0, 1] or None (all visible): a bone counts in a frame when both its ends are
    at least ``MIN_VISIBILITY`` visible. Returns proportions (B,): the log of each bone's median length
    minus the mean of those logs, and spread (B,) >= 0: the robust standard deviation (1.4826 x MAD)
    of the bone's per-frame log proportion. NaN for a bone never seen (both NaN with no frames).
    """
    world = np.asarray(world, dtype=np.float64)
    if world.ndim != 3 or world.shape[-1] != 3:
        raise InputError(f"world landmarks have shape {world.shape}, expected (T, L, 3)")
    seen = np.ones(world.shape[:2], bool) if visibility is None else np.asarray(visibility) >= MIN_VISIBILITY
    if seen.shape != world.shape[:2]:
        raise InputError(f"visibility has shape {seen.shape}, expected {world.shape[:2]}")
    lengths = np.full((len(world), len(bones)), np.nan)
    for b, pairs in enumerate(bones):
        sides = [np.where(seen[:, i] & seen[:, j], np.linalg.norm(world[:, i] - world[:, j], axis=-1), np.nan)
                 for i, j in pairs]
        with np.errstate(invalid="ignore"):
            both = np.stack(sides, axis=1)
            counted = np.isfinite(both).sum(axis=1)
            lengths[:, b] = np.where(counted > 0, np.nansum(both, axis=1) / np.maximum(counted, 1), np.nan)
    logs = np.log(np.where(lengths > 1e-6, lengths, np.nan))
    complete = np.isfinite(logs).all(axis=1)
    if not complete.any():
        return np.full(len(bones), np.nan), np.full(len(bones), np.nan)
    per_frame = logs[complete] - logs[complete].mean(axis=1, keepdims=True)
    proportions = np.median(per_frame, axis=0)
    spread = 1.4826 * np.median(np.abs(per_frame - proportions), axis=0)
    return proportions, spread


def proportion_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """How different two people's proportions are: the root mean square over bones of the difference
    of ``body_proportions`` a and b (each (proportions (B,), spread (B,))) divided by their combined
    spread (at least ``PROPORTION_FLOOR`` each). 0 for equal proportions; NaN bones are left out; NaN
    when none is left (nothing to compare)."""
    (pa, sa), (pb, sb) = a, b
    spread = np.sqrt(np.maximum(sa, PROPORTION_FLOOR) ** 2 + np.maximum(sb, PROPORTION_FLOOR) ** 2)
    z = (pa - pb) / spread
    z = z[np.isfinite(z)]
    return float(np.sqrt(np.mean(z**2))) if len(z) else float("nan")


def _centre(keypoints: np.ndarray, scores: np.ndarray, min_score: float) -> tuple[np.ndarray, float]:
    confident = scores >= min_score
    points = keypoints[confident] if confident.sum() >= 2 else keypoints
    return (points.min(axis=0) + points.max(axis=0)) / 2, body_size(keypoints, scores, min_score)


def _check(tracklet: Tracklet, k: int) -> None:
    frames = np.asarray(tracklet.frames)
    if frames.ndim != 1 or len(frames) == 0 or (np.diff(frames) <= 0).any():
        raise InputError(f"tracklet {k}: frames must be a non-empty ascending (T_k,) array")
    if tracklet.keypoints.shape[:1] != frames.shape or tracklet.scores.shape != tracklet.keypoints.shape[:2]:
        raise InputError(f"tracklet {k}: keypoints {tracklet.keypoints.shape} and scores {tracklet.scores.shape} "
                         f"do not match {len(frames)} frames")
    for name in ("world", "visibility", "appearance"):
        values = getattr(tracklet, name)
        if values is not None and len(values) != len(frames):
            raise InputError(f"tracklet {k}: {name} has {len(values)} rows for {len(frames)} frames")


def stitch_costs(tracklets: Sequence[Tracklet], fps: float, options: StitchOptions | None = None,
                 min_score: float = 0.5) -> np.ndarray:
    """Costs (N, N) of continuing tracklet i with tracklet j (``StitchOptions``); ``inf`` where the
    pair is not allowed (j does not start after i ends, or a gate refuses it)."""
    options = options or StitchOptions()
    for k, tracklet in enumerate(tracklets):
        _check(tracklet, k)
    window = max(1, round(options.window_seconds * fps))
    proportions = [body_proportions(t.world, t.visibility if t.visibility is not None else None)
                   if t.world is not None else None for t in tracklets]
    costs = np.full((len(tracklets), len(tracklets)), np.inf)
    for i, earlier in enumerate(tracklets):
        for j, later in enumerate(tracklets):
            gap = (later.frames[0] - earlier.frames[-1]) / fps
            if gap <= 0 or gap > options.max_gap or (earlier.appearance is None) != (later.appearance is None):
                continue
            colour = 0.0
            if earlier.appearance is not None:
                before, after = earlier.appearance[-window:].sum(axis=0), later.appearance[:window].sum(axis=0)
                colour = appearance_distance(before, after)
                if colour > options.colour_gate:
                    continue
            body = 0.0
            if proportions[i] is not None and proportions[j] is not None:
                body = proportion_distance(proportions[i], proportions[j])
                body = 0.0 if np.isnan(body) else body
                if body > options.proportion_gate:
                    continue
            (end, end_size) = _centre(earlier.keypoints[-1], earlier.scores[-1], min_score)
            (start, start_size) = _centre(later.keypoints[0], later.scores[0], min_score)
            reach = max(end_size, start_size) * (options.reach + options.max_speed * gap)
            place = float(np.linalg.norm(start - end)) / reach
            if place > 1.0:
                continue
            costs[i, j] = colour + options.proportion_weight * body + options.place_weight * place
    return costs


def stitch_tracklets(tracklets: Sequence[Tracklet], fps: float, options: StitchOptions | None = None,
                     min_score: float = 0.5) -> list[int]:
    """Which tracklets are one person: a person index per tracklet (0, 1, ... in the order of each
    person's first tracklet in ``tracklets``). Tracklets of one person never share a frame."""
    options = options or StitchOptions()
    costs = stitch_costs(tracklets, fps, options, min_score)
    successor: dict[int, int] = {}
    if len(tracklets) > 1:
        successor = dict(assign(costs, options.margin))
    predecessor = {j: i for i, j in successor.items()}
    person = [-1] * len(tracklets)
    count = 0
    for k in range(len(tracklets)):
        if person[k] >= 0:
            continue
        first = k
        while first in predecessor:
            first = predecessor[first]
        chain = [first]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]])
        if any(person[c] >= 0 for c in chain):  # reached from a later start: already numbered
            continue
        for c in chain:
            person[c] = count
        count += 1
    return person
