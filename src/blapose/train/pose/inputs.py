"""Upstream pose flags (an ``argparse`` namespace) mapped to what ``blapose train -t lift|mix``,
``evaluate`` and ``predict`` do: ``command_from_args`` builds a ``PoseCommand`` (which videos,
which checkpoints in which shape, which bone-length files, the training config, the outputs),
and the loaders here turn its parts into sequences, models and lengths per video.
``blapose.train.pose.commands`` (training) and ``blapose.evaluation.commands`` (evaluate, predict)
run the commands from a ``PoseCommand`` alone, so a flag that the command ignores leaves its
``PoseCommand`` unchanged (``tests/test_cli_flags.py`` checks every flag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ...errors import InputError
from ...lengths.io import Key, resolve_length_lookup
from ...models.mix import MixModel
from ..device import resolve_device
from .training import (
    PoseTrainConfig,
    finetune_config,
    lift_config,
    lifting_model_from_checkpoint,
    mix_model_from_checkpoint,
)

#: What a pose command does with its model.
ACTIONS = ("train", "evaluate", "predict")


@dataclass(frozen=True)
class DataChoice:
    """Which videos: the data folder, dataset and 2D detections (``data_2d_<dataset>_<keypoints>.npz``),
    the training and test subjects, action-name prefixes (None: all) and the frame step."""

    data_dir: str
    dataset: str
    keypoints: str
    subjects_train: tuple[str, ...]
    subjects_test: tuple[str, ...]
    actions: tuple[str, ...] | None
    downsample: int


@dataclass(frozen=True)
class ModelChoice:
    """Which checkpoints make the model (names looked up in ``checkpoint_dir``, or paths) and the
    architecture they are loaded into. task 'lift': ``direction_model``; 'mix': ``mix_model``, or
    ``length_model`` composed with ``direction_model``. Names a task does not use are ''."""

    task: str
    checkpoint_dir: str
    direction_model: str
    mix_model: str
    length_model: str
    filter_widths: tuple[int, ...]
    channels: int
    bidirectional: bool


@dataclass(frozen=True)
class LengthFiles:
    """The predicted bone lengths per video: a ``lengths_dict.npz``, else a positional ``lengths_list.npz``."""

    dict_path: str
    list_path: str


@dataclass(frozen=True)
class PoseCommand:
    """Everything ``blapose train -t lift|mix``, ``evaluate`` and ``predict`` take from their flags.

    action: 'train', 'evaluate' or 'predict'. lengths: None for a lifting model. flip: test-time
    flipping (evaluate, predict). by_subject: evaluate also reports each test subject alone.
    json, csv: evaluate's report files; output: predict's folder ('' for the default). Training
    only: ``training`` (the config), resume (a checkpoint name or path), checkpoint_frequency,
    validate (each epoch on the test subjects), training_curves (loss_3d.png), mocap (real motion
    capture to train a lifter on as well: 'pybullet', a folder, or '') and mocap_holdout (its clips
    kept out).
    """

    action: str
    data: DataChoice
    model: ModelChoice
    lengths: LengthFiles | None
    device: str
    flip: bool = True
    by_subject: bool = False
    json: str | None = None
    csv: str | None = None
    output: str = ""
    training: PoseTrainConfig | None = None
    resume: str = ""
    checkpoint_frequency: int = 40
    validate: bool = True
    training_curves: bool = False
    mocap: str = ""
    mocap_holdout: tuple[str, ...] = ()


def require_subjects(subjects: Sequence[str], flag: str) -> tuple[str, ...]:
    """``subjects`` (a flag's list, ``blapose.cli.types.comma_list``) as a tuple; ``InputError`` when empty."""
    if not subjects:
        raise InputError(f"{flag} names no subject; give them separated by commas, e.g. S9,S11")
    return tuple(subjects)


def filter_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """The -arc filter widths (``blapose.cli.types.int_list``), checked: odd integers >= 1."""
    from ...models.temporal import check_filter_widths

    check_filter_widths(widths)
    return tuple(widths)


def config_from_args(args: Any) -> PoseTrainConfig:
    """The training config of the upstream flags; an unset -lr takes the task's default."""
    if getattr(args, "stride", 1) != 1:
        raise InputError("only -s 1 is supported: training predicts one frame per receptive-field window")
    overrides = dict(filter_widths=filter_widths(args.architecture), channels=args.channels,
                     dropout=args.dropout, epochs=args.epochs, batch_size=args.batch_size,
                     lr_decay=args.lr_decay, flip_augment=args.data_augmentation,
                     augment=getattr(args, "augment", "none"), seed=args.seed,
                     device=getattr(args, "device", None), amp=getattr(args, "amp", None))
    if getattr(args, "learning_rate", None) is not None:
        overrides["learning_rate"] = args.learning_rate
    if getattr(args, "mocap_share", None) is not None:
        overrides["mocap_share"] = args.mocap_share
    return (lift_config if args.task == "lift" else finetune_config)(**overrides)


def command_from_args(args: Any, action: str) -> PoseCommand:
    """The ``PoseCommand`` of the flags for ``action`` ('train', 'evaluate' or 'predict').

    Reads no file: checkpoints, data and lengths load when the command runs.
    """
    assert action in ACTIONS, action
    task = args.task
    if task not in ("lift", "mix"):
        raise InputError(f"-t {task or '(none)'} has no pose model; use -t lift or -t mix")
    training = action == "train"
    resume = args.resume if training else ""
    # A lifting model needs no lengths; the training subjects then matter only for training.
    data = DataChoice(data_dir=args.data_dir, dataset=args.dataset, keypoints=args.keypoints,
                      subjects_train=require_subjects(args.subjects_train, "-str/--subjects-train")
                      if training or task == "mix" else (),
                      subjects_test=require_subjects(args.subjects_test, "-ste/--subjects-test"), actions=args.actions,
                      downsample=args.downsample)
    # A resumed training run starts from its checkpoint; otherwise from the named models (a lifting
    # model may start afresh).
    mix_model = args.mix_model if task == "mix" and not resume else ""
    composed = task == "mix" and not mix_model and not resume
    model = ModelChoice(task=task, checkpoint_dir=args.checkpoint,
                        direction_model=args.direction_model if (task == "lift" and not resume) or composed else "",
                        mix_model=mix_model, length_model=args.length_model if composed else "",
                        filter_widths=filter_widths(args.architecture), channels=args.channels,
                        bidirectional=bool(args.bidirectional) if task == "mix" else False)
    lengths = LengthFiles(args.bone_length_dict, args.bone_length_list) if task == "mix" else None
    common = dict(action=action, data=data, model=model, lengths=lengths, device=args.device)
    if action == "train":
        return PoseCommand(**common, training=config_from_args(args), resume=resume,
                           checkpoint_frequency=args.checkpoint_frequency, validate=not args.no_eval,
                           training_curves=args.export_training_curves, **_mocap_choice(args))
    evaluation = dict(flip=args.test_time_augmentation)
    if action == "evaluate":
        evaluation.update(by_subject=args.by_subject, json=getattr(args, "json", None), csv=getattr(args, "csv", None))
    else:
        evaluation.update(output=args.output)
    return PoseCommand(**common, **evaluation)


def _mocap_choice(args: Any) -> dict[str, Any]:
    """PoseCommand's mocap (the --mocap source, '' for none) and mocap_holdout (the clips kept out)."""
    from ...data import mocap

    if not getattr(args, "mocap", ""):
        return {}
    holdout = mocap.DEFAULT_HOLDOUT
    if getattr(args, "mocap_holdout", None) is not None:
        holdout = mocap.clip_names(args.mocap_holdout)
    if all(name in holdout for name in mocap.CLIP_NAMES):
        raise InputError("--mocap-holdout keeps out every clip; leave some to train on")
    return {"mocap": args.mocap, "mocap_holdout": tuple(holdout)}


def load_real_motions(source: str, holdout: Sequence[str]) -> dict[str, np.ndarray]:
    """The motion-capture clips of ``source`` ('pybullet' or a folder) but ``holdout``:
    {clip: (T, 17, 3) meters, world frame, z up} (``blapose.data.mocap.load_clips``)."""
    from ...data import mocap

    return mocap.load_clips(source, tuple(name for name in mocap.CLIP_NAMES if name not in holdout))


def load_data(data: DataChoice, subjects: Sequence[str]) -> list[Any]:
    """Sequences of ``subjects`` from the chosen files, filtered by action-name prefix (as upstream)
    and thinned to every ``downsample``-th frame."""
    from ...data.h36m import load_sequences, select_sequences

    sequences = select_sequences(load_sequences(data.data_dir, data.keypoints, list(subjects), dataset=data.dataset),
                                 data.actions, data.downsample)
    if not sequences:
        shown = "*" if data.actions is None else ",".join(data.actions)
        raise InputError(f"no sequences of subjects {','.join(subjects)} match the actions {shown!r}")
    return sequences


def load_named_checkpoint(name: str, checkpoint_dir: str) -> tuple[dict, str]:
    """The checkpoint dict of ``name`` (looked up in ``checkpoint_dir``, or a path) and where it was read."""
    from ...models.checkpoint import load_checkpoint, resolve_checkpoint_path

    path = resolve_checkpoint_path(name, checkpoint_dir)
    return load_checkpoint(path), str(path)


def load_model(choice: ModelChoice) -> nn.Module:
    """The model ``choice`` names, in eval mode on the CPU."""
    from ...models.length import length_model_from_checkpoint

    if choice.task == "lift":
        if not choice.direction_model:
            raise InputError("-t lift needs the lifting model's checkpoint: --direction_model FILE")
        checkpoint, source = load_named_checkpoint(choice.direction_model, choice.checkpoint_dir)
        return lifting_model_from_checkpoint(checkpoint, choice.filter_widths, choice.channels, source)
    if choice.mix_model:
        checkpoint, source = load_named_checkpoint(choice.mix_model, choice.checkpoint_dir)
        return mix_model_from_checkpoint(checkpoint, choice.filter_widths, choice.channels, choice.bidirectional,
                                         source)
    if not (choice.length_model and choice.direction_model):
        raise InputError("-t mix needs --mix_model, or both --length_model and --direction_model")
    length_checkpoint, length_source = load_named_checkpoint(choice.length_model, choice.checkpoint_dir)
    direction_checkpoint, direction_source = load_named_checkpoint(choice.direction_model, choice.checkpoint_dir)
    length_model = length_model_from_checkpoint(length_checkpoint, length_source, choice.bidirectional)
    direction_model = lifting_model_from_checkpoint(direction_checkpoint, choice.filter_widths, choice.channels,
                                                    direction_source)
    return MixModel(direction_model, length_model).eval()


def load_length_lookup(files: LengthFiles, data: DataChoice) -> dict[Key, np.ndarray]:
    """Predicted lengths per video from the dict file, else the list file (rows placed by the
    training and test subjects' order, as upstream's inference writes them)."""
    from ...data.h36m import keypoints_2d_path

    train, test = list(data.subjects_train), list(data.subjects_test)
    orders = list(dict.fromkeys(tuple(order) for order in (train + test, test, train) if order))
    path_2d = keypoints_2d_path(data.data_dir, data.keypoints, data.dataset)
    lookup, description = resolve_length_lookup(files.dict_path, files.list_path, path_2d, orders)
    print(f"INFO: {description}")
    return lookup


def model_and_test_data(command: PoseCommand) -> tuple[nn.Module, list[Any], dict[Key, np.ndarray] | None]:
    """The command's model, the test subjects' sequences, and the predicted lengths when the model needs them."""
    model = load_model(command.model).to(resolve_device(command.device))
    test = load_data(command.data, command.data.subjects_test)
    lookup = None
    if isinstance(model, MixModel) and model.length_model is None:
        lookup = load_length_lookup(command.lengths, command.data)
    return model, test, lookup
