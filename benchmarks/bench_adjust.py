"""`blapose adjust` end to end on a Human3.6M-sized test set (S9 + S11: 549,952 frames, 240 videos).

Writes upstream-format files once (prediction.pkl, action_dict.pkl, lengths_dict.npz beside the
full built-in dataset's data_3d_h36m.npz), then prints:
- each stage on one thread: read (predictions, lengths, ground truth), bones, adjust, each metric
  before and after, write (JSON, CSV, adjusted poses npz);
- the whole `blapose adjust` process (interpreter start and imports included) and
  `blapose.adjust_files` in this process, best and median of ``--repeat`` runs;
- with ``--upstream DIR``, upstream itself: ``python DIR/bone_adjust.py`` of a checkout of
  hs1ang-hsu/BLAPose (its utils/ complete, as its README sets up; the interpreter, by default
  this one, needs torch and pandas) on the same files, as a whole process run alternately with
  `blapose adjust`, and whether its printed figures equal blapose's to the 0.1 mm it prints;
- otherwise an upstream stand-in on the same files: a numpy reimplementation of the loop of
  upstream bone_adjust.py: the whole npz loaded with np.load, every subject turned into camera
  frames by a quaternion tiled over every point (as VideoPose3D's world_to_camera), then video
  by video MPJPE, P-MPJPE by batched SVD (VideoPose3D's p_mpjpe), MPJVE, bones and the adjusted
  pose rebuilt joint by joint. It skips upstream's torch and pandas.

    python benchmarks/bench_adjust.py [--data data_full] [--repeat 5] [--upstream DIR]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from blapose import metrics
from blapose.bones import bones_to_poses, poses_to_bones
from blapose.data.h36m import (
    KEPT_JOINTS_OF_32,
    TEST_SUBJECTS,
    action_name,
    keypoints_2d_path,
    load_poses_3d,
    load_sequences,
)
from blapose.data.predictions import read_predictions, write_predictions, write_predictions_npz
from blapose.data.safe_pickle import _inflater
from blapose.data.synthetic import make_dataset
from blapose.evaluation.adjust import (
    _equal_length_batches,
    adjust_and_report,
    adjust_files,
    ground_truth_root_relative,
    videos_for_adjustment,
)
from blapose.evaluation.report import write_csv, write_json
from blapose.geometry.camera import h36m_cameras
from blapose.lengths.io import load_lengths_dict, save_lengths
from blapose.lengths.reference import median_lengths
from blapose.skeleton import H36M


def _smooth(rng: np.random.Generator, shape: tuple[int, ...], frames: int, width: int) -> np.ndarray:
    """Unit-std Gaussian noise (frames, *shape) low-passed over about ``width`` frames."""
    kernel = np.hanning(2 * width + 1)
    raw = rng.normal(size=(frames + 2 * width, *shape))
    smooth = np.apply_along_axis(lambda x: np.convolve(x, kernel, mode="valid"), 0, raw)
    return smooth / smooth.std()


def simulated_lifting_predictions(sequences, rng: np.random.Generator) -> dict:
    """Lifting-model-like poses (T, 17, 3) meters, root-relative: ground-truth bone directions tilted
    by slowly drifting errors (~6 degrees) and lengths off by a per-video bias (5%) and a wobble (4%)."""
    predictions = {}
    for sequence in sequences:
        directions, lengths = poses_to_bones(sequence.poses_root_relative.astype(np.float64))
        frames = len(directions)
        tilted = directions + 0.1 * _smooth(rng, (16, 3), frames, 8)
        tilted /= np.linalg.norm(tilted, axis=-1, keepdims=True)
        scale = rng.normal(1.0, 0.05, size=16) + 0.04 * _smooth(rng, (16,), frames, 8)
        predictions[sequence.key] = bones_to_poses(tilted, lengths * scale).astype(np.float32)
    return predictions


def upstream_files(data_dir: Path) -> dict[str, Path]:
    """The full built-in dataset and upstream-format prediction files beside it (written once)."""
    files = {"gt": data_dir / "data_3d_h36m.npz", "pred": data_dir / "adjust_bench" / "prediction.pkl",
             "act": data_dir / "adjust_bench" / "action_dict.pkl",
             "bone": data_dir / "adjust_bench" / "lengths_dict.npz"}
    if not keypoints_2d_path(data_dir, "gt").exists():
        print(f"building the full built-in dataset in {data_dir}/ (once, about a minute) ...", flush=True)
        make_dataset(data_dir, seed=0, size="full")
    if not all(path.exists() for path in files.values()):
        print("writing simulated lifting-model predictions in upstream formats (once) ...", flush=True)
        sequences = load_sequences(data_dir, "gt", TEST_SUBJECTS)
        predictions = simulated_lifting_predictions(sequences, np.random.default_rng(0))
        write_predictions(files["pred"].parent, predictions)
        save_lengths({key: median_lengths(poses) for key, poses in predictions.items()}, files["bone"],
                     files["bone"].parent / "lengths_list.npz")
    return files


# ---- upstream stand-in ------------------------------------------------------------------------

def _procrustes_error_svd(predicted: np.ndarray, target: np.ndarray) -> float:
    """P-MPJPE of (T, 17, 3) poses by one batched SVD (VideoPose3D loss.py's p_mpjpe)."""
    target_centered = target - target.mean(axis=1, keepdims=True)
    predicted_centered = predicted - predicted.mean(axis=1, keepdims=True)
    target_norm = np.sqrt((target_centered ** 2).sum(axis=(1, 2), keepdims=True))
    predicted_norm = np.sqrt((predicted_centered ** 2).sum(axis=(1, 2), keepdims=True))
    target_centered = target_centered / target_norm
    predicted_centered = predicted_centered / predicted_norm
    u, singular, vt = np.linalg.svd(np.swapaxes(target_centered, 1, 2) @ predicted_centered)
    v = np.swapaxes(vt, 1, 2)
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, 1, 2)))[:, None]
    v[:, :, -1] *= sign
    singular[:, -1] *= sign[:, 0]
    rotation = v @ np.swapaxes(u, 1, 2)
    scale = singular.sum(axis=1)[:, None, None] * target_norm / predicted_norm
    aligned = scale * predicted_centered * predicted_norm @ rotation
    return float(np.linalg.norm(aligned - target_centered * target_norm, axis=-1).mean())


