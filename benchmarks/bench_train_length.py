"""Throughput of bone-length training: batch building vs. the model's forward and backward.

Prints sequences (training chunks) per second for building an augmented batch (gather, forward
kinematics with new lengths, projection, flip), for the model's forward+backward, and for a full
training step (build + forward + backward + Adam), and the share of a step spent building the batch.
Defaults are the seed command's settings (-b 256, -l 512, -bi) with synthetic smooth motion of
Human3.6M-like length (or the videos of --data-dir when given). ``--device`` and ``--amp`` as in
``blapose train``; ``--nproc N`` runs N processes under torchrun (DDP): -b stays the global batch
and each rank builds and trains its block of it.

    python benchmarks/bench_train_length.py [--batch-size 256] [--chunk-len 512] [--threads 2]
        [--device cuda] [--amp bf16] [--nproc 2]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from blapose.bones import bones_to_poses
from blapose.cli.device_args import add_device_arguments, relaunch_with_torchrun
from blapose.data.h36m import Sequence, load_sequences
from blapose.geometry.camera import h36m_cameras
from blapose.models.length import BoneLengthModel
from blapose.train.device import resolve_precision
from blapose.train.distributed import (
    DistributedContext,
    distributed_session,
    launched_by_torchrun,
    loss_weight,
    wrap_model,
)
from blapose.train.length import train_step
from blapose.train.length.batches import LengthBatchBuilder, MotionBank, make_length_sampler


def synthetic_sequences(videos: int, frames: int, seed: int = 0) -> list[Sequence]:
    """Smoothly moving bodies in front of the S1 cameras: poses (T, 17, 3) meters, camera frame."""
    rng = np.random.default_rng(seed)
    cameras = h36m_cameras("S1")
    sequences = []
    for video in range(videos):
        phase = rng.uniform(0, 2 * np.pi, size=(1, 16, 3))
        t = np.arange(frames)[:, None, None]
        directions = np.sin(t * 0.03 + phase) + rng.normal(0, 0.1, size=(1, 16, 3))
        directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
        root = np.stack([np.sin(t[:, 0, 0] * 0.01), 0.2 * np.cos(t[:, 0, 0] * 0.01),
                         np.full(frames, 4.5)], -1)
        poses = bones_to_poses(directions, rng.uniform(0.1, 0.45, 16), root=root).astype(np.float32)
        camera = cameras[video % 4]
        sequences.append(Sequence(subject="S1", action=f"Motion {video}", camera_index=video % 4,
                                  camera=camera, poses_3d=poses, keypoints_2d=poses[..., :2].copy()))
    return sequences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256, help="global batch (chunks)")
    parser.add_argument("--chunk-len", type=int, default=512)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads per process (default: 2, or 1 under torchrun)")
    parser.add_argument("--repeats", type=int, default=1, help="timed forward+backward passes and steps")
    parser.add_argument("--unidirectional", action="store_true", help="GRU model instead of the biGRU")
    parser.add_argument("--data-dir", default="", help="use the training videos of this data folder")
    add_device_arguments(parser, nproc=True)
    args = parser.parse_args()
    if args.nproc > 1 and not launched_by_torchrun():
        sys.exit(relaunch_with_torchrun(args.nproc, program=[__file__]))
    torch.set_num_threads(args.threads or (1 if launched_by_torchrun() else 2))
    with distributed_session(args.device) as context:
        run(args, context)


def run(args: argparse.Namespace, context: DistributedContext) -> None:
    device = context.device
    precision = resolve_precision(args.amp, device)
    torch.manual_seed(0)
    if args.data_dir:
        sequences = load_sequences(args.data_dir, subjects=("S1", "S5", "S6", "S7", "S8"))
    else:
        sequences = synthetic_sequences(videos=40, frames=2000)
    rng = np.random.default_rng(0)
    table = rng.uniform(0.1, 0.45, size=(1000, 16))
    builder = LengthBatchBuilder(MotionBank.from_sequences(sequences, device),
                                 make_length_sampler("smpl", table, ("S1",), ()),
                                 args.batch_size, args.chunk_len, segment_shift=64, flip=True)
    if len(builder.index) < args.batch_size:
        raise SystemExit(f"only {len(builder.index)} chunks; need {args.batch_size}")
    model = BoneLengthModel(dropout=0.0, bidirectional=not args.unidirectional).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, amsgrad=True)
    scaler = precision.grad_scaler()
    trained = wrap_model(model, context)

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def build():
        """This rank's block of a global batch (all ranks draw the same chunks)."""
        batch = builder.build(rng.choice(len(builder.index), size=args.batch_size, replace=False), rng, context)
        synchronize()
        return batch

    def forward_backward(batch):
        trained.train()
        optimizer.zero_grad()
        with precision.autocast():
            loss = torch.mean(torch.abs(trained(batch.keypoints).float() - batch.lengths))
        scaler.scale(loss).backward()
        synchronize()

    def full_step():
        batch = build()
        train_step(trained, optimizer, batch.keypoints, batch.lengths, precision, scaler,
                   loss_weight(len(batch.lengths), args.batch_size, context))
        synchronize()

    def timed(function, *arguments, repeats: int, warm_up: bool) -> float:
        if warm_up:
            function(*arguments)
        started = time.perf_counter()
        for _ in range(repeats):
            function(*arguments)
        return (time.perf_counter() - started) / repeats

    # Batch building is cheap: warm up and average several. The model passes take seconds to
    # minutes on a CPU: one untimed training step warms them up (the first backward pass allocates
    # gigabytes), then each runs ``--repeats`` times.
    build_seconds = timed(build, repeats=5, warm_up=True)
    full_step()
    batch = build()
    forward_backward_seconds = timed(forward_backward, batch, repeats=args.repeats, warm_up=False)
    step_seconds = timed(full_step, repeats=args.repeats, warm_up=False)
    if not context.is_main:
        return
    print(f"bone-length training, global batch {args.batch_size} x {args.chunk_len} frames, "
          f"{'GRU' if args.unidirectional else 'biGRU'}, {device} x {context.world_size} process(es), "
          f"{torch.get_num_threads()} CPU thread(s) each, {precision.name}, {args.repeats} timed model pass(es)")
    for name, seconds in (("batch generation", build_seconds), ("forward+backward", forward_backward_seconds),
                          ("full training step", step_seconds)):
        print(f"  {name:<20} {args.batch_size / seconds:10.1f} sequences/s  ({seconds * 1000:9.1f} ms per batch)")
    print(f"  batch generation share of a training step: {100 * build_seconds / step_seconds:.2f} %")


if __name__ == "__main__":
    main()
