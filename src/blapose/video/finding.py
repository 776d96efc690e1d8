"""Finding the people of a clip: read from a keypoint file (its ids or tracking) or detected by
MediaPipe (``people.detect_people``; with a box, the one person ``detector.detect_landmarks``
follows), then followed and chosen (``follow.choose_people``).

Keypoints are pixels of the video frame; frames are the video's, counted from 0.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..errors import InputError
from ..native_stderr import native_stderr_silenced
from ..progress import Progress
from .clip import Clip
from .follow import Track2D, choose_people, from_landmarks, keypoint_tracks, person_in_box
from .options import PersonChoice


def find_people(clip: Clip, choice: PersonChoice, seconds: dict[str, float], show_progress: bool) -> list[Track2D]:
    """Read or detect, then follow: each chosen person's 2D track (``follow.Track2D``), ordered by first
    frame. Sets ``clip.count`` to the frames decoded. Raises ``InputError`` when nobody is left."""
    stage = time.perf_counter()
    if clip.keypoints is not None:
        tracks = keypoint_tracks(clip.keypoints, clip.frames.first, clip.frames.first + clip.count, fps=clip.fps)
        if choice.person_box is not None:
            tracks = [person_in_box(tracks, choice.person_box)]
        seconds["read keypoints + follow"] = time.perf_counter() - stage
    else:
        tracks = _detect(clip, choice, show_progress)
        seconds["decode + detect + follow"] = time.perf_counter() - stage
        if clip.count < 2:
            what = "no frames" if clip.count == 0 else "only one frame"
            raise InputError(f"{clip.video} has {what} in the chosen range; at least 2 are needed")
        if not tracks:
            raise InputError(f"no person was detected in any of the {clip.count} frames of {clip.video}")
    if choice.person_box is not None:
        return tracks
    needed = max(2, math.ceil(choice.min_seconds * clip.fps - 1e-9))
    chosen = choose_people(tracks, choice.people, needed)
    if not chosen:
        where = clip.video if clip.video is not None else clip.keypoints.source
        raise InputError(f"nobody in {where} was followed in at least {needed} frames ({choice.min_seconds:g} s; "
                         f"{len(tracks)} seen for less); lower --min-seconds")
    return chosen


def _detect(clip: Clip, choice: PersonChoice, show_progress: bool) -> list[Track2D]:
    """MediaPipe on the video's frames: every person (``people.detect_people``), or with a box the one
    person ``detector.detect_landmarks`` follows over the whole clip."""
    from .detector import detect_landmarks
    from .people import detect_people

    decoded = 0

    def frames():
        nonlocal decoded
        for frame in clip.decoded():
            decoded += 1
            yield frame

    with native_stderr_silenced() as stderr, Progress(total=clip.count or None, description="detect 2D",
                                                      unit="frame", enabled=show_progress, stream=stderr) as bar:
        if choice.person_box is not None:
            found = detect_landmarks(frames(), clip.width, clip.height, bar, person_box=choice.person_box)
            clip.count = decoded
            if not found.detected.any():
                return []
            span = clip.frames.first + np.arange(len(found.detected))
            return [from_landmarks(0, span, found.detected, found.pixels, found.visibility, found.world)]
        people = detect_people(frames(), clip.width, clip.height, bar, min_seconds=0.0, fps=clip.fps)
    clip.count = decoded
    return [from_landmarks(p.person, clip.frames.first + p.frames, p.detected, p.pixels, p.visibility, p.world)
            for p in people]