def _split_bones(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = poses[:, list(H36M.bone_children)] - poses[:, list(H36M.bone_parents)]
    lengths = np.linalg.norm(vectors, axis=-1)
    return vectors / lengths[..., None], lengths


def _joined_bones(directions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    poses = np.zeros((len(directions), H36M.num_joints, 3), dtype=directions.dtype)
    for joint in range(1, H36M.num_joints):
        poses[:, joint] = poses[:, H36M.parents[joint]] + directions[:, joint - 1] * lengths[..., joint - 1, None]
    return poses


def _rotate_by_tiled_quaternion(points: np.ndarray, orientation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """World -> camera frame as VideoPose3D's world_to_camera does it: the inverse quaternion tiled
    over every point, then v + 2 (w (q x v) + q x (q x v)) point by point."""
    inverse = np.asarray(orientation, np.float32) * np.array([1, -1, -1, -1], np.float32)
    tiled = np.tile(inverse, (*points.shape[:-1], 1))
    vectors = points - np.asarray(translation, np.float32)
    axis = tiled[..., 1:]
    once = np.cross(axis, vectors)
    return vectors + 2 * (tiled[..., :1] * once + np.cross(axis, once))


def upstream_standin(files: dict[str, Path]) -> dict[str, float]:
    """bone_adjust.py's evaluation, reimplemented: {'before_mpjpe': mm, ...} action-wise averages."""
    with open(files["act"], "rb") as stream:
        action_dict = pickle.load(stream)  # our own files: trusted, as upstream treats them
    with open(files["pred"], "rb") as stream:
        predictions = pickle.load(stream)
    lengths_dict = np.load(files["bone"], allow_pickle=True)["lengths"].item()
    positions = np.load(files["gt"], allow_pickle=True)["positions_3d"].item()
    ground_truth = {}
    for subject, actions in positions.items():  # upstream's load_gt converts every subject
        for action, world in actions.items():
            world = world[:, list(KEPT_JOINTS_OF_32)]
            for index, camera in enumerate(h36m_cameras(subject)):
                posed = _rotate_by_tiled_quaternion(world, camera.orientation, camera.translation)
                ground_truth[(subject, action, index)] = posed - posed[:, :1]
    sums: dict[str, dict[str, float]] = {}
    frames: dict[str, int] = {}
    position = 0
    for pairs in action_dict.values():
        for subject, action in pairs:
            for camera in range(4):
                predicted, target = predictions[position], ground_truth[(subject, action, camera)]
                position += 1
                lengths = lengths_dict[subject][action][camera].reshape(1, 16)
                predicted_directions, predicted_lengths = _split_bones(predicted)
                target_directions, target_lengths = _split_bones(target)
                adjusted = _joined_bones(predicted_directions, lengths)
                values = {}
                for stage, poses in (("before", predicted), ("after", adjusted)):
                    values[f"{stage}_mpjpe"] = np.linalg.norm(poses - target, axis=-1).mean()
                    values[f"{stage}_p_mpjpe"] = _procrustes_error_svd(poses, target)
                    values[f"{stage}_mpjve"] = np.linalg.norm(np.diff(poses, axis=0) - np.diff(target, axis=0),
                                                              axis=-1).mean()
                values["before_length_error"] = np.abs(target_lengths - predicted_lengths).mean()
                values["before_direction_error"] = np.linalg.norm(predicted_directions - target_directions,
                                                                  axis=-1).mean()
                values["after_length_error"] = np.abs(target_lengths[:1] - lengths).mean()
                name = action_name(action)
                frames[name] = frames.get(name, 0) + len(predicted)
                for key, value in values.items():
                    sums.setdefault(name, {}).setdefault(key, 0.0)
                    sums[name][key] += len(predicted) * float(value)
    return {key: float(np.mean([sums[name][key] / frames[name] for name in sums])) * 1000
            for key in next(iter(sums.values()))}


# ---- upstream itself ---------------------------------------------------------------------------

# Lines bone_adjust.py prints, in order, and the blapose report entries they stand for.
UPSTREAM_LINES = (
    ("Protocol #1 Error (MPJPE) action-wise average", "before", "mpjpe"),
    ("Protocol #2 Error (P-MPJPE) action-wise average", "before", "p_mpjpe"),
    ("Velocity Error (MPJVE)", "before", "mpjve"),
    ("Length Error action-wise average", "before", "length_error"),
    ("Direction Error action-wise average", "before", "direction_error"),
    ("Adjusted Protocol #1 Error (MPJPE) action-wise average", "after", "mpjpe"),
    ("Adjusted Protocol #2 Error (P-MPJPE) action-wise average", "after", "p_mpjpe"),
    ("Velocity Error (MPJVE)", "after", "mpjve"),
    ("Adjusted Length Error action-wise average", "after", "length_error"),
)


def upstream_command(checkout: Path, python: str, files: dict[str, Path]) -> list[str]:
    """The command line of upstream bone_adjust.py on ``files``."""
    return [python, str(checkout / "bone_adjust.py"), "--act", str(files["act"].resolve()),
            "--pred", str(files["pred"].resolve()), "--gt", str(files["gt"].resolve()),
            "--bone", str(files["bone"].resolve())]


def upstream_figures(output: str) -> dict[tuple[str, str], float]:
    """{(stage, metric): mm} from bone_adjust.py's printed summary, in the order it prints it."""
    values = [float(line.rsplit(":", 1)[1].split()[0]) for line in output.splitlines()
              if any(line.startswith(f"{label}:") for label, _, _ in UPSTREAM_LINES)]
    if len(values) != len(UPSTREAM_LINES):
        raise SystemExit(f"bone_adjust.py printed {len(values)} of the {len(UPSTREAM_LINES)} expected figures:\n"
                         f"{output}")
    return {(stage, name): value for (_, stage, name), value in zip(UPSTREAM_LINES, values)}


# ---- timings ----------------------------------------------------------------------------------

def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _seconds(function, repeat: int) -> tuple[list[float], list[float], object]:
    """(wall seconds, CPU seconds, last result) of ``repeat`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        result = function()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_seconds() - start_cpu)
    return walls, cpus, result


def _summary(walls: list[float], cpus: list[float]) -> str:
    return (f"best {min(walls):.2f} s, median {statistics.median(walls):.2f} s of {len(walls)} "
            f"(CPU {statistics.median(cpus):.2f} s)")


def stage_timings(files: dict[str, Path]) -> None:
    """Each stage of the adjustment on one thread, over the whole test set."""
    print(f"stages, one thread (seconds):{'wall':>20}{'CPU':>8}")
    clock: dict[str, list[float]] = {}

    def timed(name, function, cpu_clock=time.thread_time):
        start, start_cpu = time.perf_counter(), cpu_clock()
        result = function()
        seconds = clock.setdefault(name, [0.0, 0.0])
        seconds[0] += time.perf_counter() - start
        seconds[1] += cpu_clock() - start_cpu
        return result

    predictions = timed("read predictions.pkl", lambda: read_predictions(files["pred"], files["act"]))
    lengths = timed("read lengths_dict.npz", lambda: load_lengths_dict(files["bone"]))
    world = timed("read data_3d_h36m.npz", lambda: load_poses_3d(files["gt"], {key[0] for key in predictions}))
    ground_truth = timed("ground truth to camera frames", lambda: ground_truth_root_relative(world, list(predictions)))
    videos = videos_for_adjustment(predictions, lengths, ground_truth, causal=False)
    for batch in _equal_length_batches(videos):
        predicted = np.stack([video.predicted for video in batch])
        target = np.stack([video.target for video in batch])
        video_lengths = np.stack([np.reshape(video.lengths, (1, 16)) for video in batch])
        directions, predicted_lengths = timed("bones (predicted and ground truth)", lambda: poses_to_bones(predicted))
        target_directions, target_lengths = timed("bones (predicted and ground truth)", lambda: poses_to_bones(target))
        adjusted = timed("adjust (rebuild poses)", lambda: bones_to_poses(directions, video_lengths))
        for poses in (predicted, adjusted):
            timed("MPJPE (before and after)", lambda: metrics.mpjpe_per_frame(poses, target))
            timed("P-MPJPE (before and after)", lambda: metrics.p_mpjpe_per_frame(poses, target))
            timed("MPJVE (before and after)",
                  lambda: metrics.mpjpe_per_frame(np.diff(poses, axis=1), np.diff(target, axis=1)))
        timed("length error (before and after)", lambda: (np.abs(predicted_lengths - target_lengths).mean(-1),
                                                          np.abs(target_lengths[:, :1] - video_lengths).mean(-1)))
        timed("direction error", lambda: metrics.mean_distance(directions, target_directions))
    report, adjusted_by_key = timed("report (all of the above, all CPUs)",
                                    lambda: adjust_and_report(videos, keep_adjusted=True), time.process_time)
    with tempfile.TemporaryDirectory() as folder:
        timed("write JSON and CSV", lambda: (write_json(Path(folder) / "r.json", report),
                                             write_csv(Path(folder) / "r.csv", report)))
        timed("write adjusted poses npz (--out)",
              lambda: write_predictions_npz(Path(folder) / "adjusted.npz", adjusted_by_key))
    for name, (wall, cpu) in clock.items():
        print(f"  {name:<42}{wall:>7.2f}{cpu:>8.2f}")


def _whole_process(command: list[str], cwd: str | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, standard output) of one run of ``command``."""
    start, start_cpu = time.perf_counter(), _cpu_seconds()
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=cwd).stdout
    return time.perf_counter() - start, _cpu_seconds() - start_cpu, output


def compare_with_upstream(files: dict[str, Path], blapose_command: list[str], checkout: Path, python: str,
                          repeat: int, report: dict) -> None:
    """Upstream bone_adjust.py and `blapose adjust`, whole processes, run alternately."""
    runs: dict[str, list[tuple[float, float]]] = {"upstream": [], "blapose": []}
    with tempfile.TemporaryDirectory() as folder:  # bone_adjust.py writes result.csv where it runs
        for _ in range(repeat):
            wall, cpu, output = _whole_process(upstream_command(checkout, python, files), cwd=folder)
            runs["upstream"].append((wall, cpu))
            runs["blapose"].append(_whole_process(blapose_command)[:2])
    for name, label in (("upstream", "upstream bone_adjust.py, whole process:"),
                        ("blapose", "blapose adjust, whole process:")):
        walls, cpus = [wall for wall, _ in runs[name]], [cpu for _, cpu in runs[name]]
        print(f"{label:<42}{_summary(walls, cpus)}")
    upstream_walls = [wall for wall, _ in runs["upstream"]]
    blapose_walls = [wall for wall, _ in runs["blapose"]]
    print(f"upstream / blapose, run alternately: {min(upstream_walls) / min(blapose_walls):.1f}x (best), "
          f"{statistics.median(upstream_walls) / statistics.median(blapose_walls):.1f}x (median)")
    expected = upstream_figures(output)
    differing = [f"{stage} {name}: upstream {value:.1f}, blapose {report[stage][name]:.1f}"
                 for (stage, name), value in expected.items() if round(report[stage][name], 1) != value]
    print("figures printed by upstream and blapose: " + ("identical to 0.1 mm" if not differing
                                                          else "DIFFERENT: " + "; ".join(differing)))


def compare_with_standin(files: dict[str, Path], whole: list[float], repeat: int, report: dict) -> None:
    """The numpy stand-in of upstream's loop, in this process."""
    upstream, upstream_cpu, expected = _seconds(lambda: upstream_standin(files), max(1, repeat // 2))
    print(f"upstream stand-in, in process:    {_summary(upstream, upstream_cpu)}")
    print(f"stand-in / blapose whole process: {min(upstream) / min(whole):.1f}x (best), "
          f"{statistics.median(upstream) / statistics.median(whole):.1f}x (median)")
    worst = max(abs(report[stage][name] - expected[f"{stage}_{name}"])
                for stage in ("before", "after") for name in report[stage])
    print(f"largest difference between blapose's and the stand-in's figures: {worst:.4f} mm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data_full", help="folder of the full built-in dataset (built if absent)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--upstream", type=Path, metavar="DIR",
                        help="checkout of hs1ang-hsu/BLAPose: time its bone_adjust.py on the same files")
    parser.add_argument("--upstream-python", default=sys.executable,
                        help="interpreter for bone_adjust.py (needs torch and pandas); default: this one")
    parser.add_argument("--skip-upstream", action="store_true", help="time neither upstream nor its stand-in")
    args = parser.parse_args()
    if args.upstream and not (args.upstream / "bone_adjust.py").is_file():
        parser.error(f"{args.upstream}: no bone_adjust.py there")

    files = upstream_files(Path(args.data))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    stage_timings(files)

    command = [sys.executable, "-m", "blapose", "adjust", "--act", str(files["act"]), "--pred", str(files["pred"]),
               "--bone", str(files["bone"]), "--gt", str(files["gt"])]
    whole, whole_cpu, _ = _seconds(lambda: subprocess.run(command, check=True, capture_output=True), args.repeat)
    in_process, in_process_cpu, (report, _) = _seconds(
        lambda: adjust_files(files["pred"], files["bone"], files["gt"], files["act"], keep_adjusted=False), args.repeat)
    print(f"test set: {report['frames']:,} frames; npz inflated by {_inflater().__name__}")
    rate = report["frames"] / min(whole)
    print(f"blapose adjust, whole process:   {_summary(whole, whole_cpu)}, {rate:,.0f} frames/s")
    print(f"blapose.adjust_files, in process: {_summary(in_process, in_process_cpu)}")
    if args.upstream:
        compare_with_upstream(files, command, args.upstream, args.upstream_python, args.repeat, report)
    elif not args.skip_upstream:
        compare_with_standin(files, whole, args.repeat, report)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
