"""The few array operations whose spelling differs between numpy and torch.

Functions in ``bones``, ``geometry`` and ``metrics`` accept numpy arrays or torch tensors and
return the same kind; they go through these helpers (imported as ``xp``) so the maths is written once.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def namespace(x: Any) -> Any:
    """The module (``numpy`` or ``torch``) whose functions of the same name (``cos``, ``sin``,
    ``ones_like``, ``zeros_like``, ``stack`` with a positional axis) apply to ``x``."""
    if is_torch(x):
        import torch

        return torch
    return np


def like(values: np.ndarray, reference: Any) -> Any:
    """``values`` as an array of the kind, dtype and device of ``reference``."""
    if is_torch(reference):
        import torch

        return torch.as_tensor(values, dtype=reference.dtype, device=reference.device)
    return np.asarray(values, dtype=reference.dtype)


def vector_norm(x: Any) -> Any:
    """Euclidean norm over the last axis."""
    if is_torch(x):
        import torch

        return torch.linalg.vector_norm(x, dim=-1)
    return np.sqrt(np.einsum("...k,...k->...", x, x))


def einsum(equation: str, *operands: Any) -> Any:
    if is_torch(operands[-1]):
        import torch

        return torch.einsum(equation, *operands)
    return np.einsum(equation, *operands, optimize=True)


def cross(a: Any, b: Any) -> Any:
    """Cross product over the last axis (size 3), broadcasting the leading axes."""
    if is_torch(a):
        import torch

        a, b = torch.broadcast_tensors(a, b)
        return torch.linalg.cross(a, b, dim=-1)
    return np.cross(a, b)


def normalize(x: Any) -> Any:
    """``x`` divided by its Euclidean norm over the last axis (torch: the norm clamped at 1e-12)."""
    if is_torch(x):
        import torch

        return torch.nn.functional.normalize(x, dim=-1)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def broadcast_arrays(*arrays: Any) -> tuple[Any, ...]:
    if is_torch(arrays[0]):
        import torch

        return tuple(torch.broadcast_tensors(*arrays))
    return tuple(np.broadcast_arrays(*arrays))


def where(condition: Any, x: Any, y: Any) -> Any:
    if is_torch(condition):
        import torch

        return torch.where(condition, x, y)
    return np.where(condition, x, y)


def isfinite(x: Any) -> Any:
    if is_torch(x):
        import torch

        return torch.isfinite(x)
    return np.isfinite(x)


def clip(x: Any, low: float, high: float) -> Any:
    if is_torch(x):
        return x.clamp(low, high)
    return np.clip(x, low, high)


def concatenate(arrays: list[Any], axis: int) -> Any:
    if is_torch(arrays[0]):
        import torch

        return torch.cat(arrays, dim=axis)
    return np.concatenate(arrays, axis=axis)


def floating(x: Any) -> Any:
    """``x`` unchanged when it is floating point, else as float64 (numpy) or float32 (torch)."""
    if is_torch(x):
        return x if x.is_floating_point() else x.float()
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
