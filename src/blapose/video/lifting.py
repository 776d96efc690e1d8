"""Each person of a clip from 2D to 3D: lift at 50 fps (or take given 3D poses), predict and check
the bone lengths, adjust the poses to them, place the person in the scene, and one up for everyone.

Glossary: T clip frames, T_k frames of person k, J joints (17), B bones (16). Poses are meters,
camera frame (x right, y down, z forward), root-relative; keypoints are pixels of the video frame.
"""

from __future__ import annotations

import os

import numpy as np

from ..bones import adjust_poses
from ..errors import InputError
from ..geometry.camera import normalize_screen_coordinates
from ..lengths.reference import median_lengths
from ..progress import Progress
from . import resample
from .clip import Clip
from .follow import Track2D
from .keypoint_files import read_poses
from .options import Lifting, Scene, Source
from .results import PersonResult


def load_models(lifter: str, lifting: Lifting, source: Source) -> tuple[list, object]:
    """The lifting models (None for MediaPipe's 3D; none with ``source.poses``) and the length model."""
    from .models import load_length_model, load_lifter

    lifting_models = [] if source.poses is not None else [load_lifter(name) for name in lifter.split("+")]
    lengths_model = load_length_model(lifting.length_model, lifting.bidirectional)
    if lifting.causal and lengths_model.bidirectional:
        raise InputError("--causal needs a unidirectional (GRU) length model; this one is bidirectional")
    return lifting_models, lengths_model


def read_given_poses(path: str | os.PathLike | None) -> np.ndarray | None:
    """The 3D poses (T, J, 3) meters, camera frame, of the file at ``path`` (``--poses``); None without one."""
    return None if path is None else read_poses(path)



def lift_people(tracks: list[Track2D], clip: Clip, lifter: str, models: tuple[list, object], lifting: Lifting,
                scene: Scene, focal: float, given: np.ndarray | None, show_progress: bool) -> list[PersonResult]:
    """Every person through ``lift_person``, numbered 1, 2, ... in the order given, with one shared up."""
    results = []
    with Progress(total=sum(len(t.frames) for t in tracks), description="lift 3D + lengths", unit="frame",
                  enabled=show_progress) as bar:
        for number, track in enumerate(tracks, 1):
            results.append(lift_person(number, track, clip, lifter, models, lifting, scene, focal, given))
            bar.update(len(track.frames))
    _share_up(results)
    return results


def lift_person(number: int, track: Track2D, clip: Clip, lifter: str, models: tuple[list, object],
                lifting: Lifting, scene: Scene, focal: float, given: np.ndarray | None) -> PersonResult:
    """One person: lift at 50 fps (or take ``given`` poses (T, J, 3) of the clip), predict and check
    bone lengths, adjust, and place in the scene."""
    from .geometry import low_pass, root_trajectory
    from .lengths import choose_lengths
    from .models import predict_bone_lengths

    lifting_models, lengths_model = models
    frames = len(track.frames)
    normalized = normalize_screen_coordinates(track.keypoints, clip.width, clip.height)
    model_keypoints = resample.to_model_rate(normalized, clip.fps)
    if given is not None:
        poses = given[track.frames - clip.frames.first]
        poses = poses - poses[:, :1]
    else:
        poses = _lift(lifter, lifting_models, model_keypoints, track, clip, focal)
    predicted = predict_bone_lengths(lengths_model, model_keypoints, lifting.causal)
    if lifting.causal:
        lengths, scale_source, note = predicted[resample.latest_model_frame(frames, clip.fps)], "model", ""
    else:
        choice = choose_lengths(predicted, median_lengths(poses), lifting.height)
        lengths, scale_source, note = choice.lengths, choice.scale_source, choice.note
    adjusted = adjust_poses(poses, lengths)
    path = None
    if scene.trajectory:
        path = low_pass(root_trajectory(adjusted, track.keypoints, track.scores, focal, clip.width, clip.height),
                        clip.fps)
    return PersonResult(number, track.frames, track.keypoints, track.scores, track.detected, poses, adjusted,
                        lengths, clip.fps, clip.width, clip.height, up_direction(adjusted), trajectory=path,
                        focal_length=focal, swapped=track.swapped, scale_source=scale_source, lengths_note=note,
                        clip_frames=clip.count)


def _lift(lifter: str, lifting_models: list, model_keypoints: np.ndarray, track: Track2D, clip: Clip,
          focal: float) -> np.ndarray:
    """Root-relative poses (T_k, J, 3) meters, camera frame, of the chosen lifter (see ``models``); a
    lifter ``A+B`` gives the mean of A's and B's poses."""
    from .geometry import low_pass, poses_on_rays
    from .models import lift

    poses = []
    for name, model in zip(lifter.split("+"), lifting_models):
        if model is not None:
            poses.append(resample.to_video_rate(lift(model, model_keypoints), clip.fps, len(track.keypoints)))
            continue
        mediapipe = track.world - track.world[:, :1]
        if name == "mediapipe-rays":
            mediapipe = poses_on_rays(mediapipe, track.keypoints, track.scores, focal, clip.width, clip.height)
        if name != "mediapipe":
            mediapipe = low_pass(mediapipe, clip.fps)
        poses.append(mediapipe)
    mean = np.mean(poses, axis=0)
    return mean - mean[:, :1]


def up_direction(poses: np.ndarray) -> np.ndarray:
    """The world's up (3,) in the camera frame, from poses (T, J, 3) (the renderer's estimate)."""
    from ..viz.render import estimate_up

    return estimate_up(poses)


def _share_up(results: list[PersonResult]) -> None:
    """One up for everyone in the clip: the estimate from all their adjusted poses (one person: theirs)."""
    if len(results) > 1:
        up = up_direction(np.concatenate([result.poses_3d_adjusted for result in results]))
        for result in results:
            result.up = up
