"""Tests of the bone-length model, its checkpoints and the lengths files (blapose.models.length,
blapose.models.checkpoint, blapose.lengths.io)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import numpy.random._pickle as numpy_random_pickle
import pytest
import torch

from blapose.bones import symmetrize_lengths
from blapose.errors import InputError
from blapose.lengths.io import load_lengths_dict, save_lengths
from blapose.models.checkpoint import load_checkpoint, resolve_checkpoint_path, save_checkpoint
from blapose.models.length import (
    BoneLengthModel,
    architecture_record,
    length_model_from_checkpoint,
    model_kwargs_from_state_dict,
    predict_lengths,
)
from blapose.skeleton import H36M

TINY = dict(embed_dim=8, hidden_size=6)
# numpy's pickling helpers (double-underscore names, mangled if spelled inside a class body)
RANDOMSTATE_CTOR = getattr(numpy_random_pickle, "__randomstate_ctor")
BIT_GENERATOR_CTOR = getattr(numpy_random_pickle, "__bit_generator_ctor")


def random_keypoints(rng: np.random.Generator, frames: int) -> np.ndarray:
    return (rng.normal(size=(frames, 17, 2)) * 0.3).astype(np.float32)


def upstream_state_dict(bidirectional: bool, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A state dict with upstream BLAPose's parameter names and shapes (utils/model_length.py, 1 layer)."""
    embed, hidden = 256, 512
    state = {"expand_conv.weight": (embed, 34), "expand_conv.bias": (embed,)}
    grus = [("gru.", "")] + [("gru.", "_reverse")] if bidirectional else [("gru.0.", ""), ("gru.1.", "")]
    for prefix, suffix in grus:
        state.update({f"{prefix}weight_ih_l0{suffix}": (3 * hidden, embed),
                      f"{prefix}weight_hh_l0{suffix}": (3 * hidden, hidden),
                      f"{prefix}bias_ih_l0{suffix}": (3 * hidden,),
                      f"{prefix}bias_hh_l0{suffix}": (3 * hidden,)})
    state["fc.weight"] = (16, 2 * hidden)
    return {name: torch.randn(shape, generator=generator) * 0.05 for name, shape in state.items()}


def rewrite_pickle(source, target, old: bytes, new: bytes) -> None:
    """Copy a torch zip checkpoint, replacing bytes in its pickle (to mimic files from older numpy)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(info.filename, data)


class Numpy124RandomState:
    """Pickles like a numpy 1.24 RandomState: ctor('MT19937', bit-generator ctor) then the state dict."""

    def __init__(self, state: dict) -> None:
        self.state = state

    def __reduce__(self):
        return (RANDOMSTATE_CTOR, ("MT19937", BIT_GENERATOR_CTOR), self.state)


def test_saved_then_loaded_checkpoint_predicts_the_same_lengths(tmp_path):
    """A model saved with save_checkpoint and loaded back predicts identical lengths."""
    torch.manual_seed(0)
    model = BoneLengthModel(dropout=0.0, bidirectional=True, **TINY).eval()
    rng = np.random.default_rng(0)
    sequences = {("S9", "Walking", c): random_keypoints(rng, 30 + c) for c in range(3)}
    path = tmp_path / "model.bin"
    save_checkpoint(path, {"model_pos": model.state_dict(), "epoch": 3, "lr": 1e-4,
                           "random_state": np.random.RandomState(1), "optimizer": None})
    loaded = length_model_from_checkpoint(load_checkpoint(path), str(path), bidirectional=True)
    before, after = predict_lengths(model, sequences), predict_lengths(loaded, sequences)
    assert list(before) == list(after) == list(sequences)
    for key in sequences:
        np.testing.assert_array_equal(before[key], after[key])
    assert not list(tmp_path.glob(".model.bin*")), "atomic save left a temporary file"


def test_log_head_starts_at_its_reference_and_survives_a_checkpoint(tmp_path):
    """A log-output model predicts its reference lengths before training and keeps its head through save/load."""
    reference = np.linspace(0.1, 0.45, 16)
    model = BoneLengthModel(dropout=0.0, bidirectional=True, reference_lengths=reference, **TINY).eval()
    keypoints = {("S9", "Walking", 0): random_keypoints(np.random.default_rng(0), 20)}
    np.testing.assert_allclose(predict_lengths(model, keypoints)[("S9", "Walking", 0)],
                               symmetrize_lengths(reference), rtol=1e-6)
    with torch.no_grad():
        model.fc.weight.normal_()
    path = tmp_path / "log.bin"
    save_checkpoint(path, {"model_pos": model.state_dict(), "architecture": architecture_record(model, "cpu")})
    loaded = length_model_from_checkpoint(load_checkpoint(path), str(path))
    assert loaded.log_output
    np.testing.assert_array_equal(predict_lengths(model, keypoints)[("S9", "Walking", 0)],
                                  predict_lengths(loaded, keypoints)[("S9", "Walking", 0)])


def test_recorded_architecture_needs_no_bidirectional_flag_but_upstream_checkpoints_do(tmp_path):
    """A bi-GRU checkpoint with blapose's architecture record loads without -bi; without the record -bi is required."""
    model = BoneLengthModel(dropout=0.0, bidirectional=True, **TINY)
    recorded = {"model_pos": model.state_dict(), "architecture": architecture_record(model, "best")}
    assert length_model_from_checkpoint(recorded, "ck", bidirectional=False).bidirectional
    with pytest.raises(InputError, match="needs -bi"):
        length_model_from_checkpoint({"model_pos": model.state_dict()}, "ck", bidirectional=False)
    assert architecture_record(model, "best") == {"model": "BoneLengthModel", "bidirectional": True, "num_layers": 1,
                                                  "hidden_size": TINY["hidden_size"], "embed_dim": TINY["embed_dim"],
                                                  "log_output": False, "bone_inputs": False, "temporal": "gru", "proportions_only": False,
                                                  "camera_inputs": False, "recipe": "best"}


