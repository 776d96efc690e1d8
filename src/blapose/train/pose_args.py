"""Upstream pose flags (an ``argparse`` namespace) mapped to what ``blapose.train.pose`` and
``blapose.train.predict`` take: a ``PoseTrainConfig``, the data's sequences, the models named by
checkpoint flags and the predicted bone lengths per video. ``blapose.train.pose_cli`` runs the
commands with them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from torch import nn

from ..errors import InputError
from ..lengths_io import Key, resolve_length_lookup
from ..models.mix import MixModel
from .device import resolve_device
from .pose import (PoseTrainConfig, finetune_config, lift_config, lifting_model_from_checkpoint,
                   mix_model_from_checkpoint)


def subjects_from_text(text: str) -> list[str]:
    """Subjects of a comma-separated list such as 'S9,S11'."""
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
                     lr_decay=args.lr_decay, flip_augment=args.data_augmentation,
                     augment=getattr(args, "augment", "none"), seed=args.seed,
                     device=getattr(args, "device", None), amp=getattr(args, "amp", None))
    if getattr(args, "learning_rate", None) is not None:
        overrides["learning_rate"] = args.learning_rate
    if getattr(args, "mocap_share", None) is not None:
        overrides["mocap_share"] = args.mocap_share
    return (lift_config if args.task == "lift" else finetune_config)(**overrides)


def real_motions_from_args(args: Any) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """The motion-capture clips --mocap names ({clip: (T, 17, 3) meters, world frame, z up}; empty
    without --mocap) and the clips --mocap-holdout keeps out of them (``mocap.DEFAULT_HOLDOUT`` unless given)."""
    from ..data import mocap

    holdout = mocap.DEFAULT_HOLDOUT
    if getattr(args, "mocap_holdout", None) is not None:
        holdout = mocap.clip_names_from_text(args.mocap_holdout)
    if not getattr(args, "mocap", ""):
        return {}, holdout
    names = tuple(name for name in mocap.CLIP_NAMES if name not in holdout)
    if not names:
        raise InputError("--mocap-holdout keeps out every clip; leave some to train on")
    return mocap.load_clips(args.mocap, names), holdout


def load_named_checkpoint(name: str, args: Any) -> tuple[dict, str]:
    """The checkpoint dict of ``name`` (looked up in -c/--checkpoint, or a path) and where it was read."""
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
        checkpoint, source = load_named_checkpoint(args.direction_model, args)
        return lifting_model_from_checkpoint(checkpoint, widths, args.channels, source)
    if args.task != "mix":
        raise InputError(f"-t {args.task or '(none)'} has no pose model; use -t lift or -t mix")
    if args.mix_model:
        checkpoint, source = load_named_checkpoint(args.mix_model, args)
        return mix_model_from_checkpoint(checkpoint, widths, args.channels, args.bidirectional, source)
    if not (args.length_model and args.direction_model):
        raise InputError("-t mix needs --mix_model, or both --length_model and --direction_model")
    length_checkpoint, length_source = load_named_checkpoint(args.length_model, args)
    direction_checkpoint, direction_source = load_named_checkpoint(args.direction_model, args)
    length_model = length_model_from_checkpoint(length_checkpoint, length_source, args.bidirectional)
    direction_model = lifting_model_from_checkpoint(direction_checkpoint, widths, args.channels, direction_source)
    return MixModel(direction_model, length_model).eval()


def length_lookup_from_args(args: Any) -> dict[Key, np.ndarray]:
    """Predicted lengths per video from -bld/--bone_length_dict, else -bll/--bone_length_list."""
    from ..data.h36m import keypoints_2d_path

    train, test = subjects_from_text(args.subjects_train), subjects_from_text(args.subjects_test)
    orders = list(dict.fromkeys(tuple(order) for order in (train + test, test, train)))
    path_2d = keypoints_2d_path(getattr(args, "data_dir", "data"), args.keypoints, getattr(args, "dataset", "h36m"))
    lookup, description = resolve_length_lookup(args.bone_length_dict, args.bone_length_list, path_2d, orders)
    print(f"INFO: {description}")
    return lookup


def model_and_test_data(args: Any) -> tuple[nn.Module, list[Any], dict[Key, np.ndarray] | None]:
    """The flags' model, the test subjects' sequences, and the predicted lengths when the model needs them."""
    model = model_from_args(args).to(resolve_device(getattr(args, "device", None)))
    test = sequences_from_args(args, subjects_from_text(args.subjects_test))
    lookup = None
    if isinstance(model, MixModel) and model.length_model is None:
        lookup = length_lookup_from_args(args)
    return model, test, lookup
