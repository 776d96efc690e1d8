"""Tests of the H.264 mp4 writer (blapose.viz.encode) and of rendered videos playing in a browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from blapose.data.motion import simulate_action
from blapose.data.synthetic import MEAN_LENGTHS
from blapose.errors import InputError
from blapose.geometry.camera import h36m_cameras, project_to_2d
from blapose.viz.encode import MAX_BITRATE, VBV_SECONDS, H264Writer
from blapose.viz.render import write_pose_video

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level boxes of an ISO base media (mp4) file, in file order (ISO/IEC 14496-12)."""
    data = path.read_bytes()
    types, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:  # 64-bit size follows the type
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:  # box runs to the end of the file
            size = len(data) - offset
        types.append(kind.decode("latin-1"))
        offset += size
    assert offset == len(data), "boxes do not tile the file"
    return types


def probe(path: Path) -> dict:
    """Codec, pixel format, size, decoded frame count and duration (s) of the first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {"codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt,
                "size": (stream.codec_context.width, stream.codec_context.height),
                "fps": float(stream.average_rate)}
        info["frames"] = sum(1 for _ in container.decode(video=0))
    info["seconds"] = info["frames"] / info["fps"]
    return info


def moving_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """BGR frames of a bright square crossing a dark gradient."""
    gradient = np.linspace(20, 120, width, dtype=np.uint8)[None, :, None]
    frames = []
    for t in range(count):
        frame = np.broadcast_to(gradient, (height, width, 3)).copy()
        x = int(t * (width - 40) / max(count - 1, 1))
        frame[height // 3:height // 3 + 40, x:x + 40] = (40, 200, 240)
        frames.append(frame)
    return frames


def encode(path: Path, frames: list[np.ndarray], fps: float, **options) -> Path:
    """``frames`` (H, W, 3) BGR written with ``H264Writer`` at ``fps`` (and its ``options``); returns ``path``."""
    height, width = frames[0].shape[:2]
    with H264Writer(path, width, height, fps, **options) as writer:
        for frame in frames:
            writer.write(frame)
    return path


@pytest.fixture(scope="module")
def walk():
    """(poses (T, 17, 3) meters, camera frame; keypoints (T, 17, 2) pixels) of 40 frames of walking."""
    world = simulate_action("Walking", MEAN_LENGTHS, 40, np.random.default_rng(5))
    camera = h36m_cameras("S9")[1]
    poses = camera.world_to_camera(world.astype(np.float64))
    return poses, project_to_2d(poses, camera.intrinsic_pixels())


@pytest.fixture(scope="module")
def pose_video(tmp_path_factory, walk) -> Path:
    """A rendered pose video at 720 pixels high over 1280x720 frames, as ``blapose video`` draws it."""
    poses, keypoints = walk
    frames = moving_frames(len(poses), 1280, 720)
    path = tmp_path_factory.mktemp("render") / "walk.mp4"
    return write_pose_video(path, {"lifter": poses, "adjusted": poses * 1.05}, fps=25, frames=frames,
                            keypoints_2d=keypoints, overlay=True, faint=("lifter",), height=720)


def test_written_file_is_h264_yuv420p_with_every_frame(tmp_path):
    """The writer's mp4 decodes as H.264 yuv420p with the frames, size and rate it was given."""
    info = probe(encode(tmp_path / "clip.mp4", moving_frames(31, 320, 240), 15.0))
    assert (info["codec"], info["pix_fmt"], info["size"], info["frames"]) == ("h264", "yuv420p", (320, 240), 31)
    assert info["fps"] == pytest.approx(15.0)


def test_index_comes_before_the_media_data(tmp_path):
    """faststart: the moov box precedes mdat, so a browser can start playing while downloading."""
    boxes = top_level_boxes(encode(tmp_path / "clip.mp4", moving_frames(20, 160, 120), 10.0))
    assert boxes[0] == "ftyp" and "moov" in boxes and "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat")


def test_decoded_frames_match_the_written_ones(tmp_path):
    """What is decoded is the picture that was written (mean absolute error under 4 grey levels)."""
    frames = moving_frames(12, 320, 240)
    path = encode(tmp_path / "clip.mp4", frames, 12.0)
    with av.open(str(path)) as container:
        decoded = [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]
    errors = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(decoded, frames)]
    assert len(decoded) == len(frames) and max(errors) < 4.0


