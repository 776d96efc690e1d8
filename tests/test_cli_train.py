"""Tests of the ``blapose train``, ``evaluate`` and ``predict`` flags (blapose.cli) and their mapping onto configs."""

import shlex

import pytest

from blapose.cli import build_parser
from blapose.train import length
from blapose.train.length.config import with_settings
from blapose.train.pose import inputs as pose_args

#: Commands of the README's lifting section (the upstream ones, with blapose's command names).
SEED_COMMANDS = (
    "train -t lift -e 80 -b 1024 -lr 0.001 -arc 3,3,3,3,3",
    "train -e 40 -b 1024 -lr 4e-5 -arc 3,3,3,3,3 -t mix -bi --length_model biGRU_all.bin "
    "--direction_model pretrained_h36m_cpn.bin --bone_length_list data/lengths_list.npz",
    "evaluate -arc 3,3,3,3,3 -t mix -bi --mix_model videopose_finetuned.bin --json report.json",
    "evaluate -arc 3,3,3,3,3 -t lift --direction_model pretrained_h36m_cpn.bin",
    "predict -arc 3,3,3,3,3 -t lift --direction_model pretrained_h36m_cpn.bin -o 3D_prediction/VideoPose3D",
)


def _options(command):
    """{option string: (dest, default)} of one subcommand's parser."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    return {option: (action.dest, action.default) for action in subparsers.choices[command]._actions
            for option in action.option_strings}


@pytest.mark.parametrize("task, schedule_of_args, expected", [
    ("lift", pose_args.config_from_args, 1e-3),
    ("mix", pose_args.config_from_args, 4e-5),
    ("length", lambda args: length.config_from_args(args).schedule, 1e-4),
])
def test_unset_learning_rate_takes_the_tasks_default(task, schedule_of_args, expected):
    """Without -lr, -t lift trains at 1e-3 (VideoPose3D), -t mix at 4e-5 (BLAPose README), -t length at 1e-4."""
    args = build_parser().parse_args(["train", "-t", task])
    assert args.learning_rate is None
    assert schedule_of_args(args).learning_rate == expected


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_evaluate_and_predict_share_the_pose_flags_of_train(command):
    """Every flag of evaluate/predict but -t and the outputs is train's flag, with the same destination and default."""
    train, other = _options("train"), _options(command)
    own = {"-h", "--help", "-t", "--task", "--json", "--csv", "-o", "--output"}
    shared = set(other) - own
    assert {"-k", "-ste", "--data-dir", "-arc", "-ch", "-bi", "-bld", "-bll", "-no-tta", "--mix_model"} <= shared
    assert {option: other[option] for option in shared} == {option: train[option] for option in shared}
    assert other["-t"] == ("task", "mix") and train["-t"] == ("task", "")


@pytest.mark.parametrize("command", SEED_COMMANDS)
def test_seed_commands_parse(command):
    """The README's lifting and fine-tuning commands still parse, with their values where they belong."""
    args = build_parser().parse_args(shlex.split(command))
    assert args.architecture == (3, 3, 3, 3, 3) and args.task in ("lift", "mix")
    assert args.test_time_augmentation is True and args.keypoints == "cpn_ft_h36m_dbb"


def test_length_recipes_set_the_model_but_keep_the_data_flags():
    """--recipe cpu fixes model, schedule and augmentation; the data, -c, -bla and seed flags pass through; upstream changes nothing."""
    flags = ["train", "-t", "length", "--data-dir", "d", "-c", "ck", "-bla", "t.npz", "--seed", "3", "-e", "2"]
    upstream = length.config_from_args(build_parser().parse_args(flags))
    assert upstream.recipe == "upstream" and upstream.schedule.epochs == 2 and not upstream.augmentation.floor_augmentation
    assert upstream.schedule.chunk_len == 512 and upstream.schedule.learning_rate == 1e-4
    assert upstream.model.temporal == "gru"
    cpu = length.config_from_args(build_parser().parse_args(flags + ["--recipe", "cpu"]))
    assert (cpu.data.data_dir, cpu.run.checkpoint_dir, cpu.augmentation.bone_length_aug, cpu.schedule.seed) == \
        ("d", "ck", "t.npz", 3)
    assert cpu.recipe == "cpu" and cpu.augmentation.floor_augmentation and cpu.model.log_output
    assert with_settings(cpu, **length.RECIPES["cpu"]) == cpu  # every setting of the recipe is already in place


def test_mocap_flags_map_to_the_config_and_name_the_default_holdout():
    """--mocap-share reaches the config (0.3 when unset) and --help names the default held-out clips."""
    from blapose.data.mocap import DEFAULT_HOLDOUT

    flags = ["train", "-t", "lift", "--augment", "wild"]
    assert pose_args.config_from_args(build_parser().parse_args(flags)).mocap_share == 0.3
    assert pose_args.config_from_args(build_parser().parse_args(flags + ["--mocap-share", "0.1"])).mocap_share == 0.1
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    holdout = next(a for a in subparsers.choices["train"]._actions if "--mocap-holdout" in a.option_strings)
    assert f"default: {','.join(DEFAULT_HOLDOUT)})" in holdout.help
    args = build_parser().parse_args(flags + ["--mocap", "pybullet", "--mocap-holdout", "kick,none"])
    command = pose_args.command_from_args(args, "train")
    assert (command.mocap, command.mocap_holdout) == ("pybullet", ("kick",))
    assert pose_args.command_from_args(build_parser().parse_args(flags), "train").mocap == ""


@pytest.mark.parametrize("flags", [["-t", "lift"], ["-t", "mix", "--augment", "wild"],
                                   ["-t", "lift", "--augment", "wild", "--evaluate"]])
def test_mocap_is_refused_outside_wild_lift_training(flags):
    """--mocap needs -t lift --augment wild: anything else stops with one InputError (about --mocap, or
    --augment when that is already out of place)."""
    from blapose.cli.train import check_arguments
    from blapose.errors import InputError

    with pytest.raises(InputError, match="--mocap|--augment"):
        check_arguments(build_parser().parse_args(["train", *flags, "--mocap", "pybullet"]))
