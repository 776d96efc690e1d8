"""Accuracy of lifters on the built-in test subjects, seen by their own cameras and by random phone-like ones.

For each lifter (the shipped one by default; any VideoPose3D-format checkpoint) prints the
action-wise MPJPE and P-MPJPE (mm, flip test-time augmentation) on:
- "test set": S9 and S11 through the four Human3.6M cameras, with the dataset's detected 2D;
- "wild cameras": each test take through one random virtual camera (``blapose.train.wild``:
  focal length, distance, height, tilt, portrait), with its exact 2D;
- "wild + noise": the same cameras with MediaPipe-like 2D errors.
The wild cameras are drawn from --seed, so every lifter sees the same ones.

    python benchmarks/eval_wild_lifter.py --data-dir data [--lifter builtin --lifter checkpoint/x.bin]
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="built-in dataset folder (blapose make-data)")
    parser.add_argument("--lifter", action="append", help="'builtin' or a checkpoint; repeat to compare")
    parser.add_argument("--seed", type=int, default=0, help="seed of the wild cameras and noise")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()

    import torch

    from blapose.data.h36m import TEST_SUBJECTS, load_sequences
    from blapose.train.predict import evaluate_model, headline
    from blapose.train.wild import NO_NOISE, WildNoise, wild_test_sequences
    from blapose.video.models import load_lifter

    torch.set_num_threads(args.threads)
    test = load_sequences(args.data_dir, subjects=TEST_SUBJECTS)
    sets = {
        "test set": test,
        "wild cameras": wild_test_sequences(test, np.random.default_rng(args.seed), noise=NO_NOISE),
        "wild + noise": wild_test_sequences(test, np.random.default_rng(args.seed), noise=WildNoise()),
    }
    print(f"{'lifter':<40} {'data':<14} {'MPJPE':>8} {'P-MPJPE':>8}   (mm; {len(test)} test videos, "
          f"{len(sets['wild cameras'])} takes through wild cameras, seed {args.seed})")
    for name in args.lifter or ["builtin"]:
        model = load_lifter(name)
        for label, sequences in sets.items():
            with torch.inference_mode():
                scores = headline(evaluate_model(model, sequences, flip=True))
            print(f"{name:<40} {label:<14} {scores['mpjpe']:8.1f} {scores['p_mpjpe']:8.1f}", flush=True)


if __name__ == "__main__":
    main()
