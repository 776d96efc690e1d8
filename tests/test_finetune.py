"""Tests of batch building, fine-tuning with fixed bone lengths, evaluation and the pose commands."""

import json

import numpy as np
import pytest
import torch

from blapose.bones import bone_lengths
from blapose.data.h36m import Sequence
from blapose.errors import InputError
from blapose.evaluation.predict import predict_poses
from blapose.evaluation.protocol import evaluation_report
from blapose.geometry.camera import h36m_cameras
from blapose.lengths.io import lookup_from_list, read_lengths_list, resolve_length_lookup, upstream_list_keys
from blapose.models.mix import MixModel
from blapose.models.temporal import SingleFrameTemporalModel, TemporalModel
from blapose.skeleton import H36M
from blapose.train.chunks import ChunkedBatches, flip_bone_lengths, flip_keypoints
from blapose.train.pose import (
    checkpoint_dict,
    finetune,
    finetune_config,
    finetune_loss,
    lengths_of_sequences,
    mix_model_from_checkpoint,
    train_step,
)

WIDTHS = (3, 3)


def make_sequences(rng, count=4, frames=40):
    """Sequences of a jittering body seen from 5 m, with pinhole keypoints; keys S1/S9 'Walk <i>'."""
    camera = h36m_cameras("S1")[0]
    base = np.cumsum(rng.normal(0, 0.1, (17, 3)), axis=0)
    sequences = []
    for index in range(count):
        poses = base + rng.normal(0, 0.02, (frames, 17, 3)).cumsum(axis=0) * 0.1
        poses = poses - poses[:, :1] + np.array([0.0, 0.0, 5.0])
        keypoints = poses[..., :2] / poses[..., 2:]
        sequences.append(Sequence(subject="S1" if index % 2 == 0 else "S9", action=f"Walking {index}",
                                  camera_index=index % 4, camera=camera, poses_3d=poses.astype(np.float32),
                                  keypoints_2d=keypoints.astype(np.float32)))
    return sequences


def gt_lookup(sequences):
    """Each video's mean ground-truth bone lengths, keyed by (subject, action, camera)."""
    return {s.key: bone_lengths(s.poses_root_relative).mean(axis=0).astype(np.float32) for s in sequences}


def test_batches_match_per_example_edge_padding_and_flipping():
    """Every gathered example equals VideoPose3D's per-example construction: edge-padded window, mirrored copy."""
    rng = np.random.default_rng(0)
    keypoints = [rng.normal(size=(t, 17, 2)).astype(np.float32) for t in (3, 11)]
    poses = [rng.normal(size=(t, 17, 3)).astype(np.float32) for t in (3, 11)]
    lengths = rng.uniform(0.1, 0.5, size=(2, 16)).astype(np.float32)
    batches = ChunkedBatches(keypoints, poses, receptive_field=9, batch_size=5, flip=True, lengths=lengths)
    everything = batches.batch(torch.arange(batches.num_examples))
    assert batches.num_examples == 28 and batches.num_batches == 6
    index = 0
    for mirrored in (False, True):
        for sequence, (points_2d, points_3d) in enumerate(zip(keypoints, poses)):
            padded = np.pad(points_2d, ((4, 4), (0, 0), (0, 0)), mode="edge")
            for frame in range(len(points_2d)):
                window, target, length = padded[frame:frame + 9], points_3d[frame:frame + 1], lengths[sequence]
                if mirrored:
                    window, target, length = flip_keypoints(window), flip_keypoints(target), flip_bone_lengths(length)
                np.testing.assert_array_equal(everything.keypoints_2d[index].numpy(), window)
                np.testing.assert_array_equal(everything.poses_3d[index].numpy(), target)
                np.testing.assert_array_equal(everything.lengths[index].numpy(), length)
                index += 1


def test_an_epoch_visits_every_example_once():
    """Shuffled batches of one epoch cover each (frame, mirrored) example exactly once."""
    rng = np.random.default_rng(1)
    poses = [np.arange(t * 51, dtype=np.float32).reshape(t, 17, 3) + 1000 * i for i, t in enumerate((7, 5))]
    keypoints = [p[..., :2].copy() for p in poses]
    batches = ChunkedBatches(keypoints, poses, receptive_field=3, batch_size=4, flip=False)
    seen = torch.cat([b.poses_3d[:, 0, 1, 2] for b in batches.epoch(rng)])
    expected = np.concatenate([p[:, 1, 2] for p in poses])
    np.testing.assert_array_equal(np.sort(seen.numpy()), np.sort(expected))


