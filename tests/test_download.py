"""blapose download: argument checks and the offline failure path (no network is used)."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import pytest

from blapose import download as download_module
from blapose.cli import main
from blapose.download import FOLDERS, DownloadUnavailable, download, manual_instructions, parse_what

needs_gdown = pytest.mark.skipif(importlib.util.find_spec("gdown") is None,
                                 reason="gdown not installed (pip install 'blapose[download]')")


@pytest.fixture
def closed_local_url() -> str:
    """An http address on this machine where nothing listens (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_parse_what_accepts_subsets_and_rejects_unknown() -> None:
    """--what takes a comma-separated subset in order, without duplicates, and names unknown parts."""
    assert parse_what("predictions, data,data") == ["predictions", "data"]
    with pytest.raises(ValueError, match="weights"):
        parse_what("data,weights")


def test_manual_instructions_name_every_folder_and_destination(tmp_path: Path) -> None:
    """The hand-fetch text gives each folder's link and the folder its files belong in."""
    text = manual_instructions(list(FOLDERS), tmp_path)
    for folder in FOLDERS.values():
        assert folder.url in text and str(tmp_path / folder.destination) in text


@needs_gdown
def test_offline_download_fails_fast_and_leaves_nothing(tmp_path: Path, closed_local_url: str) -> None:
    """Without a reachable server, download raises DownloadUnavailable with instructions and writes no file."""
    dest = tmp_path / "project"
    with pytest.raises(DownloadUnavailable) as caught:
        download(["data", "checkpoints"], dest, timeout=2.0, probe_url=closed_local_url)
    assert "no network" in caught.value.reason
    assert FOLDERS["data"].url in caught.value.manual_steps
    assert not dest.exists() or not any(dest.rglob("*"))


@needs_gdown
def test_download_cli_offline_prints_manual_steps(tmp_path: Path, closed_local_url: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    """The command exits 1 without a traceback, lists what to fetch by hand, and creates no files."""
    monkeypatch.setattr(download_module, "DRIVE_PROBE_URL", closed_local_url)
    code = main(["download", "--what", "data", "--dest", str(tmp_path / "p"), "--timeout", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "no network" in err.splitlines()[0] and str(tmp_path / "p" / "data") in err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").rglob("*"))


def test_download_cli_rejects_unknown_part(capsys: pytest.CaptureFixture) -> None:
    """An unknown --what part is an input error (exit 2, one line)."""
    assert main(["download", "--what", "models"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_download_without_gdown_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without gdown the error names the install command and still lists the manual steps."""
    monkeypatch.setitem(sys.modules, "gdown", None)  # makes 'import gdown' raise ImportError
    with pytest.raises(DownloadUnavailable) as caught:
        download("data", tmp_path / "p", timeout=1.0)
    assert "pip install 'blapose[download]'" in caught.value.reason
    assert FOLDERS["data"].url in caught.value.manual_steps and not (tmp_path / "p").exists()
