"""Tests of the weights-only export that makes the built-in models (models.checkpoint.export_weights)."""

from __future__ import annotations

import numpy as np
import torch

from blapose.models.checkpoint import export_weights, load_checkpoint, save_checkpoint
from blapose.models.temporal import TemporalModel


def test_exported_lifter_predicts_like_the_original_and_is_smaller(tmp_path):
    """A float16 export loads into the model its record describes and predicts within 1 mm of the original."""
    torch.manual_seed(0)
    model = TemporalModel((3, 3), channels=64, dropout=0.0).eval()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.zeros(1, 9, 17, 2)).sum().backward()
    optimizer.step()
    save_checkpoint(tmp_path / "final.bin", {"model_pos": model.state_dict(), "optimizer": optimizer.state_dict(),
                                             "epoch": 3, "lr": 1e-3})
    export_weights(tmp_path / "final.bin", tmp_path / "small.bin")
    exported = load_checkpoint(tmp_path / "small.bin")
    assert set(exported) == {"model_pos", "epoch", "architecture"}
    assert (tmp_path / "small.bin").stat().st_size < (tmp_path / "final.bin").stat().st_size / 3
    record = exported["architecture"]
    assert record["filter_widths"] == [3, 3] and record["channels"] == 64
    loaded = TemporalModel(record["filter_widths"], channels=record["channels"], dropout=0.0)
    loaded.load_state_dict(exported["model_pos"])
    keypoints = torch.from_numpy(np.random.default_rng(0).normal(0, 0.3, (1, 30, 17, 2)).astype(np.float32))
    with torch.no_grad():
        difference = (loaded.eval()(keypoints) - model(keypoints)).abs().max()
    assert float(difference) < 1e-3
