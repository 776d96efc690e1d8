"""Many videos in one call of ``blapose video``: find them, give each a folder, share them out, run them.

Stages: ``expand_inputs`` (files as given, folders -> their video files by extension, one sorted
list) -> ``output_folders`` (each video's own folder; two videos with the same name never share
one) -> ``select_shard`` (every N-th video, for job arrays) -> ``run_videos`` (one after the other,
or in N worker processes, each with torch on one thread), which returns one ``VideoOutcome`` per
video; a video that fails stops only itself, and ``blapose.video.pipeline.process`` leaves no file
of it behind. ``summary`` is the closing report.

Folders are assigned on the whole sorted list before it is sharded, so the shards of a job array
agree on them: ``blapose video clips/ --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``
(SLURM and Kubernetes indexed jobs both count from 0).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError

#: File name endings (lower case) taken as videos when a folder is given.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
                    ".mts", ".m2ts", ".ts")
#: Where each video's folder goes when no ``--out`` is given.
DEFAULT_PARENT = Path("output")


@dataclass(frozen=True)
class VideoOutcome:
    """How one video went: ``ok``, the folder its files went to (None if failed), the reason it
    failed (one line, '' if ok), frames processed and wall seconds."""

    video: Path
    folder: Path | None
    ok: bool
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """One line for a log: 'ok VIDEO -> FOLDER (...)' or 'failed VIDEO: REASON'."""
        if self.ok:
            return f"ok      {self.video} -> {self.folder} ({self.frames} frames, {self.seconds:.1f} s)"
        return f"failed  {self.video}: {self.reason}"


@dataclass
class BatchPlan:
    """What ``blapose video`` will do: ``videos`` holds ``process``' keyword arguments for each video of
    this shard, in order; ``jobs`` videos run at once; ``several``: the command was given a folder
    or more than one input (each video then gets its own folder under the output parent)."""

    videos: list[dict] = field(default_factory=list)
    jobs: int = 1
    several: bool = False


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """The videos named by ``inputs``, sorted by path, each once.

    A folder stands for its files ending in ``VIDEO_EXTENSIONS`` (any case; not its sub-folders);
    anything else is taken as a video file as given, even if it does not exist (the pipeline then
    fails it in one line). A folder holding no video raises ``InputError``.
    """
    videos: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = [child for child in path.iterdir()
                     if child.is_file() and child.suffix.lower() in VIDEO_EXTENSIONS]
            if not found:
                raise InputError(f"folder {path} holds no video file ({', '.join(VIDEO_EXTENSIONS)})")
            videos.update(found)
        else:
            videos.add(path)
    return sorted(videos)


def parse_shard(text: str) -> tuple[int, int]:
    """``'I/N'`` -> (I, N): shard I (counted from 0) of N; ``InputError`` unless 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r} must be I/N with whole numbers, e.g. 0/4 (I counts from 0)") from None
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text!r}: needs N >= 1 and 0 <= I < N (I counts from 0)")
    return index, count


def select_shard(videos: Sequence, index: int, count: int) -> list:
    """Every ``count``-th item of ``videos`` from item ``index`` on (0 <= index < count)."""
    return list(videos[index::count])


def output_folders(videos: Sequence[Path], parent: str | os.PathLike) -> list[Path]:
    """One folder under ``parent`` per video, named after the video's file name without its extension.

    Videos sharing that name (clips/a.mp4, other/a.mp4, a.mov) get ``<name>-1``, ``<name>-2``, ...
    in the order given, skipping names already taken, so that no video writes over another.
    """
    parent = Path(parent)
    stems = [video.stem for video in videos]
    taken = {stem for stem in stems if stems.count(stem) == 1}
    names = []
    counters: dict[str, int] = {}
    for stem in stems:
        if stems.count(stem) == 1:
            names.append(stem)
            continue
        number = counters.get(stem, 0)
        while True:
            number += 1
            name = f"{stem}-{number}"
            if name not in taken:
                break
        counters[stem] = number
        taken.add(name)
        names.append(name)
    return [parent / name for name in names]


def plan_videos(inputs: Sequence[str | os.PathLike], out: str | os.PathLike | None, settings: dict,
                shard: str | None = None, jobs: int = 1) -> BatchPlan:
    """The plan of ``blapose video INPUT... [--out OUT] [--shard I/N] [--jobs N]``.

    One file and no shard: ``settings`` with ``path`` and ``out_dir`` (OUT, or None for
    ``output/<name>``), as before there were several. Otherwise each video of the shard gets
    ``out_dir`` = its folder under OUT (default ``output``) from ``output_folders``. settings:
    ``process``' keyword arguments (its options objects), shared by every video; ``process_video``
    puts ``out_dir`` into their ``Outputs``.
    """
    if jobs < 1:
        raise InputError(f"--jobs {jobs} must be at least 1")
    several = len(inputs) > 1 or any(Path(item).is_dir() for item in inputs) or shard is not None
    videos = expand_inputs(inputs)
    if several:
        folders = output_folders(videos, DEFAULT_PARENT if out is None else out)
    else:
        folders = [None if out is None else Path(out)]
    chosen = list(zip(videos, folders))
    if shard is not None:
        chosen = select_shard(chosen, *parse_shard(shard))
    plans = [{**settings, "path": str(video), "out_dir": None if folder is None else str(folder)}
             for video, folder in chosen]
    return BatchPlan(plans, jobs, several)


