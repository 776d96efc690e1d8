"""Accuracy of lifters on the built-in test subjects, seen by their own cameras and by random phone-like ones.

For each lifter (the shipped one by default; any VideoPose3D-format checkpoint) prints the
action-wise MPJPE and P-MPJPE (mm, flip test-time augmentation) on:
- "test set": S9 and S11 through the four Human3.6M cameras, with the dataset's detected 2D;
- "wild cameras": each test take through one random virtual camera (``blapose.train.wild``:
  focal length, distance, height, tilt, portrait), with its exact 2D;
- "wild + noise": the same cameras with MediaPipe-like 2D errors;
- with --mocap pybullet|DIR, "real motion (held-out mocap)": the motion-capture clips that lift
  training keeps out (``blapose.data.mocap``, --mocap-holdout, by default those ``blapose train``
  holds out), each through --mocap-views wild cameras, exact 2D and with noise. The clips' body is
  DeepMimic's humanoid, unlike any training body.
The wild cameras are drawn from --seed, so every lifter sees the same ones.

    python benchmarks/eval_wild_lifter.py --data-dir data [--lifter builtin --lifter x.bin] [--mocap pybullet]
"""

from __future__ import annotations

import argparse

import numpy as np

from blapose.cli.types import comma_list


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="built-in dataset folder (blapose make-data)")
    parser.add_argument("--lifter", action="append", help="'builtin' or a checkpoint; repeat to compare")
    parser.add_argument("--seed", type=int, default=0, help="seed of the wild cameras and noise")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--mocap", help="also evaluate on held-out motion capture: pybullet or a pybullet_data folder")
    parser.add_argument("--mocap-holdout", type=comma_list,
                        help="the held-out clips, separated by comma (default: blapose train's)")
    parser.add_argument("--mocap-views", type=int, default=10, help="wild cameras per held-out clip")
    args = parser.parse_args()

    import torch

    from blapose.data import mocap
    from blapose.data.h36m import TEST_SUBJECTS, load_sequences
    from blapose.evaluation.protocol import evaluate_model
    from blapose.evaluation.report import headline
    from blapose.train.wild import NO_NOISE, WildNoise, wild_clip_sequences, wild_test_sequences
    from blapose.video.models import load_lifter

    torch.set_num_threads(args.threads)
    test = load_sequences(args.data_dir, subjects=TEST_SUBJECTS)
    sets = {
        "test set": test,
        "wild cameras": wild_test_sequences(test, np.random.default_rng(args.seed), noise=NO_NOISE),
        "wild + noise": wild_test_sequences(test, np.random.default_rng(args.seed), noise=WildNoise()),
    }
    note = ""
    if args.mocap:
        holdout = mocap.DEFAULT_HOLDOUT
        if args.mocap_holdout is not None:
            holdout = mocap.clip_names(args.mocap_holdout)
        clips = mocap.load_clips(args.mocap, holdout)
        for label, noise in (("real motion (held-out mocap)", NO_NOISE), ("real motion + noise", WildNoise())):
            sets[label] = wild_clip_sequences(clips, np.random.default_rng(args.seed), args.mocap_views, noise=noise)
        note = f", held-out clips {','.join(holdout)} x {args.mocap_views} cameras"
    width = max(len(label) for label in sets)
    print(f"{'lifter':<40} {'data':<{width}} {'MPJPE':>8} {'P-MPJPE':>8}   (mm; {len(test)} test videos, "
          f"{len(sets['wild cameras'])} takes through wild cameras{note}, seed {args.seed})")
    for name in args.lifter or ["builtin"]:
        model = load_lifter(name)
        for label, sequences in sets.items():
            with torch.inference_mode():
                scores = headline(evaluate_model(model, sequences, flip=True))
            print(f"{name:<40} {label:<{width}} {scores['mpjpe']:8.1f} {scores['p_mpjpe']:8.1f}", flush=True)


if __name__ == "__main__":
    main()
