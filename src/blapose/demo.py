"""The demo: the whole BLAPose pipeline on the built-in dataset, in one table.

Steps (small functions, reused by tests and benchmarks):
1. build the built-in dataset if the data folder lacks it;
2. sample synthetic bone lengths (Anny when installed, else the documented fallback), shifted
   to the training subjects' mean (upstream's ``_train`` alignment), and train two length models
   on re-projected, re-lengthened training videos: ``--recipe cpu`` (2D only) and ``--recipe
   camera`` (reads each video's calibrated camera) (docs/lengths.md); the models of the last
   epoch are used: nothing is selected on the test subjects;
3. train a small VideoPose3D temporal model on the training subjects and predict the test
   subjects (S9, S11) with flip test-time augmentation;
4. adjust its poses with: each video's median predicted lengths, the training subjects' mean
   lengths, the geometric floor-scale baseline (``blapose.lengths.floor_scale``, no learning), both
   learned sets of lengths, and the ground-truth lengths (an upper bound);
5. fine-tune the temporal model through the adjustment with the cpu recipe's lengths held fixed
   (the recipe the validation subject chose, docs/lengths.md);
6. print one table (mm) and what it shows, write it as CSV, the lifter's test predictions as
   npz, and plot one video's bone lengths.
Models here are deliberately small and briefly trained so the demo runs on a laptop CPU. Torch
runs on ``threads`` threads with deterministic algorithms and every generator seeded from
``seed``, so runs on one machine repeat; other CPUs may round differently (docs/lengths.md
gives the spread measured between thread counts).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bones import bone_lengths
from .data.h36m import TEST_SUBJECTS, TRAIN_SUBJECTS, Sequence, keypoints_2d_path, load_sequences, poses_3d_path
from .data.synthetic import make_dataset
from .evaluation.adjust import Video, adjustment_report
from .fileio import atomic_path
from .lengths.reference import median_lengths, training_mean_lengths, true_lengths

Key = tuple[str, str, int]
TABLE_METRICS = (("mpjpe", "MPJPE"), ("p_mpjpe", "P-MPJPE"), ("mpjve", "MPJVE"), ("length_error", "Length err"))


@dataclass
class DemoConfig:
    """Where the demo reads and writes, and how long it trains (``quick``: about a third as long)."""

    data_dir: str = "data"
    out_dir: str = "demo_output"
    seed: int = 0
    size: str = "small"
    keypoints: str = "cpn_ft_h36m_dbb"
    quick: bool = False
    synthetic_bodies: int = 20000
    progress: bool = True
    threads: int = 1

    def length_epochs(self, recipe: str) -> int:
        """Epochs of a length recipe: its own, or a third of them (at least one) when ``quick``."""
        from .train.length.config import RECIPES

        epochs = RECIPES[recipe]["epochs"]
        return max(1, epochs // 3) if self.quick else epochs

    @property
    def lift_epochs(self) -> int:
        return 2 if self.quick else 4

    @property
    def lift_channels(self) -> int:
        return 128 if self.quick else 256

    @property
    def finetune_epochs(self) -> int:
        return 1


@dataclass
class DemoRow:
    name: str
    values: dict[str, float]


@dataclass
class DemoResult:
    rows: list[DemoRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    files: list[Path] = field(default_factory=list)


def ensure_dataset(config: DemoConfig) -> None:
    """Write the built-in dataset into ``config.data_dir`` unless its files are there."""
    needed = [poses_3d_path(config.data_dir), keypoints_2d_path(config.data_dir, config.keypoints),
              keypoints_2d_path(config.data_dir, "gt")]
    if not all(path.exists() for path in needed):
        print(f"Building the built-in dataset ({config.size}) in {config.data_dir}/ ...", flush=True)
        make_dataset(config.data_dir, seed=config.seed, size=config.size)


@contextmanager
def _step(message: str) -> Iterator[None]:
    """Print a step's title, run it, then print how long it took."""
    print(f"\n== {message}", flush=True)
    began = time.perf_counter()
    yield
    print(f"   done in {time.perf_counter() - began:.0f} s", flush=True)


