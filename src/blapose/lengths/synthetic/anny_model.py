"""Bone lengths of random adult bodies from the Anny body model (NAVER LABS, Apache-2.0).

Anny (``pip install anny``) is a MakeHuman-based body model whose shape is driven by six
phenotype parameters in [0, 1] (gender 0 = male .. 1 = female, age, muscle, weight, height,
proportions) and which ships a shape distribution calibrated on WHO growth data
(``anny.shape_distribution.SimpleShapeDistribution``). Bodies are drawn from that distribution,
restricted to adults (morphological age 18 to 90 years; Anny's own range is 0 to 90), and
optionally to one half of the gender axis. Sampling uses Anny's calibrated Beta parameters with
a ``numpy.random.Generator``, so a seed reproduces the bodies.

Bone lengths do not depend on the pose, so joints are read from the rest pose (Anny's model
frame, z up, meters): bone heads of Anny's skeleton are linear in the blendshape coefficients,
and the ear keypoints come from Anny's COCO keypoint regressor applied to the rest vertices.

Human3.6M joint <- Anny source (anatomically nearest points; Human3.6M's motion-capture joints
differ from them by a roughly constant offset per bone, which the alignment step removes, as
upstream's alignment does for SMPL):

| H36M joint | Anny source | why |
| --- | --- | --- |
| Hip (root) | midpoint of ``upperleg01.L/R`` heads | Human3.6M's root sits between the hips |
| RHip / LHip | ``upperleg01.R/L`` head | hip joint centres |
| RKnee / LKnee | ``lowerleg01.R/L`` head | knee joint centres |
| RFoot / LFoot | ``foot.R/L`` head | ankle joint centres |
| Spine | ``spine02`` head | thoracolumbar level, about halfway from hips to thorax as in Human3.6M |
| Thorax | midpoint of ``clavicle.L/R`` heads | the two sternoclavicular joints: top of the sternum, base of the neck |
| Neck/Nose | ``neck02`` head | mid neck, ~0.11 m above the thorax as in Human3.6M |
| Head | midpoint of the ``left_ear``/``right_ear`` keypoints | centre of the head at ear level |
| L/RShoulder | ``upperarm01.L/R`` head | glenohumeral joints |
| L/RElbow | ``lowerarm01.L/R`` head | elbow joint centres |
| L/RWrist | ``wrist.L/R`` head | wrist joint centres |

``joints="mediapipe"`` places the 17 joints as ``blapose video`` places them on MediaPipe's
landmarks instead (``blapose.video.landmarks.H36M_FROM_MEDIAPIPE``), applied to Anny's COCO
keypoints, which carry the same names and the same (image-annotation) definition that
MediaPipe's BlazePose topology extends: hips, knees and ankles where COCO annotators mark them,
the pelvis at mid-hips, the thorax at mid-shoulders, Neck/Nose and Head from the nose, eyes and
ears. Those are the lengths a video's keypoints have; their hips are about 0.2 m apart, against
0.26 m for Human3.6M's motion-capture hip joints. ``AnnyBodies.heights`` gives each body's
standing height (top of the head to the soles, rest pose).

The first use builds Anny's model data (one to three minutes on two cores, several hundred MB of
intermediate files in a temporary folder); blapose keeps only the compact file Anny loads
afterwards (~50 MB) in its user cache folder (``blapose.lengths.synthetic.cache.user_cache_dir() / "anny"``),
moved there whole once the build has finished.

Glossary: N bodies, J joints (17), B bones (16).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...skeleton import H36M
from .cache import folder_size_bytes, user_cache_dir

INSTALL_HINT = "pip install 'blapose[anny]'"

#: Adult part of Anny's morphological age range, years (Anny samples 0 to 90).
ADULT_AGE_YEARS = (18.0, 90.0)

#: Gender choices -> interval of Anny's gender parameter (0 male .. 1 female) drawn from.
#: Anny's calibrated distribution uses its male statistics for gender <= 0.5.
GENDER_INTERVALS = {
    "neutral": (0.0, 1.0),
    "male": (0.0, 0.5),
    "female": (0.5, 1.0),
}

#: H36M joint -> Anny bone heads averaged to place it (see the module docstring).
BONE_HEAD_SOURCES: dict[str, tuple[str, ...]] = {
    "Hip": ("upperleg01.L", "upperleg01.R"),
    "RHip": ("upperleg01.R",),
    "RKnee": ("lowerleg01.R",),
    "RFoot": ("foot.R",),
    "LHip": ("upperleg01.L",),
    "LKnee": ("lowerleg01.L",),
    "LFoot": ("foot.L",),
    "Spine": ("spine02",),
    "Thorax": ("clavicle.L", "clavicle.R"),
    "Neck/Nose": ("neck02",),
    "LShoulder": ("upperarm01.L",),
    "LElbow": ("lowerarm01.L",),
    "LWrist": ("wrist.L",),
    "RShoulder": ("upperarm01.R",),
    "RElbow": ("lowerarm01.R",),
    "RWrist": ("wrist.R",),
}
#: H36M joint -> Anny COCO keypoints averaged to place it.
KEYPOINT_SOURCES: dict[str, tuple[str, ...]] = {"Head": ("left_ear", "right_ear")}
#: Joint definitions ``load_anny_bodies`` can place: Human3.6M's (bone heads) or a video's (MediaPipe).
JOINT_DEFINITIONS = ("h36m", "mediapipe")
#: Template vertices searched for the top of the head and for the soles (``AnnyBodies.heights``).
HEIGHT_CANDIDATES = 64

# Anny caches what its builder functions return under their names; only the compact model data
# ("build_compact_model_data_*") is read once it exists, the intermediate files are not kept.
_COMPACT_CACHE_PREFIX = "build_compact_model_data_"


def anny_available() -> bool:
    """True when the ``anny`` package and its ``warp-lang`` dependency can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("anny", "warp"))


