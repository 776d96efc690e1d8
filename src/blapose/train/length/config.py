"""Settings of a bone-length training run and the data they select.

``LengthTrainingConfig`` holds every setting with upstream's defaults (BLAPose utils/arguments.py,
train.py) in groups: which videos (``LengthData``), the model's shape (``LengthArchitecture``), the
schedule (``LengthSchedule``), the augmentation (``LengthAugmentation``) and the run's files and
device (``LengthRun``); ``with_settings`` changes settings by name. ``config_from_args`` maps the
``blapose train -t length`` flags onto it; ``load_training_sequences`` and ``load_length_table``
read the videos and the augmentation table the config names. Units: meters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, load_sequences, select_sequences
from ...errors import InputError
from .batches import LENGTH_AUG_TYPES, ROOT_OFFSET_STD


@dataclass(frozen=True)
class LengthData:
    """Which videos: the data folder, dataset and 2D detections (``data_2d_<dataset>_<keypoints>.npz``),
    the training, test and validation subjects (validation ones are held out of training, evaluated
    each epoch and pick epoch_best.bin), action-name prefixes (None: all), the frame step and the
    camera indices to train on (None: all)."""

    data_dir: str = "data"
    dataset: str = "h36m"
    keypoints: str = "cpn_ft_h36m_dbb"
    subjects_train: tuple[str, ...] = TRAIN_SUBJECTS
    subjects_test: tuple[str, ...] = TEST_SUBJECTS
    subjects_valid: tuple[str, ...] = ()
    actions: tuple[str, ...] | None = None
    downsample: int = 1
    cameras: tuple[int, ...] | None = None


@dataclass(frozen=True)
class LengthArchitecture:
    """The length model's shape (``blapose.models.length.BoneLengthModel``); blapose's additions
    default to upstream's model."""

    embed_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 1
    dropout: float = 0.25
    bidirectional: bool = False
    temporal: str = "gru"                         # 'gru' (upstream) or 'pool' (mean of per-frame features)
    bone_inputs: bool = False                     # read root position and magnified 2D bones, not keypoints
    log_output: bool = False                      # predict log-scale and log-proportions (model head)
    proportions_only: bool = False                # keep the table's mean size, learn proportions only
    camera_inputs: bool = False                   # the model reads each video's camera (models.length)


@dataclass(frozen=True)
class LengthSchedule:
    """How long and how fast: epochs, chunks per batch (the global batch, split over processes),
    frames per chunk and between chunk starts, Adam's learning rate and its decay per epoch, the seed."""

    epochs: int = 60
    batch_size: int = 1024
    chunk_len: int = 512
    segment_shift: int = 64
    learning_rate: float = 1e-4
    lr_decay: float = 0.95
    seed: int = 5731


@dataclass(frozen=True)
class LengthAugmentation:
    """How training chunks are re-posed and seen: the table of bone lengths (npz key 'data', meters)
    and how it is sampled, flips, and blapose's additions (their defaults keep upstream's recipe bit for bit)."""

    bone_length_aug: str = "data/bone_lengths_smpl_neutral_all.npz"
    length_aug_type: str = "smpl"
    flip_augmentation: bool = True
    floor_augmentation: bool = False              # re-seat feet on the floor, offsets in the floor plane
    root_offset_std: float = ROOT_OFFSET_STD      # meters, per axis
    keypoint_noise: float = 0.0                   # std of simulated 2D detector errors, normalised units
    wild_views: bool = False                      # random phone-like cameras and MediaPipe-like 2D errors
    studio_views: bool = False                    # random cameras around the dataset's (wild.STUDIO_CAMERAS)


@dataclass(frozen=True)
class LengthRun:
    """Where and how the run goes: the checkpoint folder, how often an epoch_<N>.bin is written, the
    checkpoint to resume from (name or path, '' for none), training curves, per-epoch evaluation on
    the test subjects, the device ('auto': CUDA when available, ``resolve_device``), mixed precision
    ('off', 'bf16' or 'fp16', ``resolve_precision``) and progress bars."""

    checkpoint_dir: str = "checkpoint"
    checkpoint_frequency: int = 40
    resume: str = ""
    export_training_curves: bool = False
    evaluate_each_epoch: bool = True
    device: str = "auto"
    amp: str = "off"
    progress: bool = True


