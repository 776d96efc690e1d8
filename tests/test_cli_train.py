"""Tests of the ``blapose train`` flags (blapose.cli.train) and their mapping onto training configs."""

import pytest

from blapose.cli import build_parser
from blapose.train import length, pose_cli


@pytest.mark.parametrize("task, config_from_args, expected", [
    ("lift", pose_cli.config_from_args, 1e-3),
    ("mix", pose_cli.config_from_args, 4e-5),
    ("length", length.config_from_args, 1e-4),
])
def test_unset_learning_rate_takes_the_tasks_default(task, config_from_args, expected):
    """Without -lr, -t lift trains at 1e-3 (VideoPose3D), -t mix at 4e-5 (BLAPose README), -t length at 1e-4."""
    args = build_parser().parse_args(["train", "-t", task])
    assert args.learning_rate is None
    assert config_from_args(args).learning_rate == expected
