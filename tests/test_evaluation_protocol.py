"""``evaluate_model`` on a lifting model scores as VideoPose3D's run.py evaluate() and run_evaluation() do."""

import numpy as np
import pytest
import torch

from blapose.data.h36m import Sequence
from blapose.evaluation.predict import predict_poses
from blapose.evaluation.protocol import evaluate_model, evaluation_report
from blapose.geometry.camera import h36m_cameras
from blapose.models.temporal import TemporalModel
from blapose.skeleton import H36M
from reference import reference_p_mpjpe_per_frame

WIDTHS = (3, 3)
#: A root offset the model adds to every pose, meters; x cancels in the flip average, y and z stay.
ROOT_BIAS = (0.05, 0.08, 0.12)


def walking_sequences(rng):
    """Five videos of three action classes ('Walking 1', 'Walking 2' share a class) and unequal lengths,
    camera-frame poses with a moving root 5 m away, pinhole keypoints."""
    camera = h36m_cameras("S9")[0]
    base = np.cumsum(rng.normal(0, 0.1, (17, 3)), axis=0)
    videos = [("Walking 1", 0, 30), ("Walking 2", 1, 55), ("Eating", 2, 21), ("Eating", 3, 44),
              ("SittingDown 1", 0, 12)]
    sequences = []
    for action, camera_index, frames in videos:
        trajectory = np.cumsum(rng.normal(0, 0.01, (frames, 1, 3)), axis=0) + np.array([0.0, 0.0, 5.0])
        poses = base - base[:1] + rng.normal(0, 0.02, (frames, 17, 3)) + trajectory
        keypoints = poses[..., :2] / poses[..., 2:]
        sequences.append(Sequence(subject="S9", action=action, camera_index=camera_index, camera=camera,
                                  poses_3d=poses.astype(np.float32), keypoints_2d=keypoints.astype(np.float32)))
    return sequences


def lifting_model_with_root_offset():
    """A random whole-sequence lifting model whose output root joint is off the origin and moves with
    the input (root weights scaled up, a bias added)."""
    torch.manual_seed(11)
    model = TemporalModel(WIDTHS, channels=16, dropout=0.0).eval()
    with torch.no_grad():
        model.shrink.weight[:3] *= 100
        model.shrink.bias[:3] += torch.tensor(ROOT_BIAS)
    return model


def videopose3d_evaluate(model, sequences):
    """VideoPose3D's evaluate() per action class and run_evaluation()'s mean over classes, in mm.

    Written from run.py and common/loss.py: unchunked edge-padded batch of the sequence and its
    mirror, prediction un-mirrored and averaged, ground truth's root set to zero, each batch's
    MPJPE / N-MPJPE / P-MPJPE / velocity error weighted by its frame count.
    """
    pad = (model.receptive_field() - 1) // 2
    left, right = list(H36M.joints_left), list(H36M.joints_right)
    classes = {}
    for sequence in sequences:
        classes.setdefault(sequence.action.split(" ")[0], []).append(sequence)
    per_class = []
    for videos in classes.values():
        sums, frames = np.zeros(4), 0
        for video in videos:
            batch_2d = np.stack([video.keypoints_2d, video.keypoints_2d]).copy()
            batch_2d[1, :, :, 0] *= -1
            batch_2d[1][:, left + right] = batch_2d[1][:, right + left]
            batch_2d = np.pad(batch_2d, ((0, 0), (pad, pad), (0, 0), (0, 0)), mode="edge")
            with torch.no_grad():
                predicted = model(torch.from_numpy(batch_2d))
            predicted[1, :, :, 0] *= -1
            predicted[1, :, left + right] = predicted[1, :, right + left]
            predicted = predicted.mean(dim=0, keepdim=True)
            target = torch.from_numpy(video.poses_3d.copy())
            target[:, 1:] -= target[:, :1]
            target = target[None]
            target[:, :, 0] = 0
            mpjpe = torch.linalg.norm(predicted - target, dim=-1).mean()
            scale = ((target * predicted).sum(-1, keepdim=True).mean(-2, keepdim=True)
                     / (predicted ** 2).sum(-1, keepdim=True).mean(-2, keepdim=True))
            n_mpjpe = torch.linalg.norm(scale * predicted - target, dim=-1).mean()
            predicted_np, target_np = predicted[0].numpy(), target[0].numpy()
            p_mpjpe = reference_p_mpjpe_per_frame(predicted_np.astype(np.float64), target_np).mean()
            velocity = np.linalg.norm(np.diff(predicted_np, axis=0) - np.diff(target_np, axis=0), axis=-1).mean()
            count = len(video.poses_3d)
            sums += count * np.array([float(mpjpe), float(n_mpjpe), p_mpjpe, velocity])
            frames += count
        per_class.append(sums / frames * 1000)
    mpjpe, n_mpjpe, p_mpjpe, velocity = np.mean(per_class, axis=0)
    return {"mpjpe": mpjpe, "p_mpjpe": p_mpjpe, "n_mpjpe": n_mpjpe, "mpjve": velocity}


@pytest.fixture(scope="module")
def model_and_sequences():
    return lifting_model_with_root_offset(), walking_sequences(np.random.default_rng(21))


def test_lifting_model_scores_equal_videopose3d_evaluate(model_and_sequences):
    """MPJPE, P-MPJPE, N-MPJPE and MPJVE of a model with a root offset equal VideoPose3D's to 0.1 mm."""
    model, sequences = model_and_sequences
    report = evaluate_model(model, sequences)
    expected = videopose3d_evaluate(model, sequences)
    assert list(report["per_action"]) == ["Walking", "Eating", "SittingDown"]
    for metric, value in expected.items():
        assert report["before"][metric] == pytest.approx(value, abs=0.1), metric


def test_recentring_the_prediction_changes_every_score_but_p_mpjpe(model_and_sequences):
    """Moving the predicted root to the origin (the old behaviour) changes MPJPE, N-MPJPE and MPJVE, not P-MPJPE."""
    model, sequences = model_and_sequences
    scored = evaluate_model(model, sequences)["before"]
    targets = {s.key: s.poses_root_relative for s in sequences}
    recentred = evaluation_report(targets, after={}, before=predict_poses(model, sequences))["before"]
    for metric in ("mpjpe", "n_mpjpe", "mpjve"):
        assert abs(scored[metric] - recentred[metric]) > 1.0, metric
    assert scored["p_mpjpe"] == pytest.approx(recentred["p_mpjpe"], abs=0.01)


def test_exported_poses_are_root_relative(model_and_sequences):
    """predict_poses (what blapose predict writes for adjust) puts every root joint at the origin."""
    model, sequences = model_and_sequences
    for poses in predict_poses(model, sequences).values():
        assert np.abs(poses[:, 0]).max() == 0.0
        assert np.abs(poses[:, 1:]).max() > 0.0
