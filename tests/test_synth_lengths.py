"""Synthetic bone lengths: fallback, alignment, files, SMPL path on a tiny SMPL-layout model, CLI, Anny."""

from __future__ import annotations

import importlib.util
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from blapose.cli import main
from blapose.data.h36m import load_poses_3d
from blapose.errors import InputError
from blapose.lengths.reference import subject_mean_lengths
from blapose.lengths.synthetic.align import aligned_sets, shift_to_mean
from blapose.lengths.synthetic.anny_model import anny_available, anny_is_built
from blapose.lengths.synthetic.fallback import sample_fallback_lengths
from blapose.lengths.synthetic.files import read_lengths, write_lengths
from blapose.lengths.synthetic.generate import sample_training_lengths
from blapose.lengths.synthetic.report import length_report
from blapose.lengths.synthetic.smpl_model import iter_smpl_lengths, load_smpl_arrays
from blapose.lengths.synthetic.smpl_pickle import load_smpl_pickle
from blapose.skeleton import H36M

needs_smplx = pytest.mark.skipif(importlib.util.find_spec("smplx") is None,
                                 reason="smplx not installed (pip install 'blapose[smpl]')")
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)


def assert_symmetric(lengths: np.ndarray) -> None:
    for right, left in H36M.symmetric_bones:
        np.testing.assert_array_equal(lengths[:, right], lengths[:, left])


# --- fallback ---------------------------------------------------------------------------------

def test_fallback_shapes_symmetry_and_plausible_scale() -> None:
    """Fallback lengths are (M, 16), positive, left == right, and a thigh is 0.3-0.6 m."""
    lengths = sample_fallback_lengths(2000, np.random.default_rng(0))
    assert lengths.shape == (2000, 16) and (lengths > 0).all()
    assert_symmetric(lengths)
    thigh = lengths[:, H36M.joint_names.index("RKnee") - 1]
    assert 0.3 < np.median(thigh) < 0.6


def test_fallback_is_reproducible_from_the_generator() -> None:
    """The same seed gives the same lengths; another seed gives others."""
    first = sample_fallback_lengths(50, np.random.default_rng(3))
    np.testing.assert_array_equal(first, sample_fallback_lengths(50, np.random.default_rng(3)))
    assert not np.array_equal(first, sample_fallback_lengths(50, np.random.default_rng(4)))


