"""Tests of the in-the-wild augmentation (blapose.train.wild)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blapose.bones import bone_lengths, poses_to_bones
from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.errors import InputError
from blapose.geometry.camera import normalize_screen_coordinates, project_to_2d
from blapose.skeleton import H36M
from blapose.train.wild import (
    NO_NOISE,
    WildCameraRanges,
    WildChunkBatches,
    WildNoise,
    _interpolate_gaps,
    add_wild_noise,
    lift_training_motions,
    random_cameras,
    real_motion_copies,
    wild_clip_sequences,
    wild_test_sequences,
    world_motions,
)

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


def _takes(motions, subject="S1"):
    """Human3.6M-style sequences of world motions, seen by a real Human3.6M camera (no 2D)."""
    from blapose.data.h36m import Sequence
    from blapose.geometry.camera import h36m_cameras

    camera = h36m_cameras(subject)[0]
    return [Sequence(subject, name, 0, camera, camera.world_to_camera(m.astype(np.float64)).astype(np.float32),
                     np.zeros((len(m), 17, 2), np.float32)) for name, m in zip(("Walking", "Eating"), motions)]


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
    """Noise-free wild 2D equals the projection through the returned Camera record (geometry/camera.py)."""
    from blapose.data.h36m import Sequence
    from blapose.geometry.camera import h36m_cameras

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
    from blapose.train.pose import lift_config, train_lifting_model

    sequences = _takes(motions)
    losses = []
    config = lift_config(filter_widths=(3, 3), channels=32, epochs=3, batch_size=90, augment="wild",
                         progress=False, device="cpu")
    model = train_lifting_model(sequences, config, on_epoch_end=lambda result, *_: losses.append(result.train_loss))
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert model.receptive_field() == 9 and not model.training


@pytest.fixture(scope="module")
def real_motion():
    """A stand-in for a motion-capture clip: 64 frames of another body, 0.3 m higher."""
    motion = simulate_action("Posing", MEAN_LENGTHS * 0.9, 64, np.random.default_rng(3)).astype(np.float64)
    motion[..., 2] += 0.3
    return motion


def test_real_motion_copies_make_the_share_of_examples():
    """Copies of real motion make about the share asked for, none for share 0 and at least one otherwise."""
    copies = real_motion_copies(1300, 75_000, 0.3)
    assert copies * 1300 / (copies * 1300 + 75_000) == pytest.approx(0.3, abs=0.01)
    assert real_motion_copies(1300, 75_000, 0.0) == 0 and real_motion_copies(5000, 100, 0.01) == 1


def test_real_motion_is_repeated_with_the_training_bodies_and_its_own_directions(motions, real_motion):
    """Each copy keeps the clip's bone directions and lowest height, with a training body's lengths."""
    sequences = _takes([motions[0], simulate_action("Eating", MEAN_LENGTHS * 1.1, 90, np.random.default_rng(8))])
    mixed = lift_training_motions(sequences, [real_motion], real_share=0.6)
    copies = mixed[2:]
    assert len(copies) == real_motion_copies(64, 180, 0.6) == 4
    training_bodies = [bone_lengths(m).mean(axis=0) for m in world_motions(sequences)]
    directions, _ = poses_to_bones(real_motion)
    for copy in copies:
        lengths = bone_lengths(copy)
        assert any(np.allclose(lengths, body, atol=1e-5) for body in training_bodies)
        np.testing.assert_allclose(poses_to_bones(copy)[0], directions, atol=1e-9)
        assert copy[..., 2].min() == pytest.approx(real_motion[..., 2].min())
    assert not np.allclose(bone_lengths(copies[0]), bone_lengths(copies[-1]), atol=1e-3)
    assert len(lift_training_motions(sequences)) == 2


def test_lift_training_sees_the_real_motion_examples(motions, real_motion):
    """An epoch of wild lift training with real motion has the takes' frames plus the copies' frames."""
    from blapose.train.pose import lift_config, train_lifting_model

    examples = []
    config = lift_config(filter_widths=(3,), channels=16, epochs=1, batch_size=128, augment="wild",
                         mocap_share=0.5, progress=False, device="cpu")
    train_lifting_model(_takes(motions), config, real_motions=[real_motion],
                        on_epoch_end=lambda result, *_: examples.append(result.examples))
    assert examples == [180 + real_motion_copies(64, 180, 0.5) * 64] and examples[0] == 180 + 3 * 64
    with pytest.raises(InputError, match="--augment wild"):
        train_lifting_model(_takes(motions), lift_config(augment="none", device="cpu"), real_motions=[real_motion])


def test_wild_clip_sequences_show_each_clip_through_several_cameras(real_motion):
    """Each clip is seen by ``views`` different cameras, keys are distinct and the bodies stay rigid."""
    sequences = wild_clip_sequences({"pose": real_motion, "again": real_motion[::2]}, np.random.default_rng(0),
                                    views=3, noise=NO_NOISE)
    assert [s.key for s in sequences] == [("mocap", name, view) for name in ("pose", "again") for view in range(3)]
    assert len({s.camera.translation for s in sequences}) == 6
    np.testing.assert_allclose(bone_lengths(sequences[0].poses_3d), bone_lengths(real_motion), atol=1e-5)
    assert all((s.poses_3d[..., 2] > 0.5).all() for s in sequences)