@pytest.mark.parametrize("numpy_1x_layout", [False, True])
def test_upstream_format_checkpoint_loads_and_predicts(tmp_path, numpy_1x_layout):
    """An upstream-format biGRU checkpoint with a pickled RandomState loads and predicts as upstream computes."""
    generator = torch.Generator().manual_seed(1)
    state_dict = upstream_state_dict(True, generator)
    random_state = np.random.RandomState(9487)
    random_state.rand(7)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], amsgrad=True).state_dict()
    stored_state = Numpy124RandomState(random_state.__getstate__()) if numpy_1x_layout else random_state
    path = tmp_path / "biGRU_all.bin"
    torch.save({"epoch": 30, "lr": 2e-5, "random_state": stored_state, "optimizer": optimizer,
                "model_pos": state_dict}, path)
    if numpy_1x_layout:  # numpy 1.x names the array reconstructor numpy.core.multiarray
        rewrite_pickle(tmp_path / "biGRU_all.bin", tmp_path / "old.bin",
                       b"numpy._core.multiarray", b"numpy.core.multiarray")
        path = tmp_path / "old.bin"

    checkpoint = load_checkpoint(path)
    assert checkpoint["epoch"] == 30
    assert checkpoint["random_state"].rand() == np.random.RandomState(9487).rand(8)[-1]
    model = length_model_from_checkpoint(checkpoint, str(path), bidirectional=True)
    assert model_kwargs_from_state_dict(state_dict) == dict(num_joints=17, embed_dim=256, hidden_size=512,
                                                            num_layers=1, bidirectional=True)

    keypoints = random_keypoints(np.random.default_rng(2), 25)
    predicted = predict_lengths(model, {("S9", "Eating", 0): keypoints})[("S9", "Eating", 0)]
    # Upstream forward written out: Linear, ReLU, biGRU, cat(backward, forward) of the last layer, sigmoid, fc.
    gru = torch.nn.GRU(256, 512, bidirectional=True, batch_first=True)
    gru.load_state_dict({k[4:]: v for k, v in state_dict.items() if k.startswith("gru.")})
    with torch.no_grad():
        features = torch.relu(torch.from_numpy(keypoints).reshape(1, 25, 34) @ state_dict["expand_conv.weight"].T
                              + state_dict["expand_conv.bias"])
        final = gru(features)[1]
        raw = torch.sigmoid(torch.cat([final[-1], final[-2]], -1)) @ state_dict["fc.weight"].T
    expected = raw[0].numpy() @ H36M.symmetric_average_matrix
    np.testing.assert_allclose(predicted, expected, atol=1e-5)


def test_unidirectional_upstream_names_load(tmp_path):
    """An upstream GRU (two unidirectional GRUs, gru.0/gru.1) state dict loads strictly, without -bi."""
    state_dict = upstream_state_dict(False, torch.Generator().manual_seed(3))
    model = length_model_from_checkpoint({"model_pos": state_dict}, "GRU.bin", bidirectional=False)
    assert not model.bidirectional and set(model.state_dict()) == set(state_dict)
    with pytest.raises(InputError, match="needs -bi|drop -bi"):
        length_model_from_checkpoint({"model_pos": state_dict}, "GRU.bin", bidirectional=True)


