"""The ``blapose train -t lift|mix``, ``blapose evaluate`` and ``blapose predict`` commands:
upstream flags (an ``argparse`` namespace) mapped to a ``PoseTrainConfig``, models, data and the
typed calls of ``blapose.train.pose`` and ``blapose.train.predict``."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..lengths_io import Key, resolve_length_lookup
from ..models.mix import MixModel
from .pose import (EpochResult, PoseTrainConfig, checkpoint_dict, finetune, finetune_config, lift_config,
                   lifting_model_from_checkpoint, mix_model_from_checkpoint, train_lifting_model)
from .predict import evaluate_model, format_evaluation, predict_poses, validation_mpjpe


def _subjects(text: str) -> list[str]:
    subjects = [s.strip() for s in text.split(",") if s.strip()]
    if not subjects:
        raise InputError(f"no subjects in {text!r}; give them separated by commas, e.g. S9,S11")
    return subjects


def sequences_from_args(args: Any, subjects: Sequence[str]) -> list[Any]:
    """Sequences of ``subjects`` from --data-dir, -k/--keypoints and -d/--dataset, filtered by
    -a/--actions (name prefixes, as upstream) and thinned by --downsample."""
    from ..data.h36m import load_sequences

    if getattr(args, "subset", 1) != 1:
        raise InputError("--subset is not supported; use -a/--actions or --downsample to train on less")
    sequences = load_sequences(getattr(args, "data_dir", "data"), args.keypoints, list(subjects),
                               dataset=getattr(args, "dataset", "h36m"))
    actions = getattr(args, "actions", "*")
    if actions != "*":
        prefixes = tuple(a.strip() for a in actions.split(","))
        sequences = [s for s in sequences if s.action.startswith(prefixes)]
    step = getattr(args, "downsample", 1)
    if step > 1:
        sequences = [replace(s, poses_3d=s.poses_3d[::step], keypoints_2d=s.keypoints_2d[::step])
                     for s in sequences]
    if not sequences:
        raise InputError(f"no sequences of subjects {','.join(subjects)} match the actions {actions!r}")
    return sequences


def config_from_args(args: Any) -> PoseTrainConfig:
    """The training config of the upstream flags; an unset -lr takes the task's default."""
    from ..models.temporal import parse_architecture

    if getattr(args, "stride", 1) != 1:
        raise InputError("only -s 1 is supported: training predicts one frame per receptive-field window")
    if getattr(args, "in_chans", 2) != 2:
        raise InputError("only 2D keypoints (-ich 2) are supported")
    overrides = dict(filter_widths=parse_architecture(args.architecture), channels=args.channels,
                     dropout=args.dropout, epochs=args.epochs, batch_size=args.batch_size,
                     lr_decay=args.lr_decay, flip_augment=args.data_augmentation, seed=args.seed)
    if getattr(args, "learning_rate", None) is not None:
        overrides["learning_rate"] = args.learning_rate
    return (lift_config if args.task == "lift" else finetune_config)(**overrides)


def _load(name: str, args: Any) -> tuple[dict, str]:
    from ..models.checkpoint import load_checkpoint, resolve_checkpoint_path

    path = resolve_checkpoint_path(name, args.checkpoint)
    return load_checkpoint(path), str(path)


def model_from_args(args: Any) -> nn.Module:
    """The model the flags name, in eval mode on the CPU.

    -t lift: --direction_model (a VideoPose3D-style checkpoint). -t mix: --mix_model, or
    --length_model with --direction_model (BLAPose composes the two).
    """
    from ..models.length import length_model_from_checkpoint
    from ..models.temporal import parse_architecture

    widths = parse_architecture(args.architecture)
    if args.task == "lift":
        if not args.direction_model:
            raise InputError("-t lift needs the lifting model's checkpoint: --direction_model FILE")
        checkpoint, source = _load(args.direction_model, args)
        return lifting_model_from_checkpoint(checkpoint, widths, args.channels, source)
    if args.task != "mix":
        raise InputError(f"-t {args.task or '(none)'} has no pose model; use -t lift or -t mix")
    if args.mix_model:
        checkpoint, source = _load(args.mix_model, args)
        return mix_model_from_checkpoint(checkpoint, widths, args.channels, args.bidirectional, source)
    if not (args.length_model and args.direction_model):
        raise InputError("-t mix needs --mix_model, or both --length_model and --direction_model")
    length_checkpoint, length_source = _load(args.length_model, args)
    direction_checkpoint, direction_source = _load(args.direction_model, args)
    length_model = length_model_from_checkpoint(length_checkpoint, length_source, args.bidirectional)
    direction_model = lifting_model_from_checkpoint(direction_checkpoint, widths, args.channels, direction_source)
    return MixModel(direction_model, length_model).eval()


