"""Sanity report of synthetic bone lengths next to a dataset's subjects, in millimetres.

Glossary: M synthetic bodies, S subjects, B bones (16). Inputs in meters.
"""

from __future__ import annotations

import numpy as np

from ...skeleton import H36M


def length_report(lengths: np.ndarray, subjects: list[str] | None = None,
                  subject_lengths: np.ndarray | None = None, title: str = "synthetic") -> str:
    """Table, one row per bone: mean, 5th and 95th percentile of lengths (M, 16), then each subject.

    subject_lengths (S, 16) meters with ``subjects`` naming its rows; values printed in mm.
    """
    lengths = np.asarray(lengths, dtype=np.float64) * 1000.0
    mean = lengths.mean(axis=0)
    low, high = np.percentile(lengths, [5.0, 95.0], axis=0)
    subjects = list(subjects or [])
    per_subject = (np.zeros((0, H36M.num_bones)) if subject_lengths is None
                   else np.asarray(subject_lengths, dtype=np.float64) * 1000.0)
    name_width = max(len(name) for name in H36M.bone_names)
    header = (f"{'bone (mm)':<{name_width}}  {title + ' mean':>14} {'p5':>7} {'p95':>7}"
              + "".join(f" {subject:>7}" for subject in subjects))
    lines = [f"{len(lengths)} bodies", header, "-" * len(header)]
    for bone, name in enumerate(H36M.bone_names):
        row = f"{name:<{name_width}}  {mean[bone]:>14.1f} {low[bone]:>7.1f} {high[bone]:>7.1f}"
        row += "".join(f" {value:>7.1f}" for value in per_subject[:, bone])
        lines.append(row)
    return "\n".join(lines)
