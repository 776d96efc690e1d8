import numpy as np

from blapose.skeleton import H36M, Skeleton


def test_bone_i_ends_at_joint_i_plus_one():
    """Bones are derived from parents: bone i runs from parents[i+1] to joint i+1."""
    assert H36M.num_joints == 17 and H36M.num_bones == 16
    assert H36M.bone_children == tuple(range(1, 17))
    assert H36M.bone_parents == (0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)


def test_symmetric_bones_pair_left_and_right_limbs():
    """Symmetric bone pairs match upstream's (right, left) list."""
    assert H36M.symmetric_bones == ((0, 3), (1, 4), (2, 5), (13, 10), (14, 11), (15, 12))


def test_ancestor_matrix_rebuilds_joints_from_bone_vectors(rng):
    """ancestor_matrix @ (incidence_matrix @ poses) gives root-relative poses back."""
    poses = rng.normal(size=(5, 17, 3))
    rebuilt = H36M.ancestor_matrix @ (H36M.incidence_matrix @ poses)
    np.testing.assert_allclose(rebuilt, poses - poses[:, :1], atol=1e-12)


def test_flip_permutation_swaps_sides_and_is_an_involution():
    """Mirroring twice is the identity and maps each left joint to its right partner."""
    flip = H36M.flip_permutation
    np.testing.assert_array_equal(flip[flip], np.arange(17))
    assert [flip[j] for j in H36M.joints_left] == list(H36M.joints_right)


def test_skeleton_rejects_parent_after_child():
    """A parents list that is not topologically ordered is refused."""
    try:
        Skeleton(("a", "b"), (-1, 1), (), ())
    except ValueError:
        return
    raise AssertionError("accepted a joint that is its own parent")
