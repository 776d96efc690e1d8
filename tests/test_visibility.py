"""Tests of which 2D joints count as seen (blapose.video.visibility)."""

from __future__ import annotations

import numpy as np
import pytest

from blapose.errors import InputError
from blapose.video.visibility import VISIBLE_SCORE, unseen_share, visible_joints


def test_joints_outside_the_frame_missing_or_scored_low_are_unseen():
    """A keypoint left of, below or past the frame, a NaN one and one scored under the cut are unseen."""
    keypoints = np.array([[[10.0, 10.0], [-1.0, 10.0], [10.0, 500.0], [640.0, 10.0], [np.nan, 5.0], [5.0, 5.0]]])
    scores = np.array([[0.9, 0.9, 0.9, 0.9, 0.9, VISIBLE_SCORE - 0.01]])
    np.testing.assert_array_equal(visible_joints(keypoints, (640, 480), scores),
                                  [[True, False, False, False, False, False]])
    np.testing.assert_array_equal(visible_joints(keypoints), [[True, True, True, True, False, True]])


def test_unseen_share_counts_frames_per_joint():
    """A joint unseen in 1 of 4 frames has share 0.25; one never seen 1; no frames give NaN."""
    visible = np.ones((4, 3), bool)
    visible[0, 1] = False
    visible[:, 2] = False
    np.testing.assert_allclose(unseen_share(visible), [0.0, 0.25, 1.0])
    assert np.isnan(unseen_share(np.ones((0, 3), bool))).all()


def test_scores_of_another_shape_are_refused():
    """Scores that are not one per keypoint raise InputError naming both shapes."""
    with pytest.raises(InputError, match=r"\(2, 17\)"):
        visible_joints(np.zeros((2, 17, 2)), scores=np.ones((2, 16)))
