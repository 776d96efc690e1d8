"""Tests of the video pipeline's parts that need no MediaPipe: joint mapping, gaps, frame rates,
model loading, BVH."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blapose.bones import adjust_poses, bone_lengths
from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.errors import InputError
from blapose.models.checkpoint import save_checkpoint
from blapose.models.length import BoneLengthModel
from blapose.models.temporal import TemporalModel
from blapose.skeleton import H36M
from blapose.video import resample
from blapose.video.bvh import read_bvh, read_bvh_poses, write_bvh
from blapose.video.landmarks import H36M_FROM_MEDIAPIPE, MEDIAPIPE_LANDMARKS, fill_gaps, landmarks_to_h36m
from blapose.video.models import lift, load_length_model, load_lifter, predict_bone_lengths
from blapose.video.reader import FrameRange
from bvh_support import bvhio_joint_positions, walk_with_jump


def landmark(landmarks: np.ndarray, name: str) -> np.ndarray:
    return landmarks[MEDIAPIPE_LANDMARKS.index(name)]


def joint(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[H36M.joint_names.index(name)]


@pytest.fixture
def hand_made_landmarks() -> np.ndarray:
    """33 distinct 2D landmarks (pixels): every landmark at its own spot."""
    return np.stack([np.arange(33) * 7.0 + 3.0, (np.arange(33) ** 2) % 29 * 11.0], axis=1)


def test_mapping_limbs_are_their_landmarks(hand_made_landmarks):
    """Hips, knees, ankles, shoulders, elbows and wrists map to MediaPipe's landmark of that name."""
    joints = landmarks_to_h36m(hand_made_landmarks)
    for side, prefix in (("R", "right_"), ("L", "left_")):
        for h36m_name, mediapipe_name in (("Hip", "hip"), ("Knee", "knee"), ("Foot", "ankle"),
                                          ("Shoulder", "shoulder"), ("Elbow", "elbow"), ("Wrist", "wrist")):
            np.testing.assert_allclose(joint(joints, side + h36m_name),
                                       landmark(hand_made_landmarks, prefix + mediapipe_name))


def test_mapping_trunk_and_head_follow_the_documented_convention(hand_made_landmarks):
    """Pelvis = mid-hips, thorax = mid-shoulders, spine halfway, neck halfway to the nose, head = eyes+ears."""
    joints = landmarks_to_h36m(hand_made_landmarks)
    mean = lambda *names: np.mean([landmark(hand_made_landmarks, n) for n in names], axis=0)  # noqa: E731
    pelvis, thorax = mean("left_hip", "right_hip"), mean("left_shoulder", "right_shoulder")
    np.testing.assert_allclose(joint(joints, "Hip"), pelvis)
    np.testing.assert_allclose(joint(joints, "Thorax"), thorax)
    np.testing.assert_allclose(joint(joints, "Spine"), (pelvis + thorax) / 2)
    np.testing.assert_allclose(joint(joints, "Neck/Nose"), (thorax + landmark(hand_made_landmarks, "nose")) / 2)
    np.testing.assert_allclose(joint(joints, "Head"), mean("left_eye", "right_eye", "left_ear", "right_ear"))


def test_mapping_covers_every_joint_with_weights_summing_to_one():
    """Each of the 17 joints is a weighted mean of landmarks, so shifting all landmarks shifts all joints."""
    assert set(H36M_FROM_MEDIAPIPE) == set(H36M.joint_names)
    for weights in H36M_FROM_MEDIAPIPE.values():
        assert sum(weights.values()) == pytest.approx(1.0)
    shifted = landmarks_to_h36m(np.zeros((33, 3)) + [1.0, -2.0, 0.5])
    np.testing.assert_allclose(shifted, np.tile([1.0, -2.0, 0.5], (17, 1)))


def test_mapping_rejects_wrong_landmark_count():
    """Landmarks that are not MediaPipe's 33 are refused with the shape in the message."""
    with pytest.raises(InputError, match="33"):
        landmarks_to_h36m(np.zeros((17, 2)))


def test_fill_gaps_interpolates_inside_and_holds_at_the_ends():
    """Missing frames between detections are linear in time; before the first / after the last they repeat it."""
    values = np.array([0.0, 0.0, 2.0, 0.0, 0.0, 8.0, 0.0])[:, None]
    detected = np.array([False, False, True, False, False, True, False])
    np.testing.assert_allclose(fill_gaps(values, detected)[:, 0], [2, 2, 2, 4, 6, 8, 8])


def test_fill_gaps_without_any_detection_raises():
    """A clip with no detected frame cannot be filled."""
    with pytest.raises(InputError, match="no person"):
        fill_gaps(np.zeros((4, 17, 2)), np.zeros(4, dtype=bool))


