"""Tests of blapose.video.people on a two-person clip: tests/data/pose_squats.mp4 beside its mirror image."""

from __future__ import annotations

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.video.people import detect_people
from people_support import FPS, HALF_WIDTH, HEIGHT, two_people_frames

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")


@pytest.fixture(scope="module")
def two_people() -> list[np.ndarray]:
    """65 frames (640, 720, 3) uint8: the squatting woman on the left, her mirror image on the right."""
    return two_people_frames()


@pytest.fixture(scope="module")
def people(two_people):
    """The people found in the two-person clip."""
    return detect_people(two_people, 2 * HALF_WIDTH, HEIGHT, fps=FPS)


def test_both_people_followed_without_switch(people, two_people):
    """Two people are found, each followed in nearly every frame and always on their own half."""
    assert len(people) == 2
    for person in people:
        assert person.detected.sum() >= 0.9 * len(two_people)
        hips = person.pixels[person.detected][:, [23, 24]].mean(axis=1)
        sides = hips[:, 0] < HALF_WIDTH
        assert sides.all() or not sides.any()
    assert {bool(p.pixels[p.detected][0, 23, 0] < HALF_WIDTH) for p in people} == {True, False}


def test_people_arrays_cover_their_spans(people):
    """frames is each person's contiguous span; arrays have its length; undetected frames hold zeros."""
    for person in people:
        count = len(person.frames)
        assert np.array_equal(person.frames, np.arange(person.frames[0], person.frames[0] + count))
        assert person.pixels.shape == (count, 33, 2) and person.world.shape == (count, 33, 3)
        assert person.visibility.shape == (count, 33) and person.detected.shape == (count,)
        assert person.detected[0] and person.detected[-1]
        assert not person.pixels[~person.detected].any()
        assert np.abs(person.world[person.detected]).max() < 2.0  # meters about the hips


def test_mirror_images_are_mirrored(people):
    """The right person's landmarks are the left person's mirrored about the middle (same frames)."""
    left, right = sorted(people, key=lambda p: p.pixels[p.detected][0, 23, 0])
    both = np.intersect1d(left.frames[left.detected], right.frames[right.detected])
    assert len(both) >= 50
    nose_left = left.pixels[both - left.frames[0], 0]
    nose_right = right.pixels[both - right.frames[0], 0]
    assert np.median(np.abs(nose_left[:, 0] + nose_right[:, 0] - 2 * HALF_WIDTH)) < 8.0
    assert np.median(np.abs(nose_left[:, 1] - nose_right[:, 1])) < 8.0


def test_person_box_keeps_that_person(two_people):
    """A box around the right person returns only them; max_people=1 returns one of the two."""
    only = detect_people(two_people[:20], 2 * HALF_WIDTH, HEIGHT, fps=FPS,
                         person_box=(HALF_WIDTH, 0, 2 * HALF_WIDTH, HEIGHT))
    assert len(only) == 1 and (only[0].pixels[only[0].detected][:, 0, 0] > HALF_WIDTH).all()
    one = detect_people(two_people[:20], 2 * HALF_WIDTH, HEIGHT, fps=FPS, max_people=1)
    assert len(one) == 1


def test_short_people_dropped_and_bad_box_refused(two_people):
    """People seen for less than min_seconds are dropped; a box outside the frame is an InputError."""
    assert detect_people(two_people[:4], 2 * HALF_WIDTH, HEIGHT, fps=FPS, min_seconds=1.0) == []
    with pytest.raises(InputError, match="outside"):
        detect_people(two_people[:2], 2 * HALF_WIDTH, HEIGHT, fps=FPS, person_box=(800, 0, 900, 10))


def test_scene_cut_keeps_both_people_apart(two_people):
    """Black frames mid-clip (a scene cut) neither crash the followers nor mix the two people afterwards."""
    black = np.zeros_like(two_people[0])
    frames = two_people[:30] + [black] * 3 + two_people[30:50]
    people = detect_people(frames, 2 * HALF_WIDTH, HEIGHT, fps=FPS)
    assert len(people) in (2, 3, 4)  # each side may come back as a new person after the cut, never mixed
    for person in people:
        hips = person.pixels[person.detected][:, [23, 24]].mean(axis=1)
        sides = hips[:, 0] < HALF_WIDTH
        assert sides.all() or not sides.any()
        assert not person.detected[np.isin(person.frames, [30, 31, 32])].any()
