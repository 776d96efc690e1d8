import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from blapose.bones import adjust_poses, bones_to_poses, poses_to_bones
from blapose.cli import main
from blapose.data.h36m import action_name, load_poses_3d, load_sequences
from blapose.data.predictions import prediction_keys, read_predictions, write_predictions
from blapose.evaluation.adjust import (
    Video,
    _equal_length_batches,
    adjust_and_report,
    adjust_files,
    adjustment_report,
    ground_truth_root_relative,
)
from blapose.evaluation.report import action_wise
from blapose.geometry.camera import h36m_cameras
from blapose.lengths.io import load_lengths_dict, save_lengths
from reference import reference_p_mpjpe_per_frame


def reference_report(videos):
    """BLAPose bone_adjust.py's evaluation, written out video by video (non-causal)."""
    sums, counts = {}, {}
    for video in videos:
        n = len(video.predicted)
        d_pred, l_pred = poses_to_bones(video.predicted.astype(np.float64))
        d_gt, l_gt = poses_to_bones(video.target.astype(np.float64))
        adjusted = bones_to_poses(d_pred, video.lengths)
        values = {
            "before_mpjpe": np.linalg.norm(video.predicted - video.target, axis=-1).mean(),
            "before_p_mpjpe": reference_p_mpjpe_per_frame(video.predicted, video.target).mean(),
            "before_mpjve": np.linalg.norm(np.diff(video.predicted, axis=0) - np.diff(video.target, axis=0), axis=-1).mean(),
            "before_length_error": np.abs(l_gt - l_pred).mean(),
            "before_direction_error": np.linalg.norm(d_pred - d_gt, axis=-1).mean(),
            "after_mpjpe": np.linalg.norm(adjusted - video.target, axis=-1).mean(),
            "after_p_mpjpe": reference_p_mpjpe_per_frame(adjusted, video.target).mean(),
            "after_mpjve": np.linalg.norm(np.diff(adjusted, axis=0) - np.diff(video.target, axis=0), axis=-1).mean(),
            "after_length_error": np.abs(l_gt[0] - video.lengths).mean(),
        }
        action = action_name(video.key[1])
        counts[action] = counts.get(action, 0) + n
        for name, value in values.items():
            sums.setdefault(action, {}).setdefault(name, 0.0)
            sums[action][name] += n * value
    return {name: np.mean([sums[a][name] / counts[a] for a in sums]) * 1000 for name in next(iter(sums.values()))}


