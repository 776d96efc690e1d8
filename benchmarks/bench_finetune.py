"""Training speed of BLAPose fine-tuning (-t mix) at the README's settings, and the share of batch building.

Settings: -b 1024 -arc 3,3,3,3,3 (receptive field 243), 1024 channels, flip augmentation, the
bi-GRU length model attached and fixed. The data are random sequences of Human3.6M's size per
video (the speed does not depend on the values). Runs on the CPU unless --device says otherwise.

    python benchmarks/bench_finetune.py --steps 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--architecture", default="3,3,3,3,3")
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--videos", type=int, default=60, help="random training videos of --frames frames")
    parser.add_argument("--frames", type=int, default=2500)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from blapose.models.length import BoneLengthModel
    from blapose.models.mix import MixModel
    from blapose.models.temporal import SingleFrameTemporalModel, parse_architecture
    from blapose.train.chunks import ChunkedBatches
    from blapose.train.pose import finetune_config, finetune_loss, train_step

    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    widths = parse_architecture(args.architecture)
    config = finetune_config(filter_widths=widths, channels=args.channels, batch_size=args.batch_size)
    model = MixModel(SingleFrameTemporalModel(widths, channels=args.channels),
                     BoneLengthModel(dropout=0.0, bidirectional=True)).to(device).train()
    keypoints = [rng.uniform(-1, 1, (args.frames, 17, 2)).astype(np.float32) for _ in range(args.videos)]
    poses = [rng.normal(0, 0.3, (args.frames, 17, 3)).astype(np.float32) for _ in range(args.videos)]
    lengths = rng.uniform(0.1, 0.5, (args.videos, 16)).astype(np.float32)

    start = time.perf_counter()
    batches = ChunkedBatches(keypoints, poses, model.receptive_field(), args.batch_size, flip=True,
                             lengths=lengths, device=device)
    setup = time.perf_counter() - start
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=4e-5, amsgrad=True)
    iterator = batches.epoch(rng)
    train_step(model, next(iterator), optimizer, finetune_loss, config)  # warm-up

    building = stepping = 0.0
    for _ in range(args.steps):
        start = time.perf_counter()
        batch = next(iterator)
        building += time.perf_counter() - start
        start = time.perf_counter()
        train_step(model, batch, optimizer, finetune_loss, config)
        if device.type == "cuda":
            torch.cuda.synchronize()
        stepping += time.perf_counter() - start
    frames = args.steps * args.batch_size
    total = building + stepping
    print(f"device {device} ({torch.get_num_threads()} threads), -b {args.batch_size} -arc {args.architecture} "
          f"-ch {args.channels}, receptive field {model.receptive_field()}")
    print(f"batch tables for {batches.num_examples} examples built once in {setup:.2f} s")
    print(f"{args.steps} steps: {frames / total:.1f} training frames/s, {total / args.steps:.2f} s per step")
    print(f"batch building {building / args.steps * 1000:.1f} ms per batch = {100 * building / total:.2f}% "
          f"of a step; forward+backward+update {stepping / args.steps:.2f} s")


if __name__ == "__main__":
    main()