def length_lookup_from_args(args: Any) -> dict[Key, np.ndarray]:
    """Predicted lengths per video from -bld/--bone_length_dict, else -bll/--bone_length_list."""
    from ..data.h36m import keypoints_2d_path

    train, test = _subjects(args.subjects_train), _subjects(args.subjects_test)
    orders = list(dict.fromkeys(tuple(order) for order in (train + test, test, train)))
    path_2d = keypoints_2d_path(getattr(args, "data_dir", "data"), args.keypoints, getattr(args, "dataset", "h36m"))
    lookup, description = resolve_length_lookup(args.bone_length_dict, args.bone_length_list, path_2d, orders)
    print(f"INFO: {description}")
    return lookup


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
        checkpoint = checkpoint_dict(model, optimizer, result.epoch, optimizer.param_groups[0]["lr"], rng)
        if valid is not None and valid < self.best:
            self.best = valid
            save_checkpoint(self.directory / "epoch_best.bin", checkpoint)
        if result.epoch % self.frequency == 0:
            save_checkpoint(self.directory / f"epoch_{result.epoch}.bin", checkpoint)
        save_checkpoint(self.directory / "final.bin", checkpoint)


def run_from_args(args: Any) -> int:
    """``blapose train -t lift|mix``: train or fine-tune from the upstream flags; checkpoints go to -c."""
    config = config_from_args(args)
    train = sequences_from_args(args, _subjects(args.subjects_train))
    test = [] if args.no_eval else sequences_from_args(args, _subjects(args.subjects_test))
    print(f"INFO: training on {sum(s.num_frames for s in train)} frames of {len(train)} videos"
          + ("" if args.no_eval else f", validating on {sum(s.num_frames for s in test)} frames"))
    resume = _load(args.resume, args)[0] if getattr(args, "resume", "") else None
    if args.task == "lift":
        model = None
        if resume is not None:
            model = lifting_model_from_checkpoint(resume, config.filter_widths, config.channels, args.resume)
        elif args.direction_model:
            model = model_from_args(args)
        reporter = EpochReporter(args.checkpoint, args.checkpoint_frequency,
                                 (lambda m: validation_mpjpe(m, test)) if test else None)
        print(f"INFO: receptive field {math.prod(config.filter_widths)} frames, device {config.torch_device}")
        train_lifting_model(train, config, model, reporter, resume)
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
    if getattr(args, "export_training_curves", False):
        _plot_curves(reporter.history, Path(args.checkpoint) / "loss_3d.png")
    return 0


def _plot_curves(history: list[tuple[int, float, float | None]], path: Path) -> None:
    from ..viz.plots import plot_training_curves

    epochs = [h[0] for h in history]
    curves = {"3d train": (epochs, [h[1] for h in history])}
    if all(h[2] is not None for h in history):
        curves["3d valid (eval)"] = (epochs, [h[2] for h in history])
    plot_training_curves(path, curves, "MPJPE (mm)")


def _model_and_test_data(args: Any) -> tuple[nn.Module, list[Any], dict[Key, np.ndarray] | None]:
    """The flags' model, the test subjects' sequences, and the predicted lengths when the model needs them."""
    model = model_from_args(args)
    test = sequences_from_args(args, _subjects(args.subjects_test))
    lookup = None
    if isinstance(model, MixModel) and model.length_model is None:
        lookup = length_lookup_from_args(args)
    return model, test, lookup


def evaluate_from_args(args: Any) -> int:
    """``blapose evaluate`` / ``blapose train --evaluate``: action-wise errors on the test subjects."""
    from ..report import write_csv, write_json

    model, test, lookup = _model_and_test_data(args)
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

    model, test, lookup = _model_and_test_data(args)
    predictions = predict_poses(model, test, lookup, flip=args.test_time_augmentation, progress=True)
    output = args.output or str(Path("3D_prediction") / Path(args.mix_model or args.direction_model).stem)
    for path in write_predictions(output, predictions):
        print(f"wrote {path}")
    return 0
