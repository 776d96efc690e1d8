"""The files of ``blapose video``: where they go (``<name>_person<K>.npz`` / ``.bvh`` / ``.trc`` /
``.c3d`` per person and one ``<name>.mp4``), the output folder checked before anything runs, files of
an earlier run removed, and every file written to a temporary name and renamed only when all are
complete, so a failure leaves none.

BVH, TRC and C3D are written in the upright frame (y up, ``geometry.rotations.upright_frame`` of the
person's up), meters; the npz as ``results.NPZ_KEYS`` says.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path
from ..geometry.rotations import upright_frame
from ..native_stderr import native_stderr_silenced
from ..progress import Progress
from .clip import Clip
from .options import Outputs
from .results import PersonResult

#: Motion files a person gets on request (``Outputs`` flags of the same names), beside their npz.
MARKER_KINDS = ("bvh", "trc", "c3d")
#: The end of a person's file name after ``<name>``: ``_person<K>.npz`` or one of ``MARKER_KINDS``.
_PERSON_FILE = rf"_person\d+\.(npz|{'|'.join(MARKER_KINDS)})"
#: Height (pixels) of the rendered video; frames are scaled to it.
RENDER_HEIGHT = 720


def prepare_output_folder(folder: Path) -> list[Path]:
    """Make sure ``folder`` can take files; return the folders created here, deepest first."""
    created = []
    missing = folder.absolute()
    while not missing.exists():
        created.append(missing)
        missing = missing.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        remove_empty(created)
        raise InputError(f"cannot write to output folder {folder} ({error.strerror or error})") from None
    return created


def remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def check_not_inputs(folder: Path, name: str, inputs) -> None:
    """Refuse an output folder where an input file has the name of an output (``<name>.mp4``,
    ``<name>_person<K>.npz``, ...): writing would replace it."""
    pattern = re.compile(rf"{re.escape(name)}(\.mp4|{_PERSON_FILE})")
    for item in inputs:
        if item is not None and Path(item).parent.resolve() == folder.resolve() and pattern.fullmatch(Path(item).name):
            raise InputError(f"the outputs would overwrite the input {item}; choose another --out")


def output_targets(folder: Path, clip: Clip, count: int, outputs: Outputs) -> dict:
    """{'people': [{kind: path}] per person, 'mp4': path (with a video and ``render``)}."""
    people = []
    for number in range(1, count + 1):
        stem = folder / f"{clip.name}_person{number}"
        files = {"npz": stem.with_suffix(".npz")}
        files.update({kind: stem.with_suffix(f".{kind}") for kind in MARKER_KINDS if getattr(outputs, kind)})
        people.append(files)
    targets: dict = {"people": people}
    if outputs.render and clip.video is not None:
        targets["mp4"] = folder / f"{clip.name}.mp4"
    return targets


def remove_stale(folder: Path, name: str, targets: dict) -> None:
    """Remove ``<name>_person<K>`` files an earlier run left in ``folder`` that this run did not write
    (it followed fewer people, or was asked for fewer kinds of file), so the folder holds one run."""
    written = {path.name for files in targets["people"] for path in files.values()}
    pattern = re.compile(rf"{re.escape(name)}{_PERSON_FILE}")
    for path in folder.iterdir():
        if pattern.fullmatch(path.name) and path.name not in written and path.is_file():
            path.unlink()


def write_outputs(results: list[PersonResult], clip: Clip, targets: dict, seconds: dict[str, float],
                  show_progress: bool, label: str = "lifter") -> None:
    """Write every output to a temporary name; rename them all only when all are complete."""
    from .bvh import write_bvh
    from .c3d import write_c3d
    from .trc import H36M_MARKER_NAMES, person_markers, write_trc

    with contextlib.ExitStack() as stack:
        stage = time.perf_counter()
        for result, files in zip(results, targets["people"]):
            temporary = {kind: stack.enter_context(atomic_path(target)) for kind, target in files.items()}
            np.savez(temporary["npz"], **result.arrays())
            upright = upright_frame(result.up)  # camera frame -> the BVH file's upright frame
            if "bvh" in temporary:
                roots = None if result.trajectory is None else result.trajectory @ upright.T
                write_bvh(temporary["bvh"], result.poses_3d_adjusted @ upright.T, result.bone_lengths, result.fps,
                          root_positions=roots)
            if "trc" in temporary or "c3d" in temporary:
                markers = person_markers(result.poses_3d_adjusted, upright, result.trajectory, result.detected)
                first = int(result.frames[0])
                if "trc" in temporary:
                    write_trc(temporary["trc"], markers, H36M_MARKER_NAMES, result.fps, first_frame=first,
                              file_name=files["trc"].name)
                if "c3d" in temporary:
                    write_c3d(temporary["c3d"], markers, H36M_MARKER_NAMES, result.fps, first_frame=first)
        seconds["write"] = time.perf_counter() - stage
        if "mp4" in targets:
            stage = time.perf_counter()
            _render(stack.enter_context(atomic_path(targets["mp4"])), results, clip, show_progress, label)
            seconds["decode + render"] = time.perf_counter() - stage


def _render(path: Path, results: list[PersonResult], clip: Clip, show_progress: bool, label: str) -> None:
    """Everyone in one mp4 of the clip's frames: 2D on the video, 3D placed by their trajectories."""
    from ..viz.render import PersonTrack, write_people_video

    tracks = [PersonTrack(result.number, result.frames - clip.frames.first,
                          {label: result.poses_3d, "adjusted": result.poses_3d_adjusted},
                          keypoints_2d=result.keypoints_2d, visible=result.visible() & result.detected[:, None],
                          trajectory=result.trajectory) for result in results]
    with native_stderr_silenced() as stderr, Progress(total=clip.count, description="render", unit="frame",
                                                      enabled=show_progress, stream=stderr) as bar:
        write_people_video(path, tracks, clip.fps, frames=clip.decoded(),
                           num_frames=clip.count, up=results[0].up, overlay=True, faint=(label,),
                           height=min(RENDER_HEIGHT, clip.height), progress=bar)
