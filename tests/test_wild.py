"""Tests of the in-the-wild augmentation (blapose.train.wild)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blapose.bones import bone_lengths
from blapose.camera import normalize_screen_coordinates, project_to_2d
from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.skeleton import H36M
from blapose.train.wild import (NO_NOISE, WildCameraRanges, WildChunkBatches, WildNoise, _interpolate_gaps,
                                add_wild_noise, random_cameras, wild_test_sequences, world_motions)

HEAD, RFOOT, LFOOT = (H36M.joint_names.index(name) for name in ("Head", "RFoot", "LFoot"))


@pytest.fixture(scope="module")
def motions():
    """Two world-frame motions (T, 17, 3) meters of one body."""
    rng = np.random.default_rng(7)
    return [simulate_action(action, MEAN_LENGTHS, 90, rng) for action in ("Walking", "Eating")]


def generator(seed: int) -> torch.Generator:
    draws = torch.Generator()
    draws.manual_seed(seed)
    return draws


def test_virtual_cameras_are_rotations_that_keep_people_upright_and_in_front(motions):
    """Camera rotations are orthonormal, the body is in front (z > 0) and the head above the feet in 2D."""
    world = torch.from_numpy(np.concatenate(motions)).double()
    cameras = random_cameras(world[:, 0], WildCameraRanges(), generator(0))
    identity = cameras.rotation @ cameras.rotation.transpose(1, 2)
    torch.testing.assert_close(identity, torch.eye(3, dtype=torch.float64).expand_as(identity))
    assert torch.allclose(torch.linalg.det(cameras.rotation), torch.ones(len(world), dtype=torch.float64))
    points = cameras.to_camera(world[:, None])[:, 0]
    assert (points[..., 2] > 0.5).all()
    keypoints = cameras.project(points)
    assert (keypoints[:, HEAD, 1] < keypoints[:, [RFOOT, LFOOT], 1].min(dim=1).values).all()


def test_batches_hold_root_relative_targets_with_the_bodys_bone_lengths(motions):
    """Targets are rigidly moved poses: root at the origin, the motion's bone lengths kept."""
    batches = WildChunkBatches(motions, 9, 64, noise=NO_NOISE)
    batch = batches.batch(torch.arange(64))
    assert batch.keypoints_2d.shape == (64, 9, 17, 2) and batch.poses_3d.shape == (64, 1, 17, 3)
    assert torch.all(batch.poses_3d[:, 0, 0] == 0)
    lengths = bone_lengths(batch.poses_3d[:, 0].double().numpy())
    expected = np.sort(MEAN_LENGTHS)  # flipped examples swap left and right bones
    np.testing.assert_allclose(np.sort(lengths, axis=1), np.broadcast_to(expected, lengths.shape), atol=1e-5)
    assert batches.num_examples == sum(len(m) for m in motions)


def test_batches_are_drawn_from_the_generator_given(motions):
    """The same seed gives the same batch; another seed another one."""
    def first_batch(seed):
        return WildChunkBatches(motions, 9, 32, generator=generator(seed)).batch(torch.arange(32))
    same, again, other = first_batch(1), first_batch(1), first_batch(2)
    torch.testing.assert_close(same.keypoints_2d, again.keypoints_2d)
    assert not torch.allclose(same.keypoints_2d, other.keypoints_2d)


def test_noise_size_follows_the_settings():
    """Jitter alone moves keypoints by about jitter x scale; no noise moves nothing."""
    keypoints = torch.zeros(2000, 5, 17, 2)
    scale = torch.full((2000,), 2.0)
    quiet = add_wild_noise(keypoints, scale, NO_NOISE, generator(0))
    assert torch.equal(quiet, keypoints)
    jitter_only = WildNoise(jitter=0.01, offset=0.0, scale=(1.0, 1.0), outlier=0.0, swap=0.0, gap=0.0)
    noisy = add_wild_noise(keypoints, scale, jitter_only, generator(0))
    assert float(noisy.std()) == pytest.approx(0.02, rel=0.02)


def test_gaps_are_filled_by_linear_interpolation():
    """Frames in a gap lie on the line between the kept frames around it."""
    keypoints = torch.zeros(1, 6, 17, 2)
    keypoints[0, :, :, 0] = torch.tensor([0.0, 1.0, 9.0, 9.0, 4.0, 5.0])[:, None]
    gap = torch.tensor([[False, False, True, True, False, False]])
    filled = _interpolate_gaps(keypoints, gap)
    torch.testing.assert_close(filled[0, :, 0, 0], torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))


def test_wild_test_sequences_match_the_recorded_camera(motions):
    """Noise-free wild 2D equals the projection through the returned Camera record (camera.py)."""
    from blapose.camera import h36m_cameras
    from blapose.data.h36m import Sequence

    camera = h36m_cameras("S9")[0]
    originals = [Sequence("S9", name, 0, camera, camera.world_to_camera(m.astype(np.float64)).astype(np.float32),
                          np.zeros((len(m), 17, 2), np.float32)) for name, m in zip(("Walking", "Eating"), motions)]
    np.testing.assert_allclose(world_motions(originals)[0], motions[0], atol=1e-4)
    for sequence, motion in zip(wild_test_sequences(originals, np.random.default_rng(0), noise=NO_NOISE), motions):
        record = sequence.camera
        pixels = project_to_2d(record.world_to_camera(motion.astype(np.float64)), record.intrinsic_pixels())
        expected = normalize_screen_coordinates(pixels, record.res_w, record.res_h)
        np.testing.assert_allclose(sequence.keypoints_2d, expected, atol=1e-4)
        np.testing.assert_allclose(sequence.poses_3d, record.world_to_camera(motion.astype(np.float64)), atol=1e-4)


def test_lift_training_with_wild_augmentation_learns(motions):
    """One epoch of `train -t lift --augment wild` (train_lifting_model) lowers the loss and changes weights."""
    from blapose.camera import h36m_cameras
    from blapose.data.h36m import Sequence
    from blapose.train.pose import lift_config, train_lifting_model

    camera = h36m_cameras("S1")[0]
    sequences = [Sequence("S1", name, 0, camera, camera.world_to_camera(m.astype(np.float64)).astype(np.float32),
                          np.zeros((len(m), 17, 2), np.float32)) for name, m in zip(("Walking", "Eating"), motions)]
    losses = []
    config = lift_config(filter_widths=(3, 3), channels=32, epochs=3, batch_size=90, augment="wild",
                         progress=False, device="cpu")
    model = train_lifting_model(sequences, config, on_epoch_end=lambda result, *_: losses.append(result.train_loss))
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert model.receptive_field() == 9 and not model.training
