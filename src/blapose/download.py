"""Fetching upstream BLAPose's published files from their public Google Drive folders.

Folders and layout (upstream setup.py and README): synthetic bone lengths into ``data/``,
trained checkpoints into ``checkpoint/``, 3D predictions of published lifting models into
``3D_prediction/<Model>/{prediction.pkl, action_dict.pkl}``. Downloads use ``gdown``
(``pip install 'blapose[download]'``). Each folder is fetched into a hidden staging folder
beside its destination and moved into place only when complete, so a failure leaves no
partial file; before anything starts, one short request checks that Google Drive answers.
"""

from __future__ import annotations

import inspect
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DRIVE_FOLDER_URL = "https://drive.google.com/drive/folders/{}"
#: Address checked before downloading (any HTTP answer counts as reachable).
DRIVE_PROBE_URL = "https://drive.google.com"
INSTALL_HINT = "pip install 'blapose[download]'"


@dataclass(frozen=True)
class DriveFolder:
    """One published Google Drive folder and where its files go."""

    folder_id: str
    destination: str  # folder relative to --dest
    contents: str  # what it holds, for people fetching it by hand

    @property
    def url(self) -> str:
        return DRIVE_FOLDER_URL.format(self.folder_id)


FOLDERS: dict[str, DriveFolder] = {
    "data": DriveFolder("10CLfvL5izh-V_IXPlbVYhDSwklXuMkQh", "data",
                        "bone_lengths_h36m.npz, bone_lengths_smpl_neutral_all.npz, "
                        "bone_lengths_smpl_neutral_train.npz"),
    "checkpoints": DriveFolder("1dwCqZs8HCqlijyHXD0KYOnKqGsGuoi8E", "checkpoint",
                               "trained models such as biGRU_all.bin and biGRU_train.bin"),
    "predictions": DriveFolder("16N9hnOAkmmnfZGix_kTFKyjoQbfYBF4v", "3D_prediction",
                               "one folder per lifting model, each with prediction.pkl and action_dict.pkl"),
}


class DownloadUnavailable(Exception):
    """Downloading is not possible now; ``str()`` says why and how to fetch the files by hand."""

    def __init__(self, reason: str, manual_steps: str) -> None:
        super().__init__(f"{reason}\n{manual_steps}")
        self.reason = reason
        self.manual_steps = manual_steps


def parse_what(what: str | Sequence[str]) -> list[str]:
    """'data,checkpoints' or a list -> validated folder names (ValueError names the unknown ones)."""
    names = [part.strip() for part in (what.split(",") if isinstance(what, str) else what) if part.strip()]
    unknown = [name for name in names if name not in FOLDERS]
    if unknown or not names:
        raise ValueError(f"unknown --what {unknown or what!r}, expected a comma-separated subset of "
                         f"{','.join(FOLDERS)}")
    return list(dict.fromkeys(names))


def manual_instructions(names: Sequence[str], dest: str | os.PathLike) -> str:
    """Lines telling where to fetch each folder and where to put its files."""
    lines = ["Fetch by hand (open the link, download the folder, put its files as shown):"]
    for name in names:
        folder = FOLDERS[name]
        lines.append(f"  {name}: {folder.url}\n      -> {Path(dest) / folder.destination}/  ({folder.contents})")
    return "\n".join(lines)


def check_reachable(timeout: float, url: str) -> None:
    """Raise ``OSError`` when ``url`` gives no HTTP answer within ``timeout`` seconds."""
    import requests

    try:
        requests.head(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as error:
        raise OSError(f"cannot reach {url} ({type(error).__name__})") from None


def _move_tree(source: Path, target: Path) -> list[Path]:
    """Move every file under ``source`` to the same relative place under ``target``."""
    moved = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
        moved.append(destination)
    return moved


def download(what: str | Sequence[str] = ("data", "checkpoints", "predictions"), dest: str | os.PathLike = ".",
             timeout: float = 10.0, log: Callable[[str], None] = print,
             probe_url: str | None = None) -> list[Path]:
    """Fetch the chosen folders into ``dest``; return the files written.

    Raises ``DownloadUnavailable`` (with manual instructions) when gdown is missing, Google
    Drive does not answer within ``timeout`` seconds, or a folder fails to download; the
    failing folder leaves nothing behind (folders finished before it stay). ``probe_url``
    (default ``DRIVE_PROBE_URL``) is the address checked first.
    """
    names = parse_what(what)
    dest = Path(dest)
    manual = manual_instructions(names, dest)
    try:
        import gdown
    except ImportError:
        raise DownloadUnavailable(f"gdown is not installed ({INSTALL_HINT})", manual) from None
    try:
        check_reachable(timeout, probe_url or DRIVE_PROBE_URL)
    except OSError as error:
        raise DownloadUnavailable(f"no network: {error}", manual) from None

    options = {"quiet": False}
    if "timeout" in inspect.signature(gdown.download_folder).parameters:
        options["timeout"] = timeout
    written: list[Path] = []
    for name in names:
        folder = FOLDERS[name]
        target = dest / folder.destination
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".blapose-download-", dir=target))
        try:
            log(f"Downloading {name} from {folder.url} ...")
            try:
                gdown.download_folder(id=folder.folder_id, output=str(staging), **options)
            except Exception as error:  # gdown raises many kinds (requests, its own, OSError)
                raise DownloadUnavailable(f"downloading {name} failed: {type(error).__name__}: {error}",
                                          manual) from None
            written.extend(_move_tree(staging, target))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()
    return written
