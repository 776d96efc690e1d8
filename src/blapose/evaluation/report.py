"""Action-wise reports in millimetres: aggregation, printed tables, JSON and CSV files.

Aggregation follows BLAPose bone_adjust.py and VideoPose3D: a metric is averaged over the
frames of each video, videos of one action class are averaged weighted by their frame counts,
and the reported figure is the plain mean over action classes. Errors are computed in meters
and converted to millimetres once, here (the direction error, unitless, is scaled by 1000 as
upstream prints it).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..fileio import atomic_path

LABELS = {"mpjpe": "MPJPE (Protocol #1)", "p_mpjpe": "P-MPJPE (Protocol #2)", "n_mpjpe": "N-MPJPE",
          "mpjve": "MPJVE (velocity)", "length_error": "Bone length error",
          "direction_error": "Bone direction error (x1000)"}

#: How each kind of model is scored, as the printed report states it.
LIFT_PROTOCOL = ("VideoPose3D run.py evaluate() protocol: ground-truth root at the origin, the model's "
                 "poses not re-centred")
MIX_PROTOCOL = "BLAPose protocol: poses rebuilt from a root at the origin with the bone lengths"


def action_wise(actions: list[str], frame_counts: list[int] | np.ndarray,
                per_video: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Aggregate per-video metrics (meters) -> (mean over action classes, per action class), in mm.

    actions: the action class of each video; frame_counts: its frames; per_video: metric name ->
    (V,) values. Within a class videos are weighted by frames.
    """
    counts = np.asarray(frame_counts, dtype=np.float64)
    classes = list(dict.fromkeys(actions))
    labels = np.array(actions)
    per_action = {}
    for action in classes:
        mask = labels == action
        weight = counts[mask].sum()
        per_action[action] = {name: float((values[mask] * counts[mask]).sum() / weight * 1000)
                              for name, values in per_video.items()}
    overall = {name: float(np.mean([per_action[action][name] for action in classes])) for name in per_video}
    return overall, per_action


def format_report(report: dict[str, Any], print_action: bool = False) -> str:
    """A before/after table of a report, one row per metric, values in mm rounded to 0.1."""
    lines = []
    if print_action:
        for action, values in report["per_action"].items():
            lines.append(f"---- {action} ----")
            lines.extend(_metric_rows(values["before"], values["after"]))
        lines.append("")
    lines.append(f"Action-wise average over {len(report['per_action'])} actions, {report['frames']} frames:")
    lines.extend(_metric_rows(report["before"], report["after"]))
    return "\n".join(lines)


def _metric_rows(before: dict[str, float], after: dict[str, float]) -> list[str]:
    rows = [f"  {'metric':<30}{'before':>10}{'after':>10}  (mm)"]
    for name, value in before.items():
        adjusted = f"{after[name]:>10.1f}" if name in after else f"{'-':>10}"
        rows.append(f"  {LABELS.get(name, name):<30}{value:>10.1f}{adjusted}")
    return rows


def write_json(path: str | os.PathLike, report: dict[str, Any]) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(report, indent=2) + "\n")


def write_csv(path: str | os.PathLike, report: dict[str, Any]) -> None:
    """One row per action class and one for the average; columns before_* and after_* in mm."""
    before_names = list(report["before"])
    after_names = list(report["after"])
    header = ["action"] + [f"before_{n}" for n in before_names] + [f"after_{n}" for n in after_names]
    rows = [[action] + [round(values["before"][n], 2) for n in before_names]
            + [round(values["after"][n], 2) for n in after_names]
            for action, values in sorted(report["per_action"].items())]
    rows.append(["Average"] + [round(report["before"][n], 2) for n in before_names]
                + [round(report["after"][n], 2) for n in after_names])
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def headline(report: Mapping[str, Any]) -> dict[str, float]:
    """The final poses' action-wise averages in mm: "after" when there is one, else "before"."""
    return dict(report["after"] or report["before"])


def format_evaluation(report: Mapping[str, Any]) -> str:
    """A per-action table of the final poses' errors in mm, the average, and the raw poses' average."""
    names = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")
    titles = ("MPJPE (P1)", "P-MPJPE (P2)", "N-MPJPE", "MPJVE")
    final = "after" if report["after"] else "before"
    lines = [f"{'action':<14}" + "".join(f"{t:>14}" for t in titles)]
    for action, values in report["per_action"].items():
        lines.append(f"{action:<14}" + "".join(f"{values[final][n]:>14.1f}" for n in names))
    lines.append(f"{'Average':<14}" + "".join(f"{report[final][n]:>14.1f}" for n in names))
    lines.append(f"Protocol #1   (MPJPE) action-wise average: {report[final]['mpjpe']:.1f} mm")
    lines.append(f"Protocol #2 (P-MPJPE) action-wise average: {report[final]['p_mpjpe']:.1f} mm")
    lines.append(f"Protocol #3 (N-MPJPE) action-wise average: {report[final]['n_mpjpe']:.1f} mm")
    lines.append(f"Velocity      (MPJVE) action-wise average: {report[final]['mpjve']:.2f} mm")
    lines.append(f"Bone length error: {report[final]['length_error']:.1f} mm, bone direction error "
                 f"(x1000): {report[final]['direction_error']:.1f}")
    if report["after"]:
        lines.append(f"Temporal model's own poses (before the bone lengths): MPJPE "
                     f"{report['before']['mpjpe']:.1f} mm, P-MPJPE {report['before']['p_mpjpe']:.1f} mm")
    lines.append(f"{report['frames']} frames; " + (MIX_PROTOCOL if report["after"] else LIFT_PROTOCOL))
    return "\n".join(lines)