def test_sample_training_lengths_says_what_it_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Anny the library function returns fallback lengths and says so."""
    monkeypatch.setattr("blapose.lengths.synthetic.anny_model.anny_available", lambda: False)
    lengths, description = sample_training_lengths(100, seed=0)
    assert lengths.shape == (100, 16) and "fallback" in description


# --- alignment and files ----------------------------------------------------------------------

def test_alignment_means_equal_subject_means(h36m_data_dir: Path) -> None:
    """Aligned sets have exactly the mean of the training subjects (all but two) and of all subjects."""
    subjects, per_subject = subject_mean_lengths(load_poses_3d(h36m_data_dir / "data_3d_h36m.npz"))
    assert subjects == ["S1", "S5", "S6", "S7", "S8", "S9", "S11"] and per_subject.shape == (7, 16)
    lengths = sample_fallback_lengths(500, np.random.default_rng(0))
    sets = aligned_sets(lengths, per_subject)
    np.testing.assert_allclose(sets["train"].mean(0), per_subject[:5].mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sets["all"].mean(0), per_subject.mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sets["all"] - lengths, np.broadcast_to(sets["all"][0] - lengths[0], lengths.shape),
                               atol=1e-12)  # one constant shift per bone keeps the spread


def test_subject_lengths_are_mean_of_action_means() -> None:
    """A subject's length is the mean over actions of each action's mean (upstream's weighting)."""
    pose = np.zeros((17, 3))
    for joint in range(1, 17):
        pose[joint] = pose[H36M.parents[joint]] + [0.0, 0.0, 0.1]
    short, long = np.repeat(pose[None], 1, 0), np.repeat(2 * pose[None], 9, 0)
    _, lengths = subject_mean_lengths({"S1": {"a": short, "b": long}})
    np.testing.assert_allclose(lengths[0], np.full(16, 0.15))


def test_shift_to_mean_hits_any_target() -> None:
    """shift_to_mean moves the mean onto any target vector."""
    target = np.linspace(0.1, 0.5, 16)
    shifted = shift_to_mean(np.random.default_rng(0).random((10, 16)), target)
    np.testing.assert_allclose(shifted.mean(0), target, atol=1e-12)


def test_lengths_file_round_trip(tmp_path: Path) -> None:
    """Files hold key 'data' as (M, 16) float32 meters and read back unchanged."""
    lengths = sample_fallback_lengths(20, np.random.default_rng(0))
    path = write_lengths(tmp_path / "bone_lengths_x.npz", lengths)
    with np.load(path) as content:
        assert content.files == ["data"] and content["data"].dtype == np.float32
    np.testing.assert_allclose(read_lengths(path), lengths, rtol=1e-6)
    with pytest.raises(InputError):
        read_lengths(tmp_path / "missing.npz")


def test_report_lists_every_bone_in_millimetres() -> None:
    """The report has one row per bone with mean, p5, p95 and each subject, in mm."""
    lengths = np.full((10, 16), 0.25)
    text = length_report(lengths, ["S1"], np.full((1, 16), 0.3))
    rows = [line for line in text.splitlines() if line.startswith(H36M.bone_names)]
    assert len(rows) == 16 and all("250.0" in row and "300.0" in row for row in rows)


# --- SMPL on a tiny model in the SMPL 1.1.0 file layout --------------------------------------

class _ChumpyCh:
    """Pickles like chumpy's Ch (class chumpy.ch.Ch, value under 'x') without needing chumpy."""

    __module__ = "chumpy.ch"
    __qualname__ = "Ch"

    def __init__(self, value: np.ndarray) -> None:
        self.x = value
        self._dirty_vars = set()


def _write_tiny_smpl(folder: Path, vertices: int, seed: int) -> dict:
    """Write SMPL_{NEUTRAL,MALE,FEMALE}.pkl (protocol 0, chumpy + csc as in SMPL 1.1.0) and a regressor."""
    rng = np.random.default_rng(seed)
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    module.Ch, package.ch = _ChumpyCh, module
    models: dict = {}
    sys.modules.update({"chumpy": package, "chumpy.ch": module})  # only while pickling
    try:
        for index, gender in enumerate(("NEUTRAL", "MALE", "FEMALE")):
            joint_regressor = rng.random((24, vertices))
            joint_regressor /= joint_regressor.sum(1, keepdims=True)
            weights = rng.random((vertices, 24))
            content = {
                "v_template": rng.normal(0, 0.5, (vertices, 3)) * (1 + 0.1 * index),
                "shapedirs": _ChumpyCh(rng.normal(0, 0.02, (vertices, 3, 10))),
                "posedirs": rng.normal(0, 0.01, (vertices, 3, 207)),
                "J_regressor": scipy.sparse.csc_matrix(joint_regressor),
                "kintree_table": np.array([[4294967295, *SMPL_PARENTS[1:]], list(range(24))], dtype=np.int64),
                "weights": weights / weights.sum(1, keepdims=True),
                "f": rng.integers(0, vertices, (2 * vertices, 3)).astype(np.uint32),
                "bs_style": "lbs", "bs_type": "lrotmin",
            }
            models[gender] = content
            path = folder / "body_models" / "smpl" / f"SMPL_{gender}.pkl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(content, protocol=0))
    finally:
        del sys.modules["chumpy.ch"], sys.modules["chumpy"]
    regressor = rng.random((17, vertices))
    np.save(folder / "J_regressor_h36m_correct.npy", regressor / regressor.sum(1, keepdims=True))
    return models


@pytest.fixture(scope="module")
def tiny_smpl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bone_length")
    _write_tiny_smpl(folder, vertices=40, seed=0)
    return folder


def test_smpl_pickle_loads_chumpy_and_sparse_as_arrays(tiny_smpl_dir: Path) -> None:
    """chumpy values and csc matrices come back as the same dense numpy arrays, chumpy not imported."""
    content = load_smpl_pickle(tiny_smpl_dir / "body_models" / "smpl" / "SMPL_NEUTRAL.pkl")
    assert isinstance(content["shapedirs"], np.ndarray) and content["shapedirs"].shape == (40, 3, 10)
    assert isinstance(content["J_regressor"], np.ndarray) and content["J_regressor"].shape == (24, 40)
    np.testing.assert_allclose(content["J_regressor"].sum(1), 1.0)
    assert "chumpy" not in sys.modules and load_smpl_arrays(
        tiny_smpl_dir / "body_models" / "smpl" / "SMPL_NEUTRAL.pkl")["posedirs"].shape == (40, 3, 207)


def test_smpl_pickle_refuses_code(tmp_path: Path) -> None:
    """A pickle that names any other callable is refused with InputError before it runs."""
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps({"v_template": print}, protocol=0))
    with pytest.raises(InputError, match="unsafe"):
        load_smpl_pickle(path)