def test_one_finetuning_step_lowers_the_loss():
    """One Adam step on a batch lowers the fine-tuning loss (rebuilt-pose MPJPE + direction error) on it."""
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    sequences = make_sequences(rng)
    config = finetune_config(filter_widths=WIDTHS, channels=32, dropout=0.0, learning_rate=1e-3)
    model = MixModel(SingleFrameTemporalModel(WIDTHS, channels=32, dropout=0.0))
    lengths = lengths_of_sequences(sequences, gt_lookup(sequences))
    batches = ChunkedBatches([s.keypoints_2d for s in sequences], [s.poses_root_relative for s in sequences],
                             model.receptive_field(), batch_size=64, lengths=lengths)
    batch = next(batches.epoch(rng))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    model.train()
    before = train_step(model, batch, optimizer, finetune_loss, config)
    with torch.no_grad():
        after = float(finetune_loss(model, batch, config))
    assert after < before


def test_finetuning_keeps_the_length_model_fixed_and_uses_the_given_lengths():
    """finetune changes only the direction model, and its poses carry exactly the looked-up lengths."""
    from blapose.models.length import BoneLengthModel

    rng = np.random.default_rng(3)
    sequences = make_sequences(rng)
    lookup = gt_lookup(sequences)
    length_model = BoneLengthModel(embed_dim=8, hidden_size=8, dropout=0.0, bidirectional=True)
    start = MixModel(TemporalModel(WIDTHS, channels=16), length_model)
    length_before = {k: v.clone() for k, v in length_model.state_dict().items()}
    direction_before = {k: v.clone() for k, v in start.direction_model.state_dict().items()}
    config = finetune_config(filter_widths=WIDTHS, channels=16, epochs=1, batch_size=64, progress=False,
                             device="cpu")
    tuned = finetune(start, lookup, sequences, config)
    for name, value in tuned.length_model.state_dict().items():
        torch.testing.assert_close(value, length_before[name])
    assert any(not torch.equal(value, direction_before[name])
               for name, value in tuned.direction_model.state_dict().items() if "weight" in name)
    predictions = predict_poses(tuned, sequences, lookup, flip=False)
    for sequence in sequences:
        np.testing.assert_allclose(bone_lengths(predictions[sequence.key]),
                                   np.broadcast_to(lookup[sequence.key], (40, 16)), rtol=1e-4, atol=1e-5)


def test_lengths_follow_video_keys_not_list_positions():
    """Lengths are matched by (subject, action, camera): reordering the videos or the list rows changes nothing."""
    rng = np.random.default_rng(4)
    sequences = make_sequences(rng, count=6)
    keys = [s.key for s in sequences]
    rows = rng.uniform(0.1, 0.5, size=(6, 16)).astype(np.float32)
    lookup = lookup_from_list(rows, keys)
    order = rng.permutation(6)
    reordered = lookup_from_list(rows[order], [keys[i] for i in order])
    reversed_sequences = sequences[::-1]
    np.testing.assert_array_equal(lengths_of_sequences(reversed_sequences, reordered),
                                  lengths_of_sequences(sequences, lookup)[::-1])
    with pytest.raises(InputError, match="no predicted bone lengths"):
        lengths_of_sequences(sequences, {k: v for k, v in lookup.items() if k != keys[2]})