@dataclass(frozen=True)
class LengthTrainingConfig:
    """Every setting of a bone-length training run, in groups; defaults are upstream's. ``recipe``
    names the recipe the settings come from ('upstream': the flags as given)."""

    data: LengthData = field(default_factory=LengthData)
    model: LengthArchitecture = field(default_factory=LengthArchitecture)
    schedule: LengthSchedule = field(default_factory=LengthSchedule)
    augmentation: LengthAugmentation = field(default_factory=LengthAugmentation)
    run: LengthRun = field(default_factory=LengthRun)
    recipe: str = "upstream"


#: Each setting's group in ``LengthTrainingConfig``, by the setting's name.
SETTING_GROUPS: dict[str, str] = {setting.name: group.name for group in dataclasses.fields(LengthTrainingConfig)
                                  if group.name != "recipe" for setting in dataclasses.fields(group.default_factory)}


def with_settings(config: LengthTrainingConfig, **settings: Any) -> LengthTrainingConfig:
    """``config`` with settings given by name (``epochs=3``, ``data_dir="d"``, ``recipe="cpu"``), each
    placed in its group (``SETTING_GROUPS``); an unknown name raises ``TypeError``."""
    changes: dict[str, dict[str, Any]] = {}
    top = {}
    for name, value in settings.items():
        if name == "recipe":
            top[name] = value
        elif name in SETTING_GROUPS:
            changes.setdefault(SETTING_GROUPS[name], {})[name] = value
        else:
            raise TypeError(f"a length training config has no setting {name!r}")
    groups = {group: dataclasses.replace(getattr(config, group), **values) for group, values in changes.items()}
    return dataclasses.replace(config, **groups, **top)


def length_config(**settings: Any) -> LengthTrainingConfig:
    """Upstream's defaults with ``settings`` by name (``with_settings``)."""
    return with_settings(LengthTrainingConfig(), **settings)


#: blapose's named recipes (``--recipe``): the settings they fix, by name (``with_settings``); data,
#: subjects, checkpoint folder, augmentation table and seed still come from the flags. 'upstream'
#: fixes nothing (the flags as given). Chosen by the study in docs/lengths.md
#: (benchmarks/study_lengths.py). blapose's recipes pick nothing on the test subjects: no per-epoch
#: test evaluation (with ``subjects_valid``, each epoch is evaluated on those subjects instead and
#: they pick ``epoch_best.bin``).
RECIPES: dict[str, dict[str, Any]] = {
    "upstream": {},
    # per-frame features of the root and magnified 2D bones, averaged over the frames; log head that
    # keeps the table's mean size and predicts proportions; feet kept on the floor when re-posing
    "cpu": dict(temporal="pool", bidirectional=False, bone_inputs=True, log_output=True, proportions_only=True,
                floor_augmentation=True, embed_dim=64, hidden_size=128, num_layers=1, dropout=0.0,
                chunk_len=64, segment_shift=32, batch_size=64, learning_rate=1e-3, lr_decay=0.95, epochs=3,
                evaluate_each_epoch=False),
}
#: The same model and augmentation trained five times as long (untested at this budget on a GPU).
RECIPES["best"] = dict(RECIPES["cpu"], epochs=30)
#: For videos in the wild: the 'cpu' model, each chunk seen through a random phone-like camera with
#: MediaPipe-like 2D errors (``blapose.train.wild``). Give it a table of lengths in the video's joint
#: definition (``synth-lengths --joints mediapipe``). The dataset's own cameras and 2D play no part,
#: so there is nothing to evaluate each epoch against.
RECIPES["wild"] = dict(RECIPES["cpu"], wild_views=True, epochs=60, evaluate_each_epoch=False)
#: For calibrated recordings: the 'cpu' model's proportions plus a second pooled branch that reads
#: each video's camera, sees the keypoints on the person's plane through the standing ankle
#: (meters) and predicts the body's size; every chunk is re-posed with its feet on the floor and
#: seen through its own random camera around the dataset's (``wild.STUDIO_CAMERAS``) with simulated
#: detector errors (normal, 0.004 normalised units, held over the chunk plus per frame). Noise and
#: epochs were chosen on the validation subject S8 (docs/lengths.md); one camera per take and epoch,
#: so 40 epochs are about as many steps as 10 of 'cpu'.
RECIPES["camera"] = dict(RECIPES["cpu"], camera_inputs=True, studio_views=True,
                         keypoint_noise=0.004, epochs=40, evaluate_each_epoch=False)


