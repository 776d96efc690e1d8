"""Every option of every blapose command does something: it changes what the command plans to do, or is refused.

Each command module has ``plan(args)``: the objects the command builds from its flags (configs,
the files it will read and write, the keyword arguments of the library call), computed without
reading any file, and ``run`` works from that plan alone. So a flag that changes nothing leaves the
plan unchanged. Each option is set to a value other than its default on top of a few baseline
command lines (the modes of its command) and must change the plan in at least one of them; the
options blapose keeps only for upstream's command lines must be refused, in one line, in all.
"""

from __future__ import annotations

import argparse
import sys

import pytest

from blapose.cli import build_parser
from blapose.errors import InputError

#: The command lines (after the command's name) each option is tried on: one per mode of the command.
BASELINES: dict[str, list[list[str]]] = {
    "demo": [[]],
    "make-data": [[]],
    "prepare-h36m": [["--from-archive", "h36m.zip"], ["--from-source-cdf", "h36m"]],
    "synth-lengths": [[]],
    "download": [[]],
    "train": [["-t", "length"], ["-t", "lift"], ["-t", "lift", "--augment", "wild"],
              ["-t", "lift", "--augment", "wild", "--mocap", "pybullet"],
              ["-t", "mix", "--length_model", "l.bin", "--direction_model", "d.bin"],
              ["-t", "length", "--evaluate", "--length_model", "l.bin"],
              ["-t", "lift", "--evaluate", "--direction_model", "d.bin"],
              ["-t", "mix", "--evaluate", "--mix_model", "m.bin"]],
    "infer-lengths": [[], ["--pred", "prediction.pkl"]],
    "adjust": [[]],
    "evaluate": [["-t", "lift", "--direction_model", "d.bin"], ["-t", "mix", "--mix_model", "m.bin"],
                 ["-t", "mix", "--length_model", "l.bin", "--direction_model", "d.bin"]],
    "predict": [["-t", "lift", "--direction_model", "d.bin"], ["-t", "mix", "--mix_model", "m.bin"],
                ["-t", "mix", "--length_model", "l.bin", "--direction_model", "d.bin"]],
    "video": [["clip.mp4"], ["--keypoints", "keypoints.json"]],
    "render": [["--pred", "predictions.npz", "--key", "S9/Walking/0", "--out", "clip.mp4"],
               ["--pred", "prediction.pkl", "--key", "S9/Walking/0", "--out", "clip.mp4"]],
}

#: Values for options whose generic other value (see ``other_value``) would be refused as a bad value;
#: keyed by the option's name, or by (command, name) where commands give one name different meanings.
VALUES = {"--what": "data", "--key": "S11/Walking 1/2", "--architecture": "3,3,3", "--dropout": "0.5",
          "--device": "cpu", "--mocap-holdout": "walk", "--mocap-share": "0.5", "--person-box": "0,0,10,10",
          "--shard": "0/2", "--people": "2", ("video", "--size"): "640,480"}

#: Options kept so that upstream's command lines get a clear answer, refused as not supported.
UNSUPPORTED = {("train", "--render"), ("train", "--subset"), ("train", "--in-chans")}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _options() -> list[tuple[str, str]]:
    """(command, the option's longest name) for every option of every command, help excluded."""
    return [(command, max(action.option_strings, key=len)) for command, parser in _subparsers().items()
            for action in parser._actions
            if action.option_strings and not isinstance(action, argparse._HelpAction)]


def other_value(action: argparse.Action, name: str, command: str = "") -> list[str]:
    """Command-line words that give ``action`` a value other than its default."""
    if action.nargs == 0:
        return [name]
    if (command, name) in VALUES:
        return [name, VALUES[command, name]]
    if name in VALUES:
        return [name, VALUES[name]]
    if action.choices:
        return [name, str(next(choice for choice in action.choices if choice != action.default))]
    if action.type in (int, float):
        return [name, str((action.default or 0) + (1 if action.type is int else 1.5))]
    return [name, f"{action.default or 'x'}_changed"]


def outcome(command: str, words: list[str]) -> tuple[str, object]:
    """('plan', the plan) of a command line, ('refused', the message) or ('unparsed', None) when
    argparse rejects the combination (e.g. two mutually exclusive options)."""
    try:
        args = build_parser().parse_args([command, *words])
    except SystemExit:
        return "unparsed", None
    try:
        return "plan", sys.modules[args.run.__module__].plan(args)
    except InputError as error:
        return "refused", str(error)


def test_every_command_has_a_plan_and_a_baseline_that_plans():
    """Each command module defines plan(args), and each baseline command line plans without refusal."""
    assert set(BASELINES) == set(_subparsers())
    for command, baselines in BASELINES.items():
        for baseline in baselines:
            kind, result = outcome(command, baseline)
            assert kind == "plan", (command, baseline, result)


@pytest.mark.parametrize("command, option", _options())
def test_every_option_changes_the_plan_or_is_refused(command, option, capsys):
    """Setting the option changes the command's plan on some baseline; an unsupported one is refused on all."""
    action = next(a for a in _subparsers()[command]._actions if option in a.option_strings)
    results = []
    for baseline in BASELINES[command]:
        kind, base = outcome(command, baseline)
        changed_kind, changed = outcome(command, baseline + other_value(action, option, command))
        if changed_kind != "unparsed":
            results.append("changed" if changed_kind == "plan" and changed != base else changed_kind)
            if changed_kind == "refused":
                assert "\n" not in changed and changed, changed
    capsys.readouterr()
    assert results, f"{command} {option}: no baseline accepts it"
    if (command, option) in UNSUPPORTED:
        assert set(results) == {"refused"}, results
        assert "not supported" in outcome(command, BASELINES[command][0] + other_value(action, option, command))[1]
    else:
        assert "changed" in results, f"blapose {command} {option} changes nothing ({results})"
