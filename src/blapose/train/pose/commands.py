"""The ``blapose train -t lift|mix`` command, run from a ``PoseCommand`` (``blapose.train.pose.inputs``,
the flags mapped): the typed calls of ``blapose.train.pose``, and what training prints and writes.
``blapose evaluate`` and ``blapose predict`` run from ``blapose.evaluation.commands``."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...evaluation.predict import validation_mpjpe
from .inputs import PoseCommand, load_data, load_length_lookup, load_model, load_named_checkpoint, load_real_motions
from .training import (
    EpochResult,
    checkpoint_dict,
    finetune,
    lifting_model_from_checkpoint,
    mix_model_from_checkpoint,
    train_lifting_model,
)


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
        from ...models.checkpoint import save_checkpoint

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


def run_training(command: PoseCommand) -> int:
    """``blapose train -t lift|mix``: train or fine-tune as ``command`` says; checkpoints go to its folder."""
    config, choice = command.training, command.model
    train = load_data(command.data, command.data.subjects_train)
    test = load_data(command.data, command.data.subjects_test) if command.validate else []
    print(f"INFO: training on {sum(s.num_frames for s in train)} frames of {len(train)} videos"
          + (f", validating on {sum(s.num_frames for s in test)} frames" if test else ""))
    resume = load_named_checkpoint(command.resume, choice.checkpoint_dir)[0] if command.resume else None
    if choice.task == "lift":
        model = None
        if resume is not None:
            model = lifting_model_from_checkpoint(resume, config.filter_widths, config.channels, command.resume)
        elif choice.direction_model:
            model = load_model(choice)
        reporter = EpochReporter(choice.checkpoint_dir, command.checkpoint_frequency,
                                 (lambda m: validation_mpjpe(m, test)) if test else None)
        real = load_real_motions(command.mocap, command.mocap_holdout) if command.mocap else {}
        if real:
            print(f"INFO: motion capture ({command.mocap}): {len(real)} clips, {sum(len(m) for m in real.values())} "
                  f"frames at 50 fps, re-posed with the training bodies and repeated to about {config.mocap_share:.0%} "
                  f"of the examples; held out: {', '.join(command.mocap_holdout) or 'none'}")
        print(f"INFO: receptive field {math.prod(config.filter_widths)} frames, device {config.torch_device}")
        train_lifting_model(train, config, model, reporter, resume, real_motions=list(real.values()))
    else:
        if resume is not None:
            model = mix_model_from_checkpoint(resume, config.filter_widths, config.channels, choice.bidirectional,
                                              command.resume)
        else:
            model = load_model(choice)
        lookup = load_length_lookup(command.lengths, command.data)
        test_lookup = lookup if test and all(tuple(s.key) in lookup for s in test) else None
        validate = None
        if test and (test_lookup is not None or model.length_model is not None):
            validate = lambda m: validation_mpjpe(m, test, test_lookup)  # noqa: E731
        reporter = EpochReporter(choice.checkpoint_dir, command.checkpoint_frequency, validate)
        print(f"INFO: receptive field {model.receptive_field()} frames, device {config.torch_device}")
        finetune(model, lookup, train, config, reporter, resume)
    if command.training_curves and reporter.history:  # rank 0 only
        _plot_curves(reporter.history, Path(choice.checkpoint_dir) / "loss_3d.png")
    return 0


def _plot_curves(history: list[tuple[int, float, float | None]], path: Path) -> None:
    from ...viz.plots import plot_training_curves

    epochs = [h[0] for h in history]
    curves = {"3d train": (epochs, [h[1] for h in history])}
    if all(h[2] is not None for h in history):
        curves["3d valid (eval)"] = (epochs, [h[2] for h in history])
    plot_training_curves(path, curves, "MPJPE (mm)")