def write_augmentation_lengths(config: DemoConfig, train_sequences: list[Sequence]) -> tuple[Path, str]:
    """Sample synthetic bodies' lengths, shift them to the training mean, write them (key 'data')."""
    from .lengths.synthetic.align import shift_to_mean
    from .lengths.synthetic.anny_model import anny_available, anny_is_built
    from .lengths.synthetic.fallback import DESCRIPTION, sample_fallback_lengths
    from .lengths.synthetic.files import write_lengths
    from .lengths.synthetic.generate import sample_training_lengths

    if anny_available() and (anny_is_built() or not config.quick):
        lengths, source = sample_training_lengths(config.synthetic_bodies, config.seed)
        name = "anny"
    else:
        lengths = sample_fallback_lengths(config.synthetic_bodies, np.random.default_rng(config.seed))
        source = DESCRIPTION + (" (Anny's model is not built yet; run without --quick once to build it)"
                                if anny_available() else " (install blapose[anny] for the Anny body model)")
        name = "fallback"
    aligned = shift_to_mean(lengths, training_mean_lengths(train_sequences))
    path = write_lengths(Path(config.out_dir) / f"bone_lengths_{name}_neutral_train.npz", aligned)
    return path, source


def train_length_model(config: DemoConfig, augmentation_path: Path, recipe: str = "cpu") -> Any:
    """A length model trained with ``--recipe <recipe>`` for the demo's epochs; the last epoch's model.

    No per-epoch evaluation on the test subjects: they neither pick the checkpoint nor cost time.
    """
    from .train.length import fit
    from .train.length.config import apply_recipe, length_config, with_settings

    settings = apply_recipe(length_config(
        data_dir=config.data_dir, keypoints=config.keypoints, bone_length_aug=str(augmentation_path),
        seed=config.seed, checkpoint_dir=str(Path(config.out_dir) / f"checkpoint_{recipe}"),
        progress=config.progress), recipe)
    return fit(with_settings(settings, epochs=config.length_epochs(recipe))).model


def verdicts(mpjpe: dict[str, float]) -> list[str]:
    """Plain sentences on whether each learned set of lengths beat the mean's and the lifter's own (MPJPE, mm)."""
    lines = []
    for name, label in (("camera", "camera-aware lengths (--recipe camera)"), ("learned", "cpu recipe's lengths")):
        beats = [f"{'beat' if mpjpe[name] < mpjpe[other] else 'did NOT beat'} the {what} ({mpjpe[name]:.1f} vs "
                 f"{mpjpe[other]:.1f} mm MPJPE)" for other, what in (("mean", "training mean's lengths"),
                                                                      ("median", "lifter's own lengths"))]
        lines.append(f"Adjusting with the {label} {beats[0]} and {beats[1]}.")
    return lines


def _videos(sequences: list[Sequence], predictions: dict[Key, np.ndarray], lengths: dict[Key, np.ndarray]
            ) -> list[Video]:
    return [Video(s.key, predictions[s.key], s.poses_root_relative, lengths[s.key]) for s in sequences]


def format_table(rows: list[DemoRow]) -> str:
    width = max(len(row.name) for row in rows) + 2
    header = f"{'':<{width}}" + "".join(f"{label:>12}" for _, label in TABLE_METRICS)
    lines = [header, "-" * len(header)]
    lines += [f"{row.name:<{width}}" + "".join(f"{row.values[key]:>12.1f}" for key, _ in TABLE_METRICS)
              for row in rows]
    lines.append("(millimetres, action-wise averages over the test subjects S9 and S11)")
    return "\n".join(lines)


def write_table_csv(path: Path, rows: list[DemoRow]) -> None:
    with atomic_path(path) as temporary:
        lines = ["method," + ",".join(key for key, _ in TABLE_METRICS)]
        lines += [f"\"{row.name}\"," + ",".join(f"{row.values[key]:.2f}" for key, _ in TABLE_METRICS) for row in rows]
        temporary.write_text("\n".join(lines) + "\n")


