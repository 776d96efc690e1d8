"""Bone lengths from anthropometric proportions, for when no body model is installed.

Each body gets a stature H and 10 independent proportion factors (one per left/right-averaged
bone); length = H * ratio * (1 + 0.04 * z), z ~ N(0, 1). Given the sex this is a multivariate
normal over the 16 lengths whose correlation comes from the shared stature; over both sexes it
is a mixture of two such normals.

Sources:
- Segment ratios of stature: Drillis & Contini (1966), as tabulated in D. A. Winter,
  "Biomechanics and Motor Control of Human Movement", 4th ed. (2009), Fig. 4.1: hip width
  0.191H, thigh 0.530H-0.285H, shank 0.285H-0.039H, shoulder level 0.818H, chin 0.870H,
  eye level 0.936H, shoulder width 0.259H, upper arm 0.186H, forearm 0.146H.
- Stature: US adults aged 20+, NHANES 2015-2018 (CDC FastStats, body measurements): men
  175.3 cm, women 161.3 cm; standard deviations of 7.6 and 7.1 cm are approximate.
- Assumptions of blapose (not from a source): the trunk from hip-joint level to shoulder level
  is split in two equal halves at Human3.6M's Spine joint; the Thorax-Neck/Nose bone runs from
  shoulder level to the chin and the Neck/Nose-Head bone from the chin to eye level; proportion
  factors vary by 4% (one standard deviation) independently per bone.

These joints do not match Human3.6M's motion-capture joints exactly; as for the body models,
align the lengths with the dataset (``blapose.lengths.synthetic.align``) before training on them.
"""

from __future__ import annotations

import numpy as np

from ...skeleton import H36M

#: Bone (by its end joint) -> length as a fraction of stature.
STATURE_RATIOS: dict[str, float] = {
    "RHip": 0.191 / 2, "RKnee": 0.530 - 0.285, "RFoot": 0.285 - 0.039,
    "LHip": 0.191 / 2, "LKnee": 0.530 - 0.285, "LFoot": 0.285 - 0.039,
    "Spine": (0.818 - 0.530) / 2, "Thorax": (0.818 - 0.530) / 2,
    "Neck/Nose": 0.870 - 0.818, "Head": 0.936 - 0.870,
    "LShoulder": 0.259 / 2, "LElbow": 0.186, "LWrist": 0.146,
    "RShoulder": 0.259 / 2, "RElbow": 0.186, "RWrist": 0.146,
}
#: (mean, standard deviation) of adult stature in meters.
STATURE_MALE = (1.753, 0.076)
STATURE_FEMALE = (1.613, 0.071)
#: Relative standard deviation of each bone's proportion factor.
PROPORTION_SPREAD = 0.04

DESCRIPTION = ("anthropometric fallback (Drillis & Contini segment ratios x NHANES adult stature, "
               "4% per-bone spread); install 'blapose[anny]' for body-model lengths")


def stature_ratios() -> np.ndarray:
    """(16,) float64 bone length / stature, bones in H36M order."""
    return np.array([STATURE_RATIOS[H36M.joint_names[child]] for child in H36M.bone_children])


def sample_fallback_lengths(amount: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``amount`` bodies (half men, half women, shuffled) -> lengths (amount, 16) float64 meters.

    Left and right bones of a body have equal lengths.
    """
    if amount < 1:
        raise ValueError(f"amount must be at least 1, got {amount}")
    male = rng.permutation(np.arange(amount) < amount // 2)
    mean = np.where(male, STATURE_MALE[0], STATURE_FEMALE[0])
    spread = np.where(male, STATURE_MALE[1], STATURE_FEMALE[1])
    stature = rng.normal(mean, spread)
    # One factor per symmetric pair: draw for every bone, then copy the left bone's onto the right.
    factors = 1.0 + PROPORTION_SPREAD * rng.standard_normal((amount, H36M.num_bones))
    for right, left in H36M.symmetric_bones:
        factors[:, right] = factors[:, left]
    return stature[:, None] * stature_ratios()[None, :] * factors