@pytest.fixture(scope="module")
def upstream_files(h36m_data_dir, tmp_path_factory):
    """prediction.pkl, action_dict.pkl and lengths_dict.npz in upstream formats for S9 and S11."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("prediction")
    sequences = load_sequences(h36m_data_dir, "gt", ("S9", "S11"))
    predictions, lengths = {}, {}
    for s in sequences:
        noisy = s.poses_root_relative + rng.normal(0, 0.02, size=s.poses_3d.shape).astype(np.float32)
        predictions[s.key] = noisy - noisy[:, :1]
        lengths[s.key] = poses_to_bones(s.poses_3d[0])[1] + rng.normal(0, 0.01, size=16)
    write_predictions(folder, predictions)
    save_lengths(lengths, folder / "lengths_dict.npz", folder / "lengths_list.npz")
    return folder, sequences, predictions, lengths


def test_report_matches_upstream_definitions(upstream_files):
    """Every before/after figure equals the video-by-video upstream computation (to 0.01 mm)."""
    _, sequences, predictions, lengths = upstream_files
    videos = [Video(s.key, predictions[s.key], s.poses_root_relative, lengths[s.key]) for s in sequences]
    report = adjustment_report(videos)
    expected = reference_report(videos)
    for stage in ("before", "after"):
        for name, value in report[stage].items():
            assert value == pytest.approx(expected[f"{stage}_{name}"], abs=0.01), (stage, name)
    assert report["frames"] == sum(len(s.poses_3d) for s in sequences)


def test_ground_truth_lengths_on_ground_truth_give_zero(h36m_data_dir):
    """Adjusting the ground truth with its own lengths leaves every error at zero."""
    sequences = load_sequences(h36m_data_dir, "gt", ("S9",))
    videos = [Video(s.key, s.poses_root_relative, s.poses_root_relative, poses_to_bones(s.poses_3d[0])[1])
              for s in sequences]
    report = adjustment_report(videos)
    assert max(report["before"].values()) < 1e-3 and max(report["after"].values()) < 0.01


def test_action_wise_weights_videos_by_frames_then_averages_actions():
    """Within an action videos weigh by frames; actions count equally."""
    overall, per_action = action_wise(["A", "A", "B"], [1, 3, 10], {"m": np.array([0.004, 0.008, 0.001])})
    assert per_action["A"]["m"] == pytest.approx(7.0) and per_action["B"]["m"] == pytest.approx(1.0)
    assert overall["m"] == pytest.approx(4.0)


def test_files_round_trip_by_key(upstream_files):
    """Written prediction and length files read back to the same arrays under the same keys."""
    folder, _, predictions, lengths = upstream_files
    from_pickle = read_predictions(folder / "prediction.pkl", folder / "action_dict.pkl")
    from_npz = read_predictions(folder / "predictions.npz")
    assert set(from_pickle) == set(predictions) == set(from_npz)
    key = next(iter(predictions))
    np.testing.assert_array_equal(from_pickle[key], predictions[key])
    read_back = load_lengths_dict(folder / "lengths_dict.npz")
    np.testing.assert_allclose(read_back[key], lengths[key], atol=1e-6)


def test_cli_adjust_writes_json_csv_and_adjusted_poses(upstream_files, h36m_data_dir, tmp_path, capsys):
    """`blapose adjust` on upstream files prints the table and writes the JSON schema, CSV and npz."""
    folder, sequences, predictions, lengths = upstream_files
    out = tmp_path / "out"
    code = main(["adjust", "--act", str(folder / "action_dict.pkl"), "--pred", str(folder / "prediction.pkl"),
                 "--bone", str(folder / "lengths_dict.npz"), "--gt", str(h36m_data_dir / "data_3d_h36m.npz"),
                 "--print-action", "--json", str(out / "r.json"), "--csv", str(out / "r.csv"),
                 "--out", str(out / "adjusted.npz")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "P-MPJPE" in printed and "---- Walking ----" in printed
    report = json.loads((out / "r.json").read_text())
    assert set(report) == {"before", "after", "per_action", "frames"}
    assert set(report["before"]) == {"mpjpe", "p_mpjpe", "mpjve", "length_error", "direction_error"}
    assert set(report["after"]) == {"mpjpe", "p_mpjpe", "mpjve", "length_error"}
    assert len(report["per_action"]) == 15
    assert report["after"]["length_error"] < report["before"]["length_error"]
    assert (out / "r.csv").read_text().splitlines()[-1].startswith("Average,")
    adjusted = read_predictions(out / "adjusted.npz")
    key = sequences[0].key
    np.testing.assert_allclose(poses_to_bones(adjusted[key])[1],
                               np.broadcast_to(lengths[key], (len(adjusted[key]), 16)), atol=1e-5)


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "blapose", *args], capture_output=True, text=True)


@pytest.mark.parametrize("break_what, expected", [
    ("pred-count", "holds 3 arrays but"),
    ("pred-shape", "expected (frames, 17, 3)"),
    ("lengths-missing", "no lengths for subject"),
    ("lengths-shape", "expected (16,)"),
    ("causal", "per frame for --causal"),
    ("evil", "refused to load global"),
])
def test_cli_adjust_bad_input_one_line_no_output(upstream_files, h36m_data_dir, tmp_path, break_what, expected):
    """Each malformed input exits 2 with one line naming the problem and writes no output file."""
    folder, _, predictions, lengths = upstream_files
    pred, act, bone = folder / "prediction.pkl", folder / "action_dict.pkl", folder / "lengths_dict.npz"
    extra = []
    if break_what in ("pred-count", "pred-shape", "evil"):
        arrays = pickle.loads(pred.read_bytes())
        if break_what == "pred-count":
            arrays = arrays[:3]
        elif break_what == "pred-shape":
            arrays[5] = arrays[5][:, :16]
        else:
            arrays = [type("Evil", (), {"__reduce__": lambda self: (print, ("ran",))})()]
        pred = tmp_path / "prediction.pkl"
        pred.write_bytes(pickle.dumps(arrays))
    elif break_what in ("lengths-missing", "lengths-shape"):
        changed = dict(lengths)
        key = next(iter(changed))
        if break_what == "lengths-missing":
            changed = {k: v for k, v in changed.items() if k[0] != key[0] or k[1] != key[1]}
        else:
            changed = {k: (np.zeros((5, 16)) + 0.3 if k[:2] == key[:2] else v) for k, v in changed.items()}
        save_lengths(changed, tmp_path / "lengths_dict.npz", tmp_path / "lengths_list.npz")
        bone = tmp_path / "lengths_dict.npz"
    else:
        extra = ["--causal"]
    result = _run_cli("adjust", "--act", str(act), "--pred", str(pred), "--bone", str(bone), "--gt",
                      str(h36m_data_dir / "data_3d_h36m.npz"), "--json", str(tmp_path / "r.json"), *extra)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr
    assert "Traceback" not in result.stderr and "ran" not in result.stdout
    assert not (tmp_path / "r.json").exists()


def test_partial_ground_truth_read_gives_the_same_arrays(h36m_data_dir):
    """Reading only the test subjects returns exactly the arrays of a full read, and nothing else."""
    path = h36m_data_dir / "data_3d_h36m.npz"
    full = load_poses_3d(path)
    partial = load_poses_3d(path, {"S9", "S11"})
    assert set(partial) == {"S9", "S11"} and set(full) > set(partial)
    for subject in partial:
        assert list(partial[subject]) == list(full[subject])
        for action, poses in partial[subject].items():
            np.testing.assert_array_equal(poses, full[subject][action])


def test_ground_truth_rotation_of_root_relative_takes_equals_world_to_camera(h36m_data_dir):
    """Rotating root-relative world poses equals world_to_camera then subtracting the root (to 1e-6 m)."""
    world = load_poses_3d(h36m_data_dir / "data_3d_h36m.npz", {"S11"})
    keys = [("S11", action, camera) for action in world["S11"] for camera in range(4)]
    result = ground_truth_root_relative(world, keys)
    for subject, action, camera in keys:
        posed = h36m_cameras(subject)[camera].world_to_camera(world[subject][action].astype(np.float64))
        assert result[(subject, action, camera)].dtype == np.float32
        np.testing.assert_allclose(result[(subject, action, camera)], posed - posed[:, :1], atol=1e-6)


def test_prediction_keys_match_the_read_order(upstream_files):
    """prediction_keys lists the keys of read_predictions, in order, for the pickle list and the npz."""
    folder, _, _, _ = upstream_files
    for path, act in ((folder / "prediction.pkl", folder / "action_dict.pkl"), (folder / "predictions.npz", None)):
        assert prediction_keys(path, act) == list(read_predictions(path, act))


def test_adjust_files_equals_the_report_of_loaded_sequences(upstream_files, h36m_data_dir):
    """From files, the report (to 1e-4 mm) and adjusted poses equal those built from in-memory sequences."""
    folder, sequences, predictions, lengths = upstream_files
    report, adjusted = adjust_files(folder / "prediction.pkl", folder / "lengths_dict.npz",
                                    h36m_data_dir / "data_3d_h36m.npz", folder / "action_dict.pkl")
    videos = [Video(s.key, predictions[s.key], s.poses_root_relative, lengths[s.key]) for s in sequences]
    expected = adjustment_report(videos)
    for stage in ("before", "after"):
        for name, value in expected[stage].items():
            assert report[stage][name] == pytest.approx(value, abs=1e-4), (stage, name)  # float32 files
    assert report["frames"] == expected["frames"] and set(adjusted) == set(predictions)
    key = sequences[3].key
    np.testing.assert_allclose(adjusted[key], adjust_poses(predictions[key], np.float32(lengths[key])), atol=1e-6)


def test_batches_hold_consecutive_videos_of_equal_length():
    """Batches keep the video order, mix no lengths and stay under the frame cap (a long video stands alone)."""
    def video(frames):
        return Video(("S9", "Walking", 0), np.zeros((frames, 17, 3)), np.zeros((frames, 17, 3)))
    videos = [video(n) for n in (5, 5, 5, 5, 5, 7, 7, 30, 5)]
    batches = _equal_length_batches(videos, max_frames=20)
    assert [len(batch) for batch in batches] == [4, 1, 2, 1, 1]
    assert [v for batch in batches for v in batch] == videos
    assert all(len({len(v.predicted) for v in batch}) == 1 for batch in batches)


def test_causal_lengths_constant_over_frames_match_per_video_lengths(upstream_files):
    """Per-frame lengths repeating one set give the per-video adjustment's pose errors."""
    _, sequences, predictions, lengths = upstream_files
    chosen = sequences[:8]
    videos = [Video(s.key, predictions[s.key], s.poses_root_relative, lengths[s.key]) for s in chosen]
    causal = [Video(s.key, predictions[s.key], s.poses_root_relative,
                    np.tile(lengths[s.key], (s.num_frames, 1))) for s in chosen]
    per_video, adjusted = adjust_and_report(videos, keep_adjusted=True)
    per_frame, adjusted_causal = adjust_and_report(causal, causal=True, keep_adjusted=True)
    for name in ("mpjpe", "p_mpjpe", "mpjve"):
        assert per_frame["after"][name] == pytest.approx(per_video["after"][name], abs=1e-6)
    np.testing.assert_allclose(adjusted_causal[chosen[0].key], adjusted[chosen[0].key], atol=1e-7)
