"""Length inference: batched prediction, refusal of non-positive lengths, the error report
(blapose.models.length.predict_lengths, blapose.lengths.io, blapose.lengths.scoring, blapose infer-lengths)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from blapose.bones import adjust_poses, bones_to_poses, poses_to_bones
from blapose.cli import main
from blapose.errors import InputError
from blapose.lengths.io import load_lengths_dict, read_lengths_list, save_lengths
from blapose.lengths.scoring import best_scale, length_errors
from blapose.lengths.synthetic.files import read_lengths
from blapose.models.length import BoneLengthModel, length_sorted_groups, predict_lengths
from blapose.skeleton import H36M

TINY = dict(embed_dim=8, hidden_size=6, dropout=0.0)


def _videos(rng, frame_counts):
    return {("S9", f"A{i}", i % 4): rng.normal(size=(count, 17, 2)).astype(np.float32)
            for i, count in enumerate(frame_counts)}


def _one_by_one(model, videos, causal):
    with torch.no_grad():
        result = {}
        for key, keypoints in videos.items():
            batch = torch.from_numpy(keypoints[None])
            result[key] = (model.per_frame(batch) if causal else model(batch))[0].numpy()
    return result


@pytest.mark.parametrize("bidirectional, causal", [(False, True), (False, False), (True, False)])
def test_batched_prediction_equals_per_video_runs(rng, bidirectional, causal):
    """Videos of different lengths batched, padded and time-sliced give each video's own lengths."""
    torch.manual_seed(3)
    model = BoneLengthModel(bidirectional=bidirectional, **TINY).eval()
    videos = _videos(rng, [7, 30, 1, 30, 12, 19, 5])
    batched = predict_lengths(model, videos, causal=causal, max_batch=3, max_frames=40)
    alone = _one_by_one(model, videos, causal)
    for key, keypoints in videos.items():
        expected_shape = (len(keypoints), 16) if causal else (16,)
        assert batched[key].shape == expected_shape and batched[key].dtype == np.float32
        np.testing.assert_allclose(batched[key], poses_symmetric(alone[key]), atol=1e-5)
    assert list(batched) == list(videos)


def poses_symmetric(lengths):
    """Left/right-averaged lengths, as predict_lengths returns them."""
    from blapose.bones import symmetrize_lengths
    return symmetrize_lengths(np.asarray(lengths, np.float64))


def test_length_sorted_groups_cover_every_video_within_limits():
    """Groups hold each video once, longest first, within the batch and padded-frame limits."""
    counts = np.array([5, 50, 7, 50, 9, 3, 200])
    groups = length_sorted_groups(counts, max_batch=2, max_frames=100)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(counts)))
    assert all(len(group) <= 2 for group in groups)
    assert all(len(group) == 1 or len(group) * counts[group[0]] <= 100 for group in groups)
    firsts = [counts[group[0]] for group in groups]
    assert firsts == sorted(firsts, reverse=True)


def test_best_scale_minimises_the_absolute_error(rng):
    """The weighted median beats every factor of a fine grid, row by row."""
    predicted = rng.uniform(0.1, 0.5, size=(20, 16))
    truth = predicted * rng.uniform(0.8, 1.2, size=(20, 16))
    scale = best_scale(predicted, truth)
    best = np.abs(scale[:, None] * predicted - truth).mean(axis=-1)
    grid = np.linspace(0.5, 1.5, 2001)
    on_grid = np.abs(grid[None, :, None] * predicted[:, None] - truth[:, None]).mean(axis=-1).min(axis=1)
    assert np.all(best <= on_grid + 1e-12)