def test_positional_list_is_mapped_by_the_upstream_order(tmp_path):
    """An unnamed lengths_list.npz is matched to (subject, action, camera) by the 2D file's action order."""
    keypoints = np.zeros((2, 17, 2), np.float32)
    nested = {"S9": {"Walking 1": [keypoints] * 4, "Eating": [keypoints] * 4},
              "S1": {"Sitting 2": [keypoints] * 4}}
    path_2d = tmp_path / "data_2d_h36m_test.npz"
    np.savez(path_2d, positions_2d=np.array(nested, dtype=object),
             metadata=np.array({"num_joints": 17}, dtype=object))
    keys = upstream_list_keys(nested, ["S1", "S9"])
    assert keys[:5] == [("S1", "Sitting 2", 0), ("S1", "Sitting 2", 1), ("S1", "Sitting 2", 2),
                        ("S1", "Sitting 2", 3), ("S9", "Walking 1", 0)]
    rows = np.arange(12 * 16, dtype=np.float32).reshape(12, 16) + 1
    np.savez(tmp_path / "lengths_list.npz", lengths=rows)
    lookup, note = resolve_length_lookup(tmp_path / "absent.npz", tmp_path / "lengths_list.npz", path_2d,
                                         [("S1", "S9"), ("S9",)])
    np.testing.assert_array_equal(lookup[("S9", "Eating", 2)], rows[10])
    assert "upstream order" in note
    test_only, _ = resolve_length_lookup(None, tmp_path / "lengths_list.npz", path_2d, [("S9", "S1", "S5")])
    np.testing.assert_array_equal(test_only[("S1", "Sitting 2", 0)], rows[8])
    np.savez(tmp_path / "short.npz", lengths=rows[:5])
    with pytest.raises(InputError, match="5 rows"):
        resolve_length_lookup(None, tmp_path / "short.npz", path_2d, [("S1", "S9")])
    names = dict(subjects=np.array([k[0] for k in keys]), actions=np.array([k[1] for k in keys]),
                 cameras=np.array([k[2] for k in keys]))
    shuffle = np.random.default_rng(5).permutation(12)
    np.savez(tmp_path / "named.npz", lengths=rows[shuffle], **{k: v[shuffle] for k, v in names.items()})
    assert read_lengths_list(tmp_path / "named.npz")[1] is not None
    named, _ = resolve_length_lookup(None, tmp_path / "named.npz", path_2d, [("S1",)])
    np.testing.assert_array_equal(named[("S9", "Eating", 2)], rows[10])


