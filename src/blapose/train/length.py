"""Training the bone-length model on re-posed, re-projected ground-truth motion (BLAPose, Sec. 3).

Layers: ``train_step`` (one batch) -> ``train_epoch`` (all chunks once) -> ``evaluate`` (length
errors on the test videos) -> ``fit`` (epochs, learning-rate decay, checkpoints, resume).
``LengthTrainingConfig`` holds every setting with upstream's defaults (BLAPose utils/arguments.py,
train.py); ``config_from_args`` maps the ``blapose train`` flags onto it.

Units: meters inside; printed errors in millimetres. Errors are mean absolute bone-length errors
over the 16 bones, averaged over videos with equal weight (upstream main.py ``eval_bone_length``).
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..bones import bone_lengths
from ..data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, load_sequences
from ..errors import InputError
from ..fileio import atomic_path
from ..models.checkpoint import load_checkpoint, resolve_checkpoint_path, save_checkpoint
from ..models.length import BoneLengthModel, length_model_from_checkpoint, predict_lengths
from . import flush_subnormal_floats
from .length_batches import (LENGTH_AUG_TYPES, ROOT_OFFSET_STD, LengthBatchBuilder, LengthSampler,
                             MotionBank, augmented_keypoints, make_length_sampler)

#: The learning rate stops decaying below this (upstream train.py).
MIN_DECAYING_LR = 1e-6
#: Best validation error to beat before epoch_best.bin is first written, meters (upstream: 200 mm).
INITIAL_BEST_ERROR = 0.2


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
    device: str = "auto"                          # 'auto': CUDA when available, else CPU
    progress: bool = True


@dataclass
class TrainingHistory:
    """Per-epoch mean errors in meters (upstream result.pkl: 'train', 'valid', 'valid_aug')."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    valid_aug: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return {"train": list(self.train), "valid": list(self.valid), "valid_aug": list(self.valid_aug)}


@dataclass(frozen=True)
class LengthErrors:
    """Mean absolute bone-length errors, meters: on detected 2D and on augmented test videos."""

    detected: float
    augmented: float


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; any other name as given."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def config_from_args(args: Any) -> LengthTrainingConfig:
    """The ``blapose train -t length`` flags (upstream names) as a config."""
    if getattr(args, "subset", 1) != 1:
        raise InputError("--subset is not supported for -t length; use -a/--actions or --downsample")
    if args.length_aug_type not in LENGTH_AUG_TYPES:
        raise InputError(f"--length_aug_type must be one of {', '.join(LENGTH_AUG_TYPES)}")
    resume = args.resume or args.length_model
    return LengthTrainingConfig(
        data_dir=args.data_dir, dataset=args.dataset, keypoints=args.keypoints,
        subjects_train=_parse_list(args.subjects_train), subjects_test=_parse_list(args.subjects_test),
        actions=None if args.actions == "*" else _parse_list(args.actions),
        downsample=args.downsample, bone_length_aug=args.bone_length_aug,
        length_aug_type=args.length_aug_type, epochs=args.epochs,
        batch_size=max(args.batch_size // args.stride, 1), chunk_len=args.chunk_len,
        segment_shift=args.segment_shift, lr_decay=args.lr_decay,
        learning_rate=LengthTrainingConfig.learning_rate if args.learning_rate is None else args.learning_rate,
        dropout=args.dropout, num_layers=args.num_layers, bidirectional=args.bidirectional,
        flip_augmentation=args.data_augmentation, evaluate_each_epoch=not args.no_eval,
        checkpoint_dir=args.checkpoint, checkpoint_frequency=args.checkpoint_frequency, resume=resume,
        export_training_curves=args.export_training_curves, seed=args.seed,
    )


def build_model(config: LengthTrainingConfig) -> BoneLengthModel:
    """A fresh model with the config's architecture."""
    return BoneLengthModel(embed_dim=config.embed_dim, hidden_size=config.hidden_size,
                           num_layers=config.num_layers, dropout=config.dropout,
                           bidirectional=config.bidirectional)


def length_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error (L1) over batch and bones, meters (upstream loss.py ``boneLoss``)."""
    return torch.mean(torch.abs(predicted - target))


def train_step(model: BoneLengthModel, optimizer: torch.optim.Optimizer, keypoints: torch.Tensor,
               target: torch.Tensor) -> float:
    """One optimiser step on keypoints (B, L, J, 2) and target lengths (B, 16) meters; returns the loss (m)."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = length_loss(model(keypoints), target)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train_epoch(model: BoneLengthModel, optimizer: torch.optim.Optimizer, builder: LengthBatchBuilder,
                rng: np.random.Generator, description: str = "", progress: bool = True) -> float:
    """One pass over all training chunks; returns the example-weighted mean loss, meters."""
    from tqdm import tqdm

    total, count = 0.0, 0
    with tqdm(total=builder.num_batches, desc=description, unit="batch", disable=not progress,
              leave=False, file=sys.stderr) as bar:
        for batch in builder.epoch(rng):
            loss = train_step(model, optimizer, batch.keypoints, batch.lengths)
            total += loss * len(batch.lengths)
            count += len(batch.lengths)
            bar.set_postfix(loss_mm=f"{loss * 1000:.2f}")
            bar.update(1)
    return total / max(count, 1)


