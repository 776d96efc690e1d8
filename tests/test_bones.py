import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from blapose.bones import adjust_poses, bone_lengths, bones_to_poses, poses_to_bones, symmetrize_lengths
from blapose.skeleton import H36M


@pytest.mark.parametrize("batch", [(), (7,), (2, 5)])
def test_round_trip_numpy(rng, batch):
    """bones_to_poses(poses_to_bones(x), root) == x for any leading batch dims."""
    poses = rng.normal(size=(*batch, 17, 3))
    directions, lengths = poses_to_bones(poses)
    np.testing.assert_allclose(bones_to_poses(directions, lengths, root=poses[..., 0, :]), poses, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=-1), 1.0)


@pytest.mark.parametrize("batch", [(), (3,), (2, 4)])
def test_round_trip_torch_matches_numpy_and_is_differentiable(rng, batch):
    """The torch path gives the numpy result and finite gradients."""
    poses = rng.normal(size=(*batch, 17, 3))
    tensor = torch.tensor(poses, requires_grad=True)
    directions, lengths = poses_to_bones(tensor)
    rebuilt = bones_to_poses(directions, lengths, root=tensor[..., 0, :])
    np.testing.assert_allclose(rebuilt.detach().numpy(), poses, atol=1e-12)
    rebuilt.square().sum().backward()
    assert torch.isfinite(tensor.grad).all()


def test_lengths_are_invariant_to_rotation_and_translation(rng):
    """Rigid motions leave bone lengths unchanged."""
    poses = rng.normal(size=(10, 17, 3))
    rotation = Rotation.random(random_state=3).as_matrix()
    moved = poses @ rotation.T + np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(bone_lengths(moved), bone_lengths(poses), atol=1e-12)


def test_zero_length_and_nan_bones_give_no_nan(rng):
    """Coincident joints and NaN joints yield zero directions, never NaN, in numpy and torch."""
    poses = rng.normal(size=(4, 17, 3))
    poses[0, 2] = poses[0, 1]
    poses[1, 5] = np.nan
    for array in (poses, torch.tensor(poses)):
        directions, lengths = poses_to_bones(array)
        directions, lengths = np.asarray(directions), np.asarray(lengths)
        assert np.isfinite(directions).all() and np.isfinite(lengths).all()
        assert lengths[0, 1] == 0 and not directions[0, 1].any()
        adjusted = adjust_poses(np.nan_to_num(np.asarray(array)), np.full(16, 0.2))
        assert np.isfinite(adjusted).all()


def test_symmetrize_averages_pairs_and_is_idempotent(rng):
    """Left and right lengths become their mean; others are untouched; applying twice changes nothing."""
    lengths = rng.uniform(0.1, 0.5, size=(6, 16))
    symmetric = symmetrize_lengths(lengths)
    for right, left in H36M.symmetric_bones:
        np.testing.assert_allclose(symmetric[:, right], (lengths[:, right] + lengths[:, left]) / 2)
        np.testing.assert_allclose(symmetric[:, left], symmetric[:, right])
    np.testing.assert_allclose(symmetric[:, [6, 7, 8, 9]], lengths[:, [6, 7, 8, 9]])
    np.testing.assert_allclose(symmetrize_lengths(symmetric), symmetric)


def test_adjust_keeps_directions_and_root_and_sets_lengths(rng):
    """Adjusted poses have the given lengths, the old directions and the old root."""
    poses = rng.normal(size=(8, 17, 3))
    new_lengths = rng.uniform(0.1, 0.5, size=16)
    adjusted = adjust_poses(poses, new_lengths)
    directions, lengths = poses_to_bones(adjusted)
    np.testing.assert_allclose(lengths, np.broadcast_to(new_lengths, (8, 16)), atol=1e-12)
    np.testing.assert_allclose(directions, poses_to_bones(poses)[0], atol=1e-12)
    np.testing.assert_allclose(adjusted[:, 0], poses[:, 0])


def test_adjust_with_per_frame_lengths(rng):
    """Causal adjustment: one length set per frame."""
    poses = rng.normal(size=(5, 17, 3))
    per_frame = rng.uniform(0.1, 0.5, size=(5, 16))
    np.testing.assert_allclose(bone_lengths(adjust_poses(poses, per_frame)), per_frame, atol=1e-12)
