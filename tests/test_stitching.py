"""Tests of blapose.video.stitching on synthetic tracklets: stick bodies of 33 MediaPipe landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.video.stitching import (
    StitchOptions,
    Tracklet,
    body_proportions,
    proportion_distance,
    stitch_costs,
    stitch_tracklets,
)

FPS = 30.0
#: World landmarks (meters, y down) of the joints that make the bones; every other landmark sits at the nose.
_JOINTS = {0: (0.0, -0.65), 11: (0.18, -0.45), 12: (-0.18, -0.45), 13: (0.22, -0.17), 14: (-0.22, -0.17),
           15: (0.24, 0.08), 16: (-0.24, 0.08), 23: (0.1, 0.0), 24: (-0.1, 0.0), 25: (0.1, 0.42),
           26: (-0.1, 0.42), 27: (0.1, 0.82), 28: (-0.1, 0.82)}


def body(legs: float = 1.0) -> np.ndarray:
    """World landmarks (33, 3) meters of a person standing; thighs and shins scaled by ``legs``."""
    world = np.tile(np.array([*_JOINTS[0], 0.0]), (33, 1))
    for index, (x, y) in _JOINTS.items():
        world[index, :2] = (x, y if y <= 0 else y * legs)
    return world


def colour(hue: int, features: int = 84) -> np.ndarray:
    """An appearance (features,) with its mass in bin ``hue`` (a plain-coloured shirt)."""
    feature = np.full(features, 0.01)
    feature[hue] = 1.0
    return feature / feature.sum()


def tracklet(frames: range, x: float, legs: float = 1.0, hue: int = 3, seed: int = 0) -> Tracklet:
    """A person turning about the vertical axis at pixel column ``x`` over ``frames``, with 5 mm of
    landmark noise, 200 pixels per meter."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-0.6, 0.6, len(frames))
    rotations = np.stack([[[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]] for a in angles])
    world = np.einsum("tij,lj->tli", rotations, body(legs)) + rng.normal(0, 0.005, (len(frames), 33, 3))
    pixels = world[..., :2] * 200 + (x, 500.0)
    return Tracklet(np.array(frames), pixels, np.ones((len(frames), 33)), world, np.ones((len(frames), 33)),
                    np.tile(colour(hue), (len(frames), 1)))


def test_proportions_ignore_size_rotation_and_hidden_frames():
    """Proportions are the same for a body scaled, turned and with a frame whose wrists are hidden."""
    world = np.stack([body()] * 4)
    visibility = np.ones((4, 33))
    visibility[2, 15] = 0.0
    turned = world @ np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float).T * 1.3
    a, b = body_proportions(world), body_proportions(turned, visibility)
    assert np.allclose(a[0], b[0]) and np.allclose(a[1], 0.0)
    assert proportion_distance(a, b) == pytest.approx(0.0)


def test_same_person_split_in_time_is_joined():
    """Two tracklets of one body and shirt, 10 frames apart and near each other, become one person."""
    pieces = [tracklet(range(30), 400, seed=1), tracklet(range(40, 70), 450, seed=2)]
    assert stitch_tracklets(pieces, FPS) == [0, 0]


def test_different_proportions_are_refused():
    """A body whose legs are 30 % longer is not joined even in the same shirt; the same body would be."""
    first = tracklet(range(30), 400, seed=1)
    same, longer = tracklet(range(40, 70), 450, seed=2), tracklet(range(40, 70), 450, legs=1.3, seed=2)
    gate = StitchOptions().proportion_gate
    assert proportion_distance(body_proportions(first.world), body_proportions(same.world)) < gate / 2
    assert proportion_distance(body_proportions(first.world), body_proportions(longer.world)) > 2 * gate
    assert stitch_tracklets([first, longer], FPS) == [0, 1]


def test_overlapping_far_or_other_colour_never_joined():
    """Tracklets sharing a frame, starting out of reach, or in another shirt stay apart."""
    first = tracklet(range(30), 400, seed=1)
    assert stitch_tracklets([first, tracklet(range(29, 60), 400, seed=2)], FPS) == [0, 1]
    assert stitch_tracklets([first, tracklet(range(31, 60), 1900, seed=2)], FPS) == [0, 1]
    assert stitch_tracklets([first, tracklet(range(31, 60), 400, hue=40, seed=2)], FPS) == [0, 1]


def test_two_people_in_one_shirt_are_joined_by_proportions():
    """Two people in the same shirt, hidden at once, come back in each other's places: proportions pair them right."""
    pieces = [tracklet(range(30), 400, seed=1), tracklet(range(30), 700, legs=1.3, seed=2),
              tracklet(range(50, 80), 700, seed=3), tracklet(range(50, 80), 400, legs=1.3, seed=4)]
    assert stitch_tracklets(pieces, FPS) == [0, 1, 0, 1]
    costs = stitch_costs(pieces, FPS)
    assert np.isinf(costs[0, 3]) and np.isinf(costs[1, 2]) and np.isinf(np.diag(costs)).all()


def test_bad_tracklet_refused():
    """Frames out of order are an InputError naming the tracklet."""
    bad = tracklet(range(5), 400)
    bad.frames = bad.frames[::-1]
    with pytest.raises(InputError, match="tracklet 1"):
        stitch_tracklets([tracklet(range(10, 20), 400), bad], FPS)


def _placed(frames: range, x: float) -> Tracklet:
    """A tracklet of 2D keypoints only (no colour, no 3D): a 300-pixel-tall box at column ``x``."""
    pixels = np.tile([[x, 350.0], [x, 650.0], [x + 80, 500.0]], (len(frames), 1, 1))
    return Tracklet(np.array(frames), pixels, np.ones((len(frames), 3)))


def test_place_only_joins_the_unambiguous_pair_alone():
    """Without colour, a near later tracklet is joined; with a rival as near, neither is (margin); past max_gap, none."""
    options = StitchOptions(reach=0.5, max_speed=2.0, max_gap=1.0, place_weight=1.0, margin=0.5)
    first = _placed(range(30), 400)
    assert stitch_tracklets([first, _placed(range(33, 60), 450)], FPS, options) == [0, 0]
    assert stitch_tracklets([first, _placed(range(33, 60), 450), _placed(range(34, 60), 360)], FPS, options) == [0, 1, 2]
    assert stitch_tracklets([first, _placed(range(33, 60), 450), _placed(range(34, 60), 700)], FPS, options) == [0, 0, 1]
    assert stitch_tracklets([first, _placed(range(70, 90), 410)], FPS, options) == [0, 1]
    coloured = tracklet(range(33, 60), 450)
    coloured.keypoints = coloured.keypoints[:, :3]
    coloured.scores = coloured.scores[:, :3]
    assert np.isinf(stitch_costs([first, coloured], FPS, options)).all()  # colour on one side only: refused
