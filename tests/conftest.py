"""Shared fixtures: a tiny built-in dataset written once per test session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blapose.data.synthetic import make_dataset


@pytest.fixture(scope="session")
def h36m_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny built-in dataset (three Human3.6M-format npz files)."""
    folder = tmp_path_factory.mktemp("data")
    make_dataset(folder, seed=0, size="tiny")
    return folder


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