def test_ground_truth_against_itself_scores_zero():
    """Every metric of the report is zero when the predictions are the ground truth."""
    sequences = make_sequences(np.random.default_rng(6))
    targets = {s.key: s.poses_root_relative for s in sequences}
    report = evaluation_report(targets, after=targets, before=targets)
    assert report["frames"] == sum(s.num_frames for s in sequences)
    assert set(report["before"]) == {"mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "length_error", "direction_error"}
    for part in ("before", "after"):
        assert all(abs(value) < 1e-4 for value in report[part].values())
    assert list(report["per_action"]) == ["Walking"]


def test_saved_mix_checkpoint_predicts_the_same(tmp_path):
    """A fine-tuned model saved as {'model_pos': ...} with its length model loads back and predicts the same."""
    from blapose.models.checkpoint import load_checkpoint, save_checkpoint
    from blapose.models.length import BoneLengthModel

    torch.manual_seed(7)
    sequences = make_sequences(np.random.default_rng(7), count=2)
    length_model = BoneLengthModel(embed_dim=8, hidden_size=8, dropout=0.0, bidirectional=True)
    with torch.no_grad():
        length_model.fc.weight.abs_()  # positive lengths: a negative one is refused, never flipped
    model = MixModel(SingleFrameTemporalModel(WIDTHS, channels=16), length_model).eval()
    optimizer = torch.optim.Adam(model.parameters())
    save_checkpoint(tmp_path / "mix.bin", checkpoint_dict(model, optimizer, 3, 1e-4, np.random.default_rng(0)))
    checkpoint = load_checkpoint(tmp_path / "mix.bin")
    assert {"epoch", "lr", "random_state", "optimizer", "model_pos"} <= set(checkpoint)
    loaded = mix_model_from_checkpoint(checkpoint, WIDTHS, 16, bidirectional=True)
    first, second = predict_poses(model, sequences), predict_poses(loaded, sequences)
    for key in first:
        np.testing.assert_allclose(first[key], second[key], rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="-arc"):
        mix_model_from_checkpoint(checkpoint, (3, 3, 3), 16)


def test_flip_test_time_augmentation_is_mirror_symmetric():
    """With flipping, predicting the mirrored sequence gives the mirrored poses."""
    torch.manual_seed(8)
    sequences = make_sequences(np.random.default_rng(8), count=1)
    model = TemporalModel(WIDTHS, channels=16).eval()
    mirrored = [Sequence(subject="S1", action="Mirror", camera_index=0, camera=sequences[0].camera,
                         poses_3d=flip_keypoints(sequences[0].poses_3d),
                         keypoints_2d=flip_keypoints(sequences[0].keypoints_2d))]
    poses = predict_poses(model, sequences)[sequences[0].key]
    poses_of_mirror = predict_poses(model, mirrored)[mirrored[0].key]
    np.testing.assert_allclose(flip_keypoints(poses_of_mirror), poses, rtol=1e-4, atol=1e-5)
    assert np.abs(poses[:, 0]).max() == 0.0


def test_cli_lift_train_evaluate_predict_end_to_end(h36m_data_dir, tmp_path, capsys):
    """train -t lift (1 epoch), evaluate --json and predict run on the built-in data and agree."""
    from blapose.cli import main
    from blapose.data.predictions import read_predictions

    common = ["-arc", "3,3", "-ch", "16", "--data-dir", str(h36m_data_dir), "-c", str(tmp_path / "ck")]
    assert main(["train", "-t", "lift", "-e", "1", "-b", "256", "-lr", "0.001", *common]) == 0
    assert (tmp_path / "ck" / "final.bin").is_file() and (tmp_path / "ck" / "epoch_best.bin").is_file()
    report_path = tmp_path / "report.json"
    assert main(["evaluate", "-t", "lift", "--direction_model", "final.bin", "--json", str(report_path),
                 *common]) == 0
    report = json.loads(report_path.read_text())
    assert set(report) == {"before", "after", "per_action", "frames"}
    assert 0 < report["before"]["mpjpe"] < 2000 and report["after"] == {}
    assert main(["predict", "-t", "lift", "--direction_model", "final.bin", "-o", str(tmp_path / "pred"),
                 *common]) == 0
    predictions = read_predictions(tmp_path / "pred" / "prediction.pkl", tmp_path / "pred" / "action_dict.pkl")
    assert sum(len(p) for p in predictions.values()) == report["frames"]
    assert all(p.shape[1:] == (H36M.num_joints, 3) and p.dtype == np.float32 for p in predictions.values())
    assert "Protocol #2 (P-MPJPE)" in capsys.readouterr().out
    assert main(["evaluate", "-t", "lift", "--direction_model", "final.bin", "-arc", "3,3,3",
                 *common[2:]]) == 2


def test_non_finite_poses_are_refused_naming_the_video_and_first_frame():
    """require_finite_poses names the video and the first frame where any of the pose arrays is NaN or infinite."""
    from blapose.evaluation.predict import require_finite_poses

    good = np.zeros((10, 17, 3), np.float32)
    bad = good.copy()
    bad[6, 3, 1], bad[8, 0, 0] = np.nan, np.inf
    require_finite_poses(("S9", "Walking 1", 2), good, good)
    with pytest.raises(InputError, match=r"S9 'Walking 1' camera 2 \(first at frame 6 of 10\)"):
        require_finite_poses(("S9", "Walking 1", 2), good, bad)


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_model_with_non_finite_output_gets_one_line_and_no_result_file(command, h36m_data_dir, tmp_path, capsys):
    """evaluate/predict with a model that outputs NaN: exit 2, one line naming the first video and frame, no file."""
    from blapose.cli import main
    from blapose.data.h36m import load_sequences
    from blapose.lengths.io import describe_key
    from blapose.models.checkpoint import save_checkpoint

    model = TemporalModel(WIDTHS, channels=16)
    with torch.no_grad():
        model.shrink.bias.fill_(float("nan"))
    save_checkpoint(tmp_path / "nan.bin", {"model_pos": model.state_dict()})
    outputs = {"evaluate": ["--json", str(tmp_path / "out" / "r.json"), "--csv", str(tmp_path / "out" / "r.csv")],
               "predict": ["-o", str(tmp_path / "out")]}[command]
    code = main([command, "-t", "lift", "--direction_model", str(tmp_path / "nan.bin"), "-arc", "3,3", "-ch", "16",
                 "--data-dir", str(h36m_data_dir), *outputs])
    first = load_sequences(h36m_data_dir, "cpn_ft_h36m_dbb", ["S9", "S11"])[0].key
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(error) == 1
    assert error[0].startswith(f"blapose {command}: error: the model predicted NaN or infinite poses for "
                               f"{describe_key(first)} (first at frame 0 of ")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("mode", ["lift", "lift --augment wild", "mix"])
def test_cli_training_resumed_from_final_bin_equals_the_uninterrupted_run(mode, h36m_data_dir, tmp_path):
    """train -e 2, and train -e 1 then -e 2 -r final.bin, end with identical weights (default dropout 0.25)."""
    from blapose.cli import main
    from blapose.data.h36m import load_sequences
    from blapose.lengths.io import save_lengths
    from blapose.models.checkpoint import load_checkpoint, save_checkpoint
    from blapose.models.length import BoneLengthModel

    flags = ["-t", *mode.split(), "-b", "256", "-arc", "3,3", "-ch", "16", "-a", "Walking", "--no-eval",
             "--data-dir", str(h36m_data_dir), "--device", "cpu"]
    if mode == "mix":
        torch.manual_seed(0)
        save_checkpoint(tmp_path / "lifter.bin", {"model_pos": TemporalModel(WIDTHS, channels=16).state_dict()})
        length_model = BoneLengthModel(embed_dim=8, hidden_size=8)
        save_checkpoint(tmp_path / "length.bin", {"model_pos": length_model.state_dict()})
        sequences = load_sequences(h36m_data_dir, "cpn_ft_h36m_dbb", ["S1", "S5", "S6", "S7", "S8", "S9", "S11"])
        save_lengths(gt_lookup(sequences), tmp_path / "lengths_dict.npz", tmp_path / "lengths_list.npz")
        flags += ["--direction_model", str(tmp_path / "lifter.bin"), "--length_model", str(tmp_path / "length.bin"),
                  "-bld", str(tmp_path / "lengths_dict.npz"), "-bll", str(tmp_path / "lengths_list.npz")]
    assert main(["train", *flags, "-e", "2", "-c", str(tmp_path / "straight")]) == 0
    assert main(["train", *flags, "-e", "1", "-c", str(tmp_path / "cut")]) == 0
    assert main(["train", *flags, "-e", "2", "-c", str(tmp_path / "cut"), "-r", "final.bin"]) == 0
    straight = load_checkpoint(tmp_path / "straight" / "final.bin")["model_pos"]
    resumed = load_checkpoint(tmp_path / "cut" / "final.bin")["model_pos"]
    assert straight.keys() == resumed.keys()
    for name, value in straight.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=0, msg=name)


