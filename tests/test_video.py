"""End-to-end tests of ``blapose video`` on tests/data/pose_squats.mp4 (65 frames, 5 fps, one person).

Several people, keypoint files, --poses and marker files: tests/test_video_people.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from blapose.bones import bone_lengths
from blapose.cli import main
from blapose.geometry.rotations import upright_frame
from blapose.models.checkpoint import save_checkpoint
from blapose.models.length import BoneLengthModel
from blapose.models.temporal import TemporalModel
from blapose.skeleton import H36M
from blapose.video.bvh import read_bvh_poses
from blapose.video.models import BUILTIN_LENGTH_MODEL, BUILTIN_LIFTER
from blapose.video.options import Lifting, Outputs
from blapose.video.pipeline import process
from blapose.video.results import NPZ_KEYS
from blapose.video.trc import H36M_MARKER_NAMES
from bvh_support import bvhio_joint_positions

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

SQUATS = Path(__file__).parent / "data" / "pose_squats.mp4"
FRAMES, FPS, WIDTH, HEIGHT = 65, 5.0, 720, 1280


@pytest.fixture(scope="module")
def small_models(tmp_path_factory) -> tuple[Path, Path]:
    """Paths of a small untrained lifter (-arc 3,3,3, 32 channels) and a small unidirectional GRU length model."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_checkpoint(folder / "lifter.bin", {"model_pos": TemporalModel((3, 3, 3), channels=32).state_dict()})
    model = BoneLengthModel(embed_dim=16, hidden_size=16)
    with torch.no_grad():  # positive weights after a sigmoid: plausible positive lengths
        model.fc.weight.copy_(model.fc.weight.abs() * 0.05)
    save_checkpoint(folder / "length.bin", {"model_pos": model.state_dict()})
    return folder / "lifter.bin", folder / "length.bin"


@pytest.fixture(scope="module")
def model_flags(small_models) -> list[str]:
    """--lifter/--length-model flags: the built-in models where installed, else the small ones."""
    flags = []
    if not BUILTIN_LIFTER.is_file():
        flags += ["--lifter", str(small_models[0])]
    if not BUILTIN_LENGTH_MODEL.is_file():
        flags += ["--length-model", str(small_models[1])]
    return flags


@pytest.fixture(scope="module")
def run(tmp_path_factory, model_flags):
    """(output folder, npz content) of one whole `blapose video --bvh --trc` run (everyone: one person)."""
    out = tmp_path_factory.mktemp("video") / "squats"
    assert main(["video", str(SQUATS), "--out", str(out), "--bvh", "--trc", *model_flags]) == 0
    with np.load(out / "pose_squats_person1.npz") as content:
        return out, dict(content)


def read_video(path: Path) -> tuple[int, float]:
    """(decoded frame count, frame rate) of a video file."""
    capture = cv2.VideoCapture(str(path))
    fps, count = capture.get(cv2.CAP_PROP_FPS), 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count, fps


def test_writes_all_outputs_and_nothing_else(run):
    """The run leaves exactly <name>_person1.npz, .bvh, .trc and one <name>.mp4 (no temporary files)."""
    out, _ = run
    assert sorted(p.name for p in out.iterdir()) == ["pose_squats.mp4", "pose_squats_person1.bvh",
                                                     "pose_squats_person1.npz", "pose_squats_person1.trc"]


def test_npz_has_the_documented_keys_and_shapes(run):
    """Keys are those of NPZ_KEYS, with per-frame arrays of the video's 65 frames, all listed in frames."""
    _, content = run
    assert set(content) == set(NPZ_KEYS)
    np.testing.assert_array_equal(content["frames"], np.arange(FRAMES))
    assert content["keypoints_2d"].shape == (FRAMES, 17, 2)
    assert content["scores"].shape == (FRAMES, 17)
    assert content["detected"].shape == (FRAMES,) and content["detected"].dtype == bool
    assert content["poses_3d"].shape == content["poses_3d_adjusted"].shape == (FRAMES, 17, 3)
    assert content["bone_lengths"].shape == (16,)
    assert (float(content["fps"]), int(content["width"]), int(content["height"])) == (FPS, WIDTH, HEIGHT)


