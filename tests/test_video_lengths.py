"""The adult population of video bone lengths, the plausibility check, the fallback and --height."""

from __future__ import annotations

import numpy as np
import pytest

from blapose.bones import symmetrize_lengths
from blapose.skeleton import H36M
from blapose.video.lengths import LIMB_BONES, Population, choose_lengths, proportion_disagreements, ratios

THIGH, SHIN = H36M.joint_names.index("RKnee") - 1, H36M.joint_names.index("RFoot") - 1


@pytest.fixture(scope="module")
def population() -> Population:
    return Population.load()


def test_shipped_population_is_adults_in_meters(population):
    """5,000 bodies, left and right alike, 1.3-2.2 m tall, thighs 0.3-0.5 m."""
    assert population.lengths.shape == (5000, 16) and population.heights.shape == (5000,)
    np.testing.assert_allclose(population.lengths, symmetrize_lengths(population.lengths))
    assert population.heights.min() > 1.3 and population.heights.max() < 2.2
    assert population.lengths[:, THIGH].min() > 0.28 and population.lengths[:, THIGH].max() < 0.55


def test_height_and_typical_lengths_invert_each_other(population):
    """height_of(typical(h)) == h within 5 mm, and every bone grows with height."""
    heights = np.array([1.55, 1.70, 1.85])
    np.testing.assert_allclose(population.height_of(population.typical(heights)), heights, atol=5e-3)
    assert (np.diff(population.typical(heights), axis=0)[:, list(LIMB_BONES)] > 0).all()


def test_population_bodies_pass_the_check(population):
    """Held-out bodies of the same population are accepted (at most 2 % refused)."""
    refused = np.mean([bool(population.problems(lengths)) for lengths in population.lengths[::10]])
    assert refused <= 0.02


def test_check_refuses_long_thighs_and_bad_ratios(population):
    """Thighs 30 % too long, or a thigh/shin ratio of 1.3, are named as implausible."""
    typical = population.typical(1.75)
    long_thighs = typical.copy()
    long_thighs[[THIGH, THIGH + 3]] *= 1.3
    assert any("thigh / shin" in problem or "RKnee" in problem for problem in population.problems(long_thighs))
    short_shins = typical.copy()
    short_shins[[SHIN, SHIN + 3]] = typical[THIGH] / 1.3
    assert any("thigh / shin" in problem for problem in population.problems(short_shins))
    assert population.problems(typical) == []


def test_implausible_prediction_is_replaced_by_the_videos_own_lengths(population):
    """A prediction with 30 % long thighs gives way to the lifter's own lengths, moved into range, with a note."""
    own = population.typical(1.65)
    wrong = population.typical(1.80)
    wrong[[THIGH, THIGH + 3]] *= 1.3
    choice = choose_lengths(wrong, own, population=population)
    assert choice.scale_source == "fallback" and "implausible" in choice.note
    np.testing.assert_allclose(choice.lengths, own, rtol=2e-3)
    assert population.problems(choice.lengths) == []


def test_plausible_prediction_is_kept(population):
    """A plausible prediction that agrees with the lifter's proportions is used as it is."""
    predicted = population.typical(1.72)
    choice = choose_lengths(predicted, predicted * 1.1, population=population)
    assert choice.scale_source == "model" and choice.note == ""
    np.testing.assert_allclose(choice.lengths, predicted)


def test_height_sets_the_size_and_keeps_the_proportions(population):
    """With a height the lengths scale to it; their ratios stay the prediction's."""
    predicted = population.lengths[7]
    for height in (1.60, 1.90):
        choice = choose_lengths(predicted, predicted, height=height, population=population)
        assert choice.scale_source == "height"
        assert float(population.height_of(choice.lengths)) == pytest.approx(height, abs=1e-6)
        np.testing.assert_allclose(choice.lengths / choice.lengths[THIGH], predicted / predicted[THIGH], rtol=1e-9)


def test_disagreement_with_the_lifter_names_the_bone(population):
    """A forearm half as long relative to the body as in the lifter's poses is named."""
    own = population.typical(1.7)
    predicted = own.copy()
    predicted[H36M.joint_names.index("RWrist") - 1] *= 0.5
    assert any(problem.startswith("RWrist") for problem in proportion_disagreements(predicted, own))
    assert proportion_disagreements(own * 1.2, own) == []


def test_ratios_of_a_body(population):
    """ratios() gives thigh/shin, upper arm/forearm and arm/leg of a lengths vector."""
    lengths = population.typical(1.7)
    values = ratios(lengths)
    assert values[0] == pytest.approx(lengths[THIGH] / lengths[SHIN])
    assert values.shape == (3,)
