"""H.264 mp4 files from BGR frames: the one video encoder blapose writes with.

Glossary: H, W frame height and width in pixels (both even); frames are (H, W, 3) uint8 BGR, as
OpenCV reads and draws them.

``H264Writer`` encodes with libx264 through PyAV (the ``av`` wheels bundle FFmpeg with libx264) into
an mp4 that browsers and phones play: H.264 (x264's ultrafast preset makes it Constrained Baseline:
no B-frames, CAVLC), yuv420p (4:2:0, limited range, BT.601),
the index (``moov`` box) before the media data (``+faststart``), and a bit-rate cap (constant
quality ``crf`` under an x264 VBV cap: ``maxrate`` ``max_bitrate`` bits/s, ``bufsize`` half a
second of it, so a video of D seconds holds at most ``max_bitrate * (D + 0.5)`` bits). The file is
written to a temporary name and renamed only when the whole video is encoded.

Why PyAV rather than imageio-ffmpeg's bundled ffmpeg binary (both ship libx264 in their wheels):
encoding the same rendered 1484x720 frames at 30 fps on this project's 2-core machine ran at the
same speed either way (ultrafast: 216 against 240 frames/s, superfast: 115 against 99, same files),
but PyAV's wheel is about half the size (36 MB against 68 MB), frames pass as numpy arrays in the
same process rather than as raw bytes through a pipe to a child process whose failures arrive as
exit codes and stderr text, errors are Python exceptions, and the same package reads the files
back (the tests check codec, pixel format and frame count with it). Licences: PyAV's code is
BSD-3, but its wheels (like imageio-ffmpeg's binary) carry FFmpeg built with libx264, which is
GPLv2+; blapose's MIT source includes none of it, and whoever redistributes the installed wheels
takes on the GPL.

Encoder settings: x264's ``ultrafast`` preset keeps rendering at least twice as fast as MediaPipe
detection on 1080p input (benchmarks/bench_video.py --size 1920x1080 --encoders: 13.5 against 26.9
ms of CPU per frame; OpenCV's mp4v rendering took 13.9 ms); the rendered panels are mostly flat colour
and thin lines, which the bit-rate cap keeps sharp at 720 pixels high. Frames are converted to
yuv420p by OpenCV (BT.601, limited range; 1.3 ms of CPU per 2360x720 frame against 4.5 ms for
PyAV's swscale conversion) and encoded on a worker thread (PyAV releases the GIL while it
encodes), overlapping the drawing of the next frame.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..fileio import atomic_path

#: Bit-rate cap (bits/s) of a rendered video: at most 3 Mbit/s at 720 pixels high.
MAX_BITRATE = 3_000_000
#: VBV buffer in seconds at the cap: how far a short stretch may run over it.
VBV_SECONDS = 0.5
#: x264 constant-rate factor (lower: better and larger) used below the cap.
CRF = 23
#: x264 speed preset: the fastest, so encoding stays a small part of rendering.
PRESET = "ultrafast"
#: What the stream says about its colours, so players convert back as the frames were converted:
#: BT.601 matrix (OpenCV's BGR -> YUV), limited range, sRGB's BT.709 primaries and transfer.
COLOUR_TAGS = "colormatrix=smpte170m:range=tv:colorprim=bt709:transfer=bt709"
#: Frames queued for the encoding thread before ``write`` waits.
QUEUE_FRAMES = 4


def _require_av() -> Any:
    """PyAV, checked to have libx264 (some builds of FFmpeg leave it out)."""
    try:
        import av
    except ImportError:
        raise InputError("writing an H.264 mp4 needs PyAV: pip install 'blapose[video]'") from None
    if "libx264" not in av.codecs_available:
        raise InputError("this build of PyAV has no libx264 encoder; install the PyAV wheel from PyPI "
                         "(pip install --force-reinstall av)")
    return av


class H264Writer:
    """Context-managed H.264 mp4 writer of BGR uint8 frames; the file appears only on success.

    path: the mp4 to write. width, height: frame size in pixels, both even (yuv420p halves
    them). fps: frames per second (> 0). max_bitrate: cap in bits/s (VBV maxrate; the buffer is
    ``VBV_SECONDS`` of it). crf, preset: x264 quality and speed. threaded: encode on a worker thread.

        with H264Writer("out.mp4", 1280, 720, 30.0) as writer:
            for frame in frames:        # (720, 1280, 3) uint8 BGR
                writer.write(frame)
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 max_bitrate: int = MAX_BITRATE, crf: int = CRF, preset: str = PRESET,
                 threaded: bool = True) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise InputError(f"video size {width}x{height}: H.264 (yuv420p) needs positive even width and height")
        if not np.isfinite(fps) or fps <= 0:
            raise InputError(f"frame rate {fps} is not a positive number")
        if max_bitrate <= 0:
            raise InputError(f"bit-rate cap {max_bitrate} is not positive")
        self.path, self.width, self.height, self.fps = Path(path), int(width), int(height), float(fps)
        self.max_bitrate, self.crf, self.preset, self.threaded = int(max_bitrate), crf, preset, threaded
        self.frames = 0
        self._container = self._stream = self._atomic = self._thread = None
        self._queue: queue.Queue | None = None
        self._error: BaseException | None = None

    # -- encoding -------------------------------------------------------------------------------
    def _encode(self, planes: np.ndarray | None) -> None:
        """Encode one frame of yuv420p planes (H * 3 / 2, W) uint8 (None: flush) and mux its packets."""
        video_frame = None if planes is None else self._av.VideoFrame.from_ndarray(planes, format="yuv420p")
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def _work(self) -> None:
        """Worker thread: encode queued frames until None; keep the first error for ``write``/exit."""
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is None:
                try:
                    self._encode(frame)
                except BaseException as error:  # handed to the caller's thread
                    self._error = error

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, frame: np.ndarray) -> None:
        """Encode one frame (H, W, 3) uint8 BGR of the writer's size (the array may be reused after)."""
        if self._stream is None:
            raise RuntimeError("H264Writer.write outside its 'with' block")
        frame = np.asarray(frame)
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise InputError(f"frame of shape {frame.shape} {frame.dtype}, expected "
                             f"({self.height}, {self.width}, 3) uint8")
        self.frames += 1
        # OpenCV's conversion: BT.601, limited range, as swscale's default but about 3x cheaper
        planes = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2YUV_I420)
        if not self.threaded:
            self._encode(planes)
            return
        self._raise_worker_error()
        self._queue.put(planes)

    # -- file handling --------------------------------------------------------------------------
    def __enter__(self) -> H264Writer:
        import cv2

        self._av, self._cv2 = _require_av(), cv2
        self._atomic = atomic_path(self.path)
        try:
            temporary = self._atomic.__enter__()
        except OSError as error:
            raise InputError(f"{self.path}: cannot write here ({error.strerror or error})") from None
        try:
            self._container = self._av.open(str(temporary), mode="w", format="mp4",
                                            options={"movflags": "+faststart"})
            stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.options = {"preset": self.preset, "crf": str(self.crf), "maxrate": str(self.max_bitrate),
                              "bufsize": str(int(self.max_bitrate * VBV_SECONDS)), "x264-params": COLOUR_TAGS}
            self._stream = stream
        except BaseException as error:
            if self._container is not None:
                self._container.close()
            self._atomic.__exit__(type(error), error, error.__traceback__)
            raise
        if self.threaded:
            self._queue = queue.Queue(maxsize=QUEUE_FRAMES)
            self._thread = threading.Thread(target=self._work, name="h264-encoder", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        try:
            self._finish(success=kind is None)
        except BaseException as error:
            if kind is None:
                kind, value, traceback = type(error), error, error.__traceback__
            self._atomic.__exit__(kind, value, traceback)
            raise
        self._atomic.__exit__(kind, value, traceback)
        return None

    def _finish(self, success: bool) -> None:
        """Stop the worker; on success flush the encoder and write the index; always close the file."""
        try:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None
            if success:
                self._raise_worker_error()
                if self.frames == 0:
                    raise InputError(f"{self.path}: no frames to write")
                self._encode(None)
        finally:
            self._stream = None
            container, self._container = self._container, None
            if success:
                container.close()
            else:
                with contextlib.suppress(Exception):
                    container.close()
