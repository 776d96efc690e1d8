"""Bone lengths of random bodies from the SMPL body model, as upstream BLAPose generates them.

Upstream (data/bone_length/generate_bone_length.py): shape coefficients betas (10) ~ N(0, I),
the body in its zero pose, the 17 Human3.6M joints regressed from the mesh vertices with
``J_regressor_h36m_correct.npy`` (Pose2Mesh), bone lengths left/right averaged. Genders:
'neutral' (SMPL_NEUTRAL) or 'mix' (half SMPL_MALE, half SMPL_FEMALE); blapose adds 'male' and
'female'.

The SMPL files are licensed and must be obtained by the user (https://smpl.is.tue.mpg.de,
version 1.1.0 for Python 2.7, renamed as below); they are read with blapose's restricted
unpickler (``smpl_pickle``) and handed to ``smplx.SMPL`` as arrays, so smplx never unpickles.

Layout (upstream README)::

    <body-model-dir>/J_regressor_h36m_correct.npy          (17, 6890) float
    <body-model-dir>/body_models/smpl/SMPL_NEUTRAL.pkl
    <body-model-dir>/body_models/smpl/SMPL_MALE.pkl
    <body-model-dir>/body_models/smpl/SMPL_FEMALE.pkl

Glossary: N bodies, V vertices, J joints (17), B bones (16). Meters, SMPL model frame.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...skeleton import H36M
from .smpl_pickle import load_smpl_pickle

INSTALL_HINT = "pip install 'blapose[smpl]'"
DEFAULT_BODY_MODEL_DIR = Path("data") / "bone_length"
REGRESSOR_NAME = "J_regressor_h36m_correct.npy"
NUM_BETAS = 10
GENDERS = ("neutral", "mix", "male", "female")
_SMPL_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights", "f")


def smpl_model_path(body_model_dir: str | Path, gender: str) -> Path:
    """``<dir>/body_models/smpl/SMPL_<GENDER>.pkl`` for gender neutral, male or female."""
    return Path(body_model_dir) / "body_models" / "smpl" / f"SMPL_{gender.upper()}.pkl"


def regressor_path(body_model_dir: str | Path) -> Path:
    return Path(body_model_dir) / REGRESSOR_NAME


def required_files(body_model_dir: str | Path, gender: str) -> list[Path]:
    """The files SMPL generation with ``gender`` reads."""
    genders = ("male", "female") if gender == "mix" else (gender,)
    return [smpl_model_path(body_model_dir, g) for g in genders] + [regressor_path(body_model_dir)]


def check_smpl_setup(body_model_dir: str | Path, gender: str) -> None:
    """Raise ``InputError`` (one line) naming missing files or the missing smplx package."""
    if gender not in GENDERS:
        raise InputError(f"unknown gender '{gender}' for SMPL, expected one of {', '.join(GENDERS)}")
    missing = [str(path) for path in required_files(body_model_dir, gender) if not path.is_file()]
    if missing:
        raise InputError(
            f"SMPL files missing: {', '.join(missing)}; get SMPL 1.1.0 for Python 2.7 from "
            "https://smpl.is.tue.mpg.de (rename basicmodel_{neutral,m,f}_lbs_10_207_0_v1.1.0.pkl to "
            "SMPL_{NEUTRAL,MALE,FEMALE}.pkl) and J_regressor_h36m_correct.npy from Pose2Mesh "
            "(github.com/hongsukchoi/Pose2Mesh_RELEASE, data/Human36M)")
    if importlib.util.find_spec("smplx") is None:
        raise InputError(f"the smplx package is not installed; install it with: {INSTALL_HINT}")


def load_h36m_regressor(path: str | Path, num_vertices: int) -> np.ndarray:
    """Read ``J_regressor_h36m_correct.npy`` -> (17, V) float64 (no pickles are loaded)."""
    try:
        regressor = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: not a readable .npy array ({error})") from None
    if regressor.shape != (H36M.num_joints, num_vertices):
        raise InputError(f"{path}: shape {regressor.shape}, expected ({H36M.num_joints}, {num_vertices}) "
                         "to match the SMPL model")
    return np.asarray(regressor, dtype=np.float64)


def load_smpl_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Read an SMPL pickle and check the arrays smplx needs; return them as plain numpy arrays."""
    content = load_smpl_pickle(path)
    missing = [key for key in _SMPL_KEYS if key not in content]
    if missing:
        raise InputError(f"{path}: not an SMPL model file, keys {missing} missing")
    arrays = {key: np.asarray(content[key]) for key in _SMPL_KEYS}
    vertices = arrays["v_template"].shape[0]
    joints = arrays["kintree_table"].shape[-1]
    expected = {
        "v_template": (vertices, 3), "J_regressor": (joints, vertices), "weights": (vertices, joints),
        "kintree_table": (2, joints),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise InputError(f"{path}: '{key}' has shape {arrays[key].shape}, expected {shape}")
    shapedirs = arrays["shapedirs"]
    if shapedirs.ndim != 3 or shapedirs.shape[:2] != (vertices, 3) or shapedirs.shape[2] < NUM_BETAS:
        raise InputError(f"{path}: 'shapedirs' has shape {shapedirs.shape}, expected ({vertices}, 3, >= {NUM_BETAS})")
    if arrays["posedirs"].ndim != 3 or arrays["posedirs"].shape[:2] != (vertices, 3):
        raise InputError(f"{path}: 'posedirs' has shape {arrays['posedirs'].shape}, expected ({vertices}, 3, P)")
    return arrays


@dataclass
class SmplBodies:
    """One SMPL model (smplx) and the Human3.6M joint regressor."""

    model: Any  # smplx.SMPL
    h36m_regressor: Any  # torch (17, V) float32

    def joints(self, betas: np.ndarray) -> np.ndarray:
        """Zero-pose Human3.6M joints (N, 17, 3) float64 meters for shape coefficients betas (N, 10).

        Vertices come from smplx's linear blend skinning (``smplx.lbs.lbs``) on the model's
        buffers; smplx's extra vertex keypoints (fixed SMPL vertex ids) are not needed.
        """
        import torch
        from smplx.lbs import lbs

        model = self.model
        betas = torch.as_tensor(betas, dtype=torch.float32)
        pose = betas.new_zeros(betas.shape[0], 3 * (model.NUM_BODY_JOINTS + 1))
        with torch.no_grad():
            vertices, _ = lbs(betas, pose, model.v_template, model.shapedirs, model.posedirs,
                              model.J_regressor, model.parents, model.lbs_weights)
            joints = torch.einsum("jv,nvd->njd", self.h36m_regressor, vertices)
        return joints.numpy().astype(np.float64)


def load_smpl_bodies(body_model_dir: str | Path, gender: str) -> SmplBodies:
    """Build the smplx SMPL model of ``gender`` (neutral, male, female) from the user's files."""
    import smplx
    import torch
    from smplx.utils import Struct

    path = smpl_model_path(body_model_dir, gender)
    arrays = load_smpl_arrays(path)
    regressor = load_h36m_regressor(regressor_path(body_model_dir), arrays["v_template"].shape[0])
    model = smplx.SMPL(model_path=str(path), data_struct=Struct(**arrays), gender=gender,
                       num_betas=NUM_BETAS, batch_size=1)
    model.eval()
    return SmplBodies(model=model, h36m_regressor=torch.as_tensor(regressor, dtype=torch.float32))


def iter_smpl_lengths(body_model_dir: str | Path, amount: int, gender: str, rng: np.random.Generator,
                      batch_size: int = 1024) -> Iterator[np.ndarray]:
    """Yield batches of left/right-averaged lengths (n, 16) float64 meters, ``amount`` rows in all.

    'mix' yields ``amount // 2`` male bodies, then the rest female (upstream: half each).
    """
    from ...bones import bone_lengths, symmetrize_lengths

    check_smpl_setup(body_model_dir, gender)
    plan = [("male", amount // 2), ("female", amount - amount // 2)] if gender == "mix" else [(gender, amount)]
    for part_gender, part_amount in plan:
        if part_amount == 0:
            continue
        bodies = load_smpl_bodies(body_model_dir, part_gender)
        for start in range(0, part_amount, batch_size):
            count = min(batch_size, part_amount - start)
            betas = rng.standard_normal((count, NUM_BETAS))
            yield symmetrize_lengths(bone_lengths(bodies.joints(betas)))