def mean_sequence_lengths(sequences: Sequence) -> dict[tuple[str, str, int], np.ndarray]:
    """Ground-truth lengths (16,) float32 meters of each video, averaged over its frames (upstream)."""
    return {s.key: bone_lengths(s.poses_3d.astype(np.float64)).mean(axis=0).astype(np.float32)
            for s in sequences}


def augmented_test_keypoints(sequences: Sequence, sampler: LengthSampler | None,
                             reference_lengths: dict, rng: np.random.Generator
                             ) -> tuple[dict, dict]:
    """Test videos re-posed with other lengths and re-projected: ({key: (T, J, 2)}, {key: (16,) m}).

    With no sampler or an 'smpl' one, each video gets the ground-truth lengths of a random test
    video (upstream ``UnchunkedGeneratorBoneLengths``); the random types draw from ``sampler`` for
    the video's subject. Root offsets ~ N(0, 0.5 m) per axis.
    """
    from ..bones import poses_to_bones

    keys = list(reference_lengths)
    keypoints, targets = {}, {}
    for sequence in sequences:
        if sampler is None or sampler.kind == "smpl":
            lengths = reference_lengths[keys[rng.integers(0, len(keys))]][None]
        else:
            lengths = sampler.sample(rng, [sequence.subject])
        offset = rng.normal(0.0, ROOT_OFFSET_STD, size=3).astype(np.float32)
        directions, _ = poses_to_bones(sequence.poses_3d)
        projected = augmented_keypoints(
            torch.from_numpy(np.asarray(directions, np.float32))[None], torch.from_numpy(lengths),
            torch.from_numpy(sequence.poses_3d[None, :, 0] + offset),
            torch.from_numpy(sequence.camera.intrinsic())[None], torch.zeros(1, dtype=torch.bool))
        keypoints[sequence.key] = projected[0].numpy()
        targets[sequence.key] = lengths[0]
    return keypoints, targets


def mean_length_error(predicted: dict, target: dict) -> float:
    """Mean over videos of the mean absolute bone-length error, meters."""
    return float(np.mean([np.abs(predicted[key] - target[key]).mean() for key in target]))


def evaluate(model: BoneLengthModel, test_sequences: Sequence, sampler: LengthSampler | None,
             seed: int, progress: bool = False) -> LengthErrors:
    """Length errors on the test videos' 2D keypoints and on augmented copies (drawn from ``seed``).

    ``sampler`` gives the lengths of the augmented copies for the random augmentation types; None
    or 'smpl' uses other test videos' ground-truth lengths (``augmented_test_keypoints``).
    """
    reference = mean_sequence_lengths(test_sequences)
    detected = predict_lengths(model, test_sequences, progress=progress)
    rng = np.random.default_rng(seed)
    keypoints, targets = augmented_test_keypoints(test_sequences, sampler, reference, rng)
    augmented = predict_lengths(model, keypoints, progress=progress)
    return LengthErrors(detected=mean_length_error(detected, reference),
                        augmented=mean_length_error(augmented, targets))


def load_training_sequences(config: LengthTrainingConfig, subjects: Sequence[str]) -> list:
    """Videos of ``subjects`` filtered by action prefix and downsampled as the config says."""
    sequences = load_sequences(config.data_dir, config.keypoints, subjects=tuple(subjects),
                               dataset=config.dataset)
    if config.actions is not None:
        sequences = [s for s in sequences if any(s.action.startswith(a) for a in config.actions)]
    if config.downsample > 1:
        sequences = [dataclasses.replace(s, poses_3d=s.poses_3d[::config.downsample],
                                         keypoints_2d=s.keypoints_2d[::config.downsample])
                     for s in sequences]
    if not sequences:
        raise InputError(f"no videos for subjects {', '.join(subjects)} with the selected actions")
    return sequences


