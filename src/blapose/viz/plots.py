"""Static plots (matplotlib, no display needed)."""

from __future__ import annotations

import os

import numpy as np

from ..fileio import atomic_path
from ..skeleton import H36M


def plot_bone_length_over_time(path: str | os.PathLike, series: dict[str, np.ndarray], title: str,
                               bones: tuple[int, ...] = (1, 2, 11, 12), fps: float = 50.0) -> None:
    """Save a PNG of bone lengths over time: one panel per bone, one line per series.

    series: label -> lengths (T, 16) meters (plotted in mm).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(bones), 1, figsize=(9, 2.2 * len(bones)), sharex=True)
    for axis, bone in zip(np.atleast_1d(axes), bones):
        for label, lengths in series.items():
            time = np.arange(len(lengths)) / fps
            axis.plot(time, np.asarray(lengths)[:, bone] * 1000, label=label, linewidth=1.2)
        axis.set_ylabel(f"{H36M.bone_names[bone]}\n(mm)", fontsize=8)
        axis.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="upper right")
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)


def plot_training_curves(path: str | os.PathLike, curves: dict[str, tuple[list[int], list[float]]],
                         ylabel: str) -> None:
    """Save a PNG of per-epoch errors: label -> (epochs, errors in meters, plotted in mm).

    Labels containing 'train' are dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    for label, (epochs, errors) in curves.items():
        axes.plot(epochs, np.asarray(errors) * 1000, "--" if "train" in label else "-", label=label)
    axes.set_xlabel("Epoch")
    axes.set_ylabel(ylabel)
    axes.legend()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
