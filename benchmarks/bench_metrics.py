"""P-MPJPE speed: milliseconds per 2,500-frame batch, as `blapose adjust` evaluates them.

A batch is (4, 625, 17, 3) float32 meters, root-relative, like report.py's batches of up to 2,500
frames: the target is the built-in dataset's motion (four actions of one synthetic subject) or
Gaussian joints (0.3 m), the prediction the target plus 0.03 m of Gaussian noise. Prints, for
each batch, the median and 10th percentile over ``--repeat`` calls run alternately in this
process, and the minor page faults per call, of:
- ``blapose.metrics.p_mpjpe_per_frame`` and its rotation step ``closest_rotation``;
- with ``--against REV``, the same functions of blapose/metrics.py at git revision REV (read with
  ``git show``), and the largest difference of their results from the current ones;
- VideoPose3D's definition (common/loss.py p_mpjpe: batched SVD, reflection removed), video by
  video, as bench_adjust.py's upstream stand-in computes it.

Single-threaded BLAS is advised for steady figures:

    OMP_NUM_THREADS=1 python benchmarks/bench_metrics.py [--repeat 400] [--against 7f8ae90]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_adjust import _procrustes_error_svd as videopose3d_p_mpjpe
from blapose import metrics
from blapose.data.h36m import ACTIONS
from blapose.data.motion import simulate_action
from blapose.data.synthetic import subject_bone_lengths

REPOSITORY = Path(__file__).resolve().parents[1]


def batches(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (predicted, target)} batches (4, 625, 17, 3) float32 meters, root-relative."""
    lengths = subject_bone_lengths(rng)
    motion = np.stack([simulate_action(action, lengths, 625, rng) for action in ACTIONS[:4]])
    gaussian = 0.3 * rng.normal(size=motion.shape)
    found = {}
    for name, target in (("built-in motion", motion), ("Gaussian joints", gaussian)):
        target = (target - target[..., :1, :]).astype(np.float32)
        found[name] = ((target + 0.03 * rng.normal(size=target.shape)).astype(np.float32), target)
    return found


def metrics_at_revision(revision: str):
    """blapose.metrics as it was at git ``revision``, imported as a sibling module of blapose."""
    source = subprocess.run(["git", "show", f"{revision}:src/blapose/metrics.py"], cwd=REPOSITORY, check=True,
                            capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metrics_baseline.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("blapose._metrics_baseline", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def timings(functions: dict[str, callable], repeat: int) -> dict[str, tuple[float, float, float]]:
    """{name: (median ms, 10th percentile ms, minor page faults per call)}, the functions run in turn."""
    seconds = {name: [] for name in functions}
    faults = dict.fromkeys(functions, 0)
    for _ in range(repeat):
        for name, function in functions.items():
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            function()
            seconds[name].append(time.perf_counter() - start)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    return {name: (1e3 * float(np.median(values)), 1e3 * float(np.percentile(values, 10)), faults[name] / repeat)
            for name, values in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=400, help="calls of each function per batch")
    parser.add_argument("--against", metavar="REV", help="also time blapose/metrics.py of this git revision")
    args = parser.parse_args(argv)
    baseline = metrics_at_revision(args.against) if args.against else None
    print(f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {args.repeat} calls each")
    for name, (predicted, target) in batches(np.random.default_rng(0)).items():
        frames = predicted.shape[0] * predicted.shape[1]
        cross = np.einsum("vtja,vtjb->vtab", predicted - predicted.mean(-2, keepdims=True),
                          target - target.mean(-2, keepdims=True)).astype(np.float64)
        functions = {"p_mpjpe_per_frame": lambda: metrics.p_mpjpe_per_frame(predicted, target),
                     "closest_rotation": lambda: metrics.closest_rotation(cross)}
        if baseline is not None:
            functions[f"p_mpjpe_per_frame at {args.against}"] = lambda: baseline.p_mpjpe_per_frame(predicted, target)
            functions[f"closest_rotation at {args.against}"] = lambda: baseline.closest_rotation(cross)
        functions["VideoPose3D p_mpjpe (batched SVD per video)"] = lambda: [
            videopose3d_p_mpjpe(poses, truth) for poses, truth in zip(predicted, target)]
        print(f"\n{name}: {frames} frames {predicted.shape} {predicted.dtype}")
        print(f"  {'':<44}{'median ms':>10}{'p10 ms':>8}{'faults':>8}")
        for label, (median, low, faults) in timings(functions, args.repeat).items():
            print(f"  {label:<44}{median:>10.3f}{low:>8.3f}{faults:>8.0f}")
        current = metrics.p_mpjpe_per_frame(predicted.astype(np.float64), target.astype(np.float64)).mean(-1)
        reference = [videopose3d_p_mpjpe(poses, truth) for poses, truth in
                     zip(predicted.astype(np.float64), target.astype(np.float64))]
        print(f"  largest |difference| of per-video means from VideoPose3D's, float64: "
              f"{np.abs(current - reference).max():.2e} m")
        if baseline is not None:
            for dtype in (np.float32, np.float64):
                before = baseline.p_mpjpe_per_frame(predicted.astype(dtype), target.astype(dtype))
                after = metrics.p_mpjpe_per_frame(predicted.astype(dtype), target.astype(dtype))
                per_video = np.abs(before.mean(-1, dtype=np.float64) - after.mean(-1, dtype=np.float64)).max()
                print(f"  largest |difference| from {args.against}, {np.dtype(dtype).name} input: per frame "
                      f"{np.abs(before - after).max():.2e} m, per-video mean {per_video:.2e} m")


if __name__ == "__main__":
    sys.exit(main())
