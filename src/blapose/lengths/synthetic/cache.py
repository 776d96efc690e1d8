"""Where blapose keeps files it builds once and reuses (the compact Anny body model).

The folder is ``$BLAPOSE_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/blapose``, else
``~/.cache/blapose`` (``%LOCALAPPDATA%\\blapose\\cache`` on Windows), following the XDG base
directory convention.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir() -> Path:
    """The blapose cache folder (not created here)."""
    explicit = os.environ.get("BLAPOSE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "blapose" / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "blapose"


def folder_size_bytes(folder: Path) -> int:
    """Total size of the files under ``folder`` (0 when it does not exist)."""
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
