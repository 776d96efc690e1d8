"""blapose: 3D human pose estimation with bone-length adjustment (BLAPose, Hsu & Jang, ACCV 2024).

Nothing heavy loads at import: the API below (``blapose.adjust_poses``, ``blapose.adjust_files``,
...) is looked up on first use (PEP 562 module ``__getattr__``), so ``import blapose`` and
``blapose --help`` import neither numpy nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_API = {
    "adjust_poses": "bones",
    "bones_to_poses": "bones",
    "poses_to_bones": "bones",
    "symmetrize_lengths": "bones",
    "adjust_files": "evaluation.adjust",
    "adjustment_report": "evaluation.adjust",
}

__all__ = ["adjust_poses", "adjust_files", "adjustment_report", "bones_to_poses", "poses_to_bones",
           "symmetrize_lengths"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .bones import adjust_poses, bones_to_poses, poses_to_bones, symmetrize_lengths
    from .evaluation.adjust import adjust_files, adjustment_report


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
