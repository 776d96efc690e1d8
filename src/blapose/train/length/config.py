"""Settings of a bone-length training run and the data they select.

``LengthTrainingConfig`` holds every setting with upstream's defaults (BLAPose utils/arguments.py,
train.py); ``config_from_args`` maps the ``blapose train -t length`` flags onto it;
``load_training_sequences`` and ``load_length_table`` read the videos and the augmentation table
the config names. Units: meters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, load_sequences, select_sequences
from ...errors import InputError
from .batches import LENGTH_AUG_TYPES, ROOT_OFFSET_STD


@dataclass
class LengthTrainingConfig:
    """Every setting of a bone-length training run; defaults are upstream's."""

    data_dir: str = "data"
    dataset: str = "h36m"
    keypoints: str = "cpn_ft_h36m_dbb"
    subjects_train: tuple[str, ...] = TRAIN_SUBJECTS
    subjects_test: tuple[str, ...] = TEST_SUBJECTS
    actions: tuple[str, ...] | None = None      # action-name prefixes; None: all
    downsample: int = 1
    bone_length_aug: str = "data/bone_lengths_smpl_neutral_all.npz"
    length_aug_type: str = "smpl"
    epochs: int = 60
    batch_size: int = 1024
    chunk_len: int = 512
    segment_shift: int = 64
    learning_rate: float = 1e-4
    lr_decay: float = 0.95
    dropout: float = 0.25
    num_layers: int = 1
    bidirectional: bool = False
    embed_dim: int = 256
    hidden_size: int = 512
    flip_augmentation: bool = True
    evaluate_each_epoch: bool = True
    checkpoint_dir: str = "checkpoint"
    checkpoint_frequency: int = 40
    resume: str = ""                              # checkpoint name or path to continue from
    export_training_curves: bool = False
    seed: int = 5731
    device: str = "auto"                          # 'auto': CUDA when available, else CPU (``resolve_device``)
    amp: str = "off"                              # 'off', 'bf16' or 'fp16' (``resolve_precision``)
    progress: bool = True
    # blapose additions; the defaults keep upstream's recipe bit for bit
    recipe: str = "upstream"
    floor_augmentation: bool = False              # re-seat feet on the floor, offsets in the floor plane
    root_offset_std: float = ROOT_OFFSET_STD      # meters, per axis
    log_output: bool = False                      # predict log-scale and log-proportions (model head)
    keypoint_noise: float = 0.0                   # std of simulated 2D detector errors, normalised units
    proportions_only: bool = False                # keep the table's mean size, learn proportions only
    temporal: str = "gru"                         # 'gru' (upstream) or 'pool' (mean of per-frame features)
    bone_inputs: bool = False                     # read root position and magnified 2D bones, not keypoints
    cameras: tuple[int, ...] | None = None        # camera indices to train on; None: all
    wild_views: bool = False                      # random phone-like cameras and MediaPipe-like 2D errors
    studio_views: bool = False                    # random cameras around the dataset's (wild.STUDIO_CAMERAS)
    camera_inputs: bool = False                   # the model reads each video's camera (models.length)
    subjects_valid: tuple[str, ...] = ()          # held out of training; evaluated each epoch, pick epoch_best


#: blapose's named recipes (``--recipe``): the settings they fix; data, subjects, checkpoint folder,
#: augmentation table and seed still come from the flags. 'upstream' fixes nothing (the flags as given).
#: Chosen by the study in docs/lengths.md (benchmarks/study_lengths.py). blapose's recipes pick
#: nothing on the test subjects: no per-epoch test evaluation (with ``subjects_valid``, each epoch
#: is evaluated on those subjects instead and they pick ``epoch_best.bin``).
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
    return dataclasses.replace(config, recipe=recipe, **RECIPES[recipe])


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
    return LengthCommand(dataclasses.replace(config, resume=""), evaluate=args.length_model)


def config_from_args(args: Any) -> LengthTrainingConfig:
    """The ``blapose train -t length`` flags (upstream names) as a config."""
    if args.length_aug_type not in LENGTH_AUG_TYPES:
        raise InputError(f"--length_aug_type must be one of {', '.join(LENGTH_AUG_TYPES)}")
    resume = args.resume or args.length_model
    config = LengthTrainingConfig(
        data_dir=args.data_dir, dataset=args.dataset, keypoints=args.keypoints,
        subjects_train=tuple(args.subjects_train), subjects_test=tuple(args.subjects_test), actions=args.actions,
        downsample=args.downsample, bone_length_aug=args.bone_length_aug,
        length_aug_type=args.length_aug_type, epochs=args.epochs,
        batch_size=max(args.batch_size // args.stride, 1), chunk_len=args.chunk_len,
        segment_shift=args.segment_shift, lr_decay=args.lr_decay,
        learning_rate=LengthTrainingConfig.learning_rate if args.learning_rate is None else args.learning_rate,
        dropout=args.dropout, num_layers=args.num_layers, bidirectional=args.bidirectional,
        flip_augmentation=args.data_augmentation, evaluate_each_epoch=not args.no_eval,
        checkpoint_dir=args.checkpoint, checkpoint_frequency=args.checkpoint_frequency, resume=resume,
        export_training_curves=args.export_training_curves, seed=args.seed,
        subjects_valid=tuple(getattr(args, "subjects_valid", ())),
        device=getattr(args, "device", "auto"), amp=getattr(args, "amp", "off"),
    )
    return apply_recipe(config, getattr(args, "recipe", "upstream"))


def load_training_sequences(config: LengthTrainingConfig, subjects: Sequence[str]) -> list:
    """Videos of ``subjects`` filtered by action prefix and downsampled as the config says."""
    sequences = select_sequences(load_sequences(config.data_dir, config.keypoints, subjects=tuple(subjects),
                                                dataset=config.dataset), config.actions, config.downsample)
    if config.cameras is not None:
        sequences = [s for s in sequences if s.camera_index in config.cameras]
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