def test_the_person_is_found_in_every_frame(run):
    """MediaPipe finds the woman in all frames; keypoints lie inside the frame, scores in [0, 1]."""
    _, content = run
    assert content["detected"].all()
    keypoints = content["keypoints_2d"]
    assert (keypoints[..., 0] >= 0).all() and (keypoints[..., 0] <= WIDTH).all()
    assert (keypoints[..., 1] >= 0).all() and (keypoints[..., 1] <= HEIGHT).all()
    assert (content["scores"] >= 0).all() and (content["scores"] <= 1).all()


def test_adjusted_poses_have_the_predicted_bone_lengths_in_every_frame(run):
    """Every frame of poses_3d_adjusted has bone lengths equal to bone_lengths; roots at the origin."""
    _, content = run
    measured = bone_lengths(content["poses_3d_adjusted"].astype(np.float64))
    np.testing.assert_allclose(measured, np.tile(content["bone_lengths"], (FRAMES, 1)), atol=1e-5)
    np.testing.assert_allclose(content["poses_3d_adjusted"][:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(content["poses_3d"][:, 0], 0.0, atol=1e-6)


def test_rendered_video_has_the_input_frame_count_and_rate(run):
    """The mp4 has as many frames as the input, at the input's frame rate."""
    out, _ = run
    count, fps = read_video(out / "pose_squats.mp4")
    assert count == FRAMES and fps == pytest.approx(FPS)


def test_bvh_round_trips_to_the_adjusted_poses(run):
    """Forward kinematics of the BVH file gives poses_3d_adjusted plus trajectory, in the upright frame of 'up'."""
    out, content = run
    upright = upright_frame(content["up"].astype(np.float64))
    placed = content["poses_3d_adjusted"].astype(np.float64) + content["trajectory"][:, None].astype(np.float64)
    expected = placed @ upright.T
    np.testing.assert_allclose(read_bvh_poses(out / "pose_squats_person1.bvh"), expected, atol=1e-5)


def read_trc_markers(path: Path) -> np.ndarray:
    """Markers (T, M, 3) of a TRC file's table (empty cells NaN), from its own text."""
    table = np.genfromtxt(path, delimiter="\t", skip_header=6)
    return table[:, 2:2 + 3 * len(H36M_MARKER_NAMES)].reshape(len(table), -1, 3)


def test_trc_holds_the_bvhs_joints(run):
    """The TRC's markers are the BVH's joint positions (the same upright frame, root motion included), 1e-5 m."""
    out, content = run
    np.testing.assert_allclose(read_trc_markers(out / "pose_squats_person1.trc"),
                               read_bvh_poses(out / "pose_squats_person1.bvh"), atol=1e-5)


def test_mediapipe_lifter_causal_lengths_and_time_range(tmp_path, small_models):
    """--lifter mediapipe --causal --start 2 --end 6 gives 20 frames, per-frame lengths, no video."""
    assert main(["video", str(SQUATS), "--out", str(tmp_path), "--lifter", "mediapipe", "--causal",
                 "--length-model", str(small_models[1]), "--no-render", "--start", "2", "--end", "6"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["pose_squats_person1.npz"]
    with np.load(tmp_path / "pose_squats_person1.npz") as content:
        np.testing.assert_array_equal(content["frames"], np.arange(10, 30))
        assert content["poses_3d"].shape == (20, 17, 3)
        assert content["bone_lengths"].shape == (20, 16)
        np.testing.assert_allclose(bone_lengths(content["poses_3d_adjusted"].astype(np.float64)),
                                   content["bone_lengths"], atol=1e-5)
        torso = np.linalg.norm(content["poses_3d"][:, 8] - content["poses_3d"][:, 0], axis=-1)
        assert (torso > 0.3).all() and (torso < 0.7).all()  # MediaPipe's metric world landmarks


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Write 160 x 120 BGR frames as an mp4."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (160, 120))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def first_frames(count: int) -> list[np.ndarray]:
    """The first ``count`` frames of the squats clip at 160 x 120."""
    return [cv2.resize(frame, (160, 120)) for frame in read_frames_list(SQUATS, count)]


def bad_inputs(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Case name -> (command arguments, pattern of the expected error line); files made in ``folder``."""
    text = folder / "notes.mp4"
    text.write_text("this is not a video")
    blank = write_video(folder / "blank.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 4)
    single = write_video(folder / "single.mp4", first_frames(1))
    empty = write_video(folder / "empty.mp4", [])
    blocker = folder / "a_file"
    blocker.write_text("")
    return {
        "not a video": ([str(text)], "not a video that OpenCV can read"),
        "no person": ([str(blank)], "no person was detected in any of the 4 frames"),
        "one frame": ([str(single)], "only one frame"),
        "empty": ([str(empty)], "not a video that OpenCV can read|no frames"),
        "missing": ([str(folder / "missing.mp4")], "does not exist"),
        "unwritable folder": ([str(SQUATS), "--out", str(blocker / "out")], "cannot write to output folder"),
        "wrong checkpoint": ([str(SQUATS), "--lifter", str(text)], "--lifter.*notes.mp4"),
    }


@pytest.mark.parametrize("case", ["not a video", "no person", "one frame", "empty", "missing",
                                  "unwritable folder", "wrong checkpoint"])
def test_bad_input_gets_one_line_and_leaves_no_files(case, tmp_path, capsys, model_flags):
    """Each bad input exits non-zero with one error line naming the problem and writes no output."""
    import re

    arguments, message = bad_inputs(tmp_path)[case]
    out = tmp_path / "out"  # given as out/nested: neither folder may be left behind
    flags = model_flags if case != "wrong checkpoint" else []
    if "--out" not in arguments:
        arguments = arguments + ["--out", str(out / "nested")]
    code = main(["video", *arguments, *flags])
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert error and error[-1].startswith("blapose video: error:") and re.search(message, error[-1])
    assert "Traceback" not in "\n".join(error)
    assert not out.exists()


@pytest.mark.parametrize("content", ["truncated", "garbage"])
def test_an_unreadable_video_prints_blaposes_line_only(content, tmp_path):
    """A cut-off mp4 or random bytes: stderr is exactly blapose's one line, without FFmpeg's own ('moov atom not found')."""
    import os
    import subprocess
    import sys

    data = SQUATS.read_bytes()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(data[:len(data) // 2] if content == "truncated" else np.random.default_rng(0).bytes(20000))
    source = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run([sys.executable, "-m", "blapose", "video", str(clip), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"blapose video: error: {clip} is not a video that OpenCV can read"]
    assert not (tmp_path / "out").exists()


def test_bvh_reads_the_same_in_an_independent_bvh_library(run):
    """bvhio, a maintained BVH reader, computes the same joint positions from the file as blapose (1e-5 m)."""
    pytest.importorskip("bvhio")
    out, _ = run
    frames = [0, FRAMES // 2, FRAMES - 1]
    ours = read_bvh_poses(out / "pose_squats_person1.bvh")[frames]
    np.testing.assert_allclose(bvhio_joint_positions(out / "pose_squats_person1.bvh", frames), ours, atol=1e-5)


def test_frames_without_a_person_are_flagged_and_interpolated(tmp_path, model_flags):
    """Blank frames in the middle of the clip are flagged undetected, scored 0 and filled between neighbours
    (the one-person path of --person-box)."""
    frames = [cv2.resize(frame, (360, 640)) for frame in read_frames_list(SQUATS, 16)]
    blank = np.full_like(frames[0], 128)
    frames[6:9] = [blank] * 3
    clip = tmp_path / "gap.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (360, 640))
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert main(["video", str(clip), "--out", str(tmp_path / "out"), "--no-render", "--person-box", "0,0,360,640",
                 *model_flags]) == 0
    with np.load(tmp_path / "out" / "gap_person1.npz") as content:
        detected, keypoints, scores = content["detected"], content["keypoints_2d"], content["scores"]
    assert not detected[6:9].any() and detected[:6].all() and detected[9:].all()
    assert (scores[6:9] == 0).all() and (scores[detected] > 0).any()
    weights = np.array([1, 2, 3]) / 4  # frames 6, 7, 8 lie 1/4, 2/4, 3/4 of the way from frame 5 to 9
    expected = keypoints[5] + weights[:, None, None] * (keypoints[9] - keypoints[5])
    np.testing.assert_allclose(keypoints[6:9], expected, atol=1e-3)


def read_frames_list(path: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` BGR frames of a video."""
    capture = cv2.VideoCapture(str(path))
    frames = [capture.read()[1] for _ in range(count)]
    capture.release()
    return frames


@pytest.fixture(scope="module")
def mediapipe_runs(tmp_path_factory):
    """PersonResults of the squat clip with --lifter mediapipe: no height, --height 1.55 and --height 1.85."""
    folder = tmp_path_factory.mktemp("heights")
    return {height: process(SQUATS, lifting=Lifting("mediapipe", height=height),
                            outputs=Outputs(folder / str(height), render=False), show_progress=False, log=None)[0]
            for height in (None, 1.55, 1.85)}


def test_lengths_are_near_mediapipes_own_metric_lengths(mediapipe_runs):
    """The built-in length model gives the woman's thighs and shins within 25 mm of MediaPipe's own
    metric landmarks (the medians over the clip), and says the model set the size."""
    from blapose.lengths.reference import median_lengths

    result = mediapipe_runs[None]
    limbs = [H36M.joint_names.index(joint) - 1 for joint in ("RKnee", "RFoot", "LKnee", "LFoot")]
    mediapipe = median_lengths(result.poses_3d)
    assert np.abs(result.bone_lengths[limbs] - mediapipe[limbs]).max() < 0.025
    assert result.scale_source == "model" and result.lengths_note == ""


def test_height_changes_the_size_and_keeps_the_proportions(mediapipe_runs):
    """--height 1.85 gives longer bones than --height 1.55, in the same proportions; the npz says so."""
    from blapose.video.lengths import Population

    short, tall = mediapipe_runs[1.55], mediapipe_runs[1.85]
    assert short.scale_source == tall.scale_source == "height"
    np.testing.assert_allclose(tall.bone_lengths / short.bone_lengths, (tall.bone_lengths / short.bone_lengths)[1],
                               rtol=1e-6)
    assert (tall.bone_lengths > short.bone_lengths).all()
    population = Population.load()
    assert float(population.height_of(tall.bone_lengths)) == pytest.approx(1.85, abs=1e-4)
    assert str(tall.arrays()["scale_source"]) == "height"


def test_an_implausible_length_model_is_replaced_by_the_videos_own_lengths(tmp_path):
    """A length model whose lengths are twice an adult's is refused in one note; the poses get the
    video's own lengths moved into the adult range, and the npz says 'fallback'."""
    from blapose.video.lengths import Population

    model = BoneLengthModel(embed_dim=8, hidden_size=8, reference_lengths=2 * Population.load().typical(1.7),
                            bone_inputs=True, temporal="pool", proportions_only=True)
    save_checkpoint(tmp_path / "giant.bin", {"model_pos": model.state_dict()})
    [result] = process(SQUATS, lifting=Lifting("mediapipe", str(tmp_path / "giant.bin")),
                       outputs=Outputs(tmp_path / "out", render=False), show_progress=False, log=None)
    assert result.scale_source == "fallback" and "implausible" in result.lengths_note
    assert Population.load().problems(result.bone_lengths) == []
    assert result.bone_lengths.max() < 0.5
