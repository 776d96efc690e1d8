"""Checkpoint files in the upstream layout, loaded without running arbitrary pickled code.

A checkpoint is a dict saved with ``torch.save``; BLAPose and VideoPose3D write the keys
'model_pos' (state dict), 'epoch', 'lr', 'optimizer' and 'random_state' (a pickled
``numpy.random.RandomState``; BLAPose train.py, VideoPose3D run.py). Loading uses
``torch.load(weights_only=True)`` widened by exactly the numpy globals that such a RandomState
needs; a file carrying any other global is refused with ``InputError`` and that global is never
imported.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fileio import atomic_path


def _random_state_globals() -> list[Any]:
    """The globals a pickled ``numpy.random.RandomState`` refers to, across numpy versions.

    numpy >= 1.17 pickles ``_pickle.__randomstate_ctor`` / ``__bit_generator_ctor`` (numpy 2 also
    the ``MT19937`` class) with a state dict holding a uint32 key array; numpy < 1.17 pickled
    ``numpy.random.__RandomState_ctor`` with a state tuple. numpy 1.x names the array
    reconstructor ``numpy.core.multiarray._reconstruct``, numpy 2 ``numpy._core.multiarray``.
    """
    import numpy as np
    import numpy.random._pickle as random_pickle

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct

    allowed: list[Any] = [
        random_pickle.__randomstate_ctor,
        random_pickle.__bit_generator_ctor,
        np.random.MT19937,
        np.random.RandomState,
        _reconstruct,
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),
    ]
    legacy_ctor = getattr(np.random, "__RandomState_ctor", None)
    if legacy_ctor is not None:
        allowed.append((legacy_ctor, "numpy.random.__RandomState_ctor"))
    return allowed


def _refusal_reason(message: str) -> str:
    """The line of torch's weights-only error that names what was refused."""
    for line in message.splitlines():
        if "GLOBAL" in line or "Can only" in line or "Unsupported" in line:
            return line.split(" Please use")[0].strip()
    return "it is not a weights-only checkpoint"


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint dict onto the CPU; refuse files that carry code or are not checkpoints.

    Raises ``InputError`` naming the file when it is missing, is not a torch file, pickles a
    global outside the allowlist, or does not hold a dict.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    try:
        with torch.serialization.safe_globals(_random_state_globals()):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise InputError(f"checkpoint {path} was refused: {_refusal_reason(str(error))}; only tensors, "
                         "plain containers and a numpy RandomState are loaded") from None
    except Exception as error:  # torch raises many kinds for a file that is not a checkpoint
        reason = type(error).__name__
        if str(error).strip():
            reason += ": " + str(error).strip().splitlines()[0]
        raise InputError(f"checkpoint {path} could not be read as a torch file ({reason})") from None
    if not isinstance(checkpoint, dict):
        raise InputError(f"checkpoint {path} holds a {type(checkpoint).__name__}, expected a dict "
                         "with 'model_pos'")
    return checkpoint


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> None:
    """Write ``checkpoint`` with ``torch.save``, atomically (the old file stays until it is complete)."""
    import torch

    if not isinstance(checkpoint, dict):
        raise TypeError(f"checkpoint must be a dict, got {type(checkpoint).__name__}")
    with atomic_path(path) as temporary:
        torch.save(checkpoint, temporary)


def resolve_checkpoint_path(name: str | os.PathLike, checkpoint_dir: str | os.PathLike = "checkpoint"
                            ) -> Path:
    """Where checkpoint ``name`` lives: ``checkpoint_dir/name`` as upstream, or ``name`` itself.

    An absolute path is used as given; a relative one is looked up under ``checkpoint_dir``
    first, then relative to the working directory. Raises ``InputError`` when neither exists.
    """
    name = Path(name)
    if name.is_absolute():
        candidates = [name]
    else:
        candidates = [Path(checkpoint_dir) / name, name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in dict.fromkeys(candidates))
    raise InputError(f"checkpoint {name} not found (looked for {tried}); "
                     "use -c to name the checkpoint folder or give a full path")


def export_weights(source: str | os.PathLike, target: str | os.PathLike, half: bool = True) -> dict:
    """Write the weights of checkpoint ``source`` as a small file to ship or share; return its content.

    Keeps 'model_pos' (floating tensors stored as float16 when ``half``: loading into a model
    converts them back), 'epoch' and the 'architecture' record (for a temporal model, one read from
    its weights is added); drops the optimizer and random states. Written atomically.
    """
    import torch

    checkpoint = load_checkpoint(source)
    state = checkpoint.get("model_pos")
    if not isinstance(state, dict):
        raise InputError(f"checkpoint {source} has no 'model_pos' state dict")
    weights = {name: value.half() if half and value.is_floating_point() else value.clone()
               for name, value in state.items() if isinstance(value, torch.Tensor)}
    exported = {"model_pos": weights, "epoch": checkpoint.get("epoch")}
    architecture = checkpoint.get("architecture")
    if architecture is None and "expand_conv.weight" in weights and "shrink.weight" in weights:
        from .temporal import architecture_from_state_dict

        architecture = {"model": "TemporalModel", **architecture_from_state_dict(weights)}
        architecture["filter_widths"] = list(architecture["filter_widths"])
    if architecture is not None:
        exported["architecture"] = architecture
    save_checkpoint(target, exported)
    return exported