def test_evaluate_by_subject_reports_each_subject_as_its_own_evaluation(h36m_data_dir, tmp_path, capsys):
    """--by-subject adds, per test subject, the report that evaluating that subject alone (-ste S9) gives."""
    from blapose.cli import main
    from blapose.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "lifter.bin", {"model_pos": TemporalModel(WIDTHS, channels=16).state_dict()})
    common = ["-t", "lift", "--direction_model", str(tmp_path / "lifter.bin"), "-arc", "3,3", "-ch", "16",
              "--data-dir", str(h36m_data_dir)]
    assert main(["evaluate", *common, "--by-subject", "--json", str(tmp_path / "all.json")]) == 0
    assert "Evaluating on subject S11" in capsys.readouterr().out
    assert main(["evaluate", *common, "-ste", "S11", "--json", str(tmp_path / "s11.json")]) == 0
    report = json.loads((tmp_path / "all.json").read_text())
    alone = json.loads((tmp_path / "s11.json").read_text())
    assert list(report["per_subject"]) == ["S9", "S11"]
    assert report["per_subject"]["S11"] == alone
    assert sum(part["frames"] for part in report["per_subject"].values()) == report["frames"]
    assert main(["train", *common, "--evaluate", "--by-subject"]) == 0
    assert "Evaluating on subject S9" in capsys.readouterr().out