def test_scale_and_proportion_add_up_and_separate_size_from_shape(rng):
    """S + P = E with 0 <= S, P; a resized body has P = 0, a reshaped body of the same size S near 0."""
    truth = {("S9", "A", c): rng.uniform(0.1, 0.5, 16) for c in range(4)}
    resized = length_errors({k: 1.1 * v for k, v in truth.items()}, truth)
    assert resized.proportion == pytest.approx(0, abs=1e-12)
    assert resized.scale == pytest.approx(resized.mean)
    assert resized.size == pytest.approx(1 - 1 / 1.1, rel=1e-9)
    noisy = {k: v * rng.uniform(0.8, 1.25, 16) for k, v in truth.items()}
    errors = length_errors(noisy, truth)
    assert errors.scale >= 0 and errors.proportion >= 0
    assert errors.scale + errors.proportion == pytest.approx(errors.mean)
    assert errors.per_bone.mean() == pytest.approx(errors.mean)
    per_frame = length_errors({k: np.stack([v, v]) for k, v in noisy.items()}, truth)
    assert per_frame.mean == pytest.approx(errors.mean)


def test_lengths_files_refuse_non_positive_lengths_naming_video_and_bone(tmp_path):
    """lengths_dict, lengths_list and bone-length tables with a negative length are refused in one line."""
    good = {("S9", "Walking 1", c): np.full(16, 0.3, np.float32) for c in range(4)}
    save_lengths(good, tmp_path / "d.npz", tmp_path / "l.npz")
    bad = dict(good)
    bad[("S9", "Walking 1", 2)] = np.full(16, 0.3, np.float32)
    bad[("S9", "Walking 1", 2)][3] = -0.01
    with pytest.raises(InputError, match="1 of 4 videos.*S9 'Walking 1' camera 2.*bone 3.*nothing written"):
        save_lengths(bad, tmp_path / "bad_d.npz", tmp_path / "bad_l.npz")
    assert not (tmp_path / "bad_d.npz").exists() and not (tmp_path / "bad_l.npz").exists()

    nested = {"S9": {"Walking 1": [bad[("S9", "Walking 1", c)] for c in range(4)]}}
    np.savez(tmp_path / "bad_dict.npz", lengths=nested)
    with pytest.raises(InputError, match=rf"\['S9'\]\['Walking 1'\]\[2\].*camera 2.*bone 3 \({H36M.bone_names[3]}\)") as caught:
        load_lengths_dict(tmp_path / "bad_dict.npz")
    assert "\n" not in str(caught.value)
    rows = np.stack([bad[key] for key in sorted(bad)])
    np.savez(tmp_path / "bad_list.npz", lengths=rows, subjects=np.array(["S9"] * 4),
             actions=np.array(["Walking 1"] * 4), cameras=np.arange(4))
    with pytest.raises(InputError, match="row 2 .*camera 2.*bone 3"):
        read_lengths_list(tmp_path / "bad_list.npz")
    np.savez(tmp_path / "bad_table.npz", data=rows)
    with pytest.raises(InputError, match="bone 3 .* at index 2"):
        read_lengths(tmp_path / "bad_table.npz")
    assert set(load_lengths_dict(tmp_path / "d.npz")) == set(good)


def test_adjustment_never_flips_a_bone(rng):
    """adjust_poses refuses zero, negative and NaN lengths; bones_to_poses refuses negative ones (numpy, torch)."""
    poses = rng.normal(size=(3, 17, 3))
    directions, lengths = poses_to_bones(poses)
    for value in (0.0, -0.2, np.nan):
        new = np.full(16, 0.3)
        new[5] = value
        with pytest.raises(InputError, match=f"bone 5 \\({H36M.bone_names[5]}\\)"):
            adjust_poses(poses, new)
    negative = lengths.copy()
    negative[1, 7] = -0.1
    for make in (np.asarray, torch.tensor):
        with pytest.raises(InputError, match="bone 7 .* at index 1"):
            bones_to_poses(make(directions), make(negative))
    np.testing.assert_allclose(bones_to_poses(directions, lengths, root=poses[:, 0]), poses, atol=1e-12)


