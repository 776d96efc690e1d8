"""Tests of many videos in one ``blapose video`` call (blapose.video.batch): inputs, folders, shards, runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from blapose.cli import main
from blapose.errors import InputError
from blapose.video.batch import expand_inputs, output_folders, parse_shard, plan_videos, select_shard

SQUATS = Path(__file__).parent / "data" / "pose_squats.mp4"
#: Seconds of the squats clip each run uses (5 fps: 10 frames).
CUT = ["--end", "2"]


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_folders_expand_to_their_videos_sorted(tmp_path):
    """A folder gives its video files by extension (any case), not sub-folders or other files; all sorted, once."""
    clips = tmp_path / "clips"
    for name in ("b.MOV", "a.mp4", "notes.txt", "c.avi", "sub/d.mp4"):
        touch(clips / name)
    single = touch(tmp_path / "z.mkv")
    videos = expand_inputs([single, clips, clips / "a.mp4"])
    assert videos == [clips / "a.mp4", clips / "b.MOV", clips / "c.avi", single]


def test_a_folder_without_videos_is_refused(tmp_path):
    """A folder holding no video file raises InputError naming it."""
    touch(tmp_path / "empty" / "readme.txt")
    with pytest.raises(InputError, match="empty holds no video"):
        expand_inputs([tmp_path / "empty"])


def test_videos_of_the_same_name_get_their_own_folders():
    """Two videos named a (a.mp4 in two folders, a.mov) never share a folder, nor take another video's."""
    videos = [Path("x/a-1.mp4"), Path("x/a.mov"), Path("x/a.mp4"), Path("y/a.mp4"), Path("y/b.mp4")]
    folders = output_folders(videos, "out")
    assert len(set(folders)) == len(videos)
    assert folders == [Path("out/a-1"), Path("out/a-2"), Path("out/a-3"), Path("out/a-4"), Path("out/b")]


@pytest.mark.parametrize("text", ["2/2", "-1/3", "1/0", "1", "a/b", "1/2/3"])
def test_bad_shards_are_refused_in_one_line(text):
    """A shard outside 0 <= I < N, or not I/N, raises InputError on one line."""
    with pytest.raises(InputError) as error:
        parse_shard(text)
    assert "\n" not in str(error.value)


def test_shards_split_the_list_into_disjoint_parts_that_cover_it():
    """Shards 0..N-1 of N take every N-th item, share none and together hold every item once."""
    items = list(range(11))
    shards = [select_shard(items, index, 3) for index in range(3)]
    assert shards[1] == [1, 4, 7, 10]
    assert sorted(sum(shards, [])) == items


def test_plan_of_one_file_is_todays_single_video_plan(tmp_path):
    """One file: --out is the output folder itself (None: the pipeline's output/<name>)."""
    settings = {"bvh": True}
    assert plan_videos(["clip.mp4"], None, settings).videos == [{"bvh": True, "path": "clip.mp4", "out_dir": None}]
    plan = plan_videos(["clip.mp4"], "here", settings)
    assert (plan.videos[0]["out_dir"], plan.several) == ("here", False)


def test_shards_agree_on_folders(tmp_path):
    """Each shard's videos keep the folder they have in the whole list, so shards of a job array never clash."""
    for name in ("a.mp4", "a.mov", "b.mp4", "c.mp4"):
        touch(tmp_path / name)
    whole = {v["path"]: v["out_dir"] for v in plan_videos([tmp_path], "out", {}).videos}
    shards = [plan_videos([tmp_path], "out", {}, shard=f"{index}/3").videos for index in range(3)]
    assert sorted(v["path"] for shard in shards for v in shard) == sorted(whole)
    assert all(whole[v["path"]] == v["out_dir"] for shard in shards for v in shard)
    assert len(set(whole.values())) == 4


@pytest.fixture
def clips(tmp_path) -> Path:
    """A folder of real videos: the squats clip as a.mp4 and b.mov, a cut-off copy, and a clip with nobody in it."""
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("mediapipe")
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(SQUATS, folder / "a.mp4")
    shutil.copy(SQUATS, folder / "b.mov")
    (folder / "broken.mp4").write_bytes(SQUATS.read_bytes()[:4000])
    writer = cv2.VideoWriter(str(folder / "nobody.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (160, 120))
    for _ in range(8):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    return folder


def test_many_videos_each_get_a_folder_and_failures_stop_only_themselves(clips, tmp_path, capsys):
    """Two workers: good videos write their folders, bad ones leave nothing, one line each, a summary, exit 1."""
    extra = tmp_path / "extra" / "a.mp4"
    extra.parent.mkdir()
    shutil.copy(SQUATS, extra)
    out = tmp_path / "out"
    code = main(["video", str(clips), str(extra), "--out", str(out), "--jobs", "2", "--no-render", *CUT])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["a-1", "a-2", "b"]
    assert [p.name for p in (out / "a-1").iterdir()] == ["a_person1.npz"]
    with np.load(out / "b" / "b_person1.npz") as content:
        assert content["poses_3d_adjusted"].shape == (10, 17, 3)
    lines = captured.err.strip().splitlines()
    finished = [line for line in lines if line.startswith("[")]
    assert len(finished) == 5 and all("/5] " in line for line in finished)
    summary = captured.out[captured.out.index("summary:"):].splitlines()
    assert summary[0] == "summary: 3 of 5 videos ok, 2 failed"
    assert any(line.split()[:2] == ["failed", str(clips / "broken.mp4") + ":"] for line in summary)
    assert any("nobody.mp4" in line and "no person was detected" in line for line in summary)
    assert sum(line.split()[0] == "ok" for line in summary[1:]) == 3


def test_a_shard_processes_only_its_videos(clips, tmp_path, capsys):
    """--shard 1/4 of the sorted folder (a, b, broken, nobody) runs b.mov alone, into its own folder, exit 0."""
    out = tmp_path / "out"
    assert main(["video", str(clips), "--out", str(out), "--shard", "1/4", "--no-render", *CUT]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b"]
    assert "summary: 1 of 1 videos ok, 0 failed" in capsys.readouterr().out


def test_an_empty_shard_does_nothing(clips, tmp_path, capsys):
    """A shard beyond the videos (5 of 6 with 4 videos) exits 0 and writes nothing."""
    out = tmp_path / "out"
    assert main(["video", str(clips), "--out", str(out), "--shard", "5/6"]) == 0
    assert not out.exists()
    assert "nothing to do" in capsys.readouterr().out