def run_demo(config: DemoConfig) -> DemoResult:
    """Run every step; returns the table rows (mm), notes on what was used, and the files written.

    Torch runs on ``config.threads`` threads with deterministic algorithms meanwhile (both restored after).
    """
    import torch

    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    try:
        return _run_demo(config)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


@dataclass
class LearnedLengths:
    """The demo's learned lengths, (16,) meters per video key: the cpu recipe's for the test and the
    training videos, the camera recipe's for the test videos; and the synthetic table they learned from."""

    test: dict[Key, np.ndarray]
    train: dict[Key, np.ndarray]
    camera_aware: dict[Key, np.ndarray]
    table_path: Path
    table_source: str


def _run_demo(config: DemoConfig) -> DemoResult:
    """The demo's stages: data -> lengths -> lifting -> adjustment -> fine-tuning -> table and files."""
    import torch

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    ensure_dataset(config)
    train_sequences = load_sequences(config.data_dir, config.keypoints, TRAIN_SUBJECTS)
    test_sequences = load_sequences(config.data_dir, config.keypoints, TEST_SUBJECTS)
    with _step("1/4 synthetic bone lengths and the bone-length models (--recipe cpu, --recipe camera)"):
        lengths = learn_lengths(config, train_sequences, test_sequences)
    with _step("2/4 the lifting model (VideoPose3D temporal convolutions, 3,3,3)"):
        lifting_model, predictions = train_and_predict_lifter(config, train_sequences, test_sequences)
    with _step("3/4 adjustment with six sets of lengths"):
        reports = adjustment_reports(train_sequences, test_sequences, predictions, lengths)
    with _step("4/4 fine-tuning the lifting model through the adjustment (learned lengths fixed)"):
        tuned_report = finetuned_report(config, lifting_model, train_sequences, test_sequences, lengths)
    result = DemoResult(rows=table_rows(reports, tuned_report), notes=[f"synthetic lengths: {lengths.table_source}"])
    result.notes.extend(verdicts({name: report["after"]["mpjpe"] for name, report in reports.items()}))
    result.files = [lengths.table_path, *write_outputs(config, result.rows, predictions, test_sequences[0],
                                                       lengths.test)]
    result.seconds = time.perf_counter() - start
    return result


def learn_lengths(config: DemoConfig, train_sequences: list[Sequence], test_sequences: list[Sequence]
                  ) -> LearnedLengths:
    """Write the synthetic table, train the cpu and camera recipes' length models on it and predict
    each video's lengths."""
    from .models.length import predict_lengths

    table_path, source = write_augmentation_lengths(config, train_sequences)
    length_model = train_length_model(config, table_path, "cpu")
    test = predict_lengths(length_model, test_sequences)
    train = predict_lengths(length_model, train_sequences)
    camera_aware = predict_lengths(train_length_model(config, table_path, "camera"), test_sequences)
    return LearnedLengths(test, train, camera_aware, table_path, source)


def train_and_predict_lifter(config: DemoConfig, train_sequences: list[Sequence], test_sequences: list[Sequence]
                             ) -> tuple[Any, dict[Key, np.ndarray]]:
    """A small lifting model trained on the training videos, and its test poses (T, 17, 3) meters,
    camera frame, root-relative."""
    from .evaluation.predict import predict_poses
    from .train.pose import lift_config, train_lifting_model

    settings = lift_config(filter_widths=(3, 3, 3), channels=config.lift_channels, epochs=config.lift_epochs,
                           seed=config.seed, progress=config.progress)
    lifting_model = train_lifting_model(train_sequences, settings)
    return lifting_model, predict_poses(lifting_model, test_sequences)


