"""Tests of the VideoPose3D temporal model in its two forms and of VideoPose3D checkpoint loading."""

import argparse

import numpy as np
import pytest
import torch

from blapose.cli.types import int_list
from blapose.errors import InputError
from blapose.models.temporal import (
    SingleFrameTemporalModel,
    TemporalModel,
    architecture_from_state_dict,
    convert_form,
    load_temporal_state,
    receptive_field,
)
from blapose.train.pose.inputs import filter_widths

WIDTHS = (3, 3, 3)
CHANNELS = 32


def videopose3d_state_dict(filter_widths, channels, generator, with_batch_counts=True):
    """A state dict spelled with VideoPose3D's parameter names (common/model.py), random values."""
    def normal(*shape):
        return torch.randn(*shape, generator=generator) * 0.2

    def batch_norm(prefix):
        entries = {f"{prefix}.weight": 1 + normal(channels), f"{prefix}.bias": normal(channels),
                   f"{prefix}.running_mean": normal(channels), f"{prefix}.running_var": 0.5 + normal(channels).abs()}
        if with_batch_counts:
            entries[f"{prefix}.num_batches_tracked"] = torch.tensor(100)
        return entries

    state = {"expand_conv.weight": normal(channels, 34, filter_widths[0]), **batch_norm("expand_bn")}
    for block, width in enumerate(filter_widths[1:]):
        state[f"layers_conv.{2 * block}.weight"] = normal(channels, channels, width) / channels ** 0.5
        state[f"layers_conv.{2 * block + 1}.weight"] = normal(channels, channels, 1) / channels ** 0.5
        state.update(batch_norm(f"layers_bn.{2 * block}"))
        state.update(batch_norm(f"layers_bn.{2 * block + 1}"))
    state["shrink.weight"] = normal(51, channels, 1)
    state["shrink.bias"] = normal(51)
    return state


def test_receptive_field_of_five_blocks_is_243():
    """-arc 3,3,3,3,3 sees 243 frames, in the helper and in both model forms."""
    widths = int_list("3,3,3,3,3")
    assert receptive_field(widths) == 243
    assert TemporalModel(widths, channels=8).receptive_field() == 243
    assert SingleFrameTemporalModel(widths, channels=8).receptive_field() == 243


def test_architecture_flag_rejects_even_widths():
    """Even or non-numeric -arc filter widths are a user error."""
    with pytest.raises(InputError):
        filter_widths(int_list("3,4,3"))
    with pytest.raises(argparse.ArgumentTypeError):
        int_list("3,x")


@pytest.mark.parametrize("with_batch_counts", [True, False])
def test_videopose3d_state_dict_loads_into_both_forms_with_identical_outputs(with_batch_counts):
    """A VideoPose3D-named state dict loads strictly into both forms, which then predict the same poses."""
    generator = torch.Generator().manual_seed(0)
    state = videopose3d_state_dict(WIDTHS, CHANNELS, generator, with_batch_counts)
    whole = TemporalModel(WIDTHS, channels=CHANNELS)
    single = SingleFrameTemporalModel(WIDTHS, channels=CHANNELS)
    load_temporal_state(whole, state)
    load_temporal_state(single, state)
    whole.eval(), single.eval()
    field = receptive_field(WIDTHS)
    keypoints = torch.randn(2, field + 9, 17, 2, generator=generator)
    with torch.no_grad():
        sequence_output = whole(keypoints)
        window_outputs = torch.cat([single(keypoints[:, t:t + field]) for t in range(10)], dim=1)
    assert sequence_output.shape == (2, 10, 17, 3)
    torch.testing.assert_close(window_outputs, sequence_output, rtol=1e-4, atol=1e-5)
    assert sequence_output.abs().max() > 0.01


def test_checkpoint_of_one_form_loads_into_the_other():
    """State dicts of the two forms have the same names and shapes, so each form's checkpoint fits the other."""
    single = SingleFrameTemporalModel(WIDTHS, channels=CHANNELS)
    whole = TemporalModel(WIDTHS, channels=CHANNELS)
    whole.load_state_dict(single.state_dict(), strict=True)
    single.load_state_dict(whole.state_dict(), strict=True)
    converted = convert_form(single, single_frame=False)
    assert isinstance(converted, TemporalModel)
    for name, value in single.state_dict().items():
        torch.testing.assert_close(converted.state_dict()[name], value)


def test_architecture_is_read_back_from_a_state_dict():
    """Filter widths and channels come back from the shapes of a state dict."""
    state = TemporalModel((3, 5, 3), channels=16).state_dict()
    found = architecture_from_state_dict(state)
    assert found["filter_widths"] == (3, 5, 3) and found["channels"] == 16 and found["num_joints_out"] == 17


def test_mismatched_architecture_is_a_one_line_user_error():
    """Loading a 3,3,3 checkpoint into a 3,3 model names both architectures instead of a torch traceback."""
    state = TemporalModel(WIDTHS, channels=CHANNELS).state_dict()
    with pytest.raises(InputError, match="-arc 3,3,3"):
        load_temporal_state(TemporalModel((3, 3), channels=CHANNELS), state, "pretrained.bin")


def test_single_frame_form_rejects_windows_of_the_wrong_length():
    """The strided form refuses inputs that are not whole receptive fields."""
    model = SingleFrameTemporalModel(WIDTHS, channels=8)
    with pytest.raises(ValueError, match="27"):
        model(torch.zeros(1, 26, 17, 2))


def test_whole_sequence_form_predicts_one_pose_per_full_window():
    """The whole-sequence form returns (B, T - R + 1, 17, 3): one pose per complete R-frame window."""
    model = TemporalModel(WIDTHS, channels=8).eval()
    output = model(torch.from_numpy(np.zeros((3, 40, 17, 2), np.float32)))
    assert output.shape == (3, 40 - 27 + 1, 17, 3)
