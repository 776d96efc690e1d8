"""Tests of bone-length training: augmented batches, the training loop, resume, and the CLI end to end
(blapose.train.length.batches, blapose.train.length, blapose.cli.train, blapose.cli.infer_lengths)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from blapose.bones import bone_lengths
from blapose.cli import main
from blapose.data.h36m import load_sequences
from blapose.errors import InputError
from blapose.geometry.camera import Camera, project_to_2d
from blapose.lengths.io import load_lengths_dict
from blapose.models.checkpoint import load_checkpoint, save_checkpoint
from blapose.models.length import BoneLengthModel
from blapose.skeleton import H36M
from blapose.train.length import LengthTrainingConfig, fit, length_loss, train_step
from blapose.train.length.batches import (
    LengthBatchBuilder,
    MotionBank,
    WildViews,
    augmented_keypoints,
    build_chunk_index,
    make_length_sampler,
    mirror_lengths,
)
from blapose.train.length.config import length_config, with_settings

TINY = dict(embed_dim=8, hidden_size=6)


def forward_kinematics(directions: np.ndarray, lengths: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joints (..., 17, 3) by walking the parents one joint at a time (independent of blapose.bones)."""
    joints = np.zeros(directions.shape[:-2] + (17, 3))
    joints[..., 0, :] = root
    for joint in range(1, 17):
        joints[..., joint, :] = joints[..., H36M.parents[joint], :] + directions[..., joint - 1, :] * lengths[..., joint - 1, None]
    return joints


