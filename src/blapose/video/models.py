"""The models of ``blapose video``: which lifter and bone-length model to use, and running them.

Lifters: ``builtin`` (a temporal model shipped as ``blapose/assets/lifter_wild.bin``), any
VideoPose3D-format checkpoint (architecture read from its weights), or one of ``MEDIAPIPE_LIFTERS``
(no model: MediaPipe's own world landmarks; as they come, low-pass filtered, or put on the 2D
keypoints' viewing rays and filtered). Length models: ``builtin`` (``assets/length_wild.bin``)
or a BLAPose-format checkpoint (upstream ``biGRU_all.bin`` loads).

Glossary: T frames at the model rate (50 fps), J joints (17), B bones (16). Keypoints are
VideoPose3D-normalised screen coordinates; poses are meters, camera frame, root-relative.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..skeleton import H36M

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BUILTIN_LIFTER = ASSETS / "lifter_wild.bin"
BUILTIN_LENGTH_MODEL = ASSETS / "length_wild.bin"
#: ``--lifter`` values that use MediaPipe's world landmarks instead of a lifting model: as they come;
#: low-pass filtered over time; moved onto the 2D keypoints' viewing rays, then filtered
#: (``blapose.video.geometry``).
MEDIAPIPE_LIFTERS = ("mediapipe", "mediapipe-filtered", "mediapipe-rays")


def _checkpoint_state(name: str, builtin: Path, flag: str) -> tuple[dict, Mapping[str, Any], str]:
    """Checkpoint ``name`` ('builtin' or a path), its 'model_pos' state dict, and how to name it."""
    from ..models.checkpoint import load_checkpoint

    if name == "builtin":
        if not builtin.is_file():
            raise InputError(f"{flag} builtin: the built-in model {builtin.name} is not installed; "
                             f"give {flag} a checkpoint file")
        path, source = builtin, f"{flag} builtin ({builtin.name})"
    else:
        path, source = Path(name), f"{flag} {name}"
        if not path.is_file():
            raise InputError(f"{flag} {name}: no such file (use builtin or a checkpoint path)")
    try:
        checkpoint = load_checkpoint(path)
    except InputError as error:
        raise InputError(f"{flag}: {error}") from None
    state = checkpoint.get("model_pos")
    if not isinstance(state, Mapping):
        raise InputError(f"{source} has no 'model_pos' state dict; keys: {', '.join(map(str, checkpoint))}")
    return checkpoint, state, source


def load_lifter(name: str):
    """The whole-sequence ``TemporalModel`` (eval mode, CPU) named by ``--lifter``; None for mediapipe.

    A fine-tuned BLAPose checkpoint (entries ``direction_model.*``) gives its direction model.
    """
    if name in MEDIAPIPE_LIFTERS:
        return None
    from ..models.temporal import TemporalModel, architecture_from_state_dict

    _, state, source = _checkpoint_state(name, BUILTIN_LIFTER, "--lifter")
    if any(key.startswith("direction_model.") for key in state):
        state = {key.split(".", 1)[1]: value for key, value in state.items()
                 if key.startswith("direction_model.")}
    try:
        architecture = architecture_from_state_dict(state)
    except InputError as error:
        raise InputError(f"{source} is not a lifting (temporal) model: {error}") from None
    if architecture["input_size"] != 2 * H36M.num_joints or architecture["num_joints_out"] != H36M.num_joints:
        raise InputError(f"{source} maps {architecture['input_size']} inputs to {architecture['num_joints_out']} "
                         f"joints; blapose video needs a 17-joint 2D -> 3D lifter")
    model = TemporalModel(architecture["filter_widths"], channels=architecture["channels"], dropout=0.0)
    try:
        model.load_state_dict(dict(state), strict=True)
    except RuntimeError as error:
        raise InputError(f"{source} does not fit a temporal model: {str(error).splitlines()[0]}") from None
    return model.eval()


def load_length_model(name: str, bidirectional: bool | None = None):
    """The ``BoneLengthModel`` (eval mode, CPU) named by ``--length-model``; ``-bi`` must agree when given."""
    from ..models.length import length_model_from_checkpoint

    checkpoint, state, source = _checkpoint_state(name, BUILTIN_LENGTH_MODEL, "--length-model")
    if any(key.startswith(("direction_model.", "expand_bn.", "layers_conv.")) for key in state):
        raise InputError(f"{source} is a lifting model, not a bone-length model")
    try:
        model = length_model_from_checkpoint(checkpoint, source, bidirectional)
    except InputError as error:
        message = str(error)
        raise InputError(message if message.startswith(source) else f"{source}: {message}") from None
    if model.camera_inputs:
        raise InputError(f"{source} reads a calibrated camera (--recipe camera), which a video does not have; "
                         "use the built-in length model or one trained with --recipe cpu or wild")
    return model


def lift(model, keypoints: np.ndarray) -> np.ndarray:
    """Poses (T, J, 3) float64, meters, camera frame, root-relative, from keypoints (T, J, 2).

    Sequences shorter than the receptive field are edge-padded (VideoPose3D); predictions are
    averaged with those of the mirrored input (flip test-time augmentation).
    """
    import torch

    from ..models.inference import predict_sequence

    with torch.inference_mode():
        poses, _ = predict_sequence(model, np.asarray(keypoints, dtype=np.float32), flip=True)
    poses = poses.astype(np.float64)
    return poses - poses[:, :1]


def predict_bone_lengths(model, keypoints: np.ndarray, causal: bool = False) -> np.ndarray:
    """Symmetric bone lengths in meters from keypoints (T, J, 2): (B,), or (T, B) when ``causal``.

    Runs on one torch thread: a GRU is a chain of small steps, and splitting each across threads
    only adds waiting (217 frames, upstream size: 0.2 s on 1 thread, 12.5 s on 2 busy cores).
    """
    import torch

    from ..models.length import predict_lengths

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        lengths = predict_lengths(model, {("video", "", 0): np.asarray(keypoints, dtype=np.float32)},
                                  causal=causal)
    finally:
        torch.set_num_threads(threads)
    return next(iter(lengths.values())).astype(np.float64)