def test_bit_rate_cap_holds_on_noise(tmp_path):
    """Random noise (incompressible) stays within the cap's budget, which is far below what it would take without."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(45)]
    cap, fps = 1_000_000, 15.0
    sizes = {}
    for name, limit in (("capped", cap), ("uncapped", 100 * cap)):
        path = encode(tmp_path / f"{name}.mp4", frames, fps, max_bitrate=limit)
        sizes[name] = path.stat().st_size * 8
    seconds = len(frames) / fps
    assert sizes["capped"] <= cap * (seconds + VBV_SECONDS)
    assert sizes["uncapped"] > 3 * cap * seconds


def test_a_failed_write_leaves_no_file(tmp_path):
    """An error inside the with block leaves neither the mp4 nor a temporary file."""
    with pytest.raises(RuntimeError, match="stop"), H264Writer(tmp_path / "clip.mp4", 160, 120, 10.0) as writer:
        for frame in moving_frames(5, 160, 120):
            writer.write(frame)
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["odd size", "wrong frame", "no frames"])
def test_bad_input_is_refused_in_one_line_without_a_file(tmp_path, case):
    """Odd sizes, frames of another shape and an empty video raise InputError and write nothing."""
    path = tmp_path / "clip.mp4"
    with pytest.raises(InputError) as error:
        if case == "odd size":
            H264Writer(path, 161, 120, 10.0)
        with H264Writer(path, 160, 120, 10.0) as writer:
            if case == "wrong frame":
                writer.write(np.zeros((120, 162, 3), np.uint8))
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_rendered_pose_video_is_h264_under_the_cap(pose_video, walk):
    """write_pose_video's mp4: H.264, yuv420p, moov first, one frame per pose, 720 high, within 3 Mbit/s."""
    info = probe(pose_video)
    assert (info["codec"], info["pix_fmt"], info["frames"]) == ("h264", "yuv420p", len(walk[0]))
    assert info["size"][1] == 720 and info["size"][0] % 2 == 0
    boxes = top_level_boxes(pose_video)
    assert boxes.index("moov") < boxes.index("mdat")
    assert pose_video.stat().st_size * 8 <= MAX_BITRATE * (info["seconds"] + VBV_SECONDS)


def find_chromium() -> str | None:
    """A Chromium or Chrome executable on PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def browser_status(browser: str, video: Path, folder: Path) -> str:
    """What a headless browser's <video> element reports for ``video``: 'loadeddata WxH' or 'error CODE'."""
    page = folder / "page.html"
    shutil.copy(video, folder / "clip.mp4")
    page.write_text(
        '<!doctype html><html><body><div id="status">pending</div>'
        '<video id="v" muted preload="auto" src="clip.mp4"></video><script>'
        'const v = document.getElementById("v"), s = document.getElementById("status");'
        'v.addEventListener("loadeddata", () => { s.textContent = "loadeddata " + v.videoWidth + "x" + v.videoHeight; });'
        'v.addEventListener("error", () => { s.textContent = "error " + (v.error && v.error.code); });'
        '</script></body></html>')
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={folder / 'profile'}", "--virtual-time-budget=10000", "--dump-dom",
               page.as_uri()]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    start = dom.find('<div id="status">')
    assert start >= 0, f"the browser printed no page: {dom[:200]!r}"
    return dom[start + len('<div id="status">'):dom.find("</div>", start)]


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_rendered_video_loads_in_headless_chromium(pose_video, tmp_path):
    """Chromium's <video> fires loadeddata on the rendered mp4 (MPEG-4 Part 2 gets MEDIA_ERR_SRC_NOT_SUPPORTED)."""
    width, height = probe(pose_video)["size"]
    assert browser_status(find_chromium(), pose_video, tmp_path) == f"loadeddata {width}x{height}"


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_browser_check_refuses_mpeg4_part2(tmp_path):
    """Control: the same check on OpenCV's 'mp4v' file reports MEDIA_ERR_SRC_NOT_SUPPORTED (code 4)."""
    path = tmp_path / "mp4v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for frame in moving_frames(10, 160, 120):
        writer.write(frame)
    writer.release()
    folder = tmp_path / "page"
    folder.mkdir()
    assert browser_status(find_chromium(), path, folder) == "error 4"