def _checkpoint(path, negative=False):
    torch.manual_seed(0)
    model = BoneLengthModel(**TINY)
    with torch.no_grad():
        model.fc.weight.abs_()
        if negative:
            model.fc.weight.neg_()
    torch.save({"model_pos": model.state_dict()}, path)


def test_cli_report_prints_and_writes_learned_and_baseline_errors(h36m_data_dir, tmp_path, capsys):
    """--report --json prints a per-bone table with the baselines and writes the same numbers."""
    data = tmp_path / "data"
    data.mkdir()
    for file in h36m_data_dir.glob("data_*"):  # the dataset only, not files other tests wrote there
        (data / file.name).symlink_to(file)
    _checkpoint(tmp_path / "model.bin")
    assert main(["infer-lengths", "--ckpt", str(tmp_path / "model.bin"), "--data-dir", str(data),
                 "--report", "--json", str(tmp_path / "report.json"), "--device", "cpu"]) == 0
    output = capsys.readouterr().out
    for word in ("learned", "train mean", "all mean", "scale (size)", "proportion", H36M.bone_names[0]):
        assert word in output
    report = json.loads((tmp_path / "report.json").read_text())["lengths"]
    assert set(report) == {"learned", "train mean", "all mean"}
    for summary in report.values():
        assert summary["scale_mm"] + summary["proportion_mm"] == pytest.approx(summary["mean_mm"])
        assert len(summary["per_bone_mm"]) == 16
    assert f"{report['learned']['mean_mm']:.1f}" in output
    assert report["train mean"]["mean_mm"] < report["learned"]["mean_mm"]  # an untrained model is far off
    assert (data / "lengths_dict.npz").is_file()


def test_cli_refuses_negative_predictions_and_writes_nothing(h36m_data_dir, tmp_path, capsys):
    """A model that predicts negative lengths: one line with the count, exit 2, no lengths files."""
    data = tmp_path / "data"
    data.mkdir()
    for file in h36m_data_dir.glob("data_*"):  # the dataset only, not files other tests wrote there
        (data / file.name).symlink_to(file)
    _checkpoint(tmp_path / "model.bin", negative=True)
    assert main(["infer-lengths", "--ckpt", str(tmp_path / "model.bin"), "--data-dir", str(data)]) == 2
    error = capsys.readouterr().err
    assert "refused the lengths of" in error and "nothing written" in error and "Traceback" not in error
    assert [line for line in error.splitlines() if "error" in line] == [error.strip().splitlines()[-1]]
    assert not list(data.glob("lengths_*"))


def test_cli_report_with_a_lifters_poses_adds_its_lengths_and_the_floor_scale(h36m_data_dir, tmp_path, capsys):
    """--pred adds the lifter's median lengths and the floor-scale baseline: the mean's proportions, resized better than the mean on true poses."""
    from blapose.data.h36m import load_sequences
    from blapose.data.predictions import write_predictions_npz

    data = tmp_path / "data"
    data.mkdir()
    for file in h36m_data_dir.glob("data_*"):
        (data / file.name).symlink_to(file)
    _checkpoint(tmp_path / "model.bin")
    poses = {s.key: s.poses_root_relative for s in load_sequences(data, "gt", ("S9", "S11"))}  # a perfect lifter
    write_predictions_npz(tmp_path / "predictions.npz", poses)
    assert main(["infer-lengths", "--ckpt", str(tmp_path / "model.bin"), "--data-dir", str(data), "-k", "gt",
                 "--pred", str(tmp_path / "predictions.npz"), "--json", str(tmp_path / "report.json")]) == 0
    assert "floor scale" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())["lengths"]
    assert set(report) == {"learned", "train mean", "all mean", "lifter median", "floor scale"}
    assert report["floor scale"]["proportion_mm"] == pytest.approx(report["train mean"]["proportion_mm"], rel=1e-6)
    assert report["floor scale"]["scale_mm"] < report["train mean"]["scale_mm"]
