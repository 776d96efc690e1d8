"""The ``blapose evaluate`` and ``blapose predict`` commands (also ``blapose train --evaluate``), run
from a ``PoseCommand`` (``blapose.train.pose.inputs``, the flags mapped): the model and the test
subjects' videos loaded, scored (``protocol``) or predicted (``predict``), and what each prints and writes."""

from __future__ import annotations

from pathlib import Path

from ..data.predictions import write_predictions
from ..train.pose.inputs import PoseCommand, model_and_test_data
from .predict import predict_poses
from .protocol import evaluate_model
from .report import format_evaluation, write_csv, write_json


def evaluate(command: PoseCommand) -> int:
    """``blapose evaluate`` / ``blapose train --evaluate``: action-wise errors on the test subjects
    (with ``by_subject``, each subject's too, as VideoPose3D's --by-subject)."""
    model, test, lookup = model_and_test_data(command)
    print(f"INFO: evaluating on {sum(s.num_frames for s in test)} frames of {len(test)} videos"
          f"{'' if command.flip else ' without test-time flipping'}")
    report = evaluate_model(model, test, lookup, flip=command.flip, progress=True, by_subject=command.by_subject)
    for subject, part in report.get("per_subject", {}).items():
        print(f"Evaluating on subject {subject}")
        print(format_evaluation(part))
        print()
    print(format_evaluation(report))
    if command.json:
        write_json(command.json, report)
    if command.csv:
        write_csv(command.csv, report)
    return 0


def predict(command: PoseCommand) -> int:
    """``blapose predict``: write the test subjects' predictions in the upstream adjustment format."""
    model, test, lookup = model_and_test_data(command)
    predictions = predict_poses(model, test, lookup, flip=command.flip, progress=True)
    choice = command.model
    output = command.output or str(Path("3D_prediction") / Path(choice.mix_model or choice.direction_model).stem)
    for path in write_predictions(output, predictions):
        print(f"wrote {path}")
    return 0