def adjustment_reports(train_sequences: list[Sequence], test_sequences: list[Sequence],
                       predictions: dict[Key, np.ndarray], lengths: LearnedLengths) -> dict[str, dict[str, Any]]:
    """The adjustment report (mm) of the lifter's test poses with each set of lengths, by name."""
    from .geometry.floor import standing_ankle_height
    from .lengths.floor_scale import floor_scale_baseline

    mean = training_mean_lengths(train_sequences)
    ankle_height = standing_ankle_height(s.camera.camera_to_world(s.poses_3d) for s in train_sequences)
    sets = {
        "median": {key: median_lengths(poses) for key, poses in predictions.items()},
        "mean": {s.key: mean for s in test_sequences},
        "floor": floor_scale_baseline(predictions, test_sequences, mean, ankle_height),
        "learned": lengths.test,
        "camera": lengths.camera_aware,
        "truth": true_lengths(test_sequences),
    }
    return {name: adjustment_report(_videos(test_sequences, predictions, chosen)) for name, chosen in sets.items()}


def finetuned_report(config: DemoConfig, lifting_model: Any, train_sequences: list[Sequence],
                     test_sequences: list[Sequence], lengths: LearnedLengths) -> dict[str, Any]:
    """Fine-tune the lifter through the adjustment with the learned lengths fixed; its test report (mm)."""
    from .evaluation.predict import predict_poses
    from .train.pose import finetune, finetune_config

    settings = finetune_config(filter_widths=(3, 3, 3), channels=config.lift_channels,
                               epochs=config.finetune_epochs, learning_rate=1e-4, seed=config.seed,
                               progress=config.progress)
    tuned = finetune(lifting_model, lengths.train, train_sequences, settings)
    tuned_predictions = predict_poses(tuned, test_sequences, length_lookup=lengths.test)
    return adjustment_report(_videos(test_sequences, tuned_predictions, lengths.test))


def table_rows(reports: dict[str, dict[str, Any]], tuned_report: dict[str, Any]) -> list[DemoRow]:
    """The demo's table: the lifter, each adjustment of it and the fine-tuned model (mm)."""
    return [
        DemoRow("Lifting model (VideoPose3D, trained here)", reports["learned"]["before"]),
        DemoRow("  adjusted: median of its own lengths", reports["median"]["after"]),
        DemoRow("  adjusted: training subjects' mean lengths", reports["mean"]["after"]),
        DemoRow("  adjusted: floor scale x mean (geometry only)", reports["floor"]["after"]),
        DemoRow("  adjusted: learned lengths (--recipe cpu)", reports["learned"]["after"]),
        DemoRow("  adjusted: camera-aware lengths (--recipe camera)", reports["camera"]["after"]),
        DemoRow("  adjusted: ground-truth lengths (bound)", reports["truth"]["after"]),
        DemoRow("Fine-tuned through the adjustment", tuned_report["before"]),
    ]


def write_outputs(config: DemoConfig, rows: list[DemoRow], predictions: dict[Key, np.ndarray], example: Sequence,
                  learned: dict[Key, np.ndarray]) -> list[Path]:
    """Write the table as CSV, the lifter's test predictions as npz and the bone lengths of ``example``
    over time as a plot into ``config.out_dir``; returns their paths."""
    from .bones import adjust_poses
    from .data.predictions import write_predictions_npz
    from .viz.plots import plot_bone_length_over_time

    out_dir = Path(config.out_dir)
    csv_path = out_dir / "demo_table.csv"
    write_table_csv(csv_path, rows)
    predictions_path = write_predictions_npz(out_dir / "predictions_test.npz", predictions)
    plot_path = out_dir / "bone_lengths.png"
    plot_bone_length_over_time(plot_path, {
        "lifting model": bone_lengths(predictions[example.key]),
        "adjusted (learned lengths)": bone_lengths(adjust_poses(predictions[example.key], learned[example.key])),
        "ground truth": bone_lengths(example.poses_root_relative)},
        title=f"{example.subject} {example.action}, camera {example.camera_index}: bone lengths")
    return [csv_path, predictions_path, plot_path]