@pytest.mark.parametrize("fps", [5.0, 24.0, 30.0, 50.0, 60.0])
def test_resampling_there_and_back_keeps_linear_motion(fps):
    """Linear motion survives video rate -> 50 fps -> video rate; frames after the last 50 fps one hold it."""
    frames = 23
    times = np.arange(frames) / fps
    values = np.stack([times * 1.5 + 0.2, -times], axis=1)
    model = resample.to_model_rate(values, fps)
    assert len(model) == resample.model_frame_count(frames, fps)
    np.testing.assert_allclose(model[:, 0], np.arange(len(model)) / 50 * 1.5 + 0.2, atol=1e-12)
    last_model_time = (len(model) - 1) / 50
    expected = np.where((times <= last_model_time + 1e-12)[:, None], values,
                        [last_model_time * 1.5 + 0.2, -last_model_time])
    np.testing.assert_allclose(resample.to_video_rate(model, fps, frames), expected, atol=1e-9)
    assert last_model_time > times[-1] - 1 / 50


def test_latest_model_frame_never_looks_ahead():
    """The causal lookup picks, for each video frame, the last model frame at or before its time."""
    index = resample.latest_model_frame(7, 30.0)
    assert (index / 50.0 <= np.arange(7) / 30.0 + 1e-12).all()
    assert ((index + 1) / 50.0 > np.arange(7) / 30.0).all()


def test_frame_range_from_seconds():
    """--start/--end in seconds select frames whose time lies in [start, end)."""
    assert FrameRange.from_seconds(5.0, 2.0, 6.0) == FrameRange(10, 30)
    assert FrameRange.from_seconds(30.0, None, None) == FrameRange(0, None)
    with pytest.raises(InputError, match="--end"):
        FrameRange.from_seconds(30.0, 3.0, 2.0)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Paths of a small VideoPose3D-layout lifter (-arc 3,3,3, 32 channels) and a small GRU length model."""
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    lifter = TemporalModel((3, 3, 3), channels=32)
    length = BoneLengthModel(embed_dim=16, hidden_size=16)
    save_checkpoint(folder / "lifter.bin", {"model_pos": lifter.state_dict(), "epoch": 1})
    save_checkpoint(folder / "length.bin", {"model_pos": length.state_dict()})
    return folder / "lifter.bin", folder / "length.bin"


def test_lifter_architecture_is_read_from_the_checkpoint(checkpoints):
    """A VideoPose3D-format checkpoint loads with the filter widths and channels of its weights."""
    model = load_lifter(str(checkpoints[0]))
    assert model.filter_widths == (3, 3, 3) and model.channels == 32
    assert model.receptive_field() == 27


def test_lifting_pads_a_sequence_shorter_than_the_receptive_field(checkpoints):
    """Five frames through a 27-frame model give five root-relative poses (edge padding, not refusal)."""
    keypoints = np.random.default_rng(0).normal(0, 0.3, size=(5, 17, 2))
    poses = lift(load_lifter(str(checkpoints[0])), keypoints)
    assert poses.shape == (5, 17, 3)
    np.testing.assert_allclose(poses[:, 0], 0.0, atol=1e-7)


def test_causal_lengths_have_one_row_per_frame(checkpoints):
    """A GRU length model gives (16,) lengths for the clip, or (T, 16) causally."""
    model = load_length_model(str(checkpoints[1]))
    keypoints = np.random.default_rng(1).normal(0, 0.3, size=(12, 17, 2))
    assert predict_bone_lengths(model, keypoints).shape == (16,)
    causal = predict_bone_lengths(model, keypoints, causal=True)
    assert causal.shape == (12, 16)
    np.testing.assert_allclose(causal[-1], predict_bone_lengths(model, keypoints), atol=1e-5)


def test_checkpoints_of_the_wrong_kind_are_refused(checkpoints, tmp_path):
    """A length model given as lifter, a lifter given as length model, or a non-checkpoint: one clear error."""
    lifter, length = map(str, checkpoints)
    with pytest.raises(InputError, match="--lifter .* is not a lifting"):
        load_lifter(length)
    with pytest.raises(InputError, match="--length-model .* is a lifting model"):
        load_length_model(lifter)
    text = tmp_path / "notes.bin"
    text.write_text("not a checkpoint")
    with pytest.raises(InputError, match="--lifter.*notes.bin"):
        load_lifter(str(text))
    with pytest.raises(InputError, match="no such file"):
        load_length_model(str(tmp_path / "missing.bin"))
    with pytest.raises(InputError, match="unidirectional GRU .drop -bi."):
        load_length_model(length, bidirectional=True)


def test_bvh_round_trip_reproduces_adjusted_poses(tmp_path):
    """Forward kinematics of a written BVH file gives back poses with constant bone lengths (<= 1e-5 m)."""
    world = simulate_action("Walking", MEAN_LENGTHS, 40, np.random.default_rng(5))
    poses = adjust_poses(world - world[:, :1], MEAN_LENGTHS * 1.07)
    path = write_bvh(tmp_path / "walk.bvh", poses, MEAN_LENGTHS * 1.07, fps=50.0)
    read_back = read_bvh_poses(path)
    np.testing.assert_allclose(read_back, poses, atol=1e-5)
    bvh = read_bvh(path)
    assert bvh.motion.shape[0] == 40 and bvh.frame_time == pytest.approx(0.02)
    offsets = {name: np.linalg.norm(offset) for name, offset in zip(bvh.names, bvh.offsets)}
    for bone, child in enumerate(H36M.bone_children):
        assert offsets[H36M.joint_names[child]] == pytest.approx(MEAN_LENGTHS[bone] * 1.07, abs=1e-6)
    np.testing.assert_allclose(bone_lengths(read_back), np.tile(MEAN_LENGTHS * 1.07, (40, 1)), atol=1e-5)
    np.testing.assert_array_equal(bvh.motion[:, :3], 0.0)  # no root positions given: the root stays put


def test_bvh_root_motion_round_trips_and_fills_the_root_position_channels(tmp_path):
    """With root_positions, forward kinematics gives poses + root positions (1e-5 m), via the root's channels."""
    poses, roots = walk_with_jump(MEAN_LENGTHS, 60, 0.3, np.random.default_rng(2))
    assert np.ptp(roots[:, [0, 2]], axis=0).max() > 0.5  # the body travels, it does not walk on the spot
    path = write_bvh(tmp_path / "walk.bvh", poses, MEAN_LENGTHS, fps=50.0, root_positions=roots.astype(np.float32))
    np.testing.assert_allclose(read_bvh_poses(path), poses + roots[:, None], atol=1e-5)
    bvh = read_bvh(path)
    assert bvh.channels[0][:3] == ("Xposition", "Yposition", "Zposition")
    np.testing.assert_allclose(bvh.motion[:, :3], roots, atol=1e-6)