def random_unit_directions(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    vectors = rng.normal(size=shape + (16, 3))
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def length_table_file(data_dir, path, rows: int = 200, seed: int = 0):
    """An augmentation file (key 'data', (M, 16) meters): jittered mean lengths of the data's subjects."""
    poses = np.concatenate([s.poses_3d for s in load_sequences(data_dir, subjects=("S1", "S9"))])
    mean = bone_lengths(poses.astype(np.float64)).mean(axis=0)
    rng = np.random.default_rng(seed)
    np.savez(path, data=mean * rng.uniform(0.85, 1.15, size=(rows, 16)))
    return path


def test_chunks_start_every_shift_frames_like_upstream():
    """Chunks start at 0, shift, ... while start < T - L; videos of at most L frames give none; flip doubles."""
    index = build_chunk_index([600, 512, 513, 700], chunk_len=512, segment_shift=64, flip=False)
    assert list(zip(index.sequence, index.start)) == [(0, 0), (0, 64), (2, 0), (3, 0), (3, 64), (3, 128)]
    flipped = build_chunk_index([600], chunk_len=512, segment_shift=64, flip=True)
    assert list(flipped.flip) == [False, False, True, True] and list(flipped.start) == [0, 64, 0, 64]


@pytest.mark.parametrize("flip", [False, True])
def test_augmented_keypoints_relift_to_the_sampled_lengths(flip):
    """Un-projecting augmented 2D with its depth gives bones of the sampled lengths (mirrored: left/right swapped)."""
    rng = np.random.default_rng(1)
    batch, frames = 3, 7
    camera = Camera(id="pinhole", res_w=1000, res_h=1000, focal_length=(1150.0, 1140.0),
                    center=(510.0, 495.0), radial_distortion=(0.0, 0.0, 0.0),
                    tangential_distortion=(0.0, 0.0), orientation=(1.0, 0.0, 0.0, 0.0),
                    translation=(0.0, 0.0, 0.0))
    directions = random_unit_directions(rng, (batch, frames))
    lengths = rng.uniform(0.1, 0.5, size=(batch, 16))
    root = np.concatenate([rng.normal(0, 0.3, (batch, frames, 2)), rng.uniform(4, 6, (batch, frames, 1))], -1)
    intrinsic = np.tile(camera.intrinsic(), (batch, 1))
    flips = torch.full((batch,), flip)
    keypoints = augmented_keypoints(torch.tensor(directions, dtype=torch.float32),
                                    torch.tensor(lengths, dtype=torch.float32),
                                    torch.tensor(root, dtype=torch.float32),
                                    torch.from_numpy(intrinsic), flips).double().numpy()
    target = mirror_lengths(torch.tensor(lengths)).numpy() if flip else lengths

    depth = forward_kinematics(directions, lengths[:, None], root)[..., 2]
    depth = depth[..., H36M.flip_permutation] if flip else depth
    fx, fy, cx, cy = intrinsic[0, :4]
    cx = -cx if flip else cx  # a mirrored image is seen by the mirrored camera
    relifted = np.stack([(keypoints[..., 0] - cx) / fx * depth, (keypoints[..., 1] - cy) / fy * depth, depth], -1)
    np.testing.assert_allclose(bone_lengths(relifted), np.broadcast_to(target[:, None], (batch, frames, 16)),
                               rtol=2e-4)
    if flip:
        assert not np.allclose(target, lengths)


def test_augmented_batch_is_the_projection_of_the_reposed_body(h36m_data_dir):
    """A built batch equals projecting (with distortion) the GT directions with the sampled lengths, root and offset."""
    sequences = load_sequences(h36m_data_dir, subjects=("S1",))
    bank = MotionBank.from_sequences(sequences)
    table = np.random.default_rng(2).uniform(0.1, 0.5, size=(50, 16))
    sampler = make_length_sampler("smpl", table, ("S1",), ("S9",))
    builder = LengthBatchBuilder(bank, sampler, batch_size=4, chunk_len=16, segment_shift=8, flip=True)
    chunks = np.array([0, 3, len(builder.index) // 2 + 1, len(builder.index) - 1])
    batch = builder.build(chunks, np.random.default_rng(3))

    replay = np.random.default_rng(3)  # the same draws, in the builder's order: lengths, then offsets
    lengths = table[replay.integers(0, len(table), size=4)]
    offsets = replay.normal(0.0, 0.5, size=(4, 3)).astype(np.float32).astype(np.float64)
    for row, chunk in enumerate(chunks):
        sequence = sequences[builder.index.sequence[chunk]]
        start = builder.index.start[chunk]
        poses = sequence.poses_3d[start:start + 16].astype(np.float64)
        vectors = poses[:, 1:] - poses[:, list(H36M.parents[1:])]
        directions = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
        body = forward_kinematics(directions, lengths[row][None], poses[:, 0] + offsets[row])
        expected = project_to_2d(body, sequence.camera.intrinsic().astype(np.float64))
        target = lengths[row]
        if builder.index.flip[chunk]:
            expected = expected[:, H36M.flip_permutation] * np.array([-1.0, 1.0])
            target = mirror_lengths(torch.tensor(target)).numpy()
        np.testing.assert_allclose(batch.keypoints[row].numpy(), expected, atol=2e-5)
        np.testing.assert_allclose(batch.lengths[row].numpy(), target, rtol=1e-6)
    assert builder.index.flip[chunks].any() and not builder.index.flip[chunks].all()


def test_floor_augmentation_keeps_feet_on_the_floor_and_offsets_in_the_floor_plane(h36m_data_dir):
    """With floor=True each frame's lowest joint stays at its original world height, and offsets have no up part."""
    from blapose.train.length.batches import world_up_in_camera

    sequences = load_sequences(h36m_data_dir, subjects=("S1",))
    bank = MotionBank.from_sequences(sequences)
    table = np.random.default_rng(2).uniform(0.1, 0.5, size=(50, 16))
    sampler = make_length_sampler("smpl", table, ("S1",), ("S9",))
    builder = LengthBatchBuilder(bank, sampler, batch_size=3, chunk_len=16, segment_shift=8, flip=False,
                                 floor=True)
    chunks = np.array([0, 5, len(builder.index) - 1])
    batch = builder.build(chunks, np.random.default_rng(3))
    replay = np.random.default_rng(3)
    lengths = table[replay.integers(0, len(table), size=3)]
    offsets = replay.normal(0.0, 0.5, size=(3, 3))
    for row, chunk in enumerate(chunks):
        sequence = sequences[builder.index.sequence[chunk]]
        start = builder.index.start[chunk]
        poses = sequence.poses_3d[start:start + 16].astype(np.float64)
        world = sequence.camera.camera_to_world(poses)
        vectors = poses[:, 1:] - poses[:, list(H36M.parents[1:])]
        body = forward_kinematics(vectors / np.linalg.norm(vectors, axis=-1, keepdims=True), lengths[row][None],
                                  np.zeros((16, 3)))
        up = world_up_in_camera(sequence.camera).astype(np.float64)
        in_plane = offsets[row] - (offsets[row] @ up) * up
        # the body as the builder must have placed it: lowest joint at the original lowest height
        root = poses[:, 0] + in_plane + (((poses - poses[:, :1]) @ up).min(-1) - (body @ up).min(-1))[:, None] * up
        placed = sequence.camera.camera_to_world(body + root[:, None])
        np.testing.assert_allclose(placed[..., 2].min(-1), world[..., 2].min(-1), atol=1e-5)
        expected = project_to_2d(body + root[:, None], sequence.camera.intrinsic().astype(np.float64))
        np.testing.assert_allclose(batch.keypoints[row].numpy(), expected, atol=5e-5)
    assert not np.allclose(lengths, bone_lengths(sequences[0].poses_3d[0].astype(np.float64)))


def test_proportion_loss_ignores_the_targets_size_but_not_its_shape():
    """With proportions_only the loss of a uniformly rescaled target is zero; a reshaped target still costs."""
    predicted = torch.linspace(0.1, 0.45, 16)[None]
    assert float(length_loss(predicted, 1.2 * predicted, proportions_only=True)) == pytest.approx(0.0, abs=1e-7)
    assert float(length_loss(predicted, 1.2 * predicted)) > 0.02
    reshaped = predicted * torch.tensor([1.1, 0.9] * 8)
    assert float(length_loss(predicted, reshaped, proportions_only=True)) > 0.01


def test_length_samplers_follow_the_augmentation_types():
    """smpl draws table rows; random types perturb the subject's row and copy right lengths to the left."""
    rng = np.random.default_rng(4)
    subjects_train, subjects_test = ("S1", "S5"), ("S9",)
    table = rng.uniform(0.1, 0.5, size=(3, 16))
    smpl = make_length_sampler("smpl", table, subjects_train, subjects_test).sample(rng, ["S1"] * 20)
    assert all(any(np.allclose(row, t, rtol=1e-6) for t in table) for row in smpl)
    uniform = make_length_sampler("random_unif", table, subjects_train, subjects_test).sample(rng, ["S5"] * 50)
    right = [r for r, _ in H36M.symmetric_bones]
    assert np.all(np.abs(uniform[:, right] / table[1, right] - 1) <= 0.3 + 1e-6)
    for sampled in (uniform, make_length_sampler("random_norm_all", table, subjects_train, subjects_test)
                    .sample(rng, ["S9"] * 5)):
        for right, left in H36M.symmetric_bones:
            np.testing.assert_array_equal(sampled[:, right], sampled[:, left])
    with pytest.raises(InputError, match="one row per subject"):
        make_length_sampler("random_norm_train", rng.uniform(0.1, 0.5, (10, 16)), subjects_train, subjects_test)
    with pytest.raises(InputError, match="millimetres"):
        make_length_sampler("smpl", table * 1000, subjects_train, subjects_test)


def test_one_training_step_lowers_the_loss_on_a_fixed_batch():
    """One optimiser step on a batch lowers the L1 length loss on that batch."""
    torch.manual_seed(5)
    model = BoneLengthModel(dropout=0.0, bidirectional=True, **TINY)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    generator = torch.Generator().manual_seed(5)
    keypoints = torch.randn(8, 12, 17, 2, generator=generator) * 0.3
    target = torch.rand(8, 16, generator=generator) * 0.4 + 0.1
    with torch.no_grad():
        before = float(length_loss(model.eval()(keypoints), target))
    reported = train_step(model, optimizer, keypoints, target)
    with torch.no_grad():
        after = float(length_loss(model.eval()(keypoints), target))
    assert reported == pytest.approx(before, rel=1e-5)
    assert after < before - 1e-4


def small_config(data_dir, tmp_path, **changes) -> LengthTrainingConfig:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = length_config(
        data_dir=str(data_dir), bone_length_aug=str(length_table_file(data_dir, tmp_path / "aug.npz")),
        subjects_train=("S1", "S5"), epochs=2, batch_size=16, chunk_len=16, segment_shift=32,
        dropout=0.1, checkpoint_dir=str(tmp_path / "checkpoint"), progress=False, device="cpu",
        evaluate_each_epoch=False, **TINY)
    return with_settings(config, **changes)


def test_resumed_training_continues_exactly(h36m_data_dir, tmp_path):
    """Training 2 epochs equals training 1 epoch, then resuming from final.bin for the second."""
    straight = fit(small_config(h36m_data_dir, tmp_path / "a"))
    fit(small_config(h36m_data_dir, tmp_path / "b", epochs=1))
    resumed = fit(small_config(h36m_data_dir, tmp_path / "b", epochs=2, resume="final.bin"))
    assert resumed.history.train == straight.history.train and len(straight.history.train) == 2
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, rtol=0, atol=0)
    checkpoint = load_checkpoint(tmp_path / "b" / "checkpoint" / "final.bin")
    assert checkpoint["epoch"] == 2 and checkpoint["lr"] == pytest.approx(1e-4 * 0.95 ** 2)
    assert set(checkpoint) >= {"model_pos", "epoch", "lr", "optimizer", "random_state"}


def test_cli_trains_and_infers_lengths_end_to_end(h36m_data_dir, tmp_path, monkeypatch, capsys):
    """blapose train -t length --recipe cpu (validated on S5) then infer-lengths (no architecture flags) write complete lengths files."""
    monkeypatch.chdir(tmp_path)
    os.symlink(h36m_data_dir, tmp_path / "data")
    length_table_file("data", tmp_path / "aug.npz")
    assert main(["train", "-t", "length", "--recipe", "cpu", "--bone_length_aug", "aug.npz", "-str", "S1,S5",
                 "--subjects-valid", "S5"]) == 0
    output = capsys.readouterr().out
    assert "length_valid" in output and "(S5)" in output and "validation subjects (S5)" in output
    assert output.count("measured once") == 1
    assert (tmp_path / "checkpoint" / "final.bin").is_file()
    assert (tmp_path / "checkpoint" / "epoch_best.bin").is_file()  # picked on S5, not on the test subjects

    assert main(["infer-lengths", "--ckpt", "final.bin", "--subjects", "S9,S11", "--causal"]) == 0
    assert main(["infer-lengths", "--ckpt", str(tmp_path / "checkpoint" / "final.bin"),
                 "--subjects", "S9,S11"]) == 0
    lengths = load_lengths_dict(tmp_path / "data" / "lengths_dict.npz")
    causal = load_lengths_dict(tmp_path / "data" / "lengths_dict_causal.npz")
    expected = {s.key: s.num_frames for s in load_sequences("data", subjects=("S9", "S11"))}
    assert set(lengths) == set(causal) == set(expected)
    for key, frames in expected.items():
        assert lengths[key].shape == (16,) and causal[key].shape == (frames, 16)
        np.testing.assert_allclose(causal[key][-1], lengths[key], atol=1e-5)
    listed = np.load(tmp_path / "data" / "lengths_list.npz")
    assert listed["lengths"].shape == (len(expected), 16)

    assert load_checkpoint(tmp_path / "checkpoint" / "final.bin")["architecture"]["recipe"] == "cpu"
    assert main(["infer-lengths", "--ckpt", "final.bin", "-bi"]) == 0  # a recorded architecture overrides -bi
    upstream = BoneLengthModel(dropout=0.0, **TINY)  # an upstream checkpoint: no record, a GRU
    save_checkpoint(tmp_path / "checkpoint" / "gru.bin", {"model_pos": upstream.state_dict()})
    capsys.readouterr()
    assert main(["infer-lengths", "--ckpt", "gru.bin", "-bi"]) == 2
    assert main(["infer-lengths", "--ckpt", "final.bin", "-bi", "--causal"]) == 2
    error = capsys.readouterr().err
    assert "needs -bi" not in error and "drop -bi" in error and "causal" in error
    assert "Traceback" not in error


def test_augmentation_table_with_a_negative_length_is_refused_naming_file_and_bone(tmp_path):
    """load_length_table refuses a table whose row holds a negative length, naming the file, row and bone."""
    from blapose.train.length.config import load_length_table

    table = np.full((3, 16), 0.2)
    table[1, 4] = -0.1
    path = tmp_path / "bone_lengths_bad.npz"
    np.savez(path, data=table)
    with pytest.raises(InputError, match=r"bone_lengths_bad\.npz.*bone 4"):
        load_length_table(str(path))


def _wild_builder(h36m_data_dir, **extra) -> tuple[LengthBatchBuilder, np.ndarray]:
    from blapose.train.wild import world_motions

    sequences = load_sequences(h36m_data_dir, subjects=("S1",))
    motions = world_motions(sequences)
    table = np.stack([bone_lengths(m).mean(axis=0) for m in motions]) * np.linspace(0.9, 1.1, len(motions))[:, None]
    bank = MotionBank.from_world_motions(motions, ["S1"] * len(motions))
    builder = LengthBatchBuilder(bank, make_length_sampler("smpl", table, ["S1"], []), 16, 32, 16,
                                 floor=True, wild=WildViews(), **extra)
    return builder, table


def test_wild_batches_are_seen_through_phone_cameras_and_repeat_from_the_seed(h36m_data_dir):
    """Wild batches: finite 2D mostly inside the image, targets from the table, the same batch from the same seed."""
    builder, table = _wild_builder(h36m_data_dir)
    first = next(builder.epoch(np.random.default_rng(3)))
    again = next(builder.epoch(np.random.default_rng(3)))
    torch.testing.assert_close(first.keypoints, again.keypoints, rtol=0, atol=0)
    assert torch.isfinite(first.keypoints).all() and first.keypoints.shape == (16, 32, 17, 2)
    inside = (first.keypoints[..., 0].abs() <= 1.0).float().mean()
    assert inside > 0.9
    rows = {tuple(np.round(row, 5)) for row in table.astype(np.float32)}
    assert all(tuple(np.round(lengths, 5)) in rows or tuple(np.round(mirror_lengths(torch.from_numpy(lengths)).numpy(), 5))
               in rows for lengths in first.lengths.numpy())


def test_wild_batches_differ_from_the_datasets_cameras(h36m_data_dir):
    """Through random cameras the 2D of a chunk varies in size and place from batch to batch."""
    builder, _ = _wild_builder(h36m_data_dir, flip=False)
    chunks = np.zeros(8, dtype=np.int64)
    batch = builder.build(chunks, np.random.default_rng(0))
    spans = (batch.keypoints[..., 1].amax(dim=-1) - batch.keypoints[..., 1].amin(dim=-1)).mean(dim=1)
    assert spans.max() / spans.min() > 1.5  # the same chunk, near and far cameras


def test_wild_views_need_the_floor_augmentation(h36m_data_dir):
    """Wild views without floor=True are refused."""
    builder, table = _wild_builder(h36m_data_dir)
    with pytest.raises(InputError, match="floor"):
        LengthBatchBuilder(builder.bank, builder.sampler, 4, 32, 16, floor=False, wild=WildViews())


def test_wild_recipe_trains_a_proportions_model_around_the_tables_size(h36m_data_dir, tmp_path):
    """--recipe wild (2 epochs here) lowers its loss and keeps the table's mean size (geometric mean)."""
    from blapose.train.length.config import apply_recipe

    table_path = tmp_path / "table.npz"
    length_table_file(h36m_data_dir, table_path)
    config = with_settings(apply_recipe(length_config(data_dir=str(h36m_data_dir),
                                                       bone_length_aug=str(table_path),
                                                       checkpoint_dir=str(tmp_path / "ck"),
                                                       subjects_train=("S1",), progress=False), "wild"),
                           epochs=3)
    result = fit(config)
    assert result.history.train[-1] < result.history.train[0]
    table = np.load(table_path)["data"]
    keypoints = torch.randn(2, 20, 17, 2) * 0.1
    with torch.no_grad():
        lengths = result.model(keypoints).numpy()
    np.testing.assert_allclose(np.exp(np.log(lengths).mean(-1)), np.exp(np.log(table.mean(0)).mean()), rtol=1e-4)
    assert load_checkpoint(tmp_path / "ck" / "final.bin")["architecture"]["recipe"] == "wild"


def test_studio_views_carry_each_examples_camera_mirrored_with_it(h36m_data_dir):
    """A chunk and its mirrored twin, drawn alike, share one camera: mirrored calibration, the same heights on the person's plane."""
    from blapose.geometry.floor import mirror_calibration
    from blapose.models.length import floor_features
    from blapose.train.wild import NO_NOISE, STUDIO_CAMERAS

    builder, _ = _wild_builder(h36m_data_dir)
    builder.wild = WildViews(cameras=STUDIO_CAMERAS, noise=NO_NOISE)
    half = len(builder.index) // 2
    assert not builder.index.flip[3] and builder.index.flip[3 + half]
    plain = builder.build(np.array([3]), np.random.default_rng(4))
    mirrored = builder.build(np.array([3 + half]), np.random.default_rng(4))
    assert plain.calibration.shape == (1, 13)
    low, high = STUDIO_CAMERAS.height
    assert low <= float(plain.calibration[0, 12]) <= high
    np.testing.assert_allclose(mirrored.calibration, mirror_calibration(plain.calibration), atol=1e-6)
    plain_plane = floor_features(plain.keypoints.double(), plain.calibration.double(), 0.08)
    mirrored_plane = floor_features(mirrored.keypoints.double(), mirrored.calibration.double(), 0.08)
    np.testing.assert_allclose(mirrored_plane[..., 0, 1], plain_plane[..., 0, 1], atol=1e-4)  # root height


def test_camera_recipe_reads_the_camera_and_is_refused_where_there_is_none(h36m_data_dir, tmp_path):
    """--recipe camera (2 epochs) trains a model whose lengths change with the camera height; video and -t mix refuse it."""
    from blapose.geometry.floor import calibration_vector
    from blapose.models.length import predict_lengths
    from blapose.models.mix import MixModel
    from blapose.train.length.config import apply_recipe
    from blapose.video.models import load_length_model

    table_path = length_table_file(h36m_data_dir, tmp_path / "table.npz")
    config = with_settings(apply_recipe(length_config(data_dir=str(h36m_data_dir),
                                                       bone_length_aug=str(table_path),
                                                       checkpoint_dir=str(tmp_path / "ck"),
                                                       subjects_train=("S1",), progress=False), "camera"),
                           epochs=2)
    model = fit(config).model
    checkpoint = load_checkpoint(tmp_path / "ck" / "final.bin")
    assert checkpoint["architecture"]["camera_inputs"] and checkpoint["architecture"]["recipe"] == "camera"
    sequence = load_sequences(h36m_data_dir, subjects=("S9",))[0]
    calibration = calibration_vector(sequence.camera)
    higher = calibration.copy()
    higher[12] += 0.3  # the same image from a higher camera: the floor, and so the size, moves
    keypoints = {sequence.key: sequence.keypoints_2d}
    base = predict_lengths(model, keypoints, calibrations={sequence.key: calibration})[sequence.key]
    raised = predict_lengths(model, keypoints, calibrations={sequence.key: higher})[sequence.key]
    np.testing.assert_allclose(base, predict_lengths(model, [sequence])[sequence.key], rtol=1e-6)
    assert not np.allclose(base, raised, rtol=1e-4)
    with pytest.raises(InputError, match="camera"):
        predict_lengths(model, keypoints)
    with pytest.raises(InputError, match="camera"):
        load_length_model(str(tmp_path / "ck" / "final.bin"))
    with pytest.raises(InputError, match="camera"):
        MixModel(torch.nn.Identity(), model)