def test_checkpoint_with_another_global_is_refused_without_running_it(tmp_path, monkeypatch):
    """A checkpoint pickling any other global is refused with InputError; that global is never imported or run."""
    marker = tmp_path / "ran.txt"
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "blapose_test_payload.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('imported')\n"
        "def payload(text):\n    return text\n")
    monkeypatch.syspath_prepend(str(module_dir))
    import blapose_test_payload

    class Payload:
        def __reduce__(self):
            return (blapose_test_payload.payload, ("ran",))

    path = tmp_path / "evil.bin"
    torch.save({"model_pos": {}, "extra": Payload()}, path)
    marker.unlink()
    del sys.modules["blapose_test_payload"]
    with pytest.raises(InputError, match="evil.bin"):
        load_checkpoint(path)
    assert not marker.exists() and "blapose_test_payload" not in sys.modules

    class System:
        def __reduce__(self):
            import os
            return (os.system, (f"echo ran > {marker}",))

    torch.save({"model_pos": {}, "extra": System()}, tmp_path / "system.bin")
    with pytest.raises(InputError, match="system.bin"):
        load_checkpoint(tmp_path / "system.bin")
    assert not marker.exists()


def test_unreadable_and_missing_checkpoints_raise_input_error(tmp_path):
    """A missing file, a non-torch file and a file without 'model_pos' each give a one-line InputError."""
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.bin")
    (tmp_path / "text.bin").write_text("not a checkpoint")
    with pytest.raises(InputError, match="text.bin"):
        load_checkpoint(tmp_path / "text.bin")
    with pytest.raises(InputError, match="model_pos"):
        length_model_from_checkpoint({"epoch": 1}, "x.bin")


def test_checkpoint_names_resolve_like_upstream(tmp_path, monkeypatch):
    """A bare name is looked up in the checkpoint folder; a full path works as given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "a.bin").write_bytes(b"x")
    (tmp_path / "elsewhere.bin").write_bytes(b"x")
    assert resolve_checkpoint_path("a.bin").resolve() == (tmp_path / "checkpoint" / "a.bin").resolve()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "c.bin").write_bytes(b"x")
    assert resolve_checkpoint_path("c.bin", "runs") == Path("runs") / "c.bin"
    assert resolve_checkpoint_path("elsewhere.bin") == Path("elsewhere.bin")
    assert resolve_checkpoint_path(tmp_path / "elsewhere.bin") == tmp_path / "elsewhere.bin"
    with pytest.raises(InputError, match="-c"):
        resolve_checkpoint_path("b.bin")


def test_causal_and_non_causal_agree_on_the_last_frame():
    """For a GRU model, the causal per-frame lengths end at the whole-sequence lengths; streaming equals batch."""
    torch.manual_seed(4)
    model = BoneLengthModel(dropout=0.0, bidirectional=False, num_layers=2, **TINY).eval()
    rng = np.random.default_rng(4)
    sequences = {("S11", "Posing", c): random_keypoints(rng, 40) for c in range(2)}
    causal = predict_lengths(model, sequences, causal=True)
    whole = predict_lengths(model, sequences)
    for key in sequences:
        assert causal[key].shape == (40, 16)
        np.testing.assert_allclose(causal[key][-1], whole[key], atol=1e-6)
        assert not np.allclose(causal[key][0], whole[key], atol=1e-4)
    with torch.no_grad():
        batch = torch.from_numpy(np.stack(list(sequences.values())))
        first, state = model.step(batch[:, :17])
        second, _ = model.step(batch[:, 17:], state)
        np.testing.assert_allclose(torch.cat([first, second], 1), model.per_frame(batch), atol=1e-6)


def test_pooled_model_streams_and_round_trips_through_a_checkpoint(tmp_path):
    """A pooled model's causal run ends at its whole-sequence lengths, streams in pieces, and reloads as pooled."""
    torch.manual_seed(5)
    model = BoneLengthModel(dropout=0.0, temporal="pool", bone_inputs=True, **TINY).eval()
    batch = torch.from_numpy(random_keypoints(np.random.default_rng(5), 25)[None])
    with torch.no_grad():
        per_frame = model.per_frame(batch)
        first, state = model.step(batch[:, :9])
        second, _ = model.step(batch[:, 9:], state)
        np.testing.assert_allclose(per_frame[:, -1], model(batch), atol=1e-6)
        np.testing.assert_allclose(torch.cat([first, second], 1), per_frame, atol=1e-6)
    loaded = length_model_from_checkpoint({"model_pos": model.state_dict()}, "ck")
    assert loaded.temporal == "pool" and loaded.bone_inputs and not loaded.log_output
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(batch), model(batch))