def load_length_table(path: str) -> np.ndarray:
    """The augmentation bone lengths: key 'data' of an npz, (M, 16) meters."""
    from ..data.safe_pickle import load_npz

    if not Path(path).is_file():
        raise InputError(f"bone-length augmentation file {path} does not exist (--bone_length_aug)")
    content = load_npz(path)
    if "data" not in content:
        raise InputError(f"{path}: missing key 'data' ((M, 16) bone lengths in meters); "
                         f"found {', '.join(content) or 'nothing'}")
    return np.asarray(content["data"])


def _checkpoint_dict(model: BoneLengthModel, optimizer: torch.optim.Optimizer, epoch: int, lr: float,
                     rng: np.random.Generator, history: TrainingHistory, best: float) -> dict:
    state = {
        "epoch": epoch, "lr": lr, "random_state": rng.bit_generator.state,
        "torch_rng_state": torch.get_rng_state(), "optimizer": optimizer.state_dict(),
        "model_pos": model.state_dict(), "history": history.as_dict(), "best_valid": best,
    }
    if torch.cuda.is_available():
        state["cuda_rng_state"] = torch.cuda.get_rng_state_all()
    return state


def _restore(checkpoint: dict, source: str, model: BoneLengthModel, optimizer: torch.optim.Optimizer,
             rng: np.random.Generator) -> tuple[int, float, TrainingHistory, float]:
    """Load model, optimizer and RNG states; returns (epoch, lr, history, best validation error)."""
    resumed = length_model_from_checkpoint(checkpoint, source, bidirectional=model.bidirectional)
    try:
        model.load_state_dict(resumed.state_dict())
    except RuntimeError:
        raise InputError(f"{source} holds a length model of another size than the one being trained "
                         f"(layers, hidden size); check -layer") from None
    if checkpoint.get("optimizer") is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
    else:
        print(f"WARNING: {source} has no optimizer state; the optimizer starts afresh")
    random_state = checkpoint.get("random_state")
    if isinstance(random_state, dict) and random_state.get("bit_generator") == type(rng.bit_generator).__name__:
        rng.bit_generator.state = random_state
    else:
        print(f"WARNING: {source} has no blapose random state; sampling continues from the seed")
    if isinstance(checkpoint.get("torch_rng_state"), torch.Tensor):
        torch.set_rng_state(checkpoint["torch_rng_state"])
    if "cuda_rng_state" in checkpoint and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng_state"])
    history = TrainingHistory(**{k: list(v) for k, v in checkpoint.get("history", {}).items()})
    lr = float(checkpoint.get("lr", optimizer.param_groups[0]["lr"]))
    for group in optimizer.param_groups:
        group["lr"] = lr
    return int(checkpoint.get("epoch", 0)), lr, history, float(checkpoint.get("best_valid", INITIAL_BEST_ERROR))


def _save_curves(history: TrainingHistory, path: Path) -> None:
    from ..viz.plots import plot_training_curves

    epochs = list(range(1, len(history.train) + 1))
    curves = {"train (augmented)": (epochs, history.train)}
    if history.valid:
        curves["test (detected 2D)"] = (epochs[-len(history.valid):], history.valid)
        curves["test (augmented)"] = (epochs[-len(history.valid_aug):], history.valid_aug)
    plot_training_curves(path, curves, "Bone length error (mm)")


@dataclass(frozen=True)
class FitResult:
    """What ``fit`` produced: the trained model (eval mode), history (meters) and written checkpoints."""

    model: BoneLengthModel
    history: TrainingHistory
    final_checkpoint: Path
    best_checkpoint: Path | None