@needs_smplx
def test_smpl_lengths_equal_regressed_shaped_template(tiny_smpl_dir: Path) -> None:
    """SMPL lengths are those of J_h36m @ (v_template + shapedirs . betas) with betas ~ N(0, I)."""
    lengths = np.concatenate(list(iter_smpl_lengths(tiny_smpl_dir, 7, "neutral", np.random.default_rng(5),
                                                    batch_size=3)))
    arrays = load_smpl_arrays(tiny_smpl_dir / "body_models" / "smpl" / "SMPL_NEUTRAL.pkl")
    regressor = np.load(tiny_smpl_dir / "J_regressor_h36m_correct.npy")
    betas = np.random.default_rng(5).standard_normal((7, 10))
    betas = np.concatenate([betas[:3], betas[3:6], betas[6:]])  # same draws, batch by batch
    vertices = arrays["v_template"] + np.einsum("vdk,nk->nvd", arrays["shapedirs"], betas)
    joints = np.einsum("jv,nvd->njd", regressor, vertices)
    from blapose.bones import bone_lengths, symmetrize_lengths
    np.testing.assert_allclose(lengths, symmetrize_lengths(bone_lengths(joints)), rtol=1e-4, atol=1e-6)
    assert_symmetric(lengths)


@needs_smplx
def test_synth_lengths_cli_smpl_mix_end_to_end(tiny_smpl_dir: Path, h36m_data_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    """The command writes the h36m, _train and _all files from the SMPL files and prints the report."""
    code = main(["synth-lengths", "--body-model", "smpl", "--gender", "mix", "--amount", "50", "--align",
                 "--data", str(h36m_data_dir / "data_3d_h36m.npz"), "--body-model-dir", str(tiny_smpl_dir),
                 "--out", str(tmp_path), "--seed", "0"])
    assert code == 0
    subjects = read_lengths(tmp_path / "bone_lengths_h36m.npz")
    train = read_lengths(tmp_path / "bone_lengths_smpl_mix_train.npz")
    everything = read_lengths(tmp_path / "bone_lengths_smpl_mix_all.npz")
    assert subjects.shape == (7, 16) and train.shape == everything.shape == (50, 16)
    np.testing.assert_allclose(train.mean(0), subjects[:5].mean(0), atol=1e-6)
    np.testing.assert_allclose(everything.mean(0), subjects.mean(0), atol=1e-6)
    assert not (tmp_path / "bone_lengths_smpl_mix.npz").exists()
    out = capsys.readouterr().out
    assert "S11" in out and "Hip-RHip" in out


def test_synth_lengths_cli_smpl_without_files_names_them(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Missing SMPL files: exit 2, one line naming SMPL_NEUTRAL.pkl and the regressor, no file written."""
    code = main(["synth-lengths", "--body-model", "smpl", "--amount", "5", "--body-model-dir",
                 str(tmp_path / "none"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "SMPL_NEUTRAL.pkl" in err and "J_regressor_h36m_correct.npy" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_synth_lengths_cli_without_anny_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    """Without Anny installed the command exits non-zero with the one-line install command."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("anny", "warp") else real_find_spec(name, *a))
    code = main(["synth-lengths", "--amount", "5", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "pip install 'blapose[anny]'" in err
    assert list(tmp_path.iterdir()) == []


def test_synth_lengths_cli_align_needs_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--align with a missing data file fails at once with one line."""
    code = main(["synth-lengths", "--align", "--data", str(tmp_path / "nope.npz"), "--out", str(tmp_path)])
    assert code == 2 and "nope.npz" in capsys.readouterr().err


# --- Anny (whenever installed: the first run builds its model once, 1-3 minutes, cached) --------

needs_anny = pytest.mark.skipif(not anny_available(), reason="anny not installed (pip install 'blapose[anny]')")


@pytest.fixture(scope="module")
def bodies():
    """Anny prepared for joint evaluation, built into the user cache on first use as the CLI does."""
    from blapose.lengths.synthetic.anny_model import load_anny_bodies

    return load_anny_bodies(log=print)


def test_anny_first_build_moves_only_a_finished_compact_file_into_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An interrupted first build leaves no cache file behind; a finished one leaves only the compact file."""
    from blapose.lengths.synthetic import anny_model

    def build(folder: Path, finish: bool) -> str:
        (folder / "v14").mkdir()
        (folder / "v14" / "build_model_data_1.safetensors").write_bytes(b"intermediate")
        (folder / "v14" / "build_compact_model_data_2.safetensors").write_bytes(b"compact")
        if not finish:
            raise KeyboardInterrupt
        return "model"

    cache = tmp_path / "anny"
    monkeypatch.setattr(anny_model, "_build_anny_model", lambda folder: build(folder, finish=False))
    with pytest.raises(KeyboardInterrupt):
        anny_model._build_into_cache(cache)
    assert not anny_is_built(cache) and list(tmp_path.iterdir()) == []
    monkeypatch.setattr(anny_model, "_build_anny_model", lambda folder: build(folder, finish=True))
    assert anny_model._build_into_cache(cache) == "model" and anny_is_built(cache)
    assert [path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()] == [
        "anny/v14/build_compact_model_data_2.safetensors"]


@needs_anny
def test_anny_fast_joints_match_anny_forward(bodies) -> None:
    """The rest-pose joints from blendshape slices equal Anny's own forward pass and keypoint regressor."""
    import anny
    import torch

    from blapose.lengths.synthetic.anny_model import BONE_HEAD_SOURCES

    phenotypes = bodies.sample_phenotypes(4, "neutral", np.random.default_rng(0))
    joints = bodies.joints(phenotypes)
    with torch.no_grad():
        output = bodies.model(phenotype_kwargs={k: torch.as_tensor(v) for k, v in phenotypes.items()})
        ears = anny.KeypointsRegressor.coco(bodies.model, labels=["left_ear", "right_ear"])(
            {"vertices": output["rest_vertices"]}).numpy()
    labels = list(bodies.model.bone_labels)
    heads = output["rest_bone_heads"].numpy()
    for joint, sources in BONE_HEAD_SOURCES.items():
        expected = np.mean([heads[:, labels.index(name)] for name in sources], axis=0)
        np.testing.assert_allclose(joints[:, H36M.joint_names.index(joint)], expected, atol=1e-9)
    np.testing.assert_allclose(joints[:, H36M.joint_names.index("Head")], ears.mean(1), atol=1e-9)


@needs_anny
def test_anny_lengths_are_adult_sized_symmetric_and_seeded(bodies) -> None:
    """Anny lengths are symmetric, reproducible from the seed, and men's thighs exceed women's on average."""
    from blapose.lengths.synthetic.anny_model import iter_anny_lengths

    def draw(gender: str, seed: int) -> np.ndarray:
        return np.concatenate(list(iter_anny_lengths(bodies, 400, gender, np.random.default_rng(seed))))

    men, women = draw("male", 0), draw("female", 0)
    assert men.shape == (400, 16)
    assert_symmetric(men)
    np.testing.assert_array_equal(men, draw("male", 0))
    thigh = H36M.joint_names.index("RKnee") - 1
    assert men[:, thigh].mean() > women[:, thigh].mean() > 0.25
