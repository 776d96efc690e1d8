"""Training speed of BLAPose fine-tuning (-t mix) at the README's settings, and the share of batch building.

Settings: -b 1024 (the global batch) -arc 3,3,3,3,3 (receptive field 243), 1024 channels, flip
augmentation, the bi-GRU length model attached and fixed. The data are random sequences of
Human3.6M's size per video (the speed does not depend on the values). ``--device`` and ``--amp``
as in ``blapose train``; ``--nproc N`` runs N processes under torchrun (DDP, each rank half of
every global batch on 2 ranks), as ``blapose train --nproc N`` does.

    python benchmarks/bench_finetune.py --steps 3 [--device cuda] [--amp bf16] [--nproc 2]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from blapose.cli.types import int_list


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    parser.add_argument("--batch-size", type=int, default=1024, help="global batch (frames)")
    parser.add_argument("--architecture", default="3,3,3,3,3", type=int_list)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--videos", type=int, default=60, help="random training videos of --frames frames")
    parser.add_argument("--frames", type=int, default=2500)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads per process (default: torch's, 1 under torchrun)")
    from blapose.cli.device_args import add_device_arguments, relaunch_with_torchrun

    add_device_arguments(parser, nproc=True)
    args = parser.parse_args()

    from blapose.train.distributed import distributed_session, launched_by_torchrun

    if args.nproc > 1 and not launched_by_torchrun():
        sys.exit(relaunch_with_torchrun(args.nproc, program=[__file__]))
    if args.threads:
        torch.set_num_threads(args.threads)
    with distributed_session(args.device) as context:
        run(args, context)


def run(args: argparse.Namespace, context) -> None:
    from blapose.models.length import BoneLengthModel
    from blapose.models.mix import MixModel
    from blapose.models.temporal import SingleFrameTemporalModel
    from blapose.train.chunks import ChunkedBatches
    from blapose.train.device import resolve_precision, to_device
    from blapose.train.distributed import loss_weight, shard, wrap_model
    from blapose.train.pose import finetune_config, finetune_loss, train_step

    device = context.device
    precision = resolve_precision(args.amp, device)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    widths = args.architecture
    config = finetune_config(filter_widths=widths, channels=args.channels, batch_size=args.batch_size)
    model = MixModel(SingleFrameTemporalModel(widths, channels=args.channels),
                     BoneLengthModel(dropout=0.0, bidirectional=True)).to(device).train()
    keypoints = [rng.uniform(-1, 1, (args.frames, 17, 2)).astype(np.float32) for _ in range(args.videos)]
    poses = [rng.normal(0, 0.3, (args.frames, 17, 3)).astype(np.float32) for _ in range(args.videos)]
    lengths = rng.uniform(0.1, 0.5, (args.videos, 16)).astype(np.float32)

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    start = time.perf_counter()
    batches = ChunkedBatches(keypoints, poses, model.receptive_field(), args.batch_size, flip=True,
                             lengths=lengths, device=device)
    setup = time.perf_counter() - start
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=4e-5, amsgrad=True)
    scaler = precision.grad_scaler()
    trained = wrap_model(model, context)
    order = to_device(rng.permutation(batches.num_examples), device)

    def step(number: int) -> tuple[float, float]:
        """Build this rank's part of global batch ``number`` and train on it; (build, step) seconds."""
        started = time.perf_counter()
        chosen = order[number * args.batch_size:(number + 1) * args.batch_size]
        batch = batches.batch(shard(chosen, context))
        synchronize()
        built = time.perf_counter()
        train_step(trained, batch, optimizer, finetune_loss, config, precision, scaler,
                   loss_weight(len(batch.poses_3d), len(chosen), context))
        synchronize()
        return built - started, time.perf_counter() - built

    step(0)  # warm-up
    building = stepping = 0.0
    for number in range(1, args.steps + 1):
        build_seconds, step_seconds = step(number)
        building += build_seconds
        stepping += step_seconds
    if not context.is_main:
        return
    frames = args.steps * args.batch_size
    total = building + stepping
    architecture = ",".join(map(str, args.architecture))
    print(f"device {device} x {context.world_size} process(es), {torch.get_num_threads()} CPU thread(s) each, "
          f"{precision.name}; -b {args.batch_size} (global) -arc {architecture} -ch {args.channels}, "
          f"receptive field {model.receptive_field()}")
    print(f"batch tables for {batches.num_examples} examples built once in {setup:.2f} s")
    print(f"{args.steps} steps: {frames / total:.1f} training frames/s, {total / args.steps:.2f} s per step")
    print(f"batch building {building / args.steps * 1000:.1f} ms per batch = {100 * building / total:.2f}% "
          f"of a step; forward+backward+update {stepping / args.steps:.2f} s")


if __name__ == "__main__":
    main()
