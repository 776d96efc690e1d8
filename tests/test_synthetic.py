import numpy as np

from blapose.bones import bone_lengths
from blapose.data.h36m import ACTIONS, load_keypoints_2d, load_poses_3d
from blapose.data.motion import ANKLE_HEIGHT
from blapose.data.synthetic import generate
from blapose.geometry.camera import h36m_cameras, project_to_2d


def test_same_seed_same_data_other_seed_other_data():
    """Generation is deterministic for a seed."""
    first, second, third = generate(3, "tiny"), generate(3, "tiny"), generate(4, "tiny")
    np.testing.assert_array_equal(first[0]["S1"]["Walking"], second[0]["S1"]["Walking"])
    np.testing.assert_array_equal(first[2]["S9"]["Eating"][1], second[2]["S9"]["Eating"][1])
    assert not np.array_equal(first[0]["S1"]["Walking"][:50], third[0]["S1"]["Walking"][:50])


def test_every_subject_has_every_action_class(h36m_data_dir):
    """All seven subjects and the fifteen Human3.6M action classes are present."""
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")
    assert list(poses) == ["S1", "S5", "S6", "S7", "S8", "S9", "S11"]
    for actions in poses.values():
        assert sorted(actions) == sorted(ACTIONS)


def test_bodies_are_rigid_and_differ_between_subjects(h36m_data_dir):
    """A subject's bone lengths never change over time; subjects' bodies differ."""
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")
    per_subject = {}
    for subject, actions in poses.items():
        lengths = np.concatenate([bone_lengths(p.astype(np.float64)) for p in actions.values()])
        assert lengths.std(axis=0).max() < 1e-5
        per_subject[subject] = lengths.mean(0)
    heights = [lengths[[1, 2, 6, 7, 8, 9]].sum() for lengths in per_subject.values()]
    assert np.ptp(heights) > 0.03


def test_feet_stay_on_the_floor_and_body_upright(h36m_data_dir):
    """The lower ankle sits at ankle height; the head stays above the hips; motion stays in the capture area."""
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")
    for actions in poses.values():
        for p in actions.values():
            np.testing.assert_allclose(p[:, [3, 6], 2].min(axis=1), ANKLE_HEIGHT, atol=1e-5)
            assert (p[:, 10, 2] > p[:, 0, 2]).all()
            assert np.abs(p[:, 0, :2]).max() < 3.0


def test_walking_moves_and_sitting_is_low(h36m_data_dir):
    """Walkers travel about 1 m/s; seated hips are far lower than standing ones."""
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")["S5"]
    walk = poses["Walking"][:, 0, :2]
    speed = np.linalg.norm(np.diff(walk, axis=0), axis=1).mean() * 50
    assert 0.8 < speed < 1.8
    assert poses["Sitting"][:, 0, 2].mean() < poses["Directions"][:, 0, 2].mean() - 0.25


def test_2d_ground_truth_is_the_projection_and_detections_are_noisy(h36m_data_dir):
    """data_2d_h36m_gt projects the 3D through the real cameras; detections differ by a few pixels."""
    poses = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz")["S9"]["Greeting"]
    truth, _ = load_keypoints_2d(h36m_data_dir / "data_2d_h36m_gt.npz")
    detected, _ = load_keypoints_2d(h36m_data_dir / "data_2d_h36m_cpn_ft_h36m_dbb.npz")
    camera = h36m_cameras("S9")[3]
    expected = project_to_2d(camera.world_to_camera(poses.astype(np.float64)), camera.intrinsic_pixels())
    np.testing.assert_allclose(truth["S9"]["Greeting"][3][:len(poses)], expected, atol=1e-3)
    error = np.linalg.norm(detected["S9"]["Greeting"][3] - truth["S9"]["Greeting"][3], axis=-1)
    assert 2.0 < np.median(error) < 12.0
