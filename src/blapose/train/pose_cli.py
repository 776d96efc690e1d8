"""The ``blapose train -t lift|mix``, ``blapose evaluate`` and ``blapose predict`` commands: the
flags mapped by ``blapose.train.pose_args``, then the typed calls of ``blapose.train.pose`` and
``blapose.train.predict``, and what each command prints and writes."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .pose import (EpochResult, checkpoint_dict, finetune, lifting_model_from_checkpoint, mix_model_from_checkpoint,
                   train_lifting_model)
from .pose_args import (config_from_args, length_lookup_from_args, load_named_checkpoint, model_and_test_data,
                        model_from_args, real_motions_from_args, sequences_from_args, subjects_from_text)
from .predict import evaluate_model, format_evaluation, predict_poses, validation_mpjpe


class EpochReporter:
    """Per epoch: print losses, write final.bin, epoch_best.bin (lowest validation MPJPE) and
    epoch_<N>.bin every ``frequency`` epochs into ``directory`` (upstream train.py's files)."""

    def __init__(self, directory: str | os.PathLike, frequency: int,
                 validate: Callable[[nn.Module], float] | None) -> None:
        self.directory = Path(directory)
        self.frequency = frequency
        self.validate = validate
        self.best = math.inf
        self.history: list[tuple[int, float, float | None]] = []

    def __call__(self, result: EpochResult, model: nn.Module, optimizer: torch.optim.Optimizer,
                 rng: np.random.Generator) -> None:
        from ..models.checkpoint import save_checkpoint

        valid = None
        if self.validate is not None:
            valid = self.validate(model)
            model.train()
        self.history.append((result.epoch, result.train_loss, valid))
        valid_text = "-" if valid is None else f"{valid * 1000:.2f}"
        print(f"[{result.epoch}] time {result.seconds / 60:.2f} min lr {result.learning_rate:.6f} "
              f"3d_train {result.train_loss * 1000:.2f} mm 3d_valid {valid_text} mm", flush=True)
        checkpoint = checkpoint_dict(model, optimizer, result.epoch, optimizer.param_groups[0]["lr"], rng,
                                     result.resume_state)
        if valid is not None and valid < self.best:
            self.best = valid
            save_checkpoint(self.directory / "epoch_best.bin", checkpoint)
        if result.epoch % self.frequency == 0:
            save_checkpoint(self.directory / f"epoch_{result.epoch}.bin", checkpoint)
        save_checkpoint(self.directory / "final.bin", checkpoint)


def run_from_args(args: Any) -> int:
    """``blapose train -t lift|mix``: train or fine-tune from the upstream flags; checkpoints go to -c."""
    config = config_from_args(args)
    train = sequences_from_args(args, subjects_from_text(args.subjects_train))
    test = [] if args.no_eval else sequences_from_args(args, subjects_from_text(args.subjects_test))
    print(f"INFO: training on {sum(s.num_frames for s in train)} frames of {len(train)} videos"
          + ("" if args.no_eval else f", validating on {sum(s.num_frames for s in test)} frames"))
    resume = load_named_checkpoint(args.resume, args)[0] if getattr(args, "resume", "") else None
    if args.task == "lift":
        model = None
        if resume is not None:
            model = lifting_model_from_checkpoint(resume, config.filter_widths, config.channels, args.resume)
        elif args.direction_model:
            model = model_from_args(args)
        reporter = EpochReporter(args.checkpoint, args.checkpoint_frequency,
                                 (lambda m: validation_mpjpe(m, test)) if test else None)
        real, holdout = real_motions_from_args(args)
        if real:
            print(f"INFO: motion capture ({args.mocap}): {len(real)} clips, {sum(len(m) for m in real.values())} "
                  f"frames at 50 fps, re-posed with the training bodies and repeated to about {config.mocap_share:.0%} "
                  f"of the examples; held out: {', '.join(holdout) or 'none'}")
        print(f"INFO: receptive field {math.prod(config.filter_widths)} frames, device {config.torch_device}")
        train_lifting_model(train, config, model, reporter, resume, real_motions=list(real.values()))
    else:
        if resume is not None:
            model = mix_model_from_checkpoint(resume, config.filter_widths, config.channels, args.bidirectional,
                                              args.resume)
        else:
            model = model_from_args(args)
        lookup = length_lookup_from_args(args)
        test_lookup = lookup if test and all(tuple(s.key) in lookup for s in test) else None
        validate = None
        if test and (test_lookup is not None or model.length_model is not None):
            validate = lambda m: validation_mpjpe(m, test, test_lookup)  # noqa: E731
        reporter = EpochReporter(args.checkpoint, args.checkpoint_frequency, validate)
        print(f"INFO: receptive field {model.receptive_field()} frames, device {config.torch_device}")
        finetune(model, lookup, train, config, reporter, resume)
    if getattr(args, "export_training_curves", False) and reporter.history:  # rank 0 only
        _plot_curves(reporter.history, Path(args.checkpoint) / "loss_3d.png")
    return 0


def _plot_curves(history: list[tuple[int, float, float | None]], path: Path) -> None:
    from ..viz.plots import plot_training_curves

    epochs = [h[0] for h in history]
    curves = {"3d train": (epochs, [h[1] for h in history])}
    if all(h[2] is not None for h in history):
        curves["3d valid (eval)"] = (epochs, [h[2] for h in history])
    plot_training_curves(path, curves, "MPJPE (mm)")


def evaluate_from_args(args: Any) -> int:
    """``blapose evaluate`` / ``blapose train --evaluate``: action-wise errors on the test subjects."""
    from ..report import write_csv, write_json

    model, test, lookup = model_and_test_data(args)
    print(f"INFO: evaluating on {sum(s.num_frames for s in test)} frames of {len(test)} videos"
          f"{'' if args.test_time_augmentation else ' without test-time flipping'}")
    report = evaluate_model(model, test, lookup, flip=args.test_time_augmentation, progress=True)
    print(format_evaluation(report))
    if getattr(args, "json", None):
        write_json(args.json, report)
    if getattr(args, "csv", None):
        write_csv(args.csv, report)
    return 0


def predict_from_args(args: Any) -> int:
    """``blapose predict``: write the test subjects' predictions in the upstream adjustment format."""
    from ..data.predictions import write_predictions

    model, test, lookup = model_and_test_data(args)
    predictions = predict_poses(model, test, lookup, flip=args.test_time_augmentation, progress=True)
    output = args.output or str(Path("3D_prediction") / Path(args.mix_model or args.direction_model).stem)
    for path in write_predictions(output, predictions):
        print(f"wrote {path}")
    return 0
