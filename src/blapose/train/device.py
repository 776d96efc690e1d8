"""Where a model runs and in which precision: the ``--device`` and ``--amp`` choices of every command.

- ``resolve_device``: 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a ``torch.device``; under torchrun
  'auto' and 'cuda' mean the process's own GPU (``LOCAL_RANK``).
- ``Precision`` / ``resolve_precision``: fp32, or autocast to bfloat16 or float16; float16 training
  goes with a ``torch.amp.GradScaler`` (torch's automatic mixed precision recipe). bfloat16 runs on
  CUDA devices that support it and on the CPU; float16 only on CUDA.
- ``to_device``: host arrays to the device, through pinned memory and an asynchronous copy on CUDA.
"""

from __future__ import annotations

import os
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

#: Values of ``--device``.
DEVICE_HELP = "auto (CUDA when present), cpu, cuda or cuda:N"
#: Values of ``--amp``: off, or the autocast data type.
AMP_CHOICES = ("off", "bf16", "fp16")

_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(name: str | None = "auto") -> torch.device:
    """The device called ``name``: 'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'.

    Under torchrun (``LOCAL_RANK`` set) 'auto' and 'cuda' name the process's own GPU. Raises
    ``InputError`` for an unknown name or a CUDA device this machine does not have.
    """
    name = "auto" if name is None else str(name).strip().lower()
    if not _DEVICE_PATTERN.match(name):
        raise InputError(f"--device must be {DEVICE_HELP}, got {name!r}")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"--device {name}: this machine has no CUDA device (torch {torch.__version__}); "
                         "use --device cpu")
    if name in ("auto", "cuda"):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", torch.cuda.current_device())))
    index = int(name.split(":")[1])
    if index >= torch.cuda.device_count():
        raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are present")
    return torch.device("cuda", index)


@dataclass(frozen=True)
class Precision:
    """How forward passes compute: ``dtype`` None is fp32, else autocast to that type on ``device_type``."""

    device_type: str = "cpu"
    dtype: torch.dtype | None = None

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> AbstractContextManager:
        """Context in which the forward pass and the loss run (a no-op for fp32)."""
        return torch.autocast(self.device_type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """torch's loss scaler; enabled only for float16, whose gradients underflow without it."""
        return torch.amp.GradScaler(self.device_type, enabled=self.dtype == torch.float16)


FP32 = Precision()


def backward_and_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, weight: float = 1.0,
                      scaler: torch.amp.GradScaler | None = None) -> None:
    """Back-propagate ``weight`` x ``loss`` (a 0-d tensor) and step ``optimizer``.

    ``weight`` is a rank's share of the global batch (``distributed.loss_weight``); with an enabled
    ``scaler`` (fp16) the loss is scaled before the backward pass and the step is the scaler's.
    """
    weighted = loss * weight if weight != 1.0 else loss
    if scaler is not None and scaler.is_enabled():
        scaler.scale(weighted).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        weighted.backward()
        optimizer.step()


def resolve_precision(amp: str | None, device: torch.device) -> Precision:
    """The precision of ``--amp`` (None/'off' = fp32, 'bf16', 'fp16') on ``device``.

    Raises ``InputError`` for float16 off CUDA and for bfloat16 on a GPU without it.
    """
    amp = "off" if amp in (None, "", False) else str(amp).lower()
    if amp not in AMP_CHOICES:
        raise InputError(f"--amp must be one of {', '.join(AMP_CHOICES)}, got {amp!r}")
    if amp == "off":
        return Precision(device.type, None)
    if amp == "fp16" and device.type != "cuda":
        raise InputError(f"--amp fp16 needs a CUDA device (running on {device}); use --amp bf16 on the CPU")
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise InputError(f"--amp bf16: {torch.cuda.get_device_name(device)} has no bfloat16; use --amp fp16")
    return Precision(device.type, torch.bfloat16 if amp == "bf16" else torch.float16)


def to_device(array: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``device``; on CUDA copied from pinned host memory without blocking."""
    tensor = torch.as_tensor(array)
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
