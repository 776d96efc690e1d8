"""The closing report of ``blapose video``: the clip and its sources, then per person their frames,
frames without a detection, height and bone lengths, unseen joints and place; time per stage and the
files written.

Meters inside; bone lengths are reported in millimetres, heights and distances in meters.
"""

from __future__ import annotations

import numpy as np

from ..skeleton import H36M
from .clip import Clip
from .options import PersonChoice, Source
from .results import PersonResult
from .visibility import unseen_share


def source_3d_words(lifter: str, source: Source) -> str:
    """Where the 3D poses come from, in words: the lifter, or the file of --poses."""
    if source.poses is not None:
        return f"the 3D poses of {source.poses} (--poses)"
    text = f"the lifter {lifter}"
    if source.keypoints is not None:
        text += " (MediaPipe's own 3D does not exist for another detector's keypoints)"
    return text


def summary(results: list[PersonResult], clip: Clip, source_3d: str, choice: PersonChoice) -> str:
    """The closing report: the clip and its sources, then per person their frames, frames without a
    detection, height and bone lengths (mm), unseen joints and place; time per stage, files written."""
    from .lengths import Population

    population = Population.load()
    where = clip.video.name if clip.video is not None else clip.keypoints.source
    lines = [f"{where}: {clip.count} frames at {clip.fps:g} fps, {clip.width}x{clip.height}; 2D from "
             f"{clip.source_2d}; 3D from {source_3d}"]
    if clip.keypoints is not None:
        lines.append("left and right swaps not repaired (that needs MediaPipe's 3D)")
    if choice.person_box is not None:
        who = "the person in --person-box"
    elif choice.people == "all":
        who = f"everyone followed for at least {choice.min_seconds:g} s"
    else:
        who = f"the {choice.people} followed longest, each for at least {choice.min_seconds:g} s"
    lines.append(f"people: {len(results)} ({who})")
    names = [H36M.joint_names[child] for child in H36M.bone_children]
    sizes = {"height": "sized to the given --height", "model": "size from the length model",
             "fallback": "size and proportions from the video's own poses"}
    for result in results:
        frames = len(result.frames)
        missing = int((~result.detected).sum())
        lengths = result.bone_lengths if result.bone_lengths.ndim == 1 else result.bone_lengths[-1]
        which = "" if result.bone_lengths.ndim == 1 else " (last frame, causal)"
        swapped = "" if result.swapped is None else f"; left and right put back in {int(result.swapped.sum())}"
        lines.append(f"person {result.number}: {frames} frames ({result.frames[0]}-{result.frames[-1]}), "
                     f"{missing} without a detection ({100 * missing / frames:.0f} %, filled){swapped}; "
                     f"height about {float(population.height_of(lengths)):.2f} m ({sizes[result.scale_source]})")
        lines.append(f"  bone lengths{which}, mm, by the joint each bone ends at: "
                     + ", ".join(f"{n} {v * 1000:.0f}" for n, v in zip(names, lengths)))
        if result.lengths_note:
            lines.append(f"  note: {result.lengths_note}")
        share = unseen_share(result.visible() & result.detected[:, None])
        unseen = [f"{H36M.joint_names[joint]} {100 * share[joint]:.0f} %"
                  for joint in np.argsort(-share, kind="stable") if share[joint] >= 0.1]
        if unseen:
            lines.append(f"  joints not seen (drawn dashed), share of frames: {', '.join(unseen)}")
        if result.trajectory is not None:
            lines.append(f"  position: median distance from the camera {np.median(result.trajectory[:, 2]):.2f} m "
                         f"(focal length {result.focal_length:.0f} px)")
    seconds = results[0].seconds
    total = seconds.get("total", float("nan"))
    stages = ", ".join(f"{stage} {value:.2f} s" for stage, value in seconds.items() if stage != "total")
    lines.append(f"time: {stages}; total {total:.2f} s = {clip.count / total:.1f} frames/s")
    files = [path for result in results for kind, path in result.files.items() if kind != "mp4"]
    files += [results[0].files["mp4"]] if "mp4" in results[0].files else []
    lines += [f"wrote {path}" for path in files]
    if clip.video is None:
        lines.append("no video: nothing rendered")
    return "\n".join(lines)