def process_video(settings: dict, show_progress: bool, log: Callable[[str], None] | None) -> tuple[int, Path]:
    """Run ``blapose.video.pipeline.process`` on one video with ``settings`` (its options objects by
    keyword, ``path`` and ``out_dir``, which goes into its ``Outputs``); return the clip's frame
    count and the folder its files went to."""
    from .options import Outputs
    from .pipeline import process

    options = dict(settings)
    path, out_dir = options.pop("path"), options.pop("out_dir", None)
    options["outputs"] = replace(options.get("outputs") or Outputs(), out_dir=out_dir)
    results = process(path, **options, show_progress=show_progress, log=log)
    return results[0].clip_frames, results[0].files["npz"].parent


def _outcome(settings: dict, show_progress: bool, log: Callable[[str], None] | None) -> VideoOutcome:
    """One video, its failure caught as a one-line reason (``KeyboardInterrupt`` still stops all)."""
    start = time.perf_counter()
    video = Path(settings["path"])
    try:
        frames, folder = process_video(settings, show_progress, log)
    except (InputError, OSError) as error:
        return VideoOutcome(video, None, False, str(error), seconds=time.perf_counter() - start)
    except Exception as error:  # a bug or a library's failure on this file: it stops this video only
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        return VideoOutcome(video, None, False, reason, seconds=time.perf_counter() - start)
    return VideoOutcome(video, folder, True, frames=frames, seconds=time.perf_counter() - start)


def _start_worker() -> None:
    """Worker process set-up: one thread for torch (and the BLAS/OpenMP pools under it) and OpenCV."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        import cv2
    except ImportError:
        return
    cv2.setNumThreads(1)


def _worker(settings: dict) -> VideoOutcome:
    return _outcome(settings, show_progress=False, log=None)


def run_videos(plan: BatchPlan, report: Callable[[VideoOutcome, int, int], None] | None = None,
               show_progress: bool = True, log: Callable[[str], None] | None = print) -> list[VideoOutcome]:
    """Process every video of ``plan``; return their outcomes in the plan's order.

    With ``plan.jobs`` 1 the videos run one after the other in this process, with progress bars
    (``show_progress``) and ``process``' closing report (``log``). With more, up to ``jobs``
    worker processes (spawned, torch on one thread each) run them without bars or reports.
    report(outcome, done, total) is called as each video finishes, in the order they finish.
    """
    outcomes: dict[int, VideoOutcome] = {}
    total = len(plan.videos)

    def finished(index: int, outcome: VideoOutcome) -> None:
        outcomes[index] = outcome
        if report is not None:
            report(outcome, len(outcomes), total)

    if plan.jobs == 1 or total <= 1:
        for index, settings in enumerate(plan.videos):
            finished(index, _outcome(settings, show_progress, log))
    else:
        _run_in_processes(plan, finished)
    return [outcomes[index] for index in range(total)]


def _run_in_processes(plan: BatchPlan, finished: Callable[[int, VideoOutcome], None]) -> None:
    """Run ``plan``'s videos in ``plan.jobs`` spawned worker processes; a worker that dies fails the
    videos it had not finished."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # no fork of a process with torch's thread pools
    workers = min(plan.jobs, len(plan.videos))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool:
        futures = {pool.submit(_worker, settings): index for index, settings in enumerate(plan.videos)}
        try:
            for future in as_completed(futures):
                index = futures[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    outcome = VideoOutcome(Path(plan.videos[index]["path"]), None, False,
                                           "a worker process died (crashed or ran out of memory) before it finished")
                finished(index, outcome)
        except BaseException:  # Ctrl-C: do not start the videos still waiting
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def summary(outcomes: Sequence[VideoOutcome]) -> str:
    """The closing report: counts, then one line per video (ok with its folder, failed with why)."""
    failed = sum(not outcome.ok for outcome in outcomes)
    lines = [f"summary: {len(outcomes) - failed} of {len(outcomes)} videos ok, {failed} failed"]
    lines += [f"  {outcome.line()}" for outcome in outcomes]
    return "\n".join(lines)