def apply_recipe(config: LengthTrainingConfig, recipe: str) -> LengthTrainingConfig:
    """``config`` with the settings of the named recipe (``RECIPES``) and the recipe's name recorded."""
    if recipe not in RECIPES:
        raise InputError(f"--recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
    return with_settings(config, recipe=recipe, **RECIPES[recipe])


@dataclass(frozen=True)
class LengthCommand:
    """``blapose train -t length``: train as ``config`` says, or with ``evaluate`` (a checkpoint name
    or path) report that saved model's errors on the config's test subjects instead."""

    config: LengthTrainingConfig
    evaluate: str | None = None


def command_from_args(args: Any) -> LengthCommand:
    """The ``blapose train -t length`` flags as a ``LengthCommand``; reads no file."""
    config = config_from_args(args)
    if not args.evaluate:
        return LengthCommand(config)
    if not args.length_model:
        raise InputError("--evaluate -t length needs --length_model <checkpoint>")
    return LengthCommand(with_settings(config, resume=""), evaluate=args.length_model)


def config_from_args(args: Any) -> LengthTrainingConfig:
    """The ``blapose train -t length`` flags (upstream names) as a config."""
    if args.length_aug_type not in LENGTH_AUG_TYPES:
        raise InputError(f"--length_aug_type must be one of {', '.join(LENGTH_AUG_TYPES)}")
    resume = args.resume or args.length_model
    config = LengthTrainingConfig(
        data=LengthData(data_dir=args.data_dir, dataset=args.dataset, keypoints=args.keypoints,
                        subjects_train=tuple(args.subjects_train), subjects_test=tuple(args.subjects_test),
                        subjects_valid=tuple(getattr(args, "subjects_valid", ())), actions=args.actions,
                        downsample=args.downsample),
        model=LengthArchitecture(dropout=args.dropout, num_layers=args.num_layers, bidirectional=args.bidirectional),
        schedule=LengthSchedule(
            epochs=args.epochs, batch_size=max(args.batch_size // args.stride, 1), chunk_len=args.chunk_len,
            segment_shift=args.segment_shift,
            learning_rate=LengthSchedule.learning_rate if args.learning_rate is None else args.learning_rate,
            lr_decay=args.lr_decay, seed=args.seed),
        augmentation=LengthAugmentation(bone_length_aug=args.bone_length_aug, length_aug_type=args.length_aug_type,
                                        flip_augmentation=args.data_augmentation),
        run=LengthRun(checkpoint_dir=args.checkpoint, checkpoint_frequency=args.checkpoint_frequency, resume=resume,
                      export_training_curves=args.export_training_curves, evaluate_each_epoch=not args.no_eval,
                      device=getattr(args, "device", "auto"), amp=getattr(args, "amp", "off")),
    )
    return apply_recipe(config, getattr(args, "recipe", "upstream"))


def load_training_sequences(config: LengthTrainingConfig, subjects: Sequence[str]) -> list:
    """Videos of ``subjects`` filtered by action prefix and downsampled as the config says."""
    data = config.data
    sequences = select_sequences(load_sequences(data.data_dir, data.keypoints, subjects=tuple(subjects),
                                                dataset=data.dataset), data.actions, data.downsample)
    if data.cameras is not None:
        sequences = [s for s in sequences if s.camera_index in data.cameras]
    if not sequences:
        raise InputError(f"no videos for subjects {', '.join(subjects)} with the selected actions")
    return sequences


def load_length_table(path: str) -> np.ndarray:
    """The augmentation bone lengths: key 'data' of an npz, (M, 16) meters."""
    from ...bones import require_valid_lengths
    from ...data.safe_pickle import load_npz

    if not Path(path).is_file():
        raise InputError(f"bone-length augmentation file {path} does not exist (--bone_length_aug)")
    content = load_npz(path)
    if "data" not in content:
        raise InputError(f"{path}: missing key 'data' ((M, 16) bone lengths in meters); "
                         f"found {', '.join(content) or 'nothing'}")
    table = np.asarray(content["data"])
    require_valid_lengths(table, f"{path}: 'data' (index = row)")
    return table
