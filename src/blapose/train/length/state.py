"""What a bone-length training run keeps between epochs: its history and its checkpoints.

A checkpoint holds upstream's keys (``epoch``, ``lr``, ``optimizer``, ``model_pos``) plus blapose's
random states, history and best validation error, so a run resumed from it continues exactly as
the uninterrupted run would. Errors are meters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...errors import InputError
from ...models.length import BoneLengthModel, architecture_record, length_model_from_checkpoint

#: Best validation error to beat before epoch_best.bin is first written, meters (upstream: 200 mm).
INITIAL_BEST_ERROR = 0.2


@dataclass
class TrainingHistory:
    """Per-epoch mean errors in meters (upstream result.pkl: 'train', 'valid', 'valid_aug')."""

    train: list[float] = field(default_factory=list)
    valid: list[float] = field(default_factory=list)
    valid_aug: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return {"train": list(self.train), "valid": list(self.valid), "valid_aug": list(self.valid_aug)}


@dataclass
class TrainingState:
    """Where a run stands: epochs done, current learning rate, history and best validation error (m)."""

    epoch: int = 0
    lr: float = 1e-4
    history: TrainingHistory = field(default_factory=TrainingHistory)
    best: float = INITIAL_BEST_ERROR


def checkpoint_dict(model: BoneLengthModel, optimizer: torch.optim.Optimizer, state: TrainingState,
                    rng: np.random.Generator, recipe: str = "") -> dict:
    """Everything needed to predict with, or resume, the run, and the model's architecture record."""
    content = {
        "epoch": state.epoch, "lr": state.lr, "random_state": rng.bit_generator.state,
        "torch_rng_state": torch.get_rng_state(), "optimizer": optimizer.state_dict(),
        "model_pos": model.state_dict(), "history": state.history.as_dict(), "best_valid": state.best,
        "architecture": architecture_record(model, recipe),
    }
    if torch.cuda.is_available():
        content["cuda_rng_state"] = torch.cuda.get_rng_state_all()
    return content


def restore(checkpoint: dict, source: str, model: BoneLengthModel, optimizer: torch.optim.Optimizer,
            rng: np.random.Generator) -> TrainingState:
    """Load model, optimizer and RNG states from ``checkpoint``; returns the run's state."""
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
    return TrainingState(epoch=int(checkpoint.get("epoch", 0)), lr=lr, history=history,
                         best=float(checkpoint.get("best_valid", INITIAL_BEST_ERROR)))


def save_curves(history: TrainingHistory, path: Path) -> None:
    """Plot the per-epoch errors of ``history`` (mm) into ``path``."""
    from ...viz.plots import plot_training_curves

    epochs = list(range(1, len(history.train) + 1))
    curves = {"train (augmented)": (epochs, history.train)}
    if history.valid:
        curves["test (detected 2D)"] = (epochs[-len(history.valid):], history.valid)
        curves["test (augmented)"] = (epochs[-len(history.valid_aug):], history.valid_aug)
    plot_training_curves(path, curves, "Bone length error (mm)")