def require_anny() -> None:
    """Raise ``InputError`` with the install command when Anny is missing."""
    if not anny_available():
        raise InputError(f"the Anny body model is not installed; install it with: {INSTALL_HINT}")


def anny_cache_dir() -> Path:
    """Folder that holds blapose's copy of Anny's compact model data."""
    return user_cache_dir() / "anny"


def anny_is_built(cache_dir: Path | None = None) -> bool:
    """True when a compact Anny model is cached (loading then takes about a second)."""
    cache_dir = anny_cache_dir() if cache_dir is None else Path(cache_dir)
    return cache_dir.is_dir() and any(cache_dir.rglob(f"{_COMPACT_CACHE_PREFIX}*.safetensors"))


def _build_anny_model(cache_dir: Path) -> Any:
    """Construct ``anny.Anny()`` with its cache in ``cache_dir`` (Anny's global setting restored after)."""
    import anny
    import anny.paths

    previous_cache = anny.paths.get_anny_cache_path()
    anny.paths.set_anny_cache_path(cache_dir)
    try:
        return anny.Anny()
    finally:
        anny.paths.set_anny_cache_path(previous_cache)


def _build_into_cache(cache_dir: Path) -> Any:
    """First build: build in a temporary folder beside ``cache_dir``, then move only the compact model
    data into ``cache_dir``. An interrupted build, or two at once, never leaves a partial cache file."""
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{cache_dir.name}-build-", dir=cache_dir.parent) as folder:
        build_dir = Path(folder)
        model = _build_anny_model(build_dir)
        for built in build_dir.rglob(f"{_COMPACT_CACHE_PREFIX}*.safetensors"):
            target = cache_dir / built.relative_to(build_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(built, target)
    return model


@dataclass
class AnnyBodies:
    """An Anny model prepared for fast rest-pose joint evaluation.

    Bone heads and regressed keypoints are linear in Anny's blendshape coefficients, so the
    points that place the 17 Human3.6M joints are kept as a template (P, 3) plus blendshapes
    (A, P, 3); a batch of bodies then costs one small matrix product (no mesh, no skinning).
    """

    model: Any  # anny.Anny
    shape_distribution: Any  # anny.shape_distribution.SimpleShapeDistribution
    point_template: Any  # torch (P, 3) float64, meters: source points of the template body
    point_blendshapes: Any  # torch (A, P, 3) float64, meters per unit coefficient
    joint_mixing: np.ndarray  # (J, P) float64; joints = joint_mixing @ points
    height_template: Any = None  # torch (2, K, 3): highest and lowest template vertices
    height_blendshapes: Any = None  # torch (A, 2, K, 3)

    def phenotype_matrix(self, phenotypes: dict[str, np.ndarray]) -> Any:
        """Phenotype dict of (N,) arrays -> torch (N, P) in the model's label order."""
        import torch

        columns = [torch.as_tensor(phenotypes[label], dtype=self.model.dtype)
                   for label in self.model.phenotype_labels]
        return torch.stack(columns, dim=1)

    def blendshape_coefficients(self, phenotypes: dict[str, np.ndarray]) -> Any:
        """Anny's blendshape coefficients (N, A) for a batch of phenotypes."""
        import torch

        values = self.phenotype_matrix(phenotypes)
        count = values.shape[0]
        local_changes = values.new_zeros(count, len(self.model.local_change_labels))
        facial_actions = values.new_zeros(count, len(self.model.facial_action_labels))
        with torch.no_grad():
            # Anny (0.6) computes these inside forward(); calling the step alone skips skinning.
            return self.model._get_phenotype_blendshape_coefficients(values, local_changes, facial_actions)

    def joints(self, phenotypes: dict[str, np.ndarray]) -> np.ndarray:
        """Rest-pose Human3.6M joints (N, 17, 3) float64, meters, Anny model frame (z up)."""
        import torch

        coefficients = self.blendshape_coefficients(phenotypes)
        with torch.no_grad():
            points = self.point_template + torch.einsum("na,apd->npd", coefficients, self.point_blendshapes)
        return np.einsum("jp,npd->njd", self.joint_mixing, points.numpy())

    def heights(self, phenotypes: dict[str, np.ndarray]) -> np.ndarray:
        """Standing heights (N,) float64, meters: highest minus lowest vertex of the rest pose."""
        import torch

        coefficients = self.blendshape_coefficients(phenotypes)
        with torch.no_grad():
            points = self.height_template + torch.einsum("na,askd->nskd", coefficients, self.height_blendshapes)
        return (points[:, 0, :, 2].amax(dim=1) - points[:, 1, :, 2].amin(dim=1)).numpy()

    def sample_phenotypes(self, count: int, gender: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw ``count`` adult phenotypes (dict of (N,) float64 in [0, 1]) from Anny's distribution.

        Morphological age is uniform over ``ADULT_AGE_YEARS``; gender is uniform over
        ``GENDER_INTERVALS[gender]``; height, weight, muscle and proportions follow Anny's
        age-conditional Beta distributions of the matching sex.
        """
        import torch

        if gender not in GENDER_INTERVALS:
            raise InputError(f"unknown gender '{gender}' for Anny, expected one of {sorted(GENDER_INTERVALS)}")
        distribution = self.shape_distribution
        morphological_age = rng.uniform(*ADULT_AGE_YEARS, size=count)
        with torch.no_grad():
            age = distribution.morphological_age_mapping.morphological_to_anny_age(
                torch.as_tensor(morphological_age, dtype=self.model.dtype))
        low, high = GENDER_INTERVALS[gender]
        sex_value = rng.uniform(low, high, size=count)
        male = sex_value <= 0.5
        phenotypes = {"age": age.numpy().astype(np.float64), "gender": sex_value}
        for trait in ("height", "weight", "muscle", "proportions"):
            parameters = []
            for sex in ("boys", "girls"):
                conditional = getattr(distribution, f"{sex}_conditional_{trait}_distribution")
                with torch.no_grad():
                    alpha, beta = conditional.get_distribution_params(age)
                parameters.append((alpha.numpy(), beta.numpy()))
            alpha = np.where(male, parameters[0][0], parameters[1][0])
            beta = np.where(male, parameters[0][1], parameters[1][1])
            phenotypes[trait] = rng.beta(alpha, beta)
        missing = set(self.model.phenotype_labels) - set(phenotypes)
        if missing:
            raise RuntimeError(f"Anny model expects phenotypes {sorted(missing)} that blapose does not sample")
        return phenotypes


def _quiet_warp() -> None:
    """Keep warp-lang's start-up banner and CUDA notices off the terminal (blapose runs it on CPU)."""
    import warp

    if hasattr(warp, "LOG_ERROR"):  # warp-lang >= 1.12
        warp.config.log_level = max(warp.config.log_level, warp.LOG_ERROR)
    else:
        warp.config.quiet = True


def load_anny_bodies(cache_dir: Path | None = None, log: Callable[[str], None] = print,
                     joints: str = "h36m") -> AnnyBodies:
    """Build (first use, 1-3 min) or load (about a second) the Anny model; return ``AnnyBodies``.

    joints: 'h36m' (Human3.6M's joint centres) or 'mediapipe' (a video's keypoints; see the module
    docstring). ``log`` receives one-line messages about the first build. Raises ``InputError``
    when Anny is not installed.
    """
    if joints not in JOINT_DEFINITIONS:
        raise InputError(f"unknown joint definition {joints!r}, expected one of {', '.join(JOINT_DEFINITIONS)}")
    require_anny()
    _quiet_warp()
    import anny
    import torch
    from anny.shape_distribution import SimpleShapeDistribution

    cache_dir = anny_cache_dir() if cache_dir is None else Path(cache_dir)
    first_build = not anny_is_built(cache_dir)
    if first_build:
        log(f"Building the Anny body model once (1-3 minutes); it is cached in {cache_dir}")
    started = time.perf_counter()
    model = _build_into_cache(cache_dir) if first_build else _build_anny_model(cache_dir)
    if first_build:
        log(f"Anny body model ready in {time.perf_counter() - started:.0f} s "
            f"(cache {folder_size_bytes(cache_dir) / 2**20:.0f} MB)")
    model.eval()

    if joints == "mediapipe":
        from ...video.landmarks import H36M_FROM_MEDIAPIPE

        head_names, keypoint_sources = [], {joint: tuple(weights) for joint, weights in H36M_FROM_MEDIAPIPE.items()}
        weights_of = H36M_FROM_MEDIAPIPE
    else:
        head_names, keypoint_sources, weights_of = sorted({n for ns in BONE_HEAD_SOURCES.values() for n in ns}), \
            KEYPOINT_SOURCES, None
    labels = list(model.bone_labels)
    missing = [name for name in head_names if name not in labels]
    if missing:
        raise RuntimeError(f"this Anny version has no bones {missing}; blapose expects Anny 0.6")
    head_index = [labels.index(name) for name in head_names]
    keypoint_names = sorted({name for names in keypoint_sources.values() for name in names})
    regressor = anny.KeypointsRegressor.coco(model, labels=keypoint_names)

    with torch.no_grad():
        weights = regressor.regression_weights.to(model.dtype)  # (K, V), rows sum to 1
        point_template = torch.cat([model.template_bone_heads[head_index],
                                    weights @ model.template_vertices])
        point_blendshapes = torch.cat([model.bone_heads_blendshapes[:, head_index],
                                       torch.einsum("kv,avd->akd", weights, model.blendshapes)], dim=1)
        heights = model.template_vertices[:, 2]
        extremes = torch.stack([torch.topk(heights, HEIGHT_CANDIDATES).indices,
                                torch.topk(-heights, HEIGHT_CANDIDATES).indices])
        height_template = model.template_vertices[extremes]
        height_blendshapes = model.blendshapes[:, extremes]
    joint_mixing = np.concatenate([_mixing_matrix(BONE_HEAD_SOURCES, head_names) if head_names else
                                   np.zeros((H36M.num_joints, 0)),
                                   _mixing_matrix(keypoint_sources, keypoint_names, weights_of)], axis=1)
    return AnnyBodies(model=model, shape_distribution=SimpleShapeDistribution(model),
                      point_template=point_template, point_blendshapes=point_blendshapes,
                      joint_mixing=joint_mixing, height_template=height_template,
                      height_blendshapes=height_blendshapes)


def _mixing_matrix(sources: dict[str, tuple[str, ...]], names: list[str],
                   weights: dict[str, dict[str, float]] | None = None) -> np.ndarray:
    """(J, len(names)) matrix placing each H36M joint listed in ``sources`` at the mean of its source
    points, or at their ``weights[joint][point]``-weighted mean."""
    matrix = np.zeros((H36M.num_joints, len(names)))
    for joint, parts in sources.items():
        row = H36M.joint_names.index(joint)
        for part in parts:
            matrix[row, names.index(part)] = 1.0 / len(parts) if weights is None else weights[joint][part]
    return matrix


def iter_anny_lengths(bodies: AnnyBodies, amount: int, gender: str, rng: np.random.Generator,
                      batch_size: int = 4096, with_heights: bool = False) -> Iterator[np.ndarray]:
    """Yield batches of left/right-averaged bone lengths (n, 16) float64 meters, ``amount`` rows in all;
    ``with_heights``: (n, 17) rows, the bodies' standing heights (meters) in the last column.

    ``gender`` is 'neutral' (Anny's whole population), 'male', 'female', or 'mix' (exactly half
    male, then half female, as upstream's SMPL 'mix').
    """
    from ...bones import bone_lengths, symmetrize_lengths

    if gender == "mix":
        plan = [("male", amount // 2), ("female", amount - amount // 2)]
    else:
        plan = [(gender, amount)]
    for part_gender, part_amount in plan:
        for start in range(0, part_amount, batch_size):
            count = min(batch_size, part_amount - start)
            phenotypes = bodies.sample_phenotypes(count, part_gender, rng)
            lengths = symmetrize_lengths(bone_lengths(bodies.joints(phenotypes)))
            yield np.column_stack([lengths, bodies.heights(phenotypes)]) if with_heights else lengths