def test_proportions_only_model_keeps_the_reference_size():
    """A proportions-only model's lengths always have the reference's geometric mean; they reload as proportions-only."""
    reference = np.linspace(0.1, 0.45, 16)
    torch.manual_seed(6)
    model = BoneLengthModel(dropout=0.0, temporal="pool", reference_lengths=reference, proportions_only=True,
                            **TINY).eval()
    with torch.no_grad():
        model.fc.weight.normal_()
        lengths = model(torch.from_numpy(random_keypoints(np.random.default_rng(6), 12)[None]))
    assert not np.allclose(lengths.numpy()[0], reference, rtol=1e-3)
    np.testing.assert_allclose(np.exp(np.log(lengths.numpy()).mean()), np.exp(np.log(reference).mean()), rtol=1e-5)
    assert length_model_from_checkpoint({"model_pos": model.state_dict()}, "ck").proportions_only


def test_bidirectional_model_refuses_causal_mode():
    """Only a unidirectional model may run causally."""
    model = BoneLengthModel(dropout=0.0, bidirectional=True, **TINY)
    with pytest.raises(InputError, match="unidirectional"):
        predict_lengths(model, {("S9", "A", 0): np.zeros((5, 17, 2), np.float32)}, causal=True)


def test_predict_lengths_checks_its_input():
    """Keypoints of the wrong shape or with NaN are refused naming the sequence."""
    model = BoneLengthModel(dropout=0.0, **TINY)
    with pytest.raises(InputError, match="S9"):
        predict_lengths(model, {("S9", "A", 0): np.zeros((5, 17, 3), np.float32)})
    bad = np.zeros((5, 17, 2), np.float32)
    bad[2, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        predict_lengths(model, {("S9", "A", 0): bad})


def test_lengths_files_keep_explicit_keys_in_upstream_order(tmp_path):
    """lengths_dict/list files hold {subject: {action: [per camera]}} and rows named by subject, action, camera."""
    rng = np.random.default_rng(5)
    predictions = {}
    for subject in ("S11", "S9"):
        for action in ("Walking 1", "Eating"):
            for camera in (3, 1, 0, 2):  # any order in, camera order out
                predictions[(subject, action, camera)] = rng.uniform(0.1, 0.5, 16).astype(np.float32)
    save_lengths(predictions, tmp_path / "lengths_dict.npz", tmp_path / "lengths_list.npz", ["S9", "S11"])
    loaded = load_lengths_dict(tmp_path / "lengths_dict.npz")
    assert set(loaded) == set(predictions)
    for key, lengths in predictions.items():
        np.testing.assert_array_equal(loaded[key], lengths)
    listed = np.load(tmp_path / "lengths_list.npz")
    assert listed["lengths"].shape == (16, 16)
    names = list(zip(listed["subjects"], listed["actions"], listed["cameras"].tolist()))
    assert names[:5] == [("S9", "Walking 1", 0), ("S9", "Walking 1", 1), ("S9", "Walking 1", 2),
                         ("S9", "Walking 1", 3), ("S9", "Eating", 0)]
    for row, key in enumerate(names):
        np.testing.assert_array_equal(listed["lengths"][row], predictions[key])
    with pytest.raises(InputError, match="cameras"):
        save_lengths({("S9", "A", 1): np.ones(16)}, tmp_path / "d.npz", tmp_path / "l.npz")


def test_causal_lengths_files_hold_per_frame_arrays(tmp_path):
    """Causal predictions (T, 16) are written per camera and in an object list, and read back unchanged."""
    predictions = {("S9", "A", c): np.full((4 + c, 16), 0.2 + c, np.float32) for c in range(4)}
    save_lengths(predictions, tmp_path / "d.npz", tmp_path / "l.npz")
    loaded = load_lengths_dict(tmp_path / "d.npz")
    for key, value in predictions.items():
        np.testing.assert_array_equal(loaded[key], value)
    from blapose.data.safe_pickle import load_npz
    listed = load_npz(tmp_path / "l.npz")["lengths"]
    assert [np.asarray(a).shape for a in listed] == [(4, 16), (5, 16), (6, 16), (7, 16)]
