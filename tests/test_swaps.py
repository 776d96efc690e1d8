"""Left/right swaps: exchanged labels are found and put back, in 2D and 3D alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blapose.video.swaps import FLIP, exchanged_frames, fix_swaps, head_depth, turn_around

SQUATS = Path(__file__).parent / "data" / "pose_squats.mp4"


@pytest.fixture(scope="module")
def detections():
    """MediaPipe's landmarks of the squat clip (a woman facing the camera, 65 frames)."""
    pytest.importorskip("mediapipe")
    from blapose.native_stderr import native_stderr_silenced
    from blapose.video.detector import detect_landmarks
    from blapose.video.reader import FrameRange, probe_video, read_frames

    info = probe_video(SQUATS)
    with native_stderr_silenced():
        return detect_landmarks(read_frames(SQUATS, FrameRange()), info.width, info.height)


def _exchange(values: np.ndarray, frames: np.ndarray) -> np.ndarray:
    values = values.copy()
    values[frames] = values[frames][:, FLIP]
    return values


def _turn(world: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """MediaPipe's mistake by hand: the body seen as facing the other way (labels exchanged, depth mirrored)."""
    world = world.copy()
    world[frames] = turn_around(world[frames])
    return world


def test_flip_is_an_involution_that_keeps_the_centre():
    """FLIP twice is the identity; the nose stays; left_hip and right_hip trade places."""
    np.testing.assert_array_equal(FLIP[FLIP], np.arange(33))
    assert FLIP[0] == 0 and FLIP[23] == 24 and FLIP[24] == 23


def test_the_woman_faces_the_camera_in_mediapipes_3d(detections):
    """On the clip as detected, the nose is nearer the camera than the ears in nearly every frame."""
    assert (head_depth(detections.world) < 0).mean() > 0.9


def test_turning_around_twice_gives_the_body_back(detections):
    """turn_around is its own inverse and keeps every bone's length."""
    world = detections.world[:5]
    np.testing.assert_allclose(turn_around(turn_around(world)), world, atol=1e-12)
    turned = turn_around(world)
    for a, b in ((11, 13), (23, 25), (25, 27)):
        np.testing.assert_allclose(np.linalg.norm(turned[:, a] - turned[:, b], axis=-1),
                                   np.linalg.norm(world[:, FLIP[a]] - world[:, FLIP[b]], axis=-1))


def test_hand_made_swaps_are_found_and_undone(detections):
    """Three stretches turned around by hand (2D labels exchanged, 3D turned) are found exactly and put back."""
    original = exchanged_frames(detections.pixels, detections.world, detections.detected)
    stretches = np.zeros(len(detections.detected), dtype=bool)
    stretches[[*range(5, 9), *range(30, 31), *range(44, 56)]] = True
    pixels, world = _exchange(detections.pixels, stretches), _turn(detections.world, stretches)
    visibility = _exchange(detections.visibility, stretches)
    found = exchanged_frames(pixels, world, detections.detected)
    np.testing.assert_array_equal(found, original ^ stretches)
    fixed = fix_swaps(pixels, visibility, world, detections.detected)
    clean = fix_swaps(detections.pixels, detections.visibility, detections.world, detections.detected)
    np.testing.assert_allclose(fixed.pixels, clean.pixels)
    np.testing.assert_allclose(fixed.world, clean.world)
    np.testing.assert_allclose(fixed.visibility, clean.visibility)


def test_a_clip_without_evidence_keeps_its_labels(detections):
    """Labels exchanged in every frame leave no jump to follow: they stay as given (no frame is changed)."""
    everything = np.ones(len(detections.detected), dtype=bool)
    found = exchanged_frames(_exchange(detections.pixels, everything), _turn(detections.world, everything),
                             detections.detected)
    assert not found.any()
