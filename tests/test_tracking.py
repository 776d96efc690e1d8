"""Tests of blapose.video.tracking on synthetic detections (stick people of 17 keypoints)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from blapose.errors import InputError
from blapose.video.tracking import (
    Tracker,
    TrackerOptions,
    appearance_distance,
    ids_to_tracks,
    track_detections,
)

K = 17
#: A person's keypoints about their centre: a vertical line 160 pixels tall with some spread in x.
_SHAPE = np.stack([np.linspace(-20, 20, K) * np.cos(np.arange(K)), np.linspace(-80, 80, K)], axis=1)


def person(x: float, y: float = 300.0) -> np.ndarray:
    """Keypoints (K, 2) pixels of a stick person centred at (x, y)."""
    return _SHAPE + (x, y)


def colour(hue: int, features: int = 12) -> np.ndarray:
    """An appearance (features,) with its mass in bin ``hue`` (a plain-coloured shirt)."""
    feature = np.full(features, 0.01)
    feature[hue] = 1.0
    return feature / feature.sum()


def frames_of(positions: list[list[float]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Keypoints (N_t, K, 2) and scores (N_t, K) for people at the x positions of each frame."""
    keypoints = [np.stack([person(x) for x in xs]) if xs else np.zeros((0, K, 2)) for xs in positions]
    return keypoints, [np.ones(points.shape[:2]) for points in keypoints]


def test_crossing_people_keep_their_ids():
    """Two people walking past each other (one 25 pixels lower) keep their ids thanks to the velocity.

    Between frames 6 and 7 each person is nearer to where the other was than to where they were.
    """
    positions = [[100 + 30 * t, 490 - 30 * t] for t in range(14)]
    keypoints, scores = frames_of(positions)
    keypoints = [points + np.array([[[0, 0]], [[0, 25]]]) for points in keypoints]
    keypoints = [points[::-1] if t % 2 else points for t, points in enumerate(keypoints)]  # order says nothing
    ids = track_detections(keypoints, scores)
    left = [int(frame_ids[np.argmin(np.abs(points.mean(axis=1)[:, 0] - (100 + 30 * t)))])
            for t, (frame_ids, points) in enumerate(zip(ids, keypoints))]
    assert set(left) == {0}
    assert all(sorted(frame_ids.tolist()) == [0, 1] for frame_ids in ids)


def test_hidden_person_comes_back_with_same_id():
    """A person hidden for 40 frames (past max_gap) is re-identified by appearance, the other keeps theirs."""
    options = TrackerOptions(max_gap=10)
    tracker = Tracker(options)
    ids = []
    for t in range(80):
        hidden = 20 <= t < 60
        xs = [200.0] + ([] if hidden else [600.0 + 2 * (t if t < 20 else t - 40)])
        shirts = [colour(2)] + ([] if hidden else [colour(7)])
        keypoints = np.stack([person(x) for x in xs])
        ids.append(tracker.update(keypoints, np.ones((len(xs), K)), np.stack(shirts)).tolist())
    assert all(frame[0] == 0 for frame in ids)
    assert all(frame[1] == 1 for frame in ids if len(frame) == 2)
    assert len(tracker.tracks) == 2


def test_hidden_person_without_appearance_starts_new_track():
    """Without appearance a person back after the gap gets a new id (nothing can re-identify them)."""
    positions = [[600.0] if not 20 <= t < 60 else [] for t in range(80)]
    keypoints, scores = frames_of(positions)
    ids = track_detections(keypoints, scores, options=TrackerOptions(max_gap=10))
    assert {int(i[0]) for i in ids[:20]} == {0} and {int(i[0]) for i in ids[60:]} == {1}


def test_scene_cut_reidentifies_by_appearance_not_position():
    """After a scene cut two people who swapped places are matched by clothes, not by where they stood."""
    red, blue = colour(1), colour(9)
    keypoints = [np.stack([person(200), person(600)])] * 5 + [np.stack([person(205), person(605)])] * 5
    appearance = [np.stack([red, blue])] * 5 + [np.stack([blue, red])] * 5
    cuts = np.zeros(10, dtype=bool)
    cuts[5] = True
    ids = track_detections(keypoints, [np.ones((2, K))] * 10, appearance, cuts=cuts)
    assert all(frame.tolist() == [0, 1] for frame in ids[:5])
    assert all(frame.tolist() == [1, 0] for frame in ids[5:])
    no_cut = track_detections(keypoints, [np.ones((2, K))] * 10, appearance)
    assert all(frame.tolist() == [0, 1] for frame in no_cut[5:])  # the motion cost keeps the places


