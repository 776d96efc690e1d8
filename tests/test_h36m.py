import shutil

import numpy as np
import pytest

from blapose.bones import bone_lengths
from blapose.data.h36m import action_name, load_keypoints_2d, load_poses_3d, load_sequences
from blapose.data.safe_pickle import load_npz
from blapose.errors import InputError


def _copy(data_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(data_dir, folder)
    return folder


def _rewrite(path, **content):
    np.savez_compressed(path, **{k: np.array(v, dtype=object) if isinstance(v, dict) else v
                                 for k, v in content.items()})


def test_3d_file_reduces_32_joints_to_17(h36m_data_dir):
    """The 32-joint arrays come back as (T, 17, 3) float32, with the kept joints unchanged."""
    raw = load_npz(h36m_data_dir / "data_3d_h36m.npz")["positions_3d"]["S9"]["Walking"]
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")["S9"]["Walking"]
    assert raw.shape[1:] == (32, 3) and poses.shape == (len(raw), 17, 3) and poses.dtype == np.float32
    np.testing.assert_array_equal(poses[:, 8], raw[:, 13])


def test_sequences_are_camera_frame_and_trimmed(h36m_data_dir):
    """Sequences pair camera-frame 3D with normalised 2D of equal length; 2D longer than 3D is trimmed."""
    keypoints, metadata = load_keypoints_2d(h36m_data_dir / "data_2d_h36m_gt.npz")
    assert metadata["num_joints"] == 17
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")
    longer = [(s, a) for s in ("S9", "S11") for a in poses[s] if len(keypoints[s][a][0]) > len(poses[s][a])]
    assert longer, "the built-in data should include 2D sequences with extra frames"
    sequences = load_sequences(h36m_data_dir, "gt", ("S9", "S11"))
    assert len(sequences) == 4 * sum(len(poses[s]) for s in ("S9", "S11"))
    for sequence in sequences:
        assert len(sequence.keypoints_2d) == len(sequence.poses_3d)
        assert (sequence.poses_3d[:, :, 2] > 1.0).all()  # in front of the camera
        assert np.abs(sequence.keypoints_2d).max() < 1.2
        np.testing.assert_array_equal(sequence.poses_root_relative[:, 0], 0)


def test_world_lengths_equal_camera_lengths(h36m_data_dir):
    """Changing frames keeps every bone length (to float32 precision)."""
    sequence = load_sequences(h36m_data_dir, "gt", ("S11",))[5]
    world = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")["S11"][sequence.action]
    np.testing.assert_allclose(bone_lengths(sequence.poses_3d), bone_lengths(world), atol=1e-5)


def test_action_name_groups_takes():
    """'Walking 1' and 'Walking' share the action class 'Walking'."""
    assert action_name("Walking 1") == action_name("Walking") == "Walking"


def test_missing_file(tmp_path):
    """A missing data file is named."""
    with pytest.raises(InputError, match="data_3d_h36m.npz: file not found"):
        load_sequences(tmp_path)


def test_missing_subject_and_action(h36m_data_dir, tmp_path):
    """Missing subjects and actions name the file, the subject and the action."""
    with pytest.raises(InputError, match="subject 'S2' is missing"):
        load_sequences(h36m_data_dir, "gt", ("S2",))
    folder = _copy(h36m_data_dir, tmp_path)
    keypoints, metadata = load_keypoints_2d(folder / "data_2d_h36m_gt.npz")
    del keypoints["S9"]["Eating"]
    _rewrite(folder / "data_2d_h36m_gt.npz", positions_2d=keypoints, metadata=metadata)
    with pytest.raises(InputError, match=r"data_2d_h36m_gt.npz: action 'Eating' of subject 'S9' is missing"):
        load_sequences(folder, "gt", ("S9",))


def test_wrong_shape_nan_and_missing_key(h36m_data_dir, tmp_path):
    """Bad 3D arrays and a missing key are reported with the key and the expected layout."""
    folder = _copy(h36m_data_dir, tmp_path)
    path = folder / "data_3d_h36m.npz"
    poses = load_npz(path)["positions_3d"]
    poses["S9"]["Walking"] = poses["S9"]["Walking"][..., :2]
    _rewrite(path, positions_3d=poses)
    with pytest.raises(InputError, match=r"positions_3d\['S9'\]\['Walking'\] has shape .* expected \(frames, joints, 3\)"):
        load_poses_3d(path)
    poses["S9"]["Walking"] = np.full((4, 32, 3), np.nan, dtype=np.float32)
    _rewrite(path, positions_3d=poses)
    with pytest.raises(InputError, match="NaN"):
        load_poses_3d(path)
    _rewrite(path, something_else=np.zeros(3))
    with pytest.raises(InputError, match="missing key 'positions_3d'"):
        load_poses_3d(path)


def test_2d_shorter_than_3d_and_wrong_keypoint_count(h36m_data_dir, tmp_path):
    """A 2D sequence shorter than its 3D one, or with other than 17 keypoints, is refused."""
    folder = _copy(h36m_data_dir, tmp_path)
    path = folder / "data_2d_h36m_gt.npz"
    keypoints, metadata = load_keypoints_2d(path)
    keypoints["S11"]["Walking"][2] = keypoints["S11"]["Walking"][2][:10]
    _rewrite(path, positions_2d=keypoints, metadata=metadata)
    with pytest.raises(InputError, match=r"\['S11'\]\['Walking'\]\[2\] has 10 frames, fewer than"):
        load_sequences(folder, "gt", ("S11",))
    keypoints["S11"]["Walking"][2] = np.zeros((500, 16, 2), dtype=np.float32)
    _rewrite(path, positions_2d=keypoints, metadata=metadata)
    with pytest.raises(InputError, match="has 16 keypoints, expected 17"):
        load_keypoints_2d(path)
    _rewrite(path, positions_2d=keypoints, metadata={**metadata, "num_joints": 16})
    with pytest.raises(InputError, match="metadata says 16 keypoints"):
        load_keypoints_2d(path)
