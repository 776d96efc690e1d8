"""Adjust and evaluate a test set the size of Human3.6M's (S9 + S11: ~543,000 frames, 240 videos).

Prints the seconds and frames per second of `adjustment_report` (adjustment, MPJPE, P-MPJPE,
MPJVE, bone length and direction errors, before and after, action-wise), and of the whole
`adjust_files` path (reading upstream-format files included). Target: adjust + evaluate in
under 3 s on 2 CPU cores.

    python benchmarks/bench_adjust.py [--data data_full] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from blapose.data.h36m import TEST_SUBJECTS, keypoints_2d_path, load_sequences
from blapose.data.predictions import write_predictions
from blapose.data.synthetic import make_dataset
from blapose.bones import bones_to_poses, poses_to_bones
from blapose.demo import median_lengths
from blapose.evaluation import adjust_files
from blapose.lengths_io import save_lengths
from blapose.report import Video, adjustment_report


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data_full", help="folder of the full built-in dataset (built if absent)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if not keypoints_2d_path(args.data, "gt").exists():
        print(f"building the full built-in dataset in {args.data}/ (once) ...", flush=True)
        make_dataset(args.data, seed=0, size="full")
    sequences = load_sequences(args.data, "gt", TEST_SUBJECTS)
    predictions = simulated_lifting_predictions(sequences, np.random.default_rng(0))
    lengths = median_lengths(predictions)
    videos = [Video(s.key, predictions[s.key], s.poses_root_relative, lengths[s.key]) for s in sequences]
    frames = sum(len(v.predicted) for v in videos)
    print(f"test set: {len(videos)} videos, {frames} frames")

    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = adjustment_report(videos)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(f"adjust + evaluate (in memory): best {best:.2f} s of {args.repeat}, {frames / best:,.0f} frames/s "
          f"(MPJPE {report['before']['mpjpe']:.1f} -> {report['after']['mpjpe']:.1f} mm)")

    with tempfile.TemporaryDirectory() as folder:
        write_predictions(folder, predictions)
        save_lengths(lengths, Path(folder) / "lengths_dict.npz", Path(folder) / "lengths_list.npz")
        start = time.perf_counter()
        adjust_files(Path(folder) / "prediction.pkl", Path(folder) / "lengths_dict.npz",
                     Path(args.data) / "data_3d_h36m.npz", Path(folder) / "action_dict.pkl", keep_adjusted=False)
        whole = time.perf_counter() - start
    print(f"adjust from files (reading upstream formats included): {whole:.2f} s, {frames / whole:,.0f} frames/s")


if __name__ == "__main__":
    main()