def test_scene_cut_with_strangers_starts_new_tracks():
    """People after a cut whose clothes match nobody before it get new ids, never an old one."""
    keypoints = [np.stack([person(200)])] * 6
    appearance = [np.stack([colour(1)])] * 3 + [np.stack([colour(8)])] * 3
    ids = track_detections(keypoints, [np.ones((1, K))] * 6, appearance, cuts=[False, False, False, True, False, False])
    assert [int(frame[0]) for frame in ids] == [0, 0, 0, 1, 1, 1]


def test_given_ids_are_respected():
    """Identities given by the input group detections even when motion says otherwise."""
    positions = [[100 + 12 * t, 500 - 12 * t] for t in range(35)]
    keypoints, scores = frames_of(positions)
    given = [np.array([7, 3]) if t < 17 else np.array([3, 7]) for t in range(35)]  # the input swaps them
    ids = track_detections(keypoints, scores, ids=given)
    for frame_given, frame_ids in zip(given, ids):
        assert dict(zip(frame_given.tolist(), frame_ids.tolist())) == {7: 0, 3: 1}


def test_global_assignment_beats_greedy():
    """A frame where the greedy choice (cheapest pair first) would swap two people is matched globally."""
    tracker = Tracker(TrackerOptions(motion_gate=2.0))
    tracker.update(np.stack([person(100), person(200)]), np.ones((2, K)))
    tracker.update(np.stack([person(100), person(200)]), np.ones((2, K)))
    # person 0 moved +60, person 1 moved +120: detection at 160 is nearest to track 1 (200) ...
    detections = np.stack([person(160), person(320)])
    costs = np.array([[abs(160 - 100), abs(160 - 200)], [abs(320 - 100), abs(320 - 200)]], float)
    greedy_first = np.unravel_index(np.argmin(costs), costs.shape)
    assert greedy_first == (0, 1)  # greedy gives detection 160 to track 1 and 320 to track 0 (cost 40 + 220)
    rows, cols = linear_sum_assignment(costs)
    assert costs[rows, cols].sum() < costs[0, 1] + costs[1, 0]
    assert tracker.update(detections, np.ones((2, K))).tolist() == [0, 1]


def test_duplicates_and_weak_detections_left_out():
    """A second detection on the same person and one with too few confident keypoints get id -1."""
    tracker = Tracker()
    scores = np.ones((3, K))
    scores[2] = 0.1
    ids = tracker.update(np.stack([person(100), person(102), person(500)]), scores)
    assert sorted(ids.tolist()) == [-1, -1, 0]


def test_ids_to_tracks_and_appearance_distance():
    """ids_to_tracks lists each track's (frame, detection); appearance distance is 0 for equal, 1 for disjoint."""
    assert ids_to_tracks([np.array([0, 1]), np.array([1, -1])]) == {0: [(0, 0)], 1: [(0, 1), (1, 0)]}
    assert appearance_distance(colour(1), colour(1) * 3) == pytest.approx(0.0, abs=1e-7)
    disjoint = np.eye(4)
    assert appearance_distance(disjoint[0], disjoint[1]) == pytest.approx(1.0)


def test_bad_input_raises_input_error():
    """Shapes that do not fit say so in an InputError."""
    tracker = Tracker()
    with pytest.raises(InputError, match="expected \\(N, K, 2\\)"):
        tracker.update(np.zeros((2, K, 3)), np.ones((2, K)))
    with pytest.raises(InputError, match="scores"):
        tracker.update(np.zeros((2, K, 2)), np.ones((3, K)))
    with pytest.raises(InputError, match="frames of cuts"):
        track_detections([np.zeros((1, K, 2))], [np.ones((1, K))], cuts=[False, True])
