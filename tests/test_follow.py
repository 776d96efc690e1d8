"""Tests of blapose.video.follow on keypoint files without track ids: split tracks of one person joined."""

from __future__ import annotations

import json

import numpy as np

from blapose.video.follow import keypoint_tracks
from blapose.video.keypoint_files import read_keypoints
from blapose.video.tracking import ids_to_tracks, track_detections

#: A person standing in OpenPose's BODY_25 order, pixels from the mid-hip (y down), about 300 px tall.
_BODY25 = np.array([(0, -150), (0, -120), (-30, -120), (-40, -70), (-45, -20), (30, -120), (40, -70), (45, -20),
                    (0, 0), (-15, 0), (-17, 60), (-18, 120), (15, 0), (17, 60), (18, 120), (-5, -155), (5, -155),
                    (-10, -150), (10, -150), (20, 135), (25, 135), (18, 130), (-20, 135), (-25, 135), (-18, 130)],
                   float)


def write_openpose(folder, frames: int, people: list[dict[int, tuple[float, float]]]) -> None:
    """OpenPose JSON frames 0..frames-1 into ``folder``, no person ids; ``people`` gives each person's
    mid-hip (x, y) pixels by frame (absent: not detected in that frame)."""
    folder.mkdir()
    for t in range(frames):
        listed = []
        for places in people:
            if t in places:
                points = _BODY25 + places[t]
                listed.append({"person_id": [-1], "pose_keypoints_2d": np.column_stack(
                    [points, np.full(len(points), 0.9)]).ravel().round(2).tolist()})
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": listed}))


def test_one_person_split_by_a_jump_and_a_gap_is_one_person(tmp_path):
    """A walker whose 2D jumps for 3 frames, then is missing for 2, is one track, though the tracker alone splits it."""
    walker = {t: (300.0 + 3 * t, 500.0) for t in range(80) if t not in (40, 41)}
    for k, t in enumerate((37, 38, 39), 1):  # the detector's jump, like Demo_MultiPerson cam04's frames 77-79
        walker[t] = (walker[t][0] - 40 * k, walker[t][1] - 40 * k)
    bystander = {t: (1500.0, 520.0) for t in range(80)}
    write_openpose(tmp_path / "op", 80, [walker, bystander])
    keypoints = read_keypoints(tmp_path / "op")
    assert keypoints.fps is None and not keypoints.has_ids
    alone = ids_to_tracks(track_detections([np.nan_to_num(f.keypoints) for f in keypoints.frames],
                                           [f.scores for f in keypoints.frames]))
    assert len(alone) == 3  # the tracker starts a new track after the jump
    tracks = keypoint_tracks(keypoints, fps=30.0)
    assert len(tracks) == 2
    walking = min(tracks, key=lambda track: track.keypoints[0, 0, 0])
    assert walking.frames[0] == 0 and walking.frames[-1] == 79 and int(walking.detected.sum()) == 78
    assert not walking.detected[40] and not walking.detected[41]
    assert np.allclose(walking.keypoints[60, 0], (480.0, 500.0))  # Hip (H36M 0) is OpenPose's MidHip


def test_two_people_far_apart_who_never_overlap_stay_two(tmp_path):
    """One person leaves and another appears across the frame 5 frames later: they are not joined."""
    first = {t: (200.0, 500.0) for t in range(40)}
    second = {t: (1300.0, 500.0) for t in range(45, 85)}
    bystander = {t: (750.0, 520.0) for t in range(85)}
    write_openpose(tmp_path / "op", 85, [first, second, bystander])
    tracks = keypoint_tracks(read_keypoints(tmp_path / "op"), fps=30.0)
    assert sorted((int(track.frames[0]), int(track.frames[-1])) for track in tracks) == [(0, 39), (0, 84), (45, 84)]
