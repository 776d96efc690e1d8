"""Left/right swaps: exchanged labels are found and put back, in 2D and 3D alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blapose.video.swaps import FLIP, exchanged_frames, face_agreement, fix_swaps

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


def test_flip_is_an_involution_that_keeps_the_centre():
    """FLIP twice is the identity; the nose stays; left_hip and right_hip trade places."""
    np.testing.assert_array_equal(FLIP[FLIP], np.arange(33))
    assert FLIP[0] == 0 and FLIP[23] == 24 and FLIP[24] == 23


def test_the_detectors_own_labels_agree_with_the_face(detections):
    """On the clip as detected, the labels face where the nose points in nearly every frame."""
    agreement = face_agreement(detections.world)
    assert (agreement > 0).mean() > 0.9


def test_hand_made_swaps_are_found_and_undone(detections):
    """Three stretches of exchanged labels (2D and 3D) are found exactly and put back."""
    original = exchanged_frames(detections.pixels, detections.world, detections.detected)
    stretches = np.zeros(len(detections.detected), dtype=bool)
    stretches[[*range(5, 9), *range(30, 31), *range(44, 56)]] = True
    pixels, world = _exchange(detections.pixels, stretches), _exchange(detections.world, stretches)
    visibility = _exchange(detections.visibility, stretches)
    found = exchanged_frames(pixels, world, detections.detected)
    np.testing.assert_array_equal(found, original ^ stretches)
    fixed = fix_swaps(pixels, visibility, world, detections.detected)
    clean = fix_swaps(detections.pixels, detections.visibility, detections.world, detections.detected)
    np.testing.assert_allclose(fixed.pixels, clean.pixels)
    np.testing.assert_allclose(fixed.world, clean.world)
    np.testing.assert_allclose(fixed.visibility, clean.visibility)


def test_a_clip_swapped_throughout_is_put_back(detections):
    """Labels exchanged in every frame (no jump to follow) are put back by the face cue alone."""
    everything = np.ones(len(detections.detected), dtype=bool)
    original = exchanged_frames(detections.pixels, detections.world, detections.detected)
    found = exchanged_frames(_exchange(detections.pixels, everything), _exchange(detections.world, everything),
                             detections.detected)
    np.testing.assert_array_equal(found, ~original)