def fit(config: LengthTrainingConfig) -> FitResult:
    """Train (or continue training) a bone-length model as ``config`` says; writes checkpoints.

    Seeds torch's global generator (weights, dropout) and a numpy generator (chunk order, lengths,
    root offsets) from ``config.seed``; both states go into every checkpoint, so a run resumed from
    ``final.bin`` continues exactly as the uninterrupted run would.
    """
    flush_subnormal_floats()
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_sequences = load_training_sequences(config, config.subjects_train)
    test_sequences = load_training_sequences(config, config.subjects_test) if config.evaluate_each_epoch else []
    sampler = make_length_sampler(config.length_aug_type, load_length_table(config.bone_length_aug),
                                  config.subjects_train, config.subjects_test, config.bone_length_aug)
    builder = LengthBatchBuilder(MotionBank.from_sequences(train_sequences, device), sampler,
                                 config.batch_size, config.chunk_len, config.segment_shift,
                                 flip=config.flip_augmentation)
    model = build_model(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, amsgrad=True)
    print(f"INFO: training on {len(builder.index)} chunks of {config.chunk_len} frames "
          f"({builder.num_batches} batches per epoch) on {device}; "
          f"{sum(p.numel() for p in model.parameters())} parameters")

    epoch, lr, history, best = 0, config.learning_rate, TrainingHistory(), INITIAL_BEST_ERROR
    if config.resume:
        path = resolve_checkpoint_path(config.resume, config.checkpoint_dir)
        epoch, lr, history, best = _restore(load_checkpoint(path), str(path), model, optimizer, rng)
        print(f"INFO: resuming from {path} after epoch {epoch}")

    checkpoint_dir = Path(config.checkpoint_dir)
    best_path = checkpoint_dir / "epoch_best.bin"
    final_path = checkpoint_dir / "final.bin"
    while epoch < config.epochs:
        started = time.time()
        history.train.append(train_epoch(model, optimizer, builder, rng, f"epoch {epoch + 1}",
                                         config.progress))
        line = f"[{epoch + 1}] time {(time.time() - started) / 60:.2f} min lr {lr:.6f} " \
               f"length_train {history.train[-1] * 1000:.2f} mm"
        if config.evaluate_each_epoch:
            model.eval()
            errors = evaluate(model, test_sequences, sampler, seed=config.seed + 1, progress=config.progress)
            history.valid.append(errors.detected)
            history.valid_aug.append(errors.augmented)
            line += f" length_valid {errors.detected * 1000:.2f} mm length_valid_aug {errors.augmented * 1000:.2f} mm"
        print(line)

        epoch += 1
        if optimizer.param_groups[0]["lr"] >= MIN_DECAYING_LR:
            for group in optimizer.param_groups:
                group["lr"] *= config.lr_decay
        lr = optimizer.param_groups[0]["lr"]

        if config.evaluate_each_epoch and history.valid[-1] < best:
            best = history.valid[-1]
            save_checkpoint(best_path, _checkpoint_dict(model, optimizer, epoch, lr, rng, history, best))
            print(f"Saving checkpoint to {best_path}")
        state = _checkpoint_dict(model, optimizer, epoch, lr, rng, history, best)
        if epoch % config.checkpoint_frequency == 0:
            save_checkpoint(checkpoint_dir / f"epoch_{epoch}.bin", state)
        save_checkpoint(final_path, state)
        with atomic_path(checkpoint_dir / "result.pkl") as temporary:
            temporary.write_bytes(pickle.dumps(history.as_dict()))
        if config.export_training_curves:
            _save_curves(history, checkpoint_dir / "loss_length.png")
    if not final_path.exists():  # nothing left to train: still leave the resumed state behind
        save_checkpoint(final_path, _checkpoint_dict(model, optimizer, epoch, lr, rng, history, best))
    return FitResult(model=model.eval(), history=history, final_checkpoint=final_path,
                     best_checkpoint=best_path if best_path.exists() else None)


def evaluate_checkpoint(config: LengthTrainingConfig, checkpoint_name: str) -> LengthErrors:
    """Length errors of a saved model on the config's test subjects (``--evaluate -t length``)."""
    path = resolve_checkpoint_path(checkpoint_name, config.checkpoint_dir)
    model = length_model_from_checkpoint(load_checkpoint(path), str(path), config.bidirectional)
    model.to(resolve_device(config.device))
    sampler = None
    if config.length_aug_type != "smpl":  # 'smpl' evaluation needs no table (test lengths are swapped)
        sampler = make_length_sampler(config.length_aug_type, load_length_table(config.bone_length_aug),
                                      config.subjects_train, config.subjects_test, config.bone_length_aug)
    return evaluate(model, load_training_sequences(config, config.subjects_test), sampler, config.seed + 1,
                    progress=config.progress)


def run_from_args(args: Any) -> int:
    """``blapose train -t length``: train, or with ``--evaluate`` report a saved model's errors."""
    config = config_from_args(args)
    if args.evaluate:
        if not args.length_model:
            raise InputError("--evaluate -t length needs --length_model <checkpoint>")
        errors = evaluate_checkpoint(dataclasses.replace(config, resume=""), args.length_model)
        print(f"Bone length error on {', '.join(config.subjects_test)}: detected 2D "
              f"{errors.detected * 1000:.2f} mm, augmented {errors.augmented * 1000:.2f} mm")
        return 0
    result = fit(config)
    if result.history.valid:
        best = min(result.history.valid)
        print(f"Best length error on the test subjects: {best * 1000:.2f} mm "
              f"(epoch {result.history.valid.index(best) + 1}); final checkpoint {result.final_checkpoint}")
    return 0 if all(math.isfinite(v) for v in result.history.train) else 1
