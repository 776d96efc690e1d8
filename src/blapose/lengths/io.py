"""Predicted bone lengths on disk, in the upstream ``lengths_dict.npz`` / ``lengths_list.npz`` formats.

Formats (upstream BLAPose ``length_model_inference.py``), lengths in meters, 16 bones:
- ``lengths_dict.npz``: key 'lengths' -> {subject: {action: [one array per camera, index order]}},
  each array (16,) (non-causal) or (T, 16) (causal, one row per frame).
- ``lengths_list.npz``: key 'lengths' -> the same arrays in a list ordered by subject, action,
  camera: a (N, 16) float array (non-causal) or an object array of (T, 16) arrays (causal).
  blapose adds the keys 'subjects', 'actions' and 'cameras' ((N,) each) naming every row, so
  that readers need not rely on the order.

``resolve_length_lookup`` turns either file into a lookup {(subject, action, camera): (16,) meters}
for fine-tuning and evaluation; a list without row names is matched to videos by the upstream order.

Every reader and the writer refuse a length that is not finite and positive, with one line naming
the video (subject, action, camera) and the bone: such a length would flip or erase a bone in the
adjustment. ``refused_videos`` lists the offending videos of a set of predictions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..bones import length_problem, require_valid_lengths
from ..errors import InputError
from ..fileio import atomic_path
from ..skeleton import H36M

Key = tuple[str, str, int]
LengthLookup = Mapping[Key, np.ndarray]


def lengths_dict_from_predictions(predictions: Mapping[Key, np.ndarray]) -> dict[str, dict[str, list[np.ndarray]]]:
    """{(subject, action, camera): lengths} -> {subject: {action: [lengths of camera 0, 1, ...]}}.

    Subjects and actions keep the order of ``predictions``; every action must have the cameras
    0..n-1 (raises ``InputError`` naming the gap otherwise).
    """
    nested: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    for (subject, action, camera), lengths in predictions.items():
        nested.setdefault(subject, {}).setdefault(action, {})[int(camera)] = np.asarray(lengths)
    result: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in nested.items():
        result[subject] = {}
        for action, cameras in actions.items():
            if sorted(cameras) != list(range(len(cameras))):
                raise InputError(f"lengths of {subject} '{action}' cover cameras {sorted(cameras)}, "
                                 f"expected 0..{len(cameras) - 1}")
            result[subject][action] = [cameras[index] for index in range(len(cameras))]
    return result


def ordered_keys(predictions: Mapping[Key, np.ndarray], subjects: Sequence[str] | None = None) -> list[Key]:
    """Keys in upstream list order: subjects as given (default: first appearance), then actions, cameras."""
    nested = lengths_dict_from_predictions(predictions)
    subjects = list(nested) if subjects is None else list(subjects)
    missing = [s for s in subjects if s not in nested]
    if missing:
        raise InputError(f"no predicted lengths for subject(s) {', '.join(missing)}")
    return [(subject, action, camera) for subject in subjects
            for action, per_camera in nested[subject].items() for camera in range(len(per_camera))]


def describe_key(key: Key) -> str:
    """'S9 'Walking 1' camera 0': a video named for messages."""
    subject, action, camera = key
    return f"{subject} '{action}' camera {camera}"


def refused_videos(predictions: Mapping[Key, np.ndarray]) -> dict[Key, str]:
    """{video: what is wrong} for each video whose lengths (16,) or (T, 16) are not all finite and positive."""
    problems = {key: length_problem(lengths) for key, lengths in predictions.items()}
    return {key: problem for key, problem in problems.items() if problem is not None}


def save_lengths(predictions: Mapping[Key, np.ndarray], dict_path: str | os.PathLike,
                 list_path: str | os.PathLike, subjects: Sequence[str] | None = None) -> None:
    """Write ``lengths_dict.npz`` and ``lengths_list.npz`` (formats in the module docstring), atomically.

    Refuses (``InputError``, nothing written) when any video has a length that is not finite and positive.
    """
    refused = refused_videos(predictions)
    if refused:
        key, problem = next(iter(refused.items()))
        raise InputError(f"{len(refused)} of {len(predictions)} videos have non-positive or non-finite lengths "
                         f"(first: {describe_key(key)}, {problem}); nothing written")
    keys = ordered_keys(predictions, subjects)
    arrays = [np.asarray(predictions[key], dtype=np.float32) for key in keys]
    nested = lengths_dict_from_predictions({key: predictions[key] for key in keys})
    if all(a.ndim == 1 for a in arrays):
        as_list = np.stack(arrays)
    else:
        as_list = np.empty(len(arrays), dtype=object)
        as_list[:] = arrays
    names = dict(subjects=np.array([k[0] for k in keys]), actions=np.array([k[1] for k in keys]),
                 cameras=np.array([k[2] for k in keys], dtype=np.int64))
    with atomic_path(dict_path) as temporary:
        np.savez_compressed(temporary, lengths=nested)
    with atomic_path(list_path) as temporary:
        np.savez_compressed(temporary, lengths=as_list, **names)


def load_lengths_dict(path: str | os.PathLike) -> dict[Key, np.ndarray]:
    """Read a ``lengths_dict.npz`` -> {(subject, action, camera): (16,) or (T, 16) float32 meters}.

    Every length must be finite and positive; errors name the file, the video and the bone.
    """
    from ..data.safe_pickle import load_npz

    content = load_npz(path)
    nested = content.get("lengths")
    if not isinstance(nested, dict):
        found = ", ".join(sorted(content)) or "nothing"
        raise InputError(f"{path}: expected key 'lengths' holding {{subject: {{action: [per camera]}}}}; "
                         f"found {found}")
    flat: dict[Key, np.ndarray] = {}
    for subject, actions in nested.items():
        if not isinstance(actions, dict):
            raise InputError(f"{path}: lengths['{subject}'] is {type(actions).__name__}, expected a dict")
        for action, per_camera in actions.items():
            if not isinstance(per_camera, (list, tuple, np.ndarray)):
                raise InputError(f"{path}: lengths['{subject}']['{action}'] is {type(per_camera).__name__}, "
                                 "expected one array per camera")
            for camera, lengths in enumerate(per_camera):
                where = f"lengths['{subject}']['{action}'][{camera}]"
                bones = H36M.num_bones
                if not isinstance(lengths, np.ndarray) or lengths.ndim not in (1, 2) or lengths.shape[-1] != bones:
                    shape = getattr(lengths, "shape", type(lengths).__name__)
                    raise InputError(f"{path}: {where} has shape {shape}, expected ({bones},) or (frames, {bones})")
                lengths = lengths.astype(np.float32)
                require_valid_lengths(lengths, f"{path}: {where} ({describe_key((subject, action, camera))})")
                flat[(str(subject), str(action), camera)] = lengths
    return flat


def default_output_paths(data_dir: str | os.PathLike = "data", causal: bool = False) -> tuple[Path, Path]:
    """Upstream output names: data/lengths_dict.npz and data/lengths_list.npz (``_causal`` suffix when causal)."""
    suffix = "_causal" if causal else ""
    return Path(data_dir) / f"lengths_dict{suffix}.npz", Path(data_dir) / f"lengths_list{suffix}.npz"


def read_lengths_list(path: str | os.PathLike) -> tuple[np.ndarray, list[Key] | None]:
    """(N, 16) float32 lengths from ``lengths_list.npz`` (key 'lengths'), one row per video, and the
    video of each row when the file names them (blapose writes 'subjects', 'actions', 'cameras');
    None means the rows follow ``upstream_list_keys``. Per-frame (causal) lists are refused."""
    from ..data.safe_pickle import load_npz

    content = load_npz(path)
    if "lengths" not in content:
        raise InputError(f"{path}: missing key 'lengths'; found {', '.join(content) or 'nothing'}")
    lengths = content["lengths"]
    if lengths.dtype == object or lengths.ndim != 2 or lengths.shape[1] != H36M.num_bones:
        shape = "per-frame arrays" if lengths.dtype == object else lengths.shape
        raise InputError(f"{path}: lengths hold {shape}, expected (videos, {H36M.num_bones}) with one "
                         "row per video")
    keys = None
    if all(name in content for name in ("subjects", "actions", "cameras")):
        keys = [(str(s), str(a), int(c)) for s, a, c in
                zip(content["subjects"], content["actions"], content["cameras"])]
    for row, row_lengths in enumerate(lengths):
        named = f" ({describe_key(keys[row])})" if keys is not None and row < len(keys) else ""
        require_valid_lengths(row_lengths, f"{path}: row {row}{named}")
    return lengths.astype(np.float32), keys


def upstream_list_keys(keypoints_2d: Mapping[str, Mapping[str, Sequence[Any]]],
                       subjects: Sequence[str]) -> list[Key]:
    """The video order of BLAPose's ``lengths_list.npz``: subjects as given, actions in the order of
    the 2D keypoint file, cameras 0..3 (length_model_inference.py)."""
    return [(subject, action, camera_index)
            for subject in subjects if subject in keypoints_2d
            for action, per_camera in keypoints_2d[subject].items()
            for camera_index in range(len(per_camera))]


def lookup_from_list(lengths: np.ndarray, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
    """Pair the rows of a positional lengths list (N, 16) with video keys, checking the counts agree."""
    if len(lengths) != len(keys):
        raise InputError(f"the lengths list has {len(lengths)} rows but {len(keys)} videos were expected")
    return {tuple(key): row for key, row in zip(keys, lengths)}


def resolve_length_lookup(bone_length_dict: str | os.PathLike | None, bone_length_list: str | os.PathLike | None,
                          keypoints_2d_file: str | os.PathLike,
                          subject_orders: Sequence[Sequence[str]]) -> tuple[dict[Key, np.ndarray], str]:
    """Predicted lengths per video and a sentence saying where they came from.

    ``lengths_dict.npz`` is used when it exists, since it names every video; then a
    ``lengths_list.npz`` whose rows are named. Otherwise the rows of ``lengths_list.npz`` are
    matched to videos once, explicitly, by the upstream order (``upstream_list_keys``) for the first
    of ``subject_orders`` whose video count equals the number of rows (BLAPose slices [:600] for
    S1,S5,S6,S7,S8 and [600:] for S9,S11).
    """
    if bone_length_dict and Path(bone_length_dict).is_file():
        return load_lengths_dict(bone_length_dict), f"bone lengths from {bone_length_dict}"
    if not bone_length_list or not Path(bone_length_list).is_file():
        raise InputError(f"no predicted bone lengths: neither {bone_length_dict} nor {bone_length_list} "
                         "exists; run `blapose infer_lengths` first")
    from ..data.h36m import load_keypoints_2d

    lengths, named_keys = read_lengths_list(bone_length_list)
    if named_keys is not None:
        return lookup_from_list(lengths, named_keys), f"bone lengths from {bone_length_list} (rows named)"
    keypoints_2d, _ = load_keypoints_2d(keypoints_2d_file)
    counts = []
    for subjects in subject_orders:
        keys = upstream_list_keys(keypoints_2d, subjects)
        counts.append(f"{len(keys)} for {','.join(subjects)}")
        if len(keys) == len(lengths):
            return lookup_from_list(lengths, keys), (
                f"bone lengths from {bone_length_list}, matched to videos by the upstream order: subjects "
                f"{','.join(subjects)}, actions as in {Path(keypoints_2d_file).name}, cameras 0..3")
    raise InputError(f"{bone_length_list} has {len(lengths)} rows, which fits no known video order "
                     f"({'; '.join(counts)}); use lengths_dict.npz instead")