def test_bvh_root_motion_reads_the_same_in_an_independent_bvh_library(tmp_path):
    """bvhio computes the same joint positions as blapose from a file with root motion (1e-5 m, every frame)."""
    pytest.importorskip("bvhio")
    poses, roots = walk_with_jump(MEAN_LENGTHS, 30, 0.3, np.random.default_rng(3))
    path = write_bvh(tmp_path / "walk.bvh", poses, MEAN_LENGTHS, fps=50.0, root_positions=roots)
    np.testing.assert_allclose(bvhio_joint_positions(path, list(range(30))), poses + roots[:, None], atol=1e-5)


@pytest.mark.parametrize("roots, message", [(np.zeros((4, 3)), r"shape \(4, 3\), expected \(3, 3\)"),
                                            (np.zeros(3), r"shape \(3,\)"),
                                            (np.full((3, 3), np.nan), "NaN")])
def test_bvh_refuses_bad_root_positions(tmp_path, roots, message):
    """Root positions that are not one finite (x, y, z) per frame are refused, and no file is left."""
    with pytest.raises(InputError, match=message):
        write_bvh(tmp_path / "x.bvh", np.zeros((3, 17, 3)), np.ones(16), fps=25.0, root_positions=roots)
    assert not (tmp_path / "x.bvh").exists()


def test_bvh_refuses_per_frame_lengths(tmp_path):
    """BVH offsets are constant, so a (T, 16) length array is refused."""
    poses = np.zeros((3, 17, 3))
    with pytest.raises(InputError, match="one bone length set"):
        write_bvh(tmp_path / "x.bvh", poses, np.ones((3, 16)), fps=25.0)
    assert not (tmp_path / "x.bvh").exists()


def test_float16_exported_checkpoints_load_and_predict_like_the_original(checkpoints, tmp_path):
    """Weights shipped as float16 (``export_weights``) load into both loaders and lift within 1 cm."""
    from blapose.models.checkpoint import export_weights

    export_weights(checkpoints[0], tmp_path / "lifter16.bin")
    export_weights(checkpoints[1], tmp_path / "length16.bin")
    keypoints = np.random.default_rng(2).normal(0, 0.3, size=(30, 17, 2))
    original = lift(load_lifter(str(checkpoints[0])), keypoints)
    exported = lift(load_lifter(str(tmp_path / "lifter16.bin")), keypoints)
    assert np.abs(exported - original).max() < 0.01
    lengths = predict_bone_lengths(load_length_model(str(tmp_path / "length16.bin")), keypoints)
    reference = predict_bone_lengths(load_length_model(str(checkpoints[1])), keypoints)
    np.testing.assert_allclose(lengths, reference, atol=2e-3)
